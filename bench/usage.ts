import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import pidusage from "pidusage";

// CPU and memory of the processes under test. Gateways are single processes (pidusage); PostgreSQL is a group
// (postmaster plus one backend per connection), read from /proc as the postmaster's children.

const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface UsageFigures {
  /** CPU over the window as % of one core (100 = one core busy all the time). */
  cpuPercent: number;
  /** Largest resident set size seen during the window, MiB. */
  rssMaxMiB: number;
  /** Resident set size at the end of the window, MiB. */
  rssEndMiB: number;
}

/** Samples one process's RSS every `everyMs` between start and stop; CPU from the difference of its CPU time. */
export class ProcessMeter {
  private startCpuMs = 0;
  private startAt = 0;
  private rssMax = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly pid: number,
    private readonly everyMs = 250,
  ) {}

  async start(): Promise<void> {
    const s = await pidusage(this.pid);
    this.startCpuMs = s.ctime;
    this.startAt = performance.now();
    this.rssMax = s.memory;
    this.timer = setInterval(() => {
      pidusage(this.pid).then(
        (x) => (this.rssMax = Math.max(this.rssMax, x.memory)),
        () => undefined,
      );
    }, this.everyMs);
  }

  async stop(): Promise<UsageFigures> {
    clearInterval(this.timer);
    const s = await pidusage(this.pid);
    const elapsed = performance.now() - this.startAt;
    this.rssMax = Math.max(this.rssMax, s.memory);
    return {
      cpuPercent: round1(((s.ctime - this.startCpuMs) / elapsed) * 100),
      rssMaxMiB: round1(this.rssMax / 2 ** 20),
      rssEndMiB: round1(s.memory / 2 ** 20),
    };
  }
}

/** Current RSS of a process in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  return round1((await pidusage(pid)).memory / 2 ** 20);
}

/** Total CPU time (ms) of a set of processes, read from /proc; processes that vanished count as 0. */
function cpuMsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // Gone.
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

/** Parent pid of a process, from /proc. */
export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** A process and all its children (one level: PostgreSQL's backends and workers). */
export function withChildren(pid: number): number[] {
  const pids = [pid];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (parentPid(Number(entry)) === pid) pids.push(Number(entry));
  }
  return pids;
}

/** The pid of a process whose command line contains every one of `parts` (e.g. nats-server and its port). */
export function findProcess(parts: string[]): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (parts.every((p) => cmd.some((arg) => arg.includes(p)))) return Number(entry);
    } catch {
      // Gone or not ours to read.
    }
  }
  return undefined;
}

/** CPU of a group of processes (re-listed at stop, so backends opened meanwhile count) over a window. */
export class GroupMeter {
  private startCpu = new Map<number, number>();
  private startAt = 0;

  constructor(private readonly list: () => number[]) {}

  start(): void {
    this.startCpu = new Map(this.list().map((pid) => [pid, cpuMsOf([pid])]));
    this.startAt = performance.now();
  }

  /** % of one core used by the group since start(); a process that exited meanwhile took its time with it. */
  stop(): number {
    let used = 0;
    for (const pid of this.list()) used += cpuMsOf([pid]) - (this.startCpu.get(pid) ?? 0);
    return round1((used / (performance.now() - this.startAt)) * 100);
  }
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
