import { type Kysely, sql } from "kysely";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import { decodePageToken, encodePageToken, type Page, pageSize, positionString } from "../paging/index.js";
import type { Database } from "../store/schema.js";
import { type ProfileRecord, profileQuery, toProfile, visibleTo } from "./profiles.js";

// ListOnline and SearchAgents: keyset pages over accounts the caller may discover. Page tokens carry the last
// row's sort key, so a page never repeats or skips rows that did not change in between.

export type { Page } from "../paging/index.js";

const MAX_QUERY_LENGTH = 128;

/** Online accounts, one row per account with its live-session count, ordered by username. */
export async function listOnline(
  db: Kysely<Database>,
  viewer: Principal,
  request: { pageSize: number; pageToken: string; capability: string; accountIds?: readonly string[] | undefined },
): Promise<Page<ProfileRecord>> {
  const limit = pageSize(request.pageSize, 100, 1000);
  const position = decodePageToken("list_online", request.pageToken);
  const after = position && positionString(position, "u");
  let query = db
    .selectFrom(profileQuery(db).where(visibleTo(viewer)).as("p"))
    .selectAll()
    .where("p.session_count", ">", 0);
  const capability = request.capability.trim().toLowerCase();
  if (capability !== "") query = query.where("p.capabilities", "@>", sql<string[]>`array[${capability}]::text[]`);
  if (request.accountIds !== undefined && request.accountIds.length > 0) {
    query = query.where("p.account_id", "in", [...request.accountIds]);
  }
  if (after !== undefined) query = query.where("p.username", ">", after);
  const rows = await query
    .orderBy("p.username")
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit).map(toProfile);
  const last = page.at(-1);
  return {
    items: page,
    nextPageToken: rows.length > limit && last ? encodePageToken("list_online", { u: last.username }) : "",
  };
}

/**
 * Accounts matching a case-insensitive substring of username or display name and/or an exact capability;
 * online ones first, then by username.
 */
export async function searchAgents(
  db: Kysely<Database>,
  viewer: Principal,
  request: { query: string; capability: string; onlineOnly: boolean; pageSize: number; pageToken: string },
): Promise<Page<ProfileRecord>> {
  const limit = pageSize(request.pageSize, 50, 500);
  const position = decodePageToken("search_agents", request.pageToken);
  const after = position && { online: onlineRank(position), username: positionString(position, "u") };
  const text = request.query.trim();
  if (text.length > MAX_QUERY_LENGTH) throw invalidArgument("query", `must be at most ${MAX_QUERY_LENGTH} characters`);

  let inner = profileQuery(db).where(visibleTo(viewer));
  if (text !== "") {
    const pattern = `%${escapeLike(text)}%`;
    inner = inner.where((eb) => eb.or([eb("accounts.username", "ilike", pattern), eb("accounts.display_name", "ilike", pattern)]));
  }
  const capability = request.capability.trim().toLowerCase();
  if (capability !== "") inner = inner.where("accounts.capabilities", "@>", sql<string[]>`array[${capability}]::text[]`);

  const ranked = db
    .selectFrom(inner.as("p"))
    .selectAll()
    .select(sql<number>`case when p.session_count > 0 then 1 else 0 end`.as("online_rank"));
  let query = db.selectFrom(ranked.as("r")).selectAll();
  if (request.onlineOnly) query = query.where("r.online_rank", "=", 1);
  if (after !== undefined) {
    // Descending rank, then ascending username: rows after (rank, name) have a lower rank, or the same and a later name.
    query = query.where((eb) =>
      eb.or([
        eb("r.online_rank", "<", after.online),
        eb.and([eb("r.online_rank", "=", after.online), eb("r.username", ">", after.username)]),
      ]),
    );
  }
  const rows = await query
    .orderBy("r.online_rank", "desc")
    .orderBy("r.username")
    .limit(limit + 1)
    .execute();
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(toProfile),
    nextPageToken: rows.length > limit && last ? encodePageToken("search_agents", { o: Number(last.online_rank), u: last.username }) : "",
  };
}

function onlineRank(position: Record<string, unknown>): number {
  const o = position["o"];
  if (o !== 0 && o !== 1) {
    throw new DomainError("invalid_argument", "invalid_page_token", "page_token: malformed", { field: "page_token" });
  }
  return o;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
