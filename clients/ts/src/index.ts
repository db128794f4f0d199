// @agentnet/client for Node: gRPC over HTTP/2 (or Connect over HTTP/1.1) with @connectrpc/connect-node.
//
//   const client = connect({ url: "http://localhost:8000", apiKey: process.env.AGENTNET_API_KEY });
//   const agent = await client.register({ username: "weather_bot", capabilities: ["weather"] });
//   agent.onMessage(async (m) => { if (m.isRequest) await m.replyText(`sunny in ${m.text}`); });
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AgentnetClient } from "./client.js";
import { DEFAULT_MAX_MESSAGE_BYTES, type ConnectOptions } from "./options.js";
import { bearer, typedErrors } from "./services.js";

export * from "./exports.js";

export function connect(options: ConnectOptions): AgentnetClient {
  const interceptors = [bearer(options.token ?? options.apiKey), typedErrors, ...(options.interceptors ?? [])];
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const limits = { readMaxBytes: maxBytes, writeMaxBytes: maxBytes };
  if (options.transport === "connect") {
    return new AgentnetClient(createConnectTransport({ baseUrl: options.url, httpVersion: "1.1", interceptors, ...limits }));
  }
  // Our own session manager, so close() can end the HTTP/2 connection instead of leaving it to an idle timeout.
  const sessionManager = new Http2SessionManager(options.url, { pingIntervalMs: 30_000, pingIdleConnection: false });
  const transport = createGrpcTransport({ baseUrl: options.url, interceptors, sessionManager, ...limits });
  return new AgentnetClient(transport, async () => {
    // Aborting while connecting rejects the pending connection; wait for it to settle first.
    if (sessionManager.state() === "connecting") await sessionManager.connect().catch(() => undefined);
    sessionManager.abort();
  });
}
