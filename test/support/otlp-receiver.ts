import { type Server, createServer } from "node:http";
import { gunzipSync } from "node:zlib";

/** A span as an OTLP/HTTP exporter sent it, with its resource's attributes. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's numbering: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
  links: Array<{ traceId: string; spanId: string }>;
  /** 2 is error. */
  statusCode: number;
}

/**
 * A real OTLP/HTTP traces endpoint (POST /v1/traces, JSON bodies as OpenTelemetry JS exports them) that keeps what it
 * receives, for tests; it answers 200 with an empty ExportTraceServiceResponse, as a collector does, and 415 to
 * anything it cannot read.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly requests: Array<{ path: string; contentType: string; headers: Record<string, string | string[] | undefined> }> = [];
  private server: Server | undefined;
  url = "";

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const contentType = req.headers["content-type"] ?? "";
        this.requests.push({ path: req.url ?? "", contentType, headers: req.headers });
        if (req.method !== "POST" || req.url !== "/v1/traces" || !contentType.startsWith("application/json")) {
          res.writeHead(415).end();
          return;
        }
        let body = Buffer.concat(chunks);
        if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
        this.take(JSON.parse(body.toString("utf8")) as ExportRequest);
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    this.url = `http://127.0.0.1:${address.port}`;
    return this;
  }

  /** Spans of one trace. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Polls until `ok` holds of the trace's spans (exports are batched). */
  waitForTrace(traceId: string, ok: (spans: ReceivedSpan[]) => boolean, what: string): Promise<ReceivedSpan[]> {
    return this.waitFor((spans) => spans.filter((s) => s.traceId === traceId), ok, `trace ${traceId}: ${what}`);
  }

  /** Polls until `ok` holds of `pick(all spans received)`; gives that selection. */
  async waitFor(
    pick: (spans: ReceivedSpan[]) => ReceivedSpan[],
    ok: (picked: ReceivedSpan[]) => boolean,
    what: string,
    timeoutMs = 30_000,
  ): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const picked = pick(this.spans);
      if (ok(picked)) return picked;
      if (Date.now() > deadline) throw new Error(`never received ${what}; got: ${picked.map((s) => s.name).join(", ")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private take(request: ExportRequest): void {
    for (const rs of request.resourceSpans ?? []) {
      const resource = attributes(rs.resource?.attributes);
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            traceId: hexId(s.traceId),
            spanId: hexId(s.spanId),
            parentSpanId: s.parentSpanId ? hexId(s.parentSpanId) : "",
            name: s.name,
            kind: s.kind ?? 0,
            attributes: attributes(s.attributes),
            resource,
            links: (s.links ?? []).map((l) => ({ traceId: hexId(l.traceId), spanId: hexId(l.spanId) })),
            statusCode: s.status?.code ?? 0,
          });
        }
      }
    }
  }
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}
interface ExportRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: Array<{
      spans?: Array<{
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        attributes?: KeyValue[];
        links?: Array<{ traceId: string; spanId: string }>;
        status?: { code?: number };
      }>;
    }>;
  }>;
}

function attributes(kvs: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of kvs ?? []) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue ?? ""));
  }
  return out;
}

/** OTLP/JSON ids are hex; tolerate base64 (protobuf's JSON mapping) too. */
function hexId(id: string): string {
  return /^[0-9a-f]+$/i.test(id) && (id.length === 32 || id.length === 16) ? id.toLowerCase() : Buffer.from(id, "base64").toString("hex");
}
