import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// The rules of docs/architecture.md, read from the code's own imports: a room's index.ts is its surface, arrows
// point down, and no two rooms import each other in a circle. store/schema.ts declaring the domains' tables is the
// one exception.

const SRC = path.resolve(import.meta.dirname, "../../src");

/** Rooms that are transport or composition: no domain may import them. */
const ABOVE_DOMAINS = new Set(["main", "cli", "app", "services", "server"]);
/** Rooms below every domain: they import no domain. */
const BELOW_DOMAINS = new Set([
  "wire",
  "lifecycle",
  "streams",
  "bus",
  "paging",
  "store",
  "errors",
  "config",
  "bounded-cache",
  "rate-limit",
  "metrics",
  "tracing",
  "version",
]);
const DOMAINS = new Set(["auth", "blobs", "messaging", "registry", "sessions", "voice", "retention", "agent-status", "stats", "a2a"]);
/** Rooms whose index.ts is their only surface. */
const SURFACED = new Set([...DOMAINS, "wire", "lifecycle", "streams", "paging", "bus", "metrics"]);

interface Edge {
  file: string;
  fromRoom: string;
  target: string;
  toRoom: string;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : [],
  );
}

function roomOf(relative: string): string {
  const [first] = relative.split("/");
  return relative.includes("/") ? first! : first!.replace(/\.ts$/, "");
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+"(\.[^"]+)"/g;

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of files(SRC)) {
    const from = path.relative(SRC, file);
    for (const match of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const resolved = path.resolve(path.dirname(file), match[1]!);
      if (!resolved.startsWith(SRC + path.sep)) continue; // gen/, clients/
      const target = path.relative(SRC, resolved).replace(/\.js$/, ".ts");
      const fromRoom = roomOf(from);
      const toRoom = roomOf(target);
      if (fromRoom !== toRoom) out.push({ file: from, fromRoom, target, toRoom });
    }
  }
  return out;
}

const isSchemaException = (e: Edge) => e.file === "store/schema.ts" && e.target.endsWith("/tables.ts");

describe("the import graph", () => {
  const all = edges();
  /** The imports that break a rule, as "file -> target" lines (so a failure names them). */
  const breaking = (rule: (e: Edge) => boolean) => all.filter(rule).map((e) => `${e.file} -> ${e.target}`);

  it("is read from the code (the rules below check something)", () => {
    expect(all.length).toBeGreaterThan(50);
    expect(all.some((e) => e.fromRoom === "app" && e.toRoom === "services")).toBe(true);
  });

  it("reaches a domain (and wire, lifecycle, streams, paging, bus) only through its index.ts", () => {
    expect(breaking((e) => SURFACED.has(e.toRoom) && !e.target.endsWith("/index.ts") && !isSchemaException(e))).toEqual([]);
  });

  it("has no domain importing transport or composition, and nothing below the domains importing one", () => {
    const up = breaking(
      (e) =>
        (DOMAINS.has(e.fromRoom) && ABOVE_DOMAINS.has(e.toRoom)) ||
        (BELOW_DOMAINS.has(e.fromRoom) && (DOMAINS.has(e.toRoom) || ABOVE_DOMAINS.has(e.toRoom)) && !isSchemaException(e)),
    );
    expect(up).toEqual([]);
  });

  it("keeps server/ transport only and app/ the one room that wires server and services together", () => {
    const wrong = breaking(
      (e) =>
        (e.fromRoom === "server" && (e.toRoom === "services" || (DOMAINS.has(e.toRoom) && e.toRoom !== "auth"))) ||
        (e.toRoom === "app" && e.fromRoom !== "cli") ||
        (e.toRoom === "services" && e.fromRoom !== "app"),
    );
    expect(wrong).toEqual([]);
  });

  it("has no circle between rooms", () => {
    const next = new Map<string, Set<string>>();
    for (const e of all.filter((e) => !isSchemaException(e))) {
      if (!next.has(e.fromRoom)) next.set(e.fromRoom, new Set());
      next.get(e.fromRoom)!.add(e.toRoom);
    }
    const circles: string[] = [];
    const visit = (room: string, trail: string[]) => {
      for (const to of next.get(room) ?? []) {
        if (trail.includes(to)) circles.push([...trail.slice(trail.indexOf(to)), to].join(" -> "));
        else visit(to, [...trail, to]);
      }
    };
    for (const room of next.keys()) visit(room, [room]);
    expect(circles).toEqual([]);
  });
});
