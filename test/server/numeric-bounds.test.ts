import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { MessageKind, SubscribeMode, WaitFor } from "../../gen/agentnet/v1/messaging_pb.js";
import type { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { SessionService, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { TokenService } from "../../gen/agentnet/v1/token_pb.js";
import { VoiceAgentService } from "../../gen/agentnet/v1/voice_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type TestAgent, type TestUser, createUser, loginAdmin, registerAgent, text } from "../support/agents.js";
import { client } from "../support/clients.js";
import { expectError, fieldOf } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { FakeAgora } from "../voice/fake-agora.js";
import { voiceEnv } from "../voice/helpers.js";

// Every numeric field of every request message (the contract's list, see each field's comment): a value just
// outside each bound is refused INVALID_ARGUMENT with the documented reason naming the field, and the boundary
// value itself is not refused by that bound (it may still fail later for another reason, e.g. NOT_FOUND).
// Over gRPC, on both backends.

const MAX_TTL_MS = 7 * 86_400_000; // AGENTNET_MAX_TTL_MS's default
const API_KEY_MAX_EXPIRES_IN = 10 * 365 * 86_400;

type Value = number | bigint;
interface Row {
  /** RPC and field, as the table prints them. */
  name: string;
  /** The field the refusal names (ErrorInfo/BadRequest). */
  field: string;
  /** Values just outside a bound, with the reason each is refused with. */
  outside: Array<[Value, string]>;
  /** Boundary values: not refused by the bound. */
  inside: Value[];
  call(value: Value): Promise<unknown>;
}

/** The first item of a server stream (an error before it rejects); "open" when the stream is still quiet after `ms`. */
async function firstItem(open: (signal: AbortSignal) => AsyncIterable<unknown>, ms = 2000): Promise<unknown> {
  const abort = new AbortController();
  const iterator = open(abort.signal)[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      iterator.next(),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve("open"), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

function reasonOf(err: ConnectError): string | undefined {
  return err.findDetails(ErrorInfoSchema)[0]?.reason;
}

describe.each(MODES)("numeric bounds of request fields (%s)", (mode) => {
  let backend: TestBackend;
  let fake: FakeAgora;
  let gw: TestGateway;
  let alice: TestUser;
  let bob: TestUser;
  let sender: TestAgent;
  let target: TestAgent;
  let offline: TestAgent;
  let consumer: TestAgent;
  let requestId: string;
  let chatSessionId: string;
  let lastSeq: bigint;
  const c = {} as {
    auth: Client<typeof AuthService>;
    registry: Client<typeof RegistryService>;
    sessions: Client<typeof SessionService>;
    tokens: Client<typeof TokenService>;
    voice: Client<typeof VoiceAgentService>;
  };

  beforeAll(async () => {
    backend = await createBackend(mode);
    fake = await new FakeAgora().start();
    gw = await startTestGateway(backend, {
      ...voiceEnv(fake),
      AGENTNET_SEND_RATE_PER_SECOND: "10000",
      AGENTNET_SEND_RATE_BURST: "10000",
      AGENTNET_CHAT_CREATE_RATE_PER_MINUTE: "100000",
      AGENTNET_CHAT_QUERY_RATE_PER_MINUTE: "100000",
      AGENTNET_CHAT_PING_INTERVAL_MS: "100",
      // A configured anthropic provider (never called: HUMAN_AGENT sessions wait for a user message).
      ANTHROPIC_API_KEY: "test-anthropic-key",
      ANTHROPIC_BASE_URL: "http://127.0.0.1:9",
    });
    const admin = await loginAdmin(gw.url);
    alice = await createUser(gw.url, admin, "alice");
    bob = await createUser(gw.url, admin, "bob");
    c.auth = alice.auth;
    c.registry = alice.registry;
    c.sessions = client(SessionService, gw.url, alice.token);
    c.tokens = client(TokenService, gw.url, alice.token);
    c.voice = client(VoiceAgentService, gw.url, alice.token);

    sender = await registerAgent(alice, "nb_sender");
    target = await registerAgent(bob, "nb_target");
    consumer = await registerAgent(alice, "nb_consumer");
    offline = await registerAgent(bob, "nb_offline");
    await bob.registry.deregister({ sessionTag: offline.sessionTag });
    // An asynchronous request to bob's agent, for Reply.
    const sent = await alice.messaging.send({
      asAccountId: sender.accountId,
      to: { target: { case: "accountId", value: target.accountId } },
      kind: MessageKind.REQUEST,
      payload: text("a request to reply to"),
    });
    requestId = sent.messageId;
    const created = await c.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { primary: { provider: "echo" } } });
    chatSessionId = created.session!.sessionId;
    lastSeq = created.session!.lastSeq;
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await backend?.dispose();
  });

  const toTarget = () => ({
    asAccountId: sender.accountId,
    to: { target: { case: "accountId" as const, value: target.accountId } },
    payload: text("hi"),
  });
  const toOffline = () => ({
    asAccountId: sender.accountId,
    to: { target: { case: "accountId" as const, value: offline.accountId } },
    payload: text("hi"),
  });
  const session = (
    agent: { provider?: string; temperature?: number; maxOutputTokens?: number },
    extra: { maxTurns?: number; tokensPerMinute?: number } = {},
  ) => c.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { primary: { provider: "echo", ...agent } }, ...extra });
  const voiceAgent = (extra: { llm?: { maxHistory: number }; idleTimeoutSeconds?: number; maxDurationSeconds?: bigint }) =>
    c.voice.startVoiceAgent({ channelName: "bounds", remoteUids: ["1"], ...extra });
  const n = Number;
  const big = (v: Value) => BigInt(v);

  const pageSizeRow = (name: string, call: (pageSize: number) => Promise<unknown>): Row => ({
    name: `${name}.page_size`,
    field: "page_size",
    outside: [[-1, "invalid_page_size"]],
    // 0 is the default; anything larger than the maximum is clamped, never refused.
    inside: [0, 2_147_483_647],
    call: (v) => call(n(v)),
  });

  const rows: Row[] = [
    {
      name: "CreateApiKey.expires_in",
      field: "expires_in",
      outside: [
        [0n, "invalid_expiry"],
        [BigInt(API_KEY_MAX_EXPIRES_IN + 1), "invalid_expiry"],
      ],
      inside: [1n, BigInt(API_KEY_MAX_EXPIRES_IN)],
      call: (v) => c.auth.createApiKey({ name: "bounds", expiresIn: big(v) }),
    },
    pageSizeRow("ListApiKeys", (pageSize) => c.auth.listApiKeys({ pageSize })),
    pageSizeRow("ListOnline", (pageSize) => c.registry.listOnline({ pageSize })),
    pageSizeRow("SearchAgents", (pageSize) => c.registry.searchAgents({ pageSize })),
    pageSizeRow("ListAgents", (pageSize) => c.registry.listAgents({ pageSize })),
    pageSizeRow("ListThreads", (pageSize) => alice.messaging.listThreads({ pageSize })),
    pageSizeRow("GetThreadMessages", (pageSize) => alice.messaging.getThreadMessages({ threadId: "no_such_thread", pageSize })),
    pageSizeRow("SearchMessages", (pageSize) => alice.messaging.searchMessages({ pageSize })),
    pageSizeRow("ListSessions", (pageSize) => c.sessions.listSessions({ pageSize })),
    pageSizeRow("ListProviders", (pageSize) => c.sessions.listProviders({ pageSize })),
    pageSizeRow("ListVoiceAgents", (pageSize) => c.voice.listVoiceAgents({ pageSize })),
    {
      name: "Send.ttl_ms",
      field: "ttl_ms",
      outside: [
        [0n, "invalid_ttl"],
        [BigInt(MAX_TTL_MS + 1), "ttl_too_long"],
      ],
      inside: [1n, BigInt(MAX_TTL_MS)],
      call: (v) => alice.messaging.send({ ...toTarget(), expiry: { case: "ttlMs", value: big(v) } }),
    },
    {
      name: "Send.wait_timeout_ms",
      field: "wait_timeout_ms",
      outside: [[-1n, "invalid_wait_timeout"]],
      // No upper bound: longer than the TTL is clamped to it (a 1 s TTL here, so the call answers after ~1 s).
      inside: [0n, BigInt(Number.MAX_SAFE_INTEGER)],
      call: (v) =>
        alice.messaging.send({ ...toTarget(), expiry: { case: "ttlMs", value: 1000n }, waitFor: WaitFor.PROCESSED, waitTimeoutMs: big(v) }),
    },
    {
      name: "Request.timeout_ms",
      field: "timeout_ms",
      outside: [
        [0n, "invalid_timeout"],
        [BigInt(MAX_TTL_MS + 1), "invalid_timeout"],
      ],
      // To an offline agent: answers UNAVAILABLE no_responders at once, after the bound is checked.
      inside: [1n, BigInt(MAX_TTL_MS)],
      call: (v) => alice.messaging.request({ ...toOffline(), timeoutMs: big(v) }),
    },
    {
      name: "Request.ttl_ms",
      field: "ttl_ms",
      outside: [
        [0n, "invalid_ttl"],
        [BigInt(MAX_TTL_MS + 1), "ttl_too_long"],
      ],
      // To an online agent that never answers: DEADLINE_EXCEEDED timeout after 1 ms.
      inside: [1n, BigInt(MAX_TTL_MS)],
      // The TTL is checked once the recipient is known to be online; keep its session alive for that.
      call: async (v) => {
        await bob.registry.heartbeat({ sessionTag: target.sessionTag });
        return alice.messaging.request({ ...toTarget(), timeoutMs: 1n, ttlMs: big(v) });
      },
    },
    {
      name: "Reply.ttl_ms",
      field: "ttl_ms",
      outside: [
        [0n, "invalid_ttl"],
        [BigInt(MAX_TTL_MS + 1), "ttl_too_long"],
      ],
      inside: [1n, BigInt(MAX_TTL_MS)],
      call: (v) => bob.messaging.reply({ requestMessageId: requestId, payload: text("answer"), ttlMs: big(v) }),
    },
    {
      name: "Subscribe.max_in_flight",
      field: "max_in_flight",
      outside: [
        [0, "invalid_max_in_flight"],
        [1001, "invalid_max_in_flight"],
      ],
      inside: [1, 1000],
      call: (v) =>
        firstItem((signal) =>
          alice.messaging.subscribe({ asAccountId: consumer.accountId, mode: SubscribeMode.CONSUME, maxInFlight: n(v) }, { signal }),
        ),
    },
    {
      name: "CreateSession.agents.temperature",
      field: 'agents["primary"].temperature',
      outside: [
        [-0.001, "invalid_temperature"],
        [2.001, "invalid_temperature"],
      ],
      inside: [0, 2],
      call: (v) => session({ temperature: n(v) }),
    },
    {
      name: "CreateSession.agents.temperature (anthropic)",
      field: 'agents["primary"].temperature',
      outside: [
        [-0.001, "invalid_temperature"],
        [1.001, "invalid_temperature"],
      ],
      inside: [0, 1],
      call: (v) => session({ provider: "anthropic", temperature: n(v) }),
    },
    {
      name: "CreateSession.agents.max_output_tokens",
      field: 'agents["primary"].max_output_tokens',
      outside: [
        [0, "invalid_max_output_tokens"],
        [65_537, "invalid_max_output_tokens"],
      ],
      inside: [1, 65_536],
      call: (v) => session({ maxOutputTokens: n(v) }),
    },
    {
      name: "CreateSession.max_turns",
      field: "max_turns",
      outside: [
        [-1, "invalid_max_turns"],
        [201, "invalid_max_turns"],
      ],
      // 0 means the default (20).
      inside: [0, 1, 200],
      call: (v) => session({}, { maxTurns: n(v) }),
    },
    {
      name: "CreateSession.tokens_per_minute",
      field: "tokens_per_minute",
      outside: [
        [-1, "invalid_tokens_per_minute"],
        [100_000_001, "invalid_tokens_per_minute"],
      ],
      inside: [0, 100_000_000],
      call: (v) => session({}, { tokensPerMinute: n(v) }),
    },
    {
      name: "StreamSession.after_seq",
      field: "after_seq",
      // The upper bound (the session's last_seq) has its own test below.
      outside: [[-1n, "invalid_seq"]],
      inside: [0n],
      call: (v) => firstItem((signal) => c.sessions.streamSession({ sessionId: chatSessionId, afterSeq: big(v) }, { signal })),
    },
    {
      name: "GetConfig.expires_in",
      field: "expires_in",
      outside: [
        [0n, "invalid_expiry"],
        [86_401n, "invalid_expiry"],
      ],
      inside: [1n, 86_400n],
      call: (v) => c.tokens.getConfig({ expiresIn: big(v) }),
    },
    {
      name: "IssueRtcToken.expires_in",
      field: "expires_in",
      outside: [
        [0n, "invalid_expiry"],
        [86_401n, "invalid_expiry"],
      ],
      inside: [1n, 86_400n],
      call: (v) => c.tokens.issueRtcToken({ channelName: "bounds", user: { case: "uid", value: 7 }, expiresIn: big(v) }),
    },
    {
      name: "IssueRtcToken.uid",
      field: "uid",
      // The whole uint32 range is valid: nothing outside can be encoded.
      outside: [],
      inside: [0, 4_294_967_295],
      call: (v) => c.tokens.issueRtcToken({ channelName: "bounds", user: { case: "uid", value: n(v) } }),
    },
    {
      name: "IssueRtmToken.expires_in",
      field: "expires_in",
      outside: [
        [0n, "invalid_expiry"],
        [86_401n, "invalid_expiry"],
      ],
      inside: [1n, 86_400n],
      call: (v) => c.tokens.issueRtmToken({ userId: "bounds", expiresIn: big(v) }),
    },
    {
      name: "StartVoiceAgent.llm.max_history",
      field: "llm.max_history",
      outside: [
        [0, "invalid_max_history"],
        [1025, "invalid_max_history"],
      ],
      inside: [1, 1024],
      call: (v) => voiceAgent({ llm: { maxHistory: n(v) } }),
    },
    {
      name: "StartVoiceAgent.idle_timeout_seconds",
      field: "idle_timeout_seconds",
      outside: [
        [-1, "invalid_idle_timeout"],
        [86_401, "invalid_idle_timeout"],
      ],
      inside: [0, 86_400],
      call: (v) => voiceAgent({ idleTimeoutSeconds: n(v) }),
    },
    {
      name: "StartVoiceAgent.max_duration_seconds",
      field: "max_duration_seconds",
      outside: [
        [0n, "invalid_max_duration"],
        [86_401n, "invalid_max_duration"],
      ],
      // Values above the server's maximum (3600 by default) are clamped to it.
      inside: [1n, 86_400n],
      call: (v) => voiceAgent({ maxDurationSeconds: big(v) }),
    },
  ];

  const refusals = rows.flatMap((row) => row.outside.map(([value, reason]) => ({ row, value, reason })));
  const boundaries = rows.flatMap((row) => row.inside.map((value) => ({ row, value })));

  it.each(refusals.map((r) => [r.row.name, String(r.value), r.reason, r]))(
    "%s = %s is refused %s",
    async (_n, _v, _r, { row, value, reason }) => {
      const err = await expectError(row.call(value), Code.InvalidArgument, reason);
      expect(fieldOf(err)).toBe(row.field);
      expect(err.findDetails(ErrorInfoSchema)[0]?.metadata["field"] ?? row.field).toBe(row.field);
    },
  );

  it.each(boundaries.map((b) => [b.row.name, String(b.value), b]))(
    "%s = %s is not refused by the bound",
    async (_n, _v, { row, value }) => {
      const boundReasons = new Set(row.outside.map(([, reason]) => reason));
      try {
        await row.call(value);
      } catch (err) {
        expect(err).toBeInstanceOf(ConnectError);
        const e = err as ConnectError;
        expect(boundReasons.has(reasonOf(e) ?? ""), `${row.name}=${String(value)}: ${e.message}`).toBe(false);
        if (e.code === Code.InvalidArgument) expect(fieldOf(e), e.message).not.toBe(row.field);
      }
    },
  );

  it("StreamSession.after_seq: the latest seq is a boundary, one beyond it is refused invalid_seq", async () => {
    const item = await firstItem((signal) => c.sessions.streamSession({ sessionId: chatSessionId, afterSeq: lastSeq }, { signal }));
    expect(item).toBeDefined();
    const err = await expectError(
      firstItem((signal) => c.sessions.streamSession({ sessionId: chatSessionId, afterSeq: lastSeq + 1n }, { signal })),
      Code.InvalidArgument,
      "invalid_seq",
    );
    expect(fieldOf(err)).toBe("after_seq");
  });

  it("Send.wait_timeout_ms above the TTL is clamped to it, not waited for", async () => {
    // Unclamped, the wait would never end and the test's own timeout would fail it: no stopwatch needed.
    const res = await alice.messaging.send({
      ...toTarget(),
      expiry: { case: "ttlMs", value: 500n },
      waitFor: WaitFor.PROCESSED,
      waitTimeoutMs: BigInt(Number.MAX_SAFE_INTEGER),
    });
    expect(res.waitTimedOut).toBe(true);
  });

  it("StartVoiceAgent.max_duration_seconds above the server's maximum is clamped to it", async () => {
    const before = Date.now();
    const { agent } = await voiceAgent({ maxDurationSeconds: 86_400n });
    const until = Number(agent!.maxRunUntil!.seconds) * 1000;
    expect(until).toBeLessThanOrEqual(before + (gw.config.voice.maxDurationSeconds + 5) * 1000);
  });
});
