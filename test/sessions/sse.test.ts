import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readSse, type SseEvent } from "../../src/sessions/providers/sse.js";

// The event stream of a provider, however the network cuts it into reads.

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(c);
      controller.close();
    },
  });
}

async function events(chunks: Uint8Array[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(streamOf(chunks), new AbortController().signal)) out.push(e);
  return out;
}

/** `bytes` cut at the given offsets. */
function cut(bytes: Uint8Array, offsets: number[]): Uint8Array[] {
  const points = [...new Set(offsets.map((o) => o % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.slice(at, p));
    at = p;
  }
  return parts;
}

const TEXT =
  "\uFEFF: a comment\r\n" +
  'event: message_start\r\ndata: {"a":1}\r\n\r\n' +
  "id: 7\nretry: 1000\ndata: first line\ndata: second ☃ line\n\n" +
  'data: {"choices":[{"delta":{"content":"é"}}]}\r\r' +
  "data: [DONE]";
const EXPECTED: SseEvent[] = [
  { event: "message_start", data: '{"a":1}' },
  { event: "message", data: "first line\nsecond ☃ line" },
  { event: "message", data: '{"choices":[{"delta":{"content":"é"}}]}' },
  // The last event lacks its blank line: a provider that ends so still meant it.
  { event: "message", data: "[DONE]" },
];

describe("readSse", () => {
  it("reads events with a BOM, comments, id/retry fields, CRLF, CR and LF line ends, and a last event without its blank line", async () => {
    expect(await events([new TextEncoder().encode(TEXT)])).toEqual(EXPECTED);
  });

  it("gives the same events wherever the stream is cut (inside a CRLF, inside a UTF-8 character)", async () => {
    const bytes = new TextEncoder().encode(TEXT);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (offsets) => {
        expect(await events(cut(bytes, offsets))).toEqual(EXPECTED);
      }),
      { numRuns: 200 },
    );
  });

  it("stops reading when aborted", async () => {
    const controller = new AbortController();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("data: one\n\n"));
      },
    });
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of readSse(body, controller.signal)) {
          seen.push(e.data);
          controller.abort(new Error("caller went away"));
        }
      })(),
    ).rejects.toThrow("caller went away");
    expect(seen).toEqual(["one"]);
  });
});
