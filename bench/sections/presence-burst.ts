import { PresenceEventType, RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { clientOf, grpcTransport } from "../clients.js";
import { createHistogram, type LatencySummary, recordMs, summarize } from "../histogram.js";

// Issue #15's WatchPresence target: a burst of joins fanned out to many watchers, none falling behind. The
// watchers (WatchPresence streams on one HTTP/2 connection, no snapshot) are live before the burst starts; then
// `joins` new agents Register as fast as `concurrency` callers can, and every watcher must see each one's online
// event. A watcher the gateway ends (it fell too far behind) or that misses events counts against the target.

export interface PresenceBurst {
  watchers: number;
  joins: number;
  /** Watchers that saw the online event of every join. */
  complete: number;
  /** Watchers whose stream ended before the burst was over (ended by the gateway, or failed). */
  ended: number;
  /** Joins per second through Register during the burst. */
  joinsPerSecond: number;
  /** From the burst's first Register to the last watcher's last event. */
  seconds: number;
  /** A join's Register answered → its event at a watcher, over every watcher and join (0 when the event came first). */
  lagMs: LatencySummary;
  errors: string[];
}

export async function presenceBurst(options: {
  url: string;
  apiKey: string;
  watchers: number;
  joins: number;
  concurrency: number;
  /** Usernames of the burst start with this (unique per run). */
  prefix: string;
  timeoutMs: number;
}): Promise<PresenceBurst> {
  const { url, apiKey, watchers, joins, concurrency, prefix, timeoutMs } = options;
  const watchRegistry = clientOf(RegistryService, grpcTransport(url, apiKey));
  const joinRegistry = clientOf(RegistryService, grpcTransport(url, apiKey));
  const abort = new AbortController();
  const errors: string[] = [];
  const seen = new Array<number>(watchers).fill(0);
  const answeredAt = new Map<string, number>();
  const lagH = createHistogram();
  let ended = 0;
  let lastEventAt = 0;

  const synced: Array<Promise<void>> = [];
  const streams = Array.from({ length: watchers }, (_, w) => {
    let markSynced!: () => void;
    synced.push(new Promise<void>((r) => (markSynced = r)));
    return (async () => {
      try {
        for await (const item of watchRegistry.watchPresence({}, { signal: abort.signal })) {
          if (item.event.case === "synced") markSynced();
          else if (item.event.case === "presence" && item.event.value.type === PresenceEventType.ONLINE) {
            const username = item.event.value.account?.username ?? "";
            if (!username.startsWith(prefix)) continue;
            seen[w]!++;
            const now = performance.now();
            lastEventAt = now;
            const at = answeredAt.get(username);
            recordMs(lagH, at === undefined ? 0 : Math.max(0, now - at));
          }
        }
        if (!abort.signal.aborted) ended++;
      } catch (err) {
        if (!abort.signal.aborted) {
          ended++;
          if (errors.length < 5) errors.push(`WatchPresence: ${String(err)}`);
        }
      } finally {
        markSynced();
      }
    })();
  });

  try {
    await Promise.all(synced);
    const t0 = performance.now();
    let next = 0;
    const join = async () => {
      for (;;) {
        const i = next++;
        if (i >= joins) return;
        const username = `${prefix}${String(i).padStart(5, "0")}`;
        try {
          await joinRegistry.register({ agentId: username, username, displayName: `Burst agent ${i}` });
          answeredAt.set(username, performance.now());
        } catch (err) {
          if (errors.length < 5) errors.push(`Register: ${String(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, joins) }, join));
    const joinedAt = performance.now();
    const done = () => seen.filter((s) => s >= joins).length + ended >= watchers;
    for (const deadline = joinedAt + timeoutMs; !done() && performance.now() < deadline; ) await sleep(20);
    return {
      watchers,
      joins,
      complete: seen.filter((s) => s >= joins).length,
      ended,
      joinsPerSecond: Math.round((joins / (joinedAt - t0)) * 1000),
      seconds: Math.round(((Math.max(lastEventAt, joinedAt) - t0) / 1000) * 100) / 100,
      lagMs: summarize(lagH),
      errors,
    };
  } finally {
    abort.abort();
    await Promise.allSettled(streams);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
