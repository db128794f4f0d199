import type { Logger } from "pino";
import type { NodeRequest, NodeResponse } from "./http-types.js";

/**
 * A plain HTTP handler (not an RPC), e.g. the Agora seed's `GET /get_config`. It writes the whole response.
 * `params` holds the path's `{name}` segments, decoded.
 */
export type HttpRouteHandler = (req: NodeRequest, res: NodeResponse, params: Record<string, string>) => Promise<void> | void;

/** Registers a plain HTTP route; services get this as `ServiceDeps.addHttpRoute`. */
export type AddHttpRoute = (method: "GET" | "POST" | "PUT" | "DELETE" | "PATCH", path: string, handler: HttpRouteHandler) => void;

/**
 * Plain HTTP routes served on the one port beside Connect. The gateway consults them in Connect's fallback, so
 * they only see paths no RPC owns, after CORS was applied (preflights never reach them). Matching is on the path
 * without the query string: exact paths first, then patterns whose `{name}` segments match one non-empty
 * segment each (e.g. `/a2a/{username}`); a known path with another method gets 405. Each request is logged in one line
 * (method, path, status, duration, client) — never headers or bodies. A handler that throws gets a JSON 500.
 */
export class HttpRoutes {
  private readonly routes = new Map<string, Map<string, HttpRouteHandler>>();
  private readonly patterns: Array<{ path: string; segments: string[]; byMethod: Map<string, HttpRouteHandler> }> = [];

  constructor(private readonly logger: Logger) {}

  readonly add: AddHttpRoute = (method, path, handler) => {
    if (!path.startsWith("/")) throw new Error(`HTTP route path must start with "/": ${path}`);
    let byMethod = this.routes.get(path) ?? this.patterns.find((p) => p.path === path)?.byMethod;
    if (!byMethod) {
      byMethod = new Map<string, HttpRouteHandler>();
      if (path.includes("{")) this.patterns.push({ path, segments: path.split("/"), byMethod });
      else this.routes.set(path, byMethod);
    }
    if (byMethod.has(method)) throw new Error(`HTTP route ${method} ${path} is registered twice`);
    byMethod.set(method, handler);
  };

  /** Serves `req` when a route owns its path and returns true; false leaves the request to the caller. */
  handle(req: NodeRequest, res: NodeResponse): boolean {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const found = this.match(path);
    if (!found) return false;
    const { byMethod, params } = found;
    const started = performance.now();
    const method = req.method ?? "GET";
    res.on("finish", () => {
      this.logger.info(
        {
          http: `${method} ${path}`,
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 10) / 10,
          client: req.socket?.remoteAddress,
        },
        "http",
      );
    });
    const handler = byMethod.get(method);
    if (!handler) {
      req.resume();
      sendJson(
        res,
        405,
        {
          code: 405,
          msg: `method ${method} not allowed on ${path}`,
          detail: `method ${method} not allowed on ${path}`,
          reason: "method_not_allowed",
        },
        { allow: [...byMethod.keys()].join(", ") },
      );
      return true;
    }
    Promise.resolve()
      .then(() => handler(req, res, params))
      .catch((err: unknown) => {
        this.logger.error({ err, http: `${method} ${path}` }, "http route failed");
        if (!res.headersSent) sendJson(res, 500, { code: 500, msg: "internal error" });
        else res.end();
      });
    return true;
  }

  private match(path: string): { byMethod: Map<string, HttpRouteHandler>; params: Record<string, string> } | undefined {
    const exact = this.routes.get(path);
    if (exact) return { byMethod: exact, params: {} };
    const segments = path.split("/");
    for (const pattern of this.patterns) {
      if (pattern.segments.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const fits = pattern.segments.every((want, i) => {
        const got = segments[i]!;
        if (!want.startsWith("{")) return want === got;
        if (got === "") return false;
        try {
          params[want.slice(1, -1)] = decodeURIComponent(got);
        } catch {
          return false;
        }
        return true;
      });
      if (fits) return { byMethod: pattern.byMethod, params };
    }
    return undefined;
  }
}

/** Writes a JSON response with a content length. */
export function sendJson(res: NodeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", String(Buffer.byteLength(text)));
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(text);
}

/** Reads a request body of at most `maxBytes` as JSON; undefined for an empty body. Throws BodyError otherwise. */
export async function readJsonBody(req: NodeRequest, maxBytes = 64 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer | string>) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > maxBytes) throw new BodyError(413, `request body larger than ${maxBytes} bytes`);
    chunks.push(buf);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new BodyError(400, "request body is not valid JSON");
  }
}

export class BodyError extends Error {
  override name = "BodyError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
