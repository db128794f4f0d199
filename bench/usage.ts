import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import pidusage from "pidusage";

// CPU and memory of the processes under test. Gateways are single processes (pidusage); PostgreSQL — the run's
// shared server on the postgres+nats setups, the gateway's own embedded server on the embedded one — is a group
// (postmaster plus one backend per connection and its auxiliary processes), read from /proc as the postmaster's
// children.

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
export function cpuMsOf(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const fields = statFields(pid);
    if (fields) ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
  }
  return (ticks * 1000) / CLK_TCK;
}

/** CPU time (ms) of the children a process has waited for (cutime + cstime): what its exited children used. */
export function reapedChildrenCpuMs(pid: number): number {
  const fields = statFields(pid);
  return fields ? ((Number(fields[13]) + Number(fields[14])) * 1000) / CLK_TCK : 0;
}

/** /proc/<pid>/stat's fields after the command name (which is in parentheses and may contain spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // Gone.
  }
}

/** A kB field of /proc/<pid>/<file> ("VmRSS" of status, "Pss" of smaps_rollup), in bytes; undefined if unreadable. */
function procKb(pid: number, file: "status" | "smaps_rollup", field: string): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/${file}`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface GroupMemory {
  processes: number;
  /** Sum of the processes' resident set sizes, MiB: counts shared memory (shared_buffers) once per process mapping it. */
  rssMiB: number;
  /**
   * Sum of their proportional set sizes (smaps_rollup), MiB: each shared page split among the processes that map
   * it, so the sum is what the group really occupies. Undefined when smaps_rollup is not readable (another user's
   * processes, without root).
   */
  pssMiB: number | undefined;
}

/** Memory of a group of processes, now (processes that vanish while it is read are left out). */
export function groupMemory(pids: number[]): GroupMemory {
  let rss = 0;
  let pss = 0;
  let pssReadable = true;
  let processes = 0;
  for (const pid of pids) {
    const r = procKb(pid, "status", "VmRSS");
    if (r === undefined) continue;
    processes++;
    rss += r;
    const p = procKb(pid, "smaps_rollup", "Pss");
    if (p === undefined) pssReadable = false;
    else pss += p;
  }
  return { processes, rssMiB: round1(rss / 2 ** 20), pssMiB: pssReadable && processes > 0 ? round1(pss / 2 ** 20) : undefined };
}

/** A process's command name (/proc/<pid>/comm), "" when it is gone. */
export function processName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Whether a process exists (and is not a zombie). */
export function isAlive(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z";
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

export interface GroupUsage {
  /** % of one core over the window. */
  cpuPercent: number;
  /** Memory at the end of the window. */
  memory: GroupMemory;
  /** Largest sum of RSS seen during the window (sampled every second), MiB. */
  rssMaxMiB: number;
}

/**
 * CPU of a group of processes over a window (re-listed at stop, so backends opened meanwhile count). With `root`
 * (PostgreSQL's postmaster, which waits for its children) the CPU of processes that exited during the window is
 * counted too: it moves into the root's cutime/cstime when the root reaps them.
 */
export class GroupMeter {
  private startCpuMs = 0;
  private startAt = 0;
  private rssMax = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly list: () => number[],
    private readonly root?: () => number | undefined,
  ) {}

  private totalCpuMs(): number {
    const root = this.root?.();
    return cpuMsOf(this.list()) + (root === undefined ? 0 : reapedChildrenCpuMs(root));
  }

  start(options: { sampleMemory?: boolean } = {}): void {
    this.startCpuMs = this.totalCpuMs();
    this.startAt = performance.now();
    this.rssMax = 0;
    if (options.sampleMemory) {
      const sample = () => (this.rssMax = Math.max(this.rssMax, rssSum(this.list())));
      sample();
      this.timer = setInterval(sample, 1000);
    }
  }

  /** % of one core used by the group since start(). */
  stop(): number {
    clearInterval(this.timer);
    return round1(((this.totalCpuMs() - this.startCpuMs) / (performance.now() - this.startAt)) * 100);
  }

  /** stop(), with the group's memory at the end. */
  stopWithMemory(): GroupUsage {
    const cpuPercent = this.stop();
    const memory = groupMemory(this.list());
    return { cpuPercent, memory, rssMaxMiB: round1(Math.max(this.rssMax / 2 ** 20, memory.rssMiB)) };
  }
}

function rssSum(pids: number[]): number {
  let sum = 0;
  for (const pid of pids) sum += procKb(pid, "status", "VmRSS") ?? 0;
  return sum;
}

/** The postmaster's pid, from the first line of `<cluster>/postmaster.pid`; undefined when there is none. */
export function postmasterPidOf(cluster: string): number | undefined {
  try {
    const pid = Number(readFileSync(`${cluster}/postmaster.pid`, "utf8").split("\n")[0]);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
