import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_auth.js";
import * as m0002 from "./0002_registry.js";
import * as m0003 from "./0003_messaging.js";
import * as m0004 from "./0004_blobs.js";
import * as m0005 from "./0005_voice.js";
import * as m0006 from "./0006_sessions.js";
import * as m0007 from "./0007_participants_without_fk.js";
import * as m0008 from "./0008_sessions_hot_heartbeats.js";
import * as m0009 from "./0009_search_trigram_indexes.js";
import * as m0010 from "./0010_message_traceparent.js";
import * as m0011 from "./0011_a2a_tasks.js";

// Migrations are listed in code rather than read from a folder so the same list runs from src/ (tests) and
// dist/ (the built server) without path tricks. Names sort in the order they apply; never rename or edit one
// that has shipped — add a new one.
export const migrations: Record<string, Migration> = {
  "0001_auth": m0001,
  "0002_registry": m0002,
  "0003_messaging": m0003,
  "0004_blobs": m0004,
  "0005_voice": m0005,
  "0006_sessions": m0006,
  "0007_participants_without_fk": m0007,
  "0008_sessions_hot_heartbeats": m0008,
  "0009_search_trigram_indexes": m0009,
  "0010_message_traceparent": m0010,
  "0011_a2a_tasks": m0011,
};
