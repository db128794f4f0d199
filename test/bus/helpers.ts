import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { pino, type Logger } from "pino";
import type { Bus, BusMessage } from "../../src/bus/bus.js";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A subject prefix of its own per test, so tests sharing one nats-server never see each other's traffic. */
export function uniquePrefix(): string {
  return `t${randomBytes(6).toString("hex")}`;
}

/** Subscribes and records what arrives, in arrival order. */
export function collect(bus: Bus, subject: string, opts?: { queue?: string }): { msgs: BusMessage[]; texts(): string[] } {
  const msgs: BusMessage[] = [];
  bus.subscribe(subject, (m) => void msgs.push(m), opts);
  return { msgs, texts: () => msgs.map((m) => dec(m.data)) };
}

/**
 * Proves that everything published before it has been delivered: on one connection NATS keeps order from
 * publisher to subscriber, and so does the in-process bus, so once the barrier message arrives, earlier
 * messages that were going to arrive have.
 */
export async function barrier(pub: Bus, sub: Bus, prefix: string): Promise<void> {
  // Outside the test's prefix, so the test's own wildcard subscriptions never see it.
  const subject = `${prefix}_barrier.${randomBytes(4).toString("hex")}`;
  let seen = false;
  const s = sub.subscribe(subject, () => {
    seen = true;
  });
  await sub.flush();
  pub.publish(subject, enc("barrier"));
  await until(() => seen, 20_000, "barrier message");
  s.unsubscribe();
}

export async function until(cond: () => boolean, timeoutMs = 20_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A pino logger that keeps its records, to check what the bus logged. */
export function recordingLogger(): { logger: Logger; records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) records.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: "debug" }, stream), records };
}
