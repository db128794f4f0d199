import { ConnectError, createHandlerContext } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { DrainSignal } from "../../src/server/drain-signal.js";

// The server hands connect a DrainSignal instead of an AbortSignal; these pin down that connect's handler contexts
// work with it as with the real thing (linked on creation, unlinked when the call ends, aborted on drain).

function context(drain: DrainSignal, requestSignal: AbortSignal) {
  return createHandlerContext({
    service: Health,
    method: Health.method.check,
    protocolName: "connect",
    requestMethod: "POST",
    url: "http://localhost/grpc.health.v1.Health/Check",
    shutdownSignal: drain.asAbortSignal(),
    requestSignal,
  });
}

describe("DrainSignal", () => {
  it("aborts every call linked to it with the drain's reason, once", () => {
    const drain = new DrainSignal();
    const calls = [context(drain, new AbortController().signal), context(drain, new AbortController().signal)];
    expect(drain.size).toBe(2);
    const reason = new ConnectError("the server is shutting down; retry");
    drain.abort(reason);
    drain.abort(new Error("again"));
    for (const call of calls) {
      expect(call.signal.aborted).toBe(true);
      expect(call.signal.reason).toBe(reason);
    }
    expect(drain.size).toBe(0);
  });

  it("lets go of calls that ended on their own, so open calls are all it holds", () => {
    const drain = new DrainSignal();
    const requests = Array.from({ length: 100 }, () => new AbortController());
    for (const r of requests) context(drain, r.signal);
    expect(drain.size).toBe(100);
    for (const r of requests.slice(0, 60)) r.abort();
    expect(drain.size).toBe(40);
  });

  it("aborts a call made after the drain at once", () => {
    const drain = new DrainSignal();
    drain.abort("gone");
    const call = context(drain, new AbortController().signal);
    expect(call.signal.aborted).toBe(true);
    expect(call.signal.reason).toBe("gone");
    expect(drain.size).toBe(0);
    expect(() => drain.throwIfAborted()).toThrow();
  });
});
