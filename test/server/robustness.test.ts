import {
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  ScalarType,
  create,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService, LoginRequestSchema } from "../../gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { SessionService } from "../../gen/agentnet/v1/session_pb.js";
import { StatsService } from "../../gen/agentnet/v1/stats_pb.js";
import { A2AService } from "../../gen/lf/a2a/v1/a2a_pb.js";
import { TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { VoiceAgentService } from "../../gen/agentnet/v1/voice_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { MAX_JSON_DEPTH } from "../../src/server/input-rules.js";
import { type TestUser, createUser, loginAdmin, openInbox, registerAgent, text } from "../support/agents.js";
import { type Protocol, transport } from "../support/clients.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { rawConnect, rawGrpc } from "../support/raw-rpc.js";

// Every RPC of every service, fed input no well-behaved client sends: each answer is a clear refusal (never
// INTERNAL) with an ErrorInfo reason, and the gateway keeps serving. Reflection (bidi streaming) has its own tests.

const SERVICES: DescService[] = [
  AuthService,
  RegistryService,
  MessagingService,
  SessionService,
  TokenService,
  VoiceAgentService,
  StatsService,
  A2AService,
  Health,
];
const METHODS: DescMethod[] = SERVICES.flatMap((s) => s.methods);
const PROTOCOLS: Protocol[] = ["grpc", "connect"];
// agentnet's reasons are lower_snake_case; A2A's own errors (domain a2a-protocol.org) are UPPER_SNAKE_CASE, as A2A says.
const REASON = /^([a-z][a-z0-9_]*|[A-Z][A-Z0-9_]*)$/;

/** One place in a request message, and how to build a request with a value there. */
interface Slot {
  path: string;
  kind: "string" | "enum" | "double" | "int64" | "timestamp" | "json";
  build(leaf: unknown): Record<string, unknown>;
}

function slots(desc: DescMessage, prefix = "", depth = 0, seen: ReadonlySet<string> = new Set()): Slot[] {
  if (depth > 4 || seen.has(desc.typeName)) return [];
  const inner = new Set([...seen, desc.typeName]);
  const out: Slot[] = [];
  for (const field of desc.fields) {
    const path = prefix === "" ? field.name : `${prefix}.${field.name}`;
    const wrap = (value: unknown): Record<string, unknown> =>
      field.oneof ? { [field.oneof.localName]: { case: field.localName, value } } : { [field.localName]: value };
    const leafKind = (
      f: DescField,
      kind: "scalar" | "enum" | "message",
      scalar?: ScalarType,
      msg?: DescMessage,
    ): Slot["kind"] | "message" | undefined => {
      void f;
      if (kind === "enum") return "enum";
      if (kind === "message") {
        if (msg!.typeName === "google.protobuf.Timestamp") return "timestamp";
        if (msg!.typeName === "google.protobuf.Struct") return "json";
        return msg!.typeName.startsWith("google.protobuf.") ? undefined : "message";
      }
      if (scalar === ScalarType.STRING) return "string";
      if (scalar === ScalarType.DOUBLE || scalar === ScalarType.FLOAT) return "double";
      if (scalar === ScalarType.INT64 || scalar === ScalarType.UINT64 || scalar === ScalarType.SINT64) return "int64";
      return undefined;
    };
    const add = (kind: ReturnType<typeof leafKind>, at: string, place: (v: unknown) => unknown, msg?: DescMessage) => {
      if (kind === undefined) return;
      if (kind === "message") {
        for (const s of slots(msg!, at, depth + 1, inner)) out.push({ ...s, build: (leaf) => wrap(place(s.build(leaf))) });
      } else if (kind === "json") {
        out.push({ path: `${at}.text`, kind: "json", build: (leaf) => wrap(place({ text: leaf })) });
      } else {
        out.push({ path: at, kind, build: (leaf) => wrap(place(leaf)) });
      }
    };
    if (field.fieldKind === "scalar") add(leafKind(field, "scalar", field.scalar), path, (v) => v);
    else if (field.fieldKind === "enum") add("enum", path, (v) => v);
    else if (field.fieldKind === "message") add(leafKind(field, "message", undefined, field.message), path, (v) => v, field.message);
    else if (field.fieldKind === "list") {
      const kind =
        field.listKind === "scalar"
          ? leafKind(field, "scalar", field.scalar)
          : field.listKind === "enum"
            ? "enum"
            : leafKind(field, "message", undefined, field.message);
      add(kind, `${path}[0]`, (v) => [v], field.listKind === "message" ? field.message : undefined);
    } else if (field.fieldKind === "map") {
      const kind =
        field.mapKind === "scalar"
          ? leafKind(field, "scalar", field.scalar)
          : field.mapKind === "enum"
            ? "enum"
            : leafKind(field, "message", undefined, field.message);
      add(kind, `${path}["k"]`, (v) => ({ k: v }), field.mapKind === "message" ? field.message : undefined);
    }
  }
  return out;
}

/** Calls any method with a generic client; a server stream is read up to its first item. */
async function call(t: Transport, method: DescMethod, message: Record<string, unknown>): Promise<ConnectError | undefined> {
  const client = createClient(method.parent, t) as unknown as Record<string, (m: unknown, o: unknown) => unknown>;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 5000);
  try {
    const result = client[method.localName]!(create(method.input, message), { signal: abort.signal });
    if (method.methodKind === "server_streaming") {
      for await (const _ of result as AsyncIterable<unknown>) break;
    } else await result;
    return undefined;
  } catch (err) {
    // Our own abort of a stream that opened fine is not the server's answer.
    if (abort.signal.aborted) return undefined;
    return ConnectError.from(err);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

function fieldOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.metadata["field"];
}

/** Deeply nested google.protobuf.Struct as SendRequest.payload, in binary (no client would build it). */
function deepStructSend(levels: number): Uint8Array {
  let value = new BinaryWriter().tag(1, WireType.Varint).int32(0).finish(); // Value{null_value}
  let struct = new Uint8Array();
  for (let i = 0; i < levels; i++) {
    const entry = new BinaryWriter().tag(1, WireType.LengthDelimited).string("a").tag(2, WireType.LengthDelimited).bytes(value).finish();
    struct = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(entry).finish();
    value = new BinaryWriter().tag(5, WireType.LengthDelimited).bytes(struct).finish();
  }
  return new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(struct).finish();
}

describe.each(MODES)("robustness of every RPC (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let admin: TestUser;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, { AGENTNET_LOGIN_RATE_PER_MINUTE: "100000", AGENTNET_REGISTER_RATE_PER_MINUTE: "100000" });
    admin = await loginAdmin(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it.each(PROTOCOLS)(
    "refuses U+0000 in every string field of every RPC, naming the field (%s)",
    async (protocol) => {
      const t = transport(gw.url, protocol, admin.token);
      let probed = 0;
      for (const method of METHODS) {
        for (const slot of slots(method.input).filter((s) => s.kind === "string" || s.kind === "json")) {
          const err = await call(t, method, slot.build("a\u0000b"));
          expect(err, `${method.parent.name}.${method.name} ${slot.path}`).toBeInstanceOf(ConnectError);
          expect([Code[err!.code], reasonOf(err!), fieldOf(err!)], `${method.parent.name}.${method.name} ${slot.path}`).toEqual([
            "InvalidArgument",
            "invalid_character",
            slot.path,
          ]);
          probed++;
        }
      }
      expect(probed).toBeGreaterThan(150);
    },
    120_000,
  );

  it("refuses an unpaired surrogate in every string field sent as Connect JSON", async () => {
    // Clients encode text as UTF-8 and cannot send one; JSON can, as an escape. Build that JSON by hand.
    for (const method of METHODS) {
      for (const slot of slots(method.input).filter((s) => s.kind === "string" || s.kind === "json")) {
        const json = toJsonString(method.input, create(method.input, slot.build("x\uE000y"))).replace("\uE000", "\\ud800");
        const path = `/${method.parent.typeName}/${method.name}`;
        const answer = await rawConnect(gw.url, path, json, "json", admin.token, method.methodKind === "server_streaming");
        expect([Code[answer.code], answer.reason], `${path} ${slot.path}: ${answer.message}`).toEqual([
          "InvalidArgument",
          "invalid_character",
        ]);
      }
    }
  }, 120_000);

  it.each(PROTOCOLS)(
    "refuses enum values the contract does not define, in every enum field (%s)",
    async (protocol) => {
      const t = transport(gw.url, protocol, admin.token);
      let probed = 0;
      for (const method of METHODS) {
        for (const slot of slots(method.input).filter((s) => s.kind === "enum")) {
          const err = await call(t, method, slot.build(97));
          expect(
            [err && Code[err.code], err && reasonOf(err), err && fieldOf(err)],
            `${method.parent.name}.${method.name} ${slot.path}`,
          ).toEqual(["InvalidArgument", "invalid_enum", slot.path]);
          probed++;
        }
      }
      expect(probed).toBeGreaterThan(15);
    },
    120_000,
  );

  it("refuses unknown enum names and unknown fields in Connect JSON instead of reading them as defaults", async () => {
    const bad = [
      { to: { username: "@nobody" }, payload: {}, kind: "MESSAGE_KIND_BOGUS" },
      { to: { username: "@nobody" }, payload: {}, waitFor: "WAIT_FOR_EVER" },
      { to: { username: "@nobody" }, payload: {}, noSuchField: 1 },
    ];
    for (const body of bad) {
      const answer = await rawConnect(gw.url, "/agentnet.v1.MessagingService/Send", JSON.stringify(body), "json", admin.token);
      expect([Code[answer.code], answer.reason], JSON.stringify(body)).toEqual(["InvalidArgument", "malformed_request"]);
    }
    const visibility = await rawConnect(
      gw.url,
      "/agentnet.v1.RegistryService/Register",
      JSON.stringify({ agentId: "x", visibility: 5 }),
      "json",
      admin.token,
    );
    expect([Code[visibility.code], visibility.reason]).toEqual(["InvalidArgument", "invalid_enum"]);
  });

  it.each(PROTOCOLS)("refuses numbers and times no field can hold (%s)", async (protocol) => {
    const t = transport(gw.url, protocol, admin.token);
    const cases: Array<[DescMethod, Record<string, unknown>, string, string]> = [
      [
        MessagingService.method.send,
        { to: { target: { case: "username", value: "x" } }, expiry: { case: "expiresAt", value: { seconds: 2n ** 62n, nanos: 0 } } },
        "expires_at",
        "invalid_timestamp",
      ],
      [
        MessagingService.method.send,
        { to: { target: { case: "username", value: "x" } }, expiry: { case: "ttlMs", value: 2n ** 60n } },
        "ttl_ms",
        "invalid_number",
      ],
      [
        MessagingService.method.send,
        { to: { target: { case: "username", value: "x" } }, schemaVersion: `1.${"0".repeat(1_000_000)}` },
        "schema_version",
        "string_too_long",
      ],
      [
        MessagingService.method.send,
        { to: { target: { case: "username", value: "x" } }, waitTimeoutMs: -1n },
        "wait_timeout_ms",
        "invalid_wait_timeout",
      ],
      [
        MessagingService.method.request,
        { to: { target: { case: "username", value: "x" } }, timeoutMs: 2n ** 40n },
        "timeout_ms",
        "invalid_timeout",
      ],
      [MessagingService.method.searchMessages, { since: { seconds: -(2n ** 62n), nanos: 0 } }, "since", "invalid_timestamp"],
      [MessagingService.method.searchMessages, { until: { seconds: 0n, nanos: -1 } }, "until", "invalid_timestamp"],
    ];
    for (const [method, message, field, reason] of cases) {
      const err = await call(t, method, message);
      expect([err && Code[err.code], err && reasonOf(err), err && fieldOf(err)], `${method.name} ${field}`).toEqual([
        "InvalidArgument",
        reason,
        field,
      ]);
    }
  });

  it("refuses NaN and infinite numbers in payloads and double fields (binary, which can carry them)", async () => {
    const t = transport(gw.url, "grpc", admin.token);
    for (const n of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const send = await call(t, MessagingService.method.send, { to: { target: { case: "username", value: "x" } }, payload: { n } });
      expect([send && reasonOf(send), send && fieldOf(send)]).toEqual(["invalid_number", "payload.n"]);
      const session = await call(t, SessionService.method.createSession, { agents: { primary: { provider: "echo", temperature: n } } });
      expect([session && reasonOf(session), session && fieldOf(session)]).toEqual(["invalid_number", 'agents["primary"].temperature']);
    }
  });

  it.each(PROTOCOLS)("refuses JSON nested deeper than the limit, and takes it up to the limit (%s)", async (protocol) => {
    const nested = (levels: number) => {
      let deep: Record<string, unknown> = { leaf: true };
      for (let i = 1; i < levels; i++) deep = { a: deep };
      return deep;
    };
    const t = transport(gw.url, protocol, admin.token);
    const to = { target: { case: "username", value: "nobody_here" } };
    const over = await call(t, MessagingService.method.send, { to, payload: nested(MAX_JSON_DEPTH + 1) });
    expect([over && Code[over.code], over && reasonOf(over)]).toEqual(["InvalidArgument", "too_deep"]);
    const within = await call(t, MessagingService.method.send, { to, payload: nested(MAX_JSON_DEPTH) });
    // Past the input rules, the call fails only for what it asks (the admin sends as no account).
    expect([within && Code[within.code], within && fieldOf(within)], within?.message).toEqual(["InvalidArgument", "as_account_id"]);
  });

  it("answers bodies that cannot be parsed with INVALID_ARGUMENT malformed_request, over gRPC and Connect", async () => {
    const login = "/agentnet.v1.AuthService/Login";
    const send = "/agentnet.v1.MessagingService/Send";
    const valid = toBinary(LoginRequestSchema, create(LoginRequestSchema, { username: "admin", password: "x" }));
    const binaries: Array<[string, string, Uint8Array]> = [
      ["truncated inside a field", login, valid.subarray(0, 4)],
      ["invalid UTF-8 in a string", login, Uint8Array.from([0x0a, 0x02, 0xff, 0xfe])],
      ["a wire type that does not exist", login, Uint8Array.from([0x0f, 0x01])],
      ["Struct nested 10,000 deep", send, deepStructSend(10_000)],
    ];
    for (const [what, path, body] of binaries) {
      for (const answer of [await rawGrpc(gw.url, path, body, admin.token), await rawConnect(gw.url, path, body, "proto", admin.token)]) {
        expect([Code[answer.code], answer.reason], what).toEqual(["InvalidArgument", "malformed_request"]);
      }
    }
    const jsons: Array<[string, Uint8Array | string]> = [
      ["not JSON", "{username:"],
      ["invalid UTF-8", Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])],
      ["nested 10,000 deep", `{"to":{"username":"x"},"payload":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`],
      ["a string where a number belongs", '{"to":{"username":"x"},"ttlMs":"soon"}'],
    ];
    for (const [what, body] of jsons) {
      const answer = await rawConnect(gw.url, what === "invalid UTF-8" || what === "not JSON" ? login : send, body, "json", admin.token);
      expect([Code[answer.code], answer.reason], what).toEqual(["InvalidArgument", "malformed_request"]);
    }
  });

  it("never answers INTERNAL and gives every refusal a reason, for generated bytes sent to every RPC", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), fc.uint8Array({ maxLength: 64 }), async (method, body) => {
        const path = `/${method.parent.typeName}/${method.name}`;
        const answer = await rawGrpc(gw.url, path, body, admin.token);
        if (answer.code === Code.DeadlineExceeded || answer.code === 0) return;
        expect(answer.code, `${path} ${Buffer.from(body).toString("hex")}: ${answer.message}`).not.toBe(Code.Internal);
        expect(answer.reason, `${path}: ${answer.message}`).toMatch(REASON);
      }),
      { numRuns: 150 },
    );
  }, 120_000);

  it.each(PROTOCOLS)(
    "never answers INTERNAL and gives every refusal a reason, for generated messages to every RPC (%s)",
    async (protocol) => {
      const t = transport(gw.url, protocol, admin.token);
      for (const method of METHODS) {
        await fc.assert(
          fc.asyncProperty(messageArbitrary(method.input, protocol), async (message) => {
            const err = await call(t, method, message);
            if (!err) return;
            const where = `${method.parent.name}.${method.name}: ${err.message}`;
            expect(Code[err.code], where).not.toBe("Internal");
            expect(reasonOf(err), where).toMatch(REASON);
          }),
          { numRuns: 12 },
        );
      }
    },
    240_000,
  );

  it("keeps serving afterwards: health is SERVING and a message still goes from one agent to another", async () => {
    const health = createClient(Health, transport(gw.url, "grpc"));
    expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const alice = await createUser(gw.url, admin, `alice_${Date.now().toString(36)}`);
    const bob = await createUser(gw.url, admin, `bob_${Date.now().toString(36)}`);
    const a = await registerAgent(alice, "sender");
    const b = await registerAgent(bob, "receiver");
    const inbox = openInbox(b, { autoAck: true });
    const sent = await a.user.messaging.send({
      asAccountId: a.accountId,
      to: { target: { case: "accountId", value: b.accountId } },
      payload: text("still here"),
    });
    const [got] = await inbox.waitFor(1);
    expect(got?.messageId).toBe(sent.messageId);
    await inbox.close();
  });
});

