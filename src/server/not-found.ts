import type { NodeRequest, NodeResponse } from "./http-types.js";

/**
 * Answers a request for a path no service serves. gRPC clients expect HTTP 200 with grpc-status 12
 * (UNIMPLEMENTED); Connect and plain HTTP clients get a 404 with a Connect-style JSON error.
 */
export function notFound(req: NodeRequest, res: NodeResponse): void {
  const path = (req.url ?? "/").split("?")[0] ?? "/";
  const message = `unknown method or path ${path}`;
  const contentType = req.headers["content-type"] ?? "";
  // Drain the body so the connection stays usable.
  req.resume();
  if (contentType.startsWith("application/grpc")) {
    // A trailers-only response: the status travels in the one HEADERS frame that ends the stream.
    const headers = { "content-type": contentType, "grpc-status": "12", "grpc-message": encodeURIComponent(message) };
    if ("stream" in res && !res.headersSent) {
      res.stream.respond({ ":status": 200, ...headers }, { endStream: true });
      return;
    }
    res.statusCode = 200;
    setHeaders(res, headers);
    res.end();
    return;
  }
  const body = JSON.stringify({ code: "unimplemented", message });
  res.statusCode = 404;
  setHeaders(res, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

function setHeaders(res: NodeResponse, headers: Record<string, string>): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
}
