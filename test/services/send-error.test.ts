import { describe, expect, it } from "vitest";
import { DomainError } from "../../src/errors.js";
import { toSendError } from "../../src/services/send-error.js";

// A SendBatch item's error is that item's alone, even when it is a bug: the other items of the call may be stored
// already, and failing the whole call would tell their sender otherwise.
describe("SendBatch item errors", () => {
  it("keeps a bug as the item's INTERNAL error, without its message, and reports it to be logged", () => {
    const logged: unknown[] = [];
    const bug = new TypeError("cannot read properties of undefined (reading 'seq')");
    const item = toSendError(bug, (err) => logged.push(err));
    expect(item).toMatchObject({ code: "INTERNAL", reason: "", message: "internal error", retryAfterMs: 0n });
    expect(Object.values(item).filter((v) => typeof v === "string" && v.includes("seq"))).toEqual([]);
    expect(logged).toEqual([bug]);
  });

  it("flattens a refusal into the item with its code, reason, field and retry delay, logging nothing", () => {
    const logged: unknown[] = [];
    const refused = new DomainError("invalid_argument", "invalid_ttl", "ttl_ms must be positive", { field: "ttl_ms" });
    expect(toSendError(refused, (err) => logged.push(err))).toMatchObject({
      code: "INVALID_ARGUMENT",
      reason: "invalid_ttl",
      field: "ttl_ms",
      message: "ttl_ms must be positive",
    });
    const limited = new DomainError("resource_exhausted", "rate_limited", "slow down", { retryAfterMs: 1500 });
    expect(toSendError(limited, (err) => logged.push(err))).toMatchObject({
      code: "RESOURCE_EXHAUSTED",
      reason: "rate_limited",
      retryAfterMs: 1500n,
    });
    expect(logged).toEqual([]);
  });
});
