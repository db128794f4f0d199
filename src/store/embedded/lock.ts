import { readFileSync, unlinkSync } from "node:fs";
import { link, readFile, unlink, writeFile } from "node:fs/promises";

/** What the lock file in the data folder says about the process that runs its embedded server. */
export interface LockHolder {
  pid: number;
  /** The agentnet command it runs ("serve", "users add", …). */
  command: string;
  startedAt: string;
  /** Where its server listens (the socket folder). */
  socketDir: string;
  /** Empty mount-point folders it made for the server (removed by whoever finds the lock stale). */
  viewsDir?: string | undefined;
}

/** The data folder's lock, held by this process until release(). */
export interface Lock {
  readonly path: string;
  release(): Promise<void>;
  /** For process 'exit' handlers, where nothing asynchronous runs. */
  releaseSync(): void;
}

export type Acquired = { lock: Lock; stale: LockHolder | undefined } | { held: LockHolder };

/**
 * Takes the lock file (created exclusively, so two processes cannot both win). A lock whose process is gone —
 * a gateway killed with SIGKILL, a crash — is stale: it is replaced, and returned so the caller can clean up after
 * that process. A lock of a live process is returned as `held`.
 */
export async function acquireLock(path: string, holder: LockHolder): Promise<Acquired> {
  let stale: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createExclusively(path, holder)) return { lock: ownLock(path, holder.pid), stale };
    const current = await readHolder(path);
    if (current && current.pid !== process.pid && isAlive(current.pid)) return { held: current };
    // Gone (or unreadable): replace it. Another process may replace it first; then look again.
    stale ??= current;
    await unlink(path).catch(() => undefined);
  }
  const current = await readHolder(path);
  if (current) return { held: current };
  throw new Error(`cannot take the lock ${path}`);
}

/**
 * Creates the lock file with `holder` in it; false when it already exists. Written beside it and hard-linked
 * into place, so nobody ever reads a lock file that is still empty (and takes it for stale).
 */
async function createExclusively(path: string, holder: LockHolder): Promise<boolean> {
  const draft = `${path}.${process.pid}.tmp`;
  await writeFile(draft, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  try {
    await link(draft, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await unlink(draft).catch(() => undefined);
  }
}

/** The holder named by the lock file, or undefined when there is none (or it is unreadable). */
export async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as Partial<LockHolder>;
    if (typeof parsed.pid !== "number" || typeof parsed.socketDir !== "string") return undefined;
    return {
      pid: parsed.pid,
      command: String(parsed.command ?? "agentnet"),
      startedAt: String(parsed.startedAt ?? ""),
      socketDir: parsed.socketDir,
      viewsDir: parsed.viewsDir,
    };
  } catch {
    return undefined;
  }
}

/** A process with that pid exists (EPERM: it exists but belongs to someone else). */
export function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A live agentnet process with that pid. */
export function isAlive(pid: number): boolean {
  if (!processExists(pid)) return false;
  // A pid reused by an unrelated program after a reboot is not a holder: on Linux, a holder is a node process.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return /node|agentnet/.test(cmdline);
  } catch {
    return true;
  }
}

function ownLock(path: string, pid: number): Lock {
  const mine = () => {
    try {
      return (JSON.parse(readFileSync(path, "utf8")) as { pid?: unknown }).pid === pid;
    } catch {
      return false;
    }
  };
  return {
    path,
    async release() {
      if (mine()) await unlink(path).catch(() => undefined);
    },
    releaseSync() {
      try {
        if (mine()) unlinkSync(path);
      } catch {
        // Best effort while exiting.
      }
    },
  };
}
