import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reapAfterExit } from "./cleanup.js";
import { freePort, waitForPort } from "./ports.js";

export interface NatsServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, then SIGKILL) and deletes its store directory unless the caller gave it. */
  stop(): Promise<void>;
  /** Sends `signal` (e.g. SIGKILL, a crash) and resolves once the process is gone; the store directory stays. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

export interface StartNatsOptions {
  /** Default: a free port. Give the port of a stopped server to restart "the same" server. */
  port?: number;
  /** JetStream store directory. Default: a fresh temporary directory. */
  storeDir?: string;
  /** Default 10 s. */
  startTimeoutMs?: number;
}

function natsServerBinary(): string {
  // Debian puts it in /usr/sbin, which an unprivileged user's PATH often lacks.
  const candidates = [process.env.NATS_SERVER_BIN, "nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server"];
  for (const candidate of candidates.filter((c): c is string => !!c)) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // Not this one.
    }
  }
  throw new Error("nats-server not found on PATH: run scripts/setup.sh");
}

/** Starts `nats-server -js` on 127.0.0.1 and resolves once it greets clients with INFO. */
export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServer> {
  const bin = natsServerBinary();
  const ownDir = opts.storeDir === undefined;
  const storeDir = opts.storeDir ?? (await mkdtemp(join(tmpdir(), "agentnet-nats-")));
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await launch(bin, port, storeDir, ownDir, opts.startTimeoutMs ?? 10_000);
    } catch (err) {
      // A free port can be taken before we bind it; a port the caller asked for is theirs to fix.
      if (opts.port === undefined && attempt < 3 && /address already in use/i.test(String(err))) continue;
      if (ownDir) await rm(storeDir, { recursive: true, force: true });
      throw err;
    }
  }
}

async function launch(bin: string, port: number, storeDir: string, ownDir: boolean, timeoutMs: number): Promise<NatsServer> {
  const child: ChildProcess = spawn(bin, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-8_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let exited: string | undefined;
  const exitedP = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = `nats-server exited (${signal ?? `code ${code}`}) on port ${port}: ${problems(output)}`;
      resolve();
    });
    child.once("error", (err) => {
      exited = `nats-server could not start: ${err.message}`;
      resolve();
    });
  });
  // A caller-owned store directory is left alone: the caller restarts servers on it.
  const unregister = child.pid === undefined ? () => {} : reapAfterExit({ pid: child.pid, signal: "TERM", dir: ownDir ? storeDir : "" });

  const stop = async (): Promise<void> => {
    unregister();
    if (exited === undefined) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exitedP;
      clearTimeout(timer);
    }
    if (ownDir) await rm(storeDir, { recursive: true, force: true });
  };

  try {
    // Readiness from the server's own log: probing the port alone would accept another process that
    // already holds it.
    const deadline = Date.now() + timeoutMs;
    while (!/Server is ready/.test(output)) {
      if (exited !== undefined) throw new Error(exited);
      if (Date.now() > deadline) throw new Error(`nats-server on port ${port} not ready within ${timeoutMs} ms: ${problems(output)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitForPort(port, { timeoutMs, expect: (bytes) => bytes.startsWith("INFO "), alive: () => exited });
  } catch (err) {
    // Stop the process but leave the store directory to the caller's retry or cleanup.
    unregister();
    child.kill("SIGKILL");
    await exitedP;
    throw err;
  }
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    unregister();
    if (exited === undefined) child.kill(signal);
    await exitedP;
  };
  return { url: `nats://127.0.0.1:${port}`, port, stop, kill };
}

/** The server's error lines, or its last lines when it gave none. */
function problems(output: string): string {
  const lines = output.trim().split("\n");
  const errors = lines.filter((l) => /\[(ERR|FTL)\]/.test(l));
  return (errors.length > 0 ? errors : lines.slice(-5)).join("\n");
}
