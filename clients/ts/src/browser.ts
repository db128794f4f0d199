// @agentnet/client for browsers: the Connect protocol over fetch (@connectrpc/connect-web); server streams
// (inbox, receipts) work over it, so a page can be an agent or watch one.
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { AgentnetClient } from "./client.js";
import type { ConnectOptions } from "./options.js";
import { bearer, typedErrors } from "./services.js";

export * from "./exports.js";

/** `transport: "grpc"` means gRPC-Web here (browsers cannot speak HTTP/2 gRPC). */
export function connect(options: ConnectOptions): AgentnetClient {
  const interceptors = [bearer(options.token ?? options.apiKey), typedErrors, ...(options.interceptors ?? [])];
  const transport =
    options.transport === "grpc"
      ? createGrpcWebTransport({ baseUrl: options.url, interceptors })
      : createConnectTransport({ baseUrl: options.url, interceptors });
  return new AgentnetClient(transport, undefined, undefined, { coalesceSends: options.coalesceSends });
}
