// A minimal client of the V8 inspector protocol, for reading a gateway's heap figures from outside: the soak
// starts its gateways with `--inspect=127.0.0.1:0` (loopback, a free port) and evaluates process.memoryUsage() in
// them. Nothing in the gateway changes for it.

export interface HeapFigures {
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  arrayBuffersMiB: number;
}

export class InspectorClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: { message: string } };
      if (msg.id === undefined) return;
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
    ws.addEventListener("close", () => {
      for (const p of this.pending.values()) p.reject(new Error("inspector connection closed"));
      this.pending.clear();
    });
  }

  /** The inspector URL a node process printed ("Debugger listening on ws://…"), if it did. */
  static urlIn(output: string): string | undefined {
    return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
  }

  static async connect(url: string): Promise<InspectorClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to the inspector at ${url}`)), { once: true });
    });
    return new InspectorClient(ws);
  }

  call(method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`inspector ${method} timed out`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** process.memoryUsage() of the inspected process, MiB. */
  async heap(): Promise<HeapFigures> {
    const expr =
      "(() => { const m = process.memoryUsage(); const r = (n) => Math.round(n / 104857.6) / 10; " +
      "return { heapUsedMiB: r(m.heapUsed), heapTotalMiB: r(m.heapTotal), externalMiB: r(m.external), arrayBuffersMiB: r(m.arrayBuffers) }; })()";
    const res = (await this.call("Runtime.evaluate", { expression: expr, returnByValue: true })) as { result?: { value?: HeapFigures } };
    if (!res.result?.value) throw new Error("inspector: no value from process.memoryUsage()");
    return res.result.value;
  }

  close(): void {
    this.ws.close();
  }
}
