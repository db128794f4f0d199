import { fromBinary } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Code } from "@connectrpc/connect";
import http2 from "node:http2";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";

// Calls with bodies no generated client would send (random bytes, truncated messages, invalid UTF-8), over the
// wire protocols the gateway serves, and the status and ErrorInfo reason that came back.

export interface RawAnswer {
  /** The RPC status: Code.* (0 = OK). */
  code: Code | 0;
  message: string;
  /** ErrorInfo.reason, when the answer carried one. */
  reason: string | undefined;
}

type ConnectErrorJson = { code?: string; message?: string; details?: Array<{ type: string; value: string }> };

/**
 * A Connect call over HTTP/1.1 with `body` as it is (binary or JSON). `stream` sends it as the one request message of
 * a server-streaming call (enveloped) and reads the end-of-stream status.
 */
export async function rawConnect(
  baseUrl: string,
  path: string,
  body: Uint8Array | string,
  format: "proto" | "json",
  token?: string,
  stream = false,
): Promise<RawAnswer> {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  const res = await fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": stream ? `application/connect+${format}` : `application/${format}`,
      "connect-timeout-ms": "3000",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: stream ? envelope(bytes) : bytes,
  });
  if (!stream) {
    if (res.ok) {
      await res.arrayBuffer();
      return { code: 0, message: "", reason: undefined };
    }
    return fromErrorJson((await res.json()) as ConnectErrorJson);
  }
  const all = Buffer.from(await res.arrayBuffer());
  for (let at = 0; at + 5 <= all.length; ) {
    const flags = all.readUInt8(at);
    const length = all.readUInt32BE(at + 1);
    if (flags & 0x02) {
      const end = JSON.parse(all.subarray(at + 5, at + 5 + length).toString("utf8")) as { error?: ConnectErrorJson };
      return end.error ? fromErrorJson(end.error) : { code: 0, message: "", reason: undefined };
    }
    at += 5 + length;
  }
  return { code: 0, message: "", reason: undefined };
}

function fromErrorJson(json: ConnectErrorJson): RawAnswer {
  const info = json.details?.find((d) => d.type === ErrorInfoSchema.typeName);
  return {
    code: codeFromString(json.code ?? "unknown"),
    message: json.message ?? "",
    reason: info ? fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")).reason : undefined,
  };
}

function envelope(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/** A gRPC call over h2c whose request message is `message` as it is (wrapped in one uncompressed envelope). */
export async function rawGrpc(baseUrl: string, path: string, message: Uint8Array, token?: string): Promise<RawAnswer> {
  const session = http2.connect(baseUrl);
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      session.on("error", reject);
      const req = session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc+proto",
        te: "trailers",
        // A body that happens to parse may open a stream: let the server end it.
        "grpc-timeout": "3S",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      });
      let headers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => (headers = h));
      req.on("data", () => undefined);
      req.on("trailers", (trailers) => {
        // A trailers-only answer puts the status in the headers instead.
        const all = { ...headers, ...trailers };
        resolve(grpcAnswer(all));
      });
      req.on("end", () => resolve(grpcAnswer(headers)));
      req.on("error", reject);
      req.end(envelope(message));
    });
  } finally {
    session.close();
  }
}

/** The status of a gRPC answer from its headers and trailers. */
export function grpcAnswer(h: http2.IncomingHttpHeaders): RawAnswer {
  const status = Number(h["grpc-status"] ?? Code.Unknown) as Code | 0;
  const details = h["grpc-status-details-bin"];
  return {
    code: status,
    message: decodeURIComponent(String(h["grpc-message"] ?? "")),
    reason: typeof details === "string" ? reasonFromStatus(Buffer.from(details, "base64")) : undefined,
  };
}

/** ErrorInfo.reason out of a serialized google.rpc.Status (code = 1, message = 2, details = 3 as Any). */
function reasonFromStatus(bytes: Uint8Array): string | undefined {
  const status = new BinaryReader(bytes);
  while (status.pos < status.len) {
    const [no, wireType] = status.tag();
    if (no !== 3) {
      status.skip(wireType);
      continue;
    }
    const any = new BinaryReader(status.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [n, wt] = any.tag();
      if (n === 1) typeUrl = any.string();
      else if (n === 2) value = any.bytes();
      else any.skip(wt);
    }
    if (typeUrl.endsWith(`/${ErrorInfoSchema.typeName}`)) return fromBinary(ErrorInfoSchema, value).reason;
  }
  return undefined;
}

function codeFromString(s: string): Code {
  const name = s.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase()) as keyof typeof Code;
  return (Code[name] as Code | undefined) ?? Code.Unknown;
}
