// Presence watching (RegistryService.WatchPresence): accounts coming online, changing and going offline, live.
import type { PresenceEvent } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import { reopening } from "./reopening.js";
import type { Services } from "./services.js";

export interface WatchPresenceOptions {
  /** Only these accounts (ids). Default: every account the caller may see. */
  accountIds?: string[];
  /** Only accounts offering this capability. */
  capability?: string;
  /** First one ONLINE event (snapshot: true) per account online now. */
  includeSnapshot?: boolean;
  /** Called once, when the stream is live (with the number of snapshot entries sent before). */
  onSynced?: (onlineCount: number) => void;
  signal?: AbortSignal;
}

/**
 * Presence events until `signal` aborts. Presence has no cursor to resume from, so after a dropped stream the
 * watch reopens with a snapshot: the accounts online then arrive again as snapshot entries, and the caller's view
 * is whole again (changes during the gap show up as that difference, not as events).
 */
export async function* watchPresence(services: Services, o: WatchPresenceOptions = {}): AsyncGenerator<PresenceEvent> {
  let synced = false;
  let opened = false;
  const open = () => {
    const includeSnapshot = opened || (o.includeSnapshot ?? false);
    opened = true;
    return services.registry.watchPresence(
      { accountIds: o.accountIds ?? [], capability: o.capability ?? "", includeSnapshot },
      { signal: o.signal },
    );
  };
  for await (const { event } of reopening(open, o.signal)) {
    if (event.case === "synced" && !synced) {
      synced = true;
      o.onSynced?.(event.value.onlineCount);
    } else if (event.case === "presence") yield event.value;
  }
}