/** Arbitrary messages of a type: any field may be set, to values in and out of the contract's bounds. */
function messageArbitrary(desc: DescMessage, protocol: Protocol, depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  const oneofs = new Map<string, DescField[]>();
  for (const field of desc.fields) {
    if (field.oneof) {
      oneofs.set(field.oneof.localName, [...(oneofs.get(field.oneof.localName) ?? []), field]);
      continue;
    }
    const arb = fieldArbitrary(field, protocol, depth);
    if (arb) fields[field.localName] = arb;
  }
  for (const [name, members] of oneofs) {
    const choices = members.flatMap((f) => {
      const arb = fieldArbitrary(f, protocol, depth);
      return arb ? [arb.map((value) => ({ case: f.localName, value }))] : [];
    });
    if (choices.length > 0) fields[name] = fc.oneof(...choices);
  }
  return fc.record(fields, { requiredKeys: [] });
}

function fieldArbitrary(field: DescField, protocol: Protocol, depth: number): fc.Arbitrary<unknown> | undefined {
  const one = (kind: "scalar" | "enum" | "message"): fc.Arbitrary<unknown> | undefined => {
    if (kind === "enum") return fc.oneof(fc.constantFrom(...field.enum!.values.map((v) => v.number)), fc.integer({ min: -3, max: 40 }));
    if (kind === "message") {
      const msg = field.message!;
      if (msg.typeName === "google.protobuf.Struct") return jsonObject(protocol);
      if (msg.typeName === "google.protobuf.Timestamp") {
        return fc.record({
          seconds: fc.oneof(fc.bigInt(-(2n ** 40n), 2n ** 40n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n)),
          nanos: fc.integer({ min: -5, max: 1_000_000_005 }),
        });
      }
      if (msg.typeName === "google.protobuf.FieldMask")
        return fc.record({ paths: fc.array(fc.constantFrom("display_name", "bio", "nope", ""), { maxLength: 3 }) });
      if (msg.typeName.startsWith("google.protobuf.") || depth >= 3) return undefined;
      return messageArbitrary(msg, protocol, depth + 1);
    }
    switch (field.scalar) {
      case ScalarType.STRING:
        return fc.oneof(
          fc.string({ maxLength: 12 }),
          fc.string({ unit: protocol === "connect" ? "binary" : "grapheme", maxLength: 8 }),
          fc.constantFrom("", "admin", "acct_01J9Z3K5V7X8Y9Z0A1B2C3D4E5", "@admin", "echo", "thread_x", "1.1", "a\u0000"),
          fc.string({ minLength: 5000, maxLength: 5001 }),
        );
      case ScalarType.BOOL:
        return fc.boolean();
      case ScalarType.BYTES:
        return fc.uint8Array({ maxLength: 70 });
      case ScalarType.DOUBLE:
      case ScalarType.FLOAT:
        return protocol === "connect" ? fc.double({ noNaN: true, noDefaultInfinity: true }) : fc.double();
      case ScalarType.INT32:
      case ScalarType.SINT32:
      case ScalarType.SFIXED32:
        return fc.oneof(fc.integer({ min: -3, max: 300 }), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
      case ScalarType.UINT32:
      case ScalarType.FIXED32:
        return fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
      default:
        return fc.oneof(fc.bigInt(-3n, 100_000n), fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n));
    }
  };
  switch (field.fieldKind) {
    case "scalar":
      return one("scalar");
    case "enum":
      return one("enum");
    case "message":
      return one("message");
    case "list": {
      const item = one(field.listKind);
      return item && fc.array(item, { maxLength: 3 });
    }
    case "map": {
      const value = one(field.mapKind);
      return (
        value && fc.dictionary(fc.oneof(fc.constantFrom("primary", "secondary", "a"), fc.string({ maxLength: 6 })), value, { maxKeys: 2 })
      );
    }
  }
}

function jsonObject(protocol: Protocol): fc.Arbitrary<Record<string, unknown>> {
  const leaf =
    protocol === "connect"
      ? fc.oneof(fc.string({ maxLength: 6 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null))
      : fc.oneof(fc.string({ maxLength: 6 }), fc.double(), fc.boolean(), fc.constant(null), fc.constant("\u0000"));
  return fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(leaf, fc.dictionary(fc.string({ maxLength: 3 }), leaf, { maxKeys: 2 })), {
    maxKeys: 3,
  });
}
