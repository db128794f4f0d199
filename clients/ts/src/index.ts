// @agentnet/client for Node: gRPC over HTTP/2 (or Connect over HTTP/1.1) with @connectrpc/connect-node.
//
//   const client = connect({ url: "http://localhost:8000", apiKey: process.env.AGENTNET_API_KEY });
//   const agent = await client.register({ username: "weather_bot", capabilities: ["weather"] });
//   agent.onMessage(async (m) => { if (m.isRequest) await m.replyText(`sunny in ${m.text}`); });
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AgentnetClient } from "./client.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorInfoSchema } from "@agentnet/gen/google/rpc/error_details_pb.js";
import { Backoff, sleep } from "./backoff.js";
import { toAgentnetError } from "./errors.js";
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_MESSAGE_BYTES, type ConnectOptions } from "./options.js";
import { bearer, typedErrors } from "./services.js";

export * from "./exports.js";

export function connect(options: ConnectOptions): AgentnetClient {
  const interceptors = [bearer(options.token ?? options.apiKey), typedErrors, ...(options.interceptors ?? [])];
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const limits = { readMaxBytes: maxBytes, writeMaxBytes: maxBytes };
  const services = { coalesceSends: options.coalesceSends, maxMessageBytes: maxBytes };
  if (options.transport === "connect") {
    const transport = createConnectTransport({ baseUrl: options.url, httpVersion: "1.1", interceptors, ...limits });
    return new AgentnetClient(transport, undefined, undefined, services);
  }
  // Our own session manager, so close() can end the HTTP/2 connection instead of leaving it to an idle timeout.
  const sessionManager = new Http2SessionManager(options.url, { pingIntervalMs: 30_000, pingIdleConnection: false });
  const transport = createGrpcTransport({ baseUrl: options.url, interceptors, sessionManager, ...limits });
  const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const waitReady = async (timeoutMs = connectTimeoutMs): Promise<void> => {
    // Node's http2 has no connect timeout of its own: keep trying (with jittered backoff, as many clients may be
    // connecting to the same busy gateway) until connected or the bound passes.
    const deadline = Date.now() + timeoutMs;
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 });
    for (;;) {
      const left = deadline - Date.now();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const state =
        left <= 0
          ? "timeout"
          : await Promise.race([sessionManager.connect(), new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), left)))]);
      clearTimeout(timer);
      if (state === "open" || state === "idle") return;
      if (state === "timeout" || Date.now() >= deadline) {
        throw toAgentnetError(
          new ConnectError(`could not connect to ${options.url} within ${timeoutMs} ms`, Code.Unavailable, undefined, [
            { desc: ErrorInfoSchema, value: { reason: "connect_timeout", domain: "agentnet.dev" } },
          ]),
        );
      }
      await sleep(Math.min(backoff.next(), Math.max(0, deadline - Date.now())));
    }
  };
  return new AgentnetClient(
    transport,
    async () => {
      // Aborting while connecting rejects the pending connection; wait for it to settle first.
      if (sessionManager.state() === "connecting") await sessionManager.connect().catch(() => undefined);
      sessionManager.abort();
    },
    waitReady,
    services,
  );
}
