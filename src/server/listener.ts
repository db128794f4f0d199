import http from "node:http";
import http2 from "node:http2";
import net from "node:net";

export type RequestHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/**
 * Takes an HTTP/2 stream as it arrives, before any request/response objects are made for it; false leaves it to
 * the {@link RequestHandler}.
 */
export type StreamHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => boolean;

export interface Listener {
  readonly port: number;
  /**
   * Stops accepting connections, asks HTTP/2 clients to go away (GOAWAY) and closes idle HTTP/1.1 connections;
   * after `graceMs` cuts whatever is still open. Resolves when every connection is gone.
   */
  close(graceMs: number): Promise<void>;
}

// The HTTP/2 client preface starts with these bytes; no HTTP/1.x method does.
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/**
 * One TCP port for HTTP/2 cleartext (gRPC, Connect, gRPC-Web) and HTTP/1.1 (Connect, gRPC-Web, browsers).
 * Node's `allowHTTP1` only works with TLS, so we look at the first bytes of each connection and hand the socket
 * to the matching server; both servers share one request handler.
 */
export async function listen(host: string, port: number, handler: RequestHandler, streams?: StreamHandler): Promise<Listener> {
  // No 'request' listener: Node would then make an Http2ServerRequest and Http2ServerResponse for every stream
  // (1.7 KiB per open Subscribe, and two more objects of garbage per Heartbeat). They are made below, only for
  // the streams `streams` declines.
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
  h2.on("stream", (stream, headers, _flags, rawHeaders) => {
    if (streams?.(stream, headers)) return;
    serveCompat(h2, handler, stream, headers, rawHeaders as unknown as string[]);
  });
  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  const sockets = new Set<net.Socket>();

  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  // A misbehaving client must not take the process down.
  h2.on("sessionError", () => undefined);
  h1.on("clientError", (_err, socket) => socket.destroy());

  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      // Wait for more bytes only while the start could still be the HTTP/2 preface.
      if (isH2 && n < H2_PREFACE.length) return;
      socket.off("data", onData);
      socket.pause();
      socket.unshift(head);
      // The HTTP/2 session takes over bytes already buffered on the socket itself; resuming would emit them
      // to nobody. The HTTP/1.1 server reads through 'data' events and needs the socket flowing again.
      if (isH2) {
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    };
    socket.on("data", onData);
  });

  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(port, host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  const address = tcp.address();
  const boundPort = typeof address === "object" && address ? address.port : port;

  return {
    port: boundPort,
    async close(graceMs: number) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      for (const session of sessions) session.close();
      h1.closeIdleConnections();
      const deadline = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      deadline.unref();
      // Connections still mid-request when the grace ends are cut above; idle keep-alive ones go now.
      const idle = setInterval(() => h1.closeIdleConnections(), 100);
      idle.unref();
      await closed;
      clearTimeout(deadline);
      clearInterval(idle);
    },
  };
}

/** What Node's HTTP/2 compatibility layer does with a stream when the server has a 'request' listener. */
function serveCompat(
  server: http2.Http2Server,
  handler: RequestHandler,
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
): void {
  const req = new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
  const res = new http2.Http2ServerResponse(stream);
  if (headers[":method"] === "CONNECT") {
    if (!server.emit("connect", req, res)) {
      res.statusCode = http2.constants.HTTP_STATUS_METHOD_NOT_ALLOWED;
      res.end();
    }
    return;
  }
  const expect = headers.expect;
  if (expect !== undefined) {
    if (expect !== "100-continue") {
      res.statusCode = http2.constants.HTTP_STATUS_EXPECTATION_FAILED;
      res.end();
      return;
    }
    res.writeContinue();
  }
  handler(req, res);
}
