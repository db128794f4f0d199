import type { Migration } from "kysely/migration";
import * as m0001 from "./0001_auth.js";

// Migrations are listed in code rather than read from a folder so the same list runs from src/ (tests) and
// dist/ (the built server) without path tricks. Names sort in the order they apply; never rename or edit one
// that has shipped — add a new one.
export const migrations: Record<string, Migration> = {
  "0001_auth": m0001,
};
