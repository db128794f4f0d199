import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import type { Logger } from "pino";
import { sendJson } from "./http-routes.js";
import type { NodeRequest, NodeResponse } from "./http-types.js";

/**
 * The web console (the Vite build in `dist/console`) served on the gateway's port: `/` and `/console/` give its
 * page, `/console/…` its files. The build is a few hundred KiB, so it is read into memory once at start (with a
 * gzip copy of each text file), and a request costs no disk access.
 *
 * Hashed bundles (`/console/assets/…`) never change under their name: cached for a year, immutable. The page is
 * revalidated on each load (ETag), so a new build is picked up at once. Every response carries a strict
 * Content-Security-Policy: scripts, styles and connections only from this origin, nothing inline, no framing.
 */
export interface ConsoleFiles {
  /** Serves `req` when its path is the console's and returns true; false leaves it to the caller. */
  handle(req: NodeRequest, res: NodeResponse): boolean;
}

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONSOLE_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

interface File {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  cacheControl: string;
}

/** Where `npm run build` puts the console, from this module in `src/server` or in `dist/src/server`. */
export function defaultConsoleDir(): string {
  const root = fileURLToPath(new URL("../../", import.meta.url));
  return path.basename(root) === "dist" ? path.join(root, "console") : path.join(root, "dist", "console");
}

/** Reads the console's build from `dir`. A missing build is not fatal: its paths then say how to build it. */
export async function loadConsoleFiles(dir: string, logger: Logger): Promise<ConsoleFiles> {
  const files = new Map<string, File>();
  const index = path.join(dir, "index.html");
  if (!(await stat(index).catch(() => undefined))?.isFile()) {
    logger.warn({ dir }, "the web console is not built (npm run build); / explains how to build it");
    return { handle: (req, res) => handleMissing(req, res) };
  }
  for (const file of await listFiles(dir)) {
    const rel = path.relative(dir, file).split(path.sep).join("/");
    const body = await readFile(file);
    const type = TYPES[path.extname(file)] ?? "application/octet-stream";
    const text = type.startsWith("text/") || type.includes("json") || type.includes("svg");
    files.set(`/console/${rel}`, {
      body,
      gzip: text && body.length > 1024 ? gzipSync(body) : undefined,
      type,
      etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      cacheControl: rel.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
  }
  const page = files.get("/console/index.html");
  if (page) for (const alias of ["/", "/console", "/console/"]) files.set(alias, page);
  return {
    handle(req, res) {
      const urlPath = (req.url ?? "/").split("?")[0] ?? "/";
      if (urlPath !== "/" && urlPath !== "/console" && !urlPath.startsWith("/console/")) return false;
      if (req.method !== "GET" && req.method !== "HEAD") {
        req.resume();
        sendJson(
          res,
          405,
          { code: 405, msg: `method ${req.method} not allowed on ${urlPath}`, reason: "method_not_allowed" },
          { allow: "GET, HEAD" },
        );
        return true;
      }
      const file = files.get(urlPath);
      if (!file) {
        sendJson(res, 404, { code: 404, msg: `no console file ${urlPath}`, reason: "not_found" }, SECURITY_HEADERS);
        return true;
      }
      serve(req, res, file);
      return true;
    },
  };
}

function serve(req: NodeRequest, res: NodeResponse, file: File): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.setHeader("cache-control", file.cacheControl);
  res.setHeader("etag", file.etag);
  res.setHeader("vary", "accept-encoding");
  const match = req.headers["if-none-match"];
  if (match?.split(",").some((tag) => tag.trim() === file.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  const gzip = file.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? (file.gzip as Buffer) : file.body;
  res.statusCode = 200;
  res.setHeader("content-type", file.type);
  res.setHeader("content-length", String(body.length));
  if (gzip) res.setHeader("content-encoding", "gzip");
  if (req.method === "HEAD") res.end();
  else res.end(body);
}

const MISSING_PAGE = `<!doctype html><html lang="en"><meta charset="utf-8"><title>agentnet console not built</title>
<h1>The agentnet console is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>) in the repository,
then reload. The gateway's RPCs work without it.</p></html>`;

function handleMissing(req: NodeRequest, res: NodeResponse): boolean {
  const urlPath = (req.url ?? "/").split("?")[0] ?? "/";
  if (urlPath !== "/" && urlPath !== "/console" && !urlPath.startsWith("/console/")) return false;
  req.resume();
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.statusCode = 503;
  res.setHeader("content-type", "text/html; charset=utf-8");
  res.setHeader("cache-control", "no-store");
  res.end(MISSING_PAGE);
  return true;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : Promise.resolve(e.isFile() ? [path.join(dir, e.name)] : []))),
  );
  return nested.flat();
}
