// A load process forked by the coordinator (bench/load/pool.ts), so generating load does not compete with the
// coordinator's own event loop; it answers each command over the IPC channel.
import { MessagingLoad } from "./messaging-load.js";
import type { Answer, Command } from "./protocol.js";

let load: MessagingLoad | undefined;

function answer(a: Answer): void {
  process.send?.(a);
}

process.on("message", (raw) => {
  const cmd = raw as Command;
  void (async () => {
    try {
      switch (cmd.type) {
        case "open":
          load = new MessagingLoad(cmd.spec);
          await load.open();
          answer({ id: cmd.id, ok: true });
          break;
        case "step":
          if (!load) throw new Error("step before open");
          answer({ id: cmd.id, ok: true, result: await load.runStep(cmd.step) });
          break;
        case "close":
          await load?.close();
          answer({ id: cmd.id, ok: true });
          process.disconnect();
          break;
      }
    } catch (err) {
      answer({ id: cmd.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});

// The coordinator going away ends this process too.
process.on("disconnect", () => setTimeout(() => process.exit(0), 100).unref());
