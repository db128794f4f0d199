import { createServer, connect } from "node:net";

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it; callers retry on the rare clash). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      if (addr === null || typeof addr === "string") {
        srv.close();
        reject(new Error("could not determine a free port"));
        return;
      }
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; `expect` checks the first bytes sent. */
export async function waitForPort(
  port: number,
  opts: { timeoutMs: number; expect?: (firstBytes: string) => boolean; alive?: () => string | undefined },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = "no attempt";
  while (Date.now() < deadline) {
    const dead = opts.alive?.();
    if (dead !== undefined) throw new Error(dead);
    try {
      await probe(port, opts.expect);
      return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing answered on 127.0.0.1:${port} within ${opts.timeoutMs} ms (${last})`);
}

function probe(port: number, expect: ((firstBytes: string) => boolean) | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: "127.0.0.1", port });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error("probe timed out"));
    }, 1000);
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve();
    };
    sock.once("error", done);
    sock.once("connect", () => {
      if (expect === undefined) done();
    });
    if (expect !== undefined) {
      let buf = "";
      sock.on("data", (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        if (expect(buf)) done();
      });
      sock.once("end", () => done(new Error(`connection closed after ${JSON.stringify(buf.slice(0, 80))}`)));
    }
  });
}
