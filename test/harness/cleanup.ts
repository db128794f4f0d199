import { spawn } from "node:child_process";

/**
 * Servers started by a test process must not outlive it, but vitest ends its worker processes with a
 * signal, so neither teardown code nor an 'exit' handler runs when a test forgets stop() or a run is
 * interrupted. A tiny detached shell watches this process instead and, once it is gone, signals the
 * server and deletes its directory. stop() cancels the watcher first, so it never signals a pid that
 * has since been reused.
 */
export function reapAfterExit(opts: { pid: number; signal: "TERM" | "QUIT" | "KILL"; dir: string }): () => void {
  const script = [
    'while kill -0 "$1" 2>/dev/null; do sleep 1; done',
    'kill -s "$3" "$2" 2>/dev/null && sleep 2',
    'kill -s KILL "$2" 2>/dev/null',
    'rm -rf "$4"',
  ].join("; ");
  const watcher = spawn("sh", ["-c", script, "reaper", String(process.pid), String(opts.pid), opts.signal, opts.dir], {
    detached: true,
    stdio: "ignore",
  });
  watcher.unref();
  return () => {
    if (watcher.exitCode === null && watcher.signalCode === null) watcher.kill("SIGKILL");
  };
}
