// Presence events travel between gateways on the bus, so every gateway's WatchPresence streams see every change
// whichever gateway made it; their subjects, record and codec live with the rest of the wire in src/wire/.
export {
  type OfflineReason,
  PRESENCE_SUBJECT_PREFIX,
  ALL_PRESENCE as PRESENCE_SUBSCRIPTION,
  type PresenceEventRecord,
  type PresenceEventType,
  decodePresenceEvent,
  encodePresenceEvent,
  presenceSubject,
} from "../wire/index.js";
