import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AgoraConvoAiClient, AgoraError } from "../../src/voice/agora-client.js";
import { VoiceTokens } from "../../src/voice/tokens.js";
import { FAKE_APP_ID, FAKE_CERTIFICATE, FakeAgora } from "./fake-agora.js";

const tokens = new VoiceTokens({ appId: FAKE_APP_ID, appCertificate: FAKE_CERTIFICATE });
const scope = { channel: "room_1", agentUid: "1001" };

function joinBody(name: string) {
  return {
    name,
    properties: {
      channel: scope.channel,
      token: tokens.rtcWithRtm(scope.channel, scope.agentUid, 600).token,
      agent_rtc_uid: scope.agentUid,
      remote_rtc_uids: ["2002"],
      enable_string_uid: true,
      idle_timeout: 30,
      advanced_features: { enable_rtm: true },
      llm: { url: "https://llm.example/v1/chat/completions", system_messages: [], params: { model: "m" } },
      tts: { vendor: "minimax", params: { key: "k" } },
      asr: { vendor: "deepgram", params: { key: "k" } },
      parameters: { data_channel: "rtm", enable_error_message: true },
    },
  };
}

async function failure(call: Promise<unknown>): Promise<AgoraError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AgoraError);
  return err as AgoraError;
}

describe("Agora Conversational AI client against a fake Agora", () => {
  let fake: FakeAgora;
  let client: AgoraConvoAiClient;

  beforeAll(async () => {
    fake = await new FakeAgora().start();
    client = new AgoraConvoAiClient({ baseUrl: fake.baseUrl, appId: FAKE_APP_ID, tokens, secrets: ["sk-very-secret-key"] });
  });
  afterAll(async () => fake?.close());

  it("joins, queries, lists, speaks, interrupts and leaves with `agora token=` for the agent's uid and channel", async () => {
    const started = await client.join(joinBody("client-test"), scope);
    expect(started.agentId).toMatch(/^1NT29X/);
    expect(started.status).toBe("running");
    expect(await client.get(started.agentId, scope)).toMatchObject({ agentId: started.agentId, status: "running" });
    const page = await client.list({ channel: scope.channel }, scope);
    expect(page.agents.map((a) => a.agentId)).toContain(started.agentId);
    await client.speak(started.agentId, { text: "hello", priority: "APPEND", interruptable: false }, scope);
    await client.interrupt(started.agentId, scope);
    await client.leave(started.agentId, scope);
    expect(fake.agents.get(started.agentId)?.status).toBe("STOPPED");

    expect(fake.violations).toEqual([]);
    const paths = fake.requests.map((r) => `${r.method} ${r.path.replace(/\/agents\/[^/]+/, "/agents/{id}")}`);
    const base = `/api/conversational-ai-agent/v2/projects/${FAKE_APP_ID}`;
    expect(paths).toEqual([
      `POST ${base}/join`,
      `GET ${base}/agents/{id}`,
      `GET ${base}/agents`,
      `POST ${base}/agents/{id}/speak`,
      `POST ${base}/agents/{id}/interrupt`,
      `POST ${base}/agents/{id}/leave`,
    ]);
    for (const r of fake.requests) expect(r.authorization).toMatch(/^agora token=007/);
    expect(fake.requests[3]?.body).toEqual({ text: "hello", priority: "APPEND", interruptable: false });
  });

  it.each([
    [400, "InvalidRequest", "invalid_argument"],
    [422, "ResourceQuotaLimitExceeded", "invalid_argument"],
    [401, "Unauthorized", "failed_precondition"],
    [403, "InvalidPermission", "failed_precondition"],
    [404, "TaskNotFound", "not_found"],
    [409, "TaskConflict", "already_exists"],
    [429, "TooManyRequests", "resource_exhausted"],
    [500, "InternalError", "unavailable"],
    [502, "BadGateway", "unavailable"],
    [503, "ServiceUnavailable", "unavailable"],
    [504, "TaskOperationTimeout", "unavailable"],
  ] as const)("maps Agora %i %s to %s with reason agora_error", async (status, reason, kind) => {
    fake.failNext("join", { status, reason, detail: `it went wrong (${status})` });
    const err = await failure(client.join(joinBody(`fail-${status}`), scope));
    expect(err.kind).toBe(kind);
    expect(err.reason).toBe("agora_error");
    expect(err.metadata).toEqual({ agora_status: String(status), agora_reason: reason });
    expect(err.message).toContain(String(status));
    expect(err.message).toContain(`it went wrong (${status})`);
    if (status === 429) expect(err.retryAfterMs).toBe(1000);
  });

  it("passes Agora's Retry-After on to RetryInfo", async () => {
    fake.failNext("speak", { status: 429, reason: "TooManyRequests", headers: { "retry-after": "7" } });
    const err = await failure(client.speak("any", { text: "x", priority: "INTERRUPT", interruptable: true }, scope));
    expect(err.kind).toBe("resource_exhausted");
    expect(err.retryAfterMs).toBe(7000);
  });

  it("maps network errors and timeouts to unavailable", async () => {
    fake.failNext("leave", { status: 0, drop: true });
    const dropped = await failure(client.leave("any", scope));
    expect(dropped).toMatchObject({
      kind: "unavailable",
      reason: "agora_error",
      metadata: { agora_status: "0", agora_reason: "network_error" },
    });

    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const slow = new AgoraConvoAiClient({
        baseUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/v2`,
        appId: FAKE_APP_ID,
        tokens,
        timeoutMs: 200,
      });
      const timedOut = await failure(slow.get("any", scope));
      expect(timedOut).toMatchObject({ kind: "unavailable", metadata: { agora_reason: "timeout" } });
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it("never echoes tokens or configured secrets from Agora's answer", async () => {
    const token = tokens.rtcWithRtm("c", "1", 60).token;
    fake.failNext("join", { status: 400, reason: "InvalidRequest", detail: `bad key sk-very-secret-key in token ${token}` });
    const err = await failure(client.join(joinBody("scrub"), scope));
    expect(err.message).not.toContain("sk-very-secret-key");
    expect(err.message).not.toContain(token);
    expect(err.message).toContain("[redacted]");
  });

  it("uses Basic customer credentials when configured, and Agora's 401 for wrong ones is failed_precondition", async () => {
    const basicFake = await new FakeAgora({ customer: { id: "cust", secret: "cust-secret" } }).start();
    try {
      const good = new AgoraConvoAiClient({
        baseUrl: basicFake.baseUrl,
        appId: FAKE_APP_ID,
        tokens,
        customer: { id: "cust", secret: "cust-secret" },
      });
      const started = await good.join(joinBody("basic"), scope);
      expect(basicFake.requests[0]?.authorization).toBe(`Basic ${Buffer.from("cust:cust-secret").toString("base64")}`);
      await good.leave(started.agentId, scope);
      const wrong = new AgoraConvoAiClient({
        baseUrl: basicFake.baseUrl,
        appId: FAKE_APP_ID,
        tokens,
        customer: { id: "cust", secret: "nope" },
      });
      const err = await failure(wrong.join(joinBody("basic-2"), scope));
      expect(err).toMatchObject({ kind: "failed_precondition", metadata: { agora_status: "401" } });
    } finally {
      await basicFake.close();
    }
  });

  it("a token signed with another certificate is refused by (fake) Agora: failed_precondition", async () => {
    const other = new AgoraConvoAiClient({
      baseUrl: fake.baseUrl,
      appId: FAKE_APP_ID,
      tokens: new VoiceTokens({ appId: FAKE_APP_ID, appCertificate: "11111111111111111111111111111111" }),
    });
    const err = await failure(other.join(joinBody("wrong-cert"), scope));
    expect(err).toMatchObject({ kind: "failed_precondition", metadata: { agora_status: "401", agora_reason: "Unauthorized" } });
  });
});
