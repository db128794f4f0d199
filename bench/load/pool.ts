import { type ChildProcess, fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { LoadAgent, OpenSpec, StepResult, StepSpec } from "./messaging-load.js";
import type { Answer, Command, Request } from "./protocol.js";

const WORKER = fileURLToPath(new URL("./worker.js", import.meta.url));

/** One forked load process. */
class LoadProcess {
  private readonly child: ChildProcess;
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (a: Answer) => void }>();
  private exited: string | undefined;

  constructor() {
    // The worker's stdout goes to stderr: stdout carries only the report.
    this.child = fork(WORKER, [], { stdio: ["ignore", process.stderr, "inherit", "ipc"] });
    this.child.on("message", (raw) => {
      const a = raw as Answer;
      this.waiting.get(a.id)?.resolve(a);
      this.waiting.delete(a.id);
    });
    this.child.once("exit", (code, signal) => {
      this.exited = `load process exited (${signal ?? `code ${code}`})`;
      for (const w of this.waiting.values()) w.resolve({ id: 0, ok: false, error: this.exited });
      this.waiting.clear();
    });
    const kill = () => this.child.kill("SIGKILL");
    process.once("exit", kill);
    this.child.once("exit", () => process.off("exit", kill));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async call(cmd: Request): Promise<StepResult | undefined> {
    if (this.exited) throw new Error(this.exited);
    const id = this.next++;
    const answer = await new Promise<Answer>((resolve) => {
      this.waiting.set(id, { resolve });
      this.child.send({ ...cmd, id } as Command);
    });
    if (!answer.ok) throw new Error(answer.error);
    return answer.result;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.child.once("exit", r));
    await this.call({ type: "close" }).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  }
}

/**
 * `n` load processes sharing the senders and receivers of one setup: process i gets every n-th sender and
 * receiver and sends only to its own receivers (so each measures latency on its own clock).
 */
export class LoadPool {
  private readonly processes: LoadProcess[];

  constructor(n: number) {
    this.processes = Array.from({ length: n }, () => new LoadProcess());
  }

  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  async open(spec: Omit<OpenSpec, "workerId" | "senders" | "receivers">, senders: LoadAgent[], receivers: LoadAgent[]): Promise<void> {
    const n = this.processes.length;
    await Promise.all(
      this.processes.map((p, i) =>
        p.call({
          type: "open",
          spec: {
            ...spec,
            workerId: i,
            senders: senders.filter((_, j) => j % n === i),
            receivers: receivers.filter((_, j) => j % n === i),
          },
        }),
      ),
    );
  }

  /** Runs one step in every process at once; `ratePerSecond` is the total, split evenly. */
  async step(step: StepSpec): Promise<StepResult[]> {
    const n = this.processes.length;
    const share: StepSpec = {
      ...step,
      ratePerSecond: step.ratePerSecond === null ? null : step.ratePerSecond / n,
      maxUndelivered: Math.ceil(step.maxUndelivered / n),
    };
    return (await Promise.all(this.processes.map((p) => p.call({ type: "step", step: share })))) as StepResult[];
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.stop()));
  }
}
