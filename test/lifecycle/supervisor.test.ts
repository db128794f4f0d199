import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type Service, Supervisor } from "../../src/lifecycle/index.js";

const silent = pino({ level: "silent" });

/** A service that records when it started and stopped, and takes `stopMs` to wind down. */
function recorder(name: string, log: string[], stopMs = 0): Service {
  return {
    async run(signal) {
      log.push(`start ${name}`);
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      log.push(`stopping ${name}`);
      await new Promise((r) => setTimeout(r, stopMs));
      log.push(`stopped ${name}`);
    },
  };
}

describe("Supervisor", () => {
  it("starts services synchronously in order and stops them in reverse, each after the later ones finished", async () => {
    const log: string[] = [];
    const supervisor = new Supervisor(silent);
    supervisor.start("a", recorder("a", log));
    supervisor.start("b", recorder("b", log, 20));
    supervisor.start("c", recorder("c", log));
    expect(log).toEqual(["start a", "start b", "start c"]);
    await supervisor.stop();
    expect(log.slice(3)).toEqual(["stopping c", "stopped c", "stopping b", "stopped b", "stopping a", "stopped a"]);
    await supervisor.stop(); // idempotent
    expect(() => supervisor.start("d", recorder("d", log))).toThrow(/stopping/);
  });

  it("reports a service that fails while running, and still stops the others", async () => {
    const log: string[] = [];
    const supervisor = new Supervisor(silent);
    supervisor.start("steady", recorder("steady", log));
    supervisor.start("broken", {
      run: async () => {
        throw new Error("lost its subscription");
      },
    });
    const failure = await supervisor.failed;
    expect(failure.message).toBe("broken failed: lost its subscription");
    await supervisor.stop();
    expect(log).toEqual(["start steady", "stopping steady", "stopped steady"]);
  });

  it("reports a service whose run throws synchronously", async () => {
    const supervisor = new Supervisor(silent);
    supervisor.start("sync", {
      run: () => {
        throw new Error("bad wiring");
      },
    });
    expect((await supervisor.failed).message).toBe("sync failed: bad wiring");
    await supervisor.stop();
  });

  it("does not count a failure while stopping as the gateway failing", async () => {
    const supervisor = new Supervisor(silent);
    supervisor.start("flaky", {
      async run(signal) {
        await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
        throw new Error("could not flush");
      },
    });
    let failed = false;
    void supervisor.failed.then(() => (failed = true));
    // stop() resolves after every service's outcome was handled, so a failure would be reported by now.
    await supervisor.stop();
    await Promise.resolve();
    expect(failed).toBe(false);
  });
});
