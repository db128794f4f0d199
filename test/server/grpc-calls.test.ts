import http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoginRequestSchema } from "../../gen/agentnet/v1/auth_pb.js";
import { HeartbeatRequestSchema } from "../../gen/agentnet/v1/registry_pb.js";
import { SubscribeMode, SubscribeRequestSchema } from "../../gen/agentnet/v1/messaging_pb.js";
import { type Caller, callers } from "../registry/helpers.js";
import { ADMIN_PASSWORD, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { grpcAnswer } from "../support/raw-rpc.js";

// Unary and server-streaming calls over gRPC are served by GrpcCalls, not connect: the envelope faults a generated
// client never makes, deadlines, credentials and compressed requests, checked on the wire.

interface WireAnswer {
  status: number;
  reason: string | undefined;
  contentType: string | undefined;
  messages: number;
}

/** One gRPC call with `body` sent as it is (already enveloped, or not). */
function callRaw(url: string, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<WireAnswer> {
  const session = http2.connect(url);
  return new Promise<WireAnswer>((resolve, reject) => {
    session.on("error", reject);
    const req = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let bytes = 0;
    req.on("response", (h) => (head = h));
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    const done = (trailers: http2.IncomingHttpHeaders) => {
      const { code, reason } = grpcAnswer({ ...head, ...trailers });
      resolve({ status: code, reason, contentType: head["content-type"], messages: bytes });
    };
    req.on("trailers", done);
    req.on("end", () => done({}));
    req.on("error", reject);
    req.end(body);
  }).finally(() => session.close());
}

const envelope = (message: Uint8Array, flags = 0) => {
  const out = Buffer.alloc(5 + message.length);
  out[0] = flags;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
};

describe("gRPC calls served without connect's pipeline", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  let alice: Caller;
  let agent: { accountId: string; sessionTag: string };

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw = await startTestGateway(backend);
    ({ alice } = await callers(gw, ["alice"]));
    agent = await alice.registry.register({ agentId: "wire", username: "wire_agent" });
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  const heartbeat = "/agentnet.v1.RegistryService/Heartbeat";
  const subscribe = "/agentnet.v1.MessagingService/Subscribe";
  const bearer = () => ({ authorization: `Bearer ${alice.token}` });
  const heartbeatBody = () => toBinary(HeartbeatRequestSchema, create(HeartbeatRequestSchema, { sessionTag: agent.sessionTag }));

  it("answers a unary call with one message and status OK, as application/grpc+proto", async () => {
    const answer = await callRaw(gw.url, heartbeat, envelope(heartbeatBody()), bearer());
    expect(answer).toMatchObject({ status: 0, contentType: "application/grpc+proto" });
    expect(answer.messages).toBeGreaterThan(5);
  });

  it.each([
    ["no message at all", () => Buffer.alloc(0)],
    ["a cut envelope header", () => Buffer.from([0, 0, 0])],
    ["a message shorter than its envelope says", () => envelope(heartbeatBody()).subarray(0, 8)],
    ["two messages", () => Buffer.concat([envelope(heartbeatBody()), envelope(heartbeatBody())])],
    ["a compressed message without grpc-encoding", () => envelope(heartbeatBody(), 1)],
  ])("refuses %s with INVALID_ARGUMENT malformed_request, on unary calls and streams alike", async (_what, body) => {
    for (const path of [heartbeat, subscribe]) {
      const answer = await callRaw(gw.url, path, body(), bearer());
      expect([answer.status, answer.reason], path).toEqual([Code.InvalidArgument, "malformed_request"]);
    }
  });

  it("refuses a grpc-timeout it cannot read, and calls without valid credentials, each with a reason", async () => {
    const bad = await callRaw(gw.url, heartbeat, envelope(heartbeatBody()), { ...bearer(), "grpc-timeout": "soon" });
    expect([bad.status, bad.reason]).toEqual([Code.InvalidArgument, "malformed_request"]);
    for (const path of [heartbeat, subscribe]) {
      const anonymous = await callRaw(gw.url, path, envelope(heartbeatBody()));
      expect(anonymous.status, path).toBe(Code.Unauthenticated);
      expect(anonymous.reason, path).toMatch(/^[a-z]+(_[a-z]+)+$/);
    }
  });

  it("ends a stream at its grpc-timeout with DEADLINE_EXCEEDED after the messages it had", async () => {
    const request = toBinary(
      SubscribeRequestSchema,
      create(SubscribeRequestSchema, { asAccountId: agent.accountId, sessionTag: agent.sessionTag, mode: SubscribeMode.CONSUME }),
    );
    const answer = await callRaw(gw.url, subscribe, envelope(request), { ...bearer(), "grpc-timeout": "300m" });
    expect(answer.status).toBe(Code.DeadlineExceeded);
    // The started event came before the deadline.
    expect(answer.messages).toBeGreaterThan(5);
  });

  it("leaves compressed requests to connect, which still answers them", async () => {
    const login = toBinary(LoginRequestSchema, create(LoginRequestSchema, { username: "admin", password: ADMIN_PASSWORD }));
    const answer = await callRaw(gw.url, "/agentnet.v1.AuthService/Login", envelope(gzipSync(login), 1), { "grpc-encoding": "gzip" });
    expect(answer.status).toBe(0);
    expect(answer.messages).toBeGreaterThan(5);
  });
});
