import type { Logger } from "pino";
import type { Service } from "./service.js";

interface Running {
  name: string;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Starts a gateway's services and stops them in reverse order of start, each one only after those started after
 * it have finished — a later service may use an earlier one while it winds down (streams release sessions
 * through presence).
 */
export class Supervisor {
  /** Resolves when a service failed (its `run` rejected) before the supervisor was stopped. */
  readonly failed: Promise<Error>;
  private readonly running: Running[] = [];
  private reportFailure: (err: Error) => void = () => undefined;
  private stopping: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {
    this.failed = new Promise((resolve) => (this.reportFailure = resolve));
  }

  /** Starts `service` now (its `run` is called synchronously, so what it subscribes to is live on return). */
  start(name: string, service: Service): void {
    if (this.stopping) throw new Error(`cannot start ${name}: the supervisor is stopping`);
    const controller = new AbortController();
    let started: Promise<void>;
    try {
      started = service.run(controller.signal);
    } catch (err) {
      started = Promise.reject(err);
    }
    const done = started.then(
      () => {
        if (!controller.signal.aborted) this.logger.warn({ service: name }, `${name} ended before the gateway stopped`);
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        if (controller.signal.aborted) {
          this.logger.warn({ err: error, service: name }, `${name} failed while stopping`);
          return;
        }
        this.logger.error({ err: error, service: name }, `${name} failed; the gateway cannot go on without it`);
        this.reportFailure(new Error(`${name} failed: ${error.message}`, { cause: error }));
      },
    );
    this.running.push({ name, controller, done });
  }

  /** Stops every service, last started first. Idempotent; never rejects. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const service of [...this.running].reverse()) {
        service.controller.abort();
        await service.done;
      }
    })();
    return this.stopping;
  }
}
