import { type HandlerContext, Code, ConnectError, createContextKey } from "@connectrpc/connect";
import type { Principal } from "../auth/index.js";

/** The authenticated caller, set by the auth interceptor; undefined on public methods. */
export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "principal" });

/** The peer address of the connection, for per-client limits and logs. */
export const kClientAddress = createContextKey<string>("", { description: "client address" });

/** The caller of an authenticated RPC. */
export function principalOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(kPrincipal);
  // The auth interceptor guarantees a principal on every non-public method; reaching this is a wiring bug.
  if (!principal) throw new ConnectError("no authenticated caller", Code.Unauthenticated);
  return principal;
}

export function clientAddressOf(ctx: HandlerContext): string {
  return ctx.values.get(kClientAddress);
}

/**
 * The W3C trace context of the call: its server span when tracing is on, else the caller's `traceparent` as given
 * (so that messages sent through a gateway without tracing still continue their sender's trace). "" for none.
 */
export const kTraceparent = createContextKey<string>("", { description: "traceparent" });

export function traceparentOf(ctx: HandlerContext): string {
  return ctx.values.get(kTraceparent);
}
