import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

// connect-node does not export its request/response types; these are the same, derived from its options, so
// our plain HTTP handlers (CORS, unknown paths) plug in next to Connect's with no casts.
export type NodeHandler = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type NodeRequest = Parameters<NodeHandler>[0];
export type NodeResponse = Parameters<NodeHandler>[1];
