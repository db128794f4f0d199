import type { DescService } from "@bufbuild/protobuf";
import { type Client, type Interceptor, type Transport, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

export type Protocol = "grpc" | "connect" | "grpc-web";

/** A transport of each wire protocol: gRPC over HTTP/2, Connect and gRPC-Web over HTTP/1.1 (as browsers). */
export function transport(baseUrl: string, protocol: Protocol, token?: string): Transport {
  const interceptors: Interceptor[] = token
    ? [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${token}`);
          return next(req);
        },
      ]
    : [];
  switch (protocol) {
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors });
    case "connect":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
  }
}

export function client<S extends DescService>(service: S, baseUrl: string, token?: string, protocol: Protocol = "grpc"): Client<S> {
  return createClient(service, transport(baseUrl, protocol, token));
}
