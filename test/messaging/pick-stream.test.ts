import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pickStream, room, type StreamLoad } from "../../src/messaging/pick-stream.js";

interface Stream extends StreamLoad {
  name: string;
  inFlight: Map<string, unknown>;
  queued: Map<string, unknown>;
}

function stream(name: string, maxInFlight: number, inFlight: string[] = [], queued: string[] = []): Stream {
  return { name, maxInFlight, inFlight: new Map(inFlight.map((id) => [id, {}])), queued: new Map(queued.map((id) => [id, {}])) };
}

describe("pickStream (which of an account's live streams gets a message)", () => {
  it("gives nothing when the account has no stream here", () => {
    expect(pickStream([], 0, "m1")).toBeUndefined();
  });

  it("prefers the stream with the most room", () => {
    const a = stream("a", 10, ["x", "y"]);
    const b = stream("b", 10, [], ["z"]);
    expect(pickStream([a, b], 0, "m1")).toEqual({ to: b });
  });

  it("takes turns among streams with equal room, from where the last offer left off", () => {
    const streams = [stream("a", 5), stream("b", 5), stream("c", 5)];
    const names = [0, 1, 2, 3].map((start) => {
      const p = pickStream(streams, start % 3, `m${start}`);
      return p && "to" in p ? p.to.name : undefined;
    });
    expect(names).toEqual(["a", "b", "c", "a"]);
  });

  it("counts places taken by messages being stored for a stream against its room", () => {
    const a = { ...stream("a", 3, ["x"]), reserved: 2 };
    const b = stream("b", 3, ["y"]);
    expect(room(a)).toBe(0);
    expect(pickStream([a, b], 0, "m1")).toEqual({ to: b });
    expect(pickStream([a], 0, "m1")).toEqual({ full: a });
  });

  it("does nothing with a message a stream already holds, in flight or queued", () => {
    const a = stream("a", 10, ["m1"]);
    const b = stream("b", 10, [], ["m2"]);
    expect(pickStream([a, b], 0, "m1")).toEqual({ held: true });
    expect(pickStream([a, b], 1, "m2")).toEqual({ held: true });
  });

  it("says so when every stream is full, naming one to read the store when it has room", () => {
    const a = stream("a", 1, ["x"]);
    const b = stream("b", 2, ["y"], ["z"]);
    const pick = pickStream([a, b], 0, "m1");
    expect(pick && "full" in pick && [a, b].includes(pick.full)).toBe(true);
  });

  it("never picks a stream with less room than another, never a full one while one has room (generated loads)", () => {
    const load = fc.record({ max: fc.integer({ min: 1, max: 8 }), inFlight: fc.nat({ max: 8 }), queued: fc.nat({ max: 8 }) });
    fc.assert(
      fc.property(fc.array(load, { minLength: 1, maxLength: 6 }), fc.nat(), (loads, start) => {
        const streams = loads.map((l, i) =>
          stream(
            `s${i}`,
            l.max,
            Array.from({ length: l.inFlight }, (_, k) => `f${i}-${k}`),
            Array.from({ length: l.queued }, (_, k) => `q${i}-${k}`),
          ),
        );
        const pick = pickStream(streams, start % streams.length, "new");
        const best = Math.max(...streams.map(room));
        if (best > 0) expect(pick && "to" in pick && room(pick.to)).toBe(best);
        else expect(pick && "full" in pick).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});
