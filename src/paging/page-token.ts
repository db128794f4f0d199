import { DomainError } from "../errors.js";

// Page tokens are opaque to clients: base64url of a small JSON object tagged with the listing it belongs to, so
// a token from one listing handed to another, or a mangled one, is refused instead of silently restarting.

export function encodePageToken(listing: string, position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify({ l: listing, ...position })).toString("base64url");
}

export function decodePageToken(listing: string, token: string): Record<string, unknown> | undefined {
  if (token === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || (parsed as { l?: unknown }).l !== listing) {
    throw new DomainError(
      "invalid_argument",
      "invalid_page_token",
      "page_token: not a page token of this listing; copy next_page_token from the previous page",
      { field: "page_token" },
    );
  }
  return parsed as Record<string, unknown>;
}

/** A string position from a decoded token, or INVALID_ARGUMENT when the token lacks it. */
export function positionString(position: Record<string, unknown>, key: string): string {
  const value = position[key];
  if (typeof value !== "string" || value === "") {
    throw new DomainError("invalid_argument", "invalid_page_token", "page_token: malformed", { field: "page_token" });
  }
  return value;
}

/**
 * The page size to use (common.proto's convention): 0 means `fallback`, larger than `max` is clamped, negative is
 * refused INVALID_ARGUMENT `invalid_page_size`.
 */
export function pageSize(requested: number, fallback = 50, max = 500): number {
  if (!Number.isInteger(requested) || requested < 0) {
    throw new DomainError(
      "invalid_argument",
      "invalid_page_size",
      `page_size: must not be negative (0 = default ${fallback}, at most ${max})`,
      { field: "page_size" },
    );
  }
  if (requested === 0) return fallback;
  return Math.min(requested, max);
}
