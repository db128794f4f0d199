import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VoiceAgentService } from "../../gen/agentnet/v1/voice_pb.js";
import { createUser, loginAdmin, type TestUser } from "../support/agents.js";
import { client } from "../support/clients.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { SERVICE_RTC, SERVICE_RTM, parseAccessToken2, signatureValid } from "./access-token2.js";
import { FAKE_APP_ID, FAKE_CERTIFICATE, FakeAgora } from "./fake-agora.js";
import { voiceEnv } from "./helpers.js";

interface Envelope {
  code: number;
  msg: string;
  data?: Record<string, unknown>;
  reason?: string;
  detail?: string;
  details?: Record<string, string>;
}

type Answer = Awaited<ReturnType<typeof call>>;

/**
 * An error as the routes answer it: the seed's FastAPI shape ({"detail": "<message>"}, which its front end reads)
 * alongside agentnet's {code, msg, reason}.
 */
function expectSeedError(res: Answer, status: number, reason: string, mentions?: string): void {
  expect(res.status).toBe(status);
  expect(res.json).toMatchObject({ code: status, reason });
  expect(typeof res.json.detail).toBe("string");
  expect(res.json.detail).not.toBe("");
  expect(res.json.detail).toBe(res.json.msg);
  if (mentions !== undefined) expect(res.json.detail).toContain(mentions);
}

async function call(
  url: string,
  method: "GET" | "POST",
  body?: unknown,
  token?: string,
  raw?: string,
): Promise<{ status: number; json: Envelope; headers: Headers }> {
  const res = await fetch(url, {
    method,
    headers: {
      ...(body === undefined && raw === undefined ? {} : { "content-type": "application/json" }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  return { status: res.status, json: (await res.json()) as Envelope, headers: res.headers };
}

describe.each(MODES)("the Agora seed's HTTP routes (%s)", (mode) => {
  let backend: TestBackend;
  let fake: FakeAgora;
  let gw: TestGateway;
  let alice: TestUser;
  let bob: TestUser;

  beforeAll(async () => {
    backend = await createBackend(mode);
    fake = await new FakeAgora().start();
    gw = await startTestGateway(backend, voiceEnv(fake));
    const admin = await loginAdmin(gw.url);
    alice = await createUser(gw.url, admin, "alice");
    bob = await createUser(gw.url, admin, "bob");
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await backend?.dispose();
  });

  it("GET /get_config answers {code: 0, msg: success, data} with the seed's fields", async () => {
    const { status, json } = await call(`${gw.url}/get_config`, "GET", undefined, alice.token);
    expect(status).toBe(200);
    expect(json).toMatchObject({ code: 0, msg: "success" });
    const data = json.data as { app_id: string; token: string; uid: string; channel_name: string; agent_uid: string };
    expect(Object.keys(data).sort()).toEqual(["agent_uid", "app_id", "channel_name", "token", "uid"]);
    expect(data.app_id).toBe(FAKE_APP_ID);
    expect(data.channel_name).toMatch(/^channel_\d+$/);
    expect(data.uid).not.toBe(data.agent_uid);
    const parsed = parseAccessToken2(data.token);
    expect(signatureValid(parsed, FAKE_CERTIFICATE)).toBe(true);
    expect(parsed.expire).toBe(86_400);
    expect(parsed.services.map((s) => [s.type, s.uid ?? s.userId])).toEqual([
      [SERVICE_RTC, data.uid],
      [SERVICE_RTM, data.uid],
    ]);
  });

  it("POST /v2/startAgent and /v2/stopAgent work as the seed's, and the agent belongs to the caller", async () => {
    const config = (await call(`${gw.url}/get_config`, "GET", undefined, alice.token)).json.data as {
      channel_name: string;
      uid: string;
      agent_uid: string;
    };
    const started = await call(
      `${gw.url}/v2/startAgent`,
      "POST",
      { channelName: config.channel_name, rtcUid: config.agent_uid, userUid: Number(config.uid) },
      alice.token,
    );
    expect(started.status).toBe(200);
    expect(started.json).toEqual({
      code: 0,
      msg: "success",
      data: { agent_id: expect.any(String), channel_name: config.channel_name, status: "started" },
    });
    const agentId = started.json.data?.["agent_id"] as string;
    const join = fake.calls("join").at(-1)?.body as { properties: Record<string, unknown> };
    expect(join.properties).toMatchObject({ channel: config.channel_name, agent_rtc_uid: config.agent_uid, remote_rtc_uids: [config.uid] });
    expect(fake.violations).toEqual([]);

    const listed = await client(VoiceAgentService, gw.url, alice.token).listVoiceAgents({});
    expect(listed.agents.map((a) => a.agentId)).toContain(agentId);

    // Someone else's agent is "not found" to bob.
    const foreign = await call(`${gw.url}/v2/stopAgent`, "POST", { agentId }, bob.token);
    expect(foreign.status).toBe(404);
    expect(fake.agents.get(agentId)?.status).toBe("RUNNING");

    const stopped = await call(`${gw.url}/v2/stopAgent`, "POST", { agentId }, alice.token);
    expect(stopped.status).toBe(200);
    expect(stopped.json).toEqual({ code: 0, msg: "success" });
    expect(fake.agents.get(agentId)?.status).toBe("STOPPED");
    expect((await call(`${gw.url}/v2/stopAgent`, "POST", { agentId }, alice.token)).json).toEqual({ code: 0, msg: "success" });
  });

  it("answers the seed's error statuses in the envelope: 400 bad parameters, 404 unknown agent, 500 when Agora fails", async () => {
    const missing = await call(`${gw.url}/v2/startAgent`, "POST", { channelName: "c", rtcUid: "1" }, alice.token);
    expect(missing.status).toBe(400);
    expect(missing.json).toMatchObject({ code: 400, reason: "invalid_argument" });
    expect(missing.json.msg).toContain("userUid");
    const badChannel = await call(
      `${gw.url}/v2/startAgent`,
      "POST",
      { channelName: "bad/channel", rtcUid: "1", userUid: "2" },
      alice.token,
    );
    expect(badChannel).toMatchObject({ status: 400, json: { code: 400, reason: "invalid_channel_name" } });
    const notJson = await call(`${gw.url}/v2/startAgent`, "POST", undefined, alice.token, "{nope");
    expect(notJson).toMatchObject({ status: 400, json: { code: 400 } });
    const notObject = await call(`${gw.url}/v2/stopAgent`, "POST", [1, 2], alice.token);
    expect(notObject.status).toBe(400);
    const noId = await call(`${gw.url}/v2/stopAgent`, "POST", {}, alice.token);
    expect(noId).toMatchObject({ status: 400, json: { code: 400 } });
    expect(noId.json.msg).toContain("agentId");

    const unknown = await call(`${gw.url}/v2/stopAgent`, "POST", { agentId: "1NT29XNOSUCHAGENT" }, alice.token);
    expect(unknown).toMatchObject({ status: 404, json: { code: 404, reason: "agent_not_found" } });

    for (const agoraStatus of [400, 401, 503]) {
      fake.failNext("join", { status: agoraStatus, reason: "Injected" });
      const failed = await call(`${gw.url}/v2/startAgent`, "POST", { channelName: "c", rtcUid: "1", userUid: "2" }, alice.token);
      expect(failed.status).toBe(500);
      expect(failed.json).toMatchObject({ code: 500, reason: "agora_error" });
      expect(failed.json.msg).toContain(String(agoraStatus));
    }

    const wrongMethod = await fetch(`${gw.url}/v2/startAgent`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
  });

  describe("every error body carries the seed's detail", () => {
    // `null`: no credentials at all.
    const start = (body: unknown, token: string | null = alice.token) => call(`${gw.url}/v2/startAgent`, "POST", body, token ?? undefined);
    const stop = (body: unknown, token: string | null = alice.token) => call(`${gw.url}/v2/stopAgent`, "POST", body, token ?? undefined);

    it("GET /get_config: credentials and channel_name", async () => {
      expectSeedError(await call(`${gw.url}/get_config`, "GET"), 401, "missing_credentials");
      expectSeedError(await call(`${gw.url}/get_config`, "GET", undefined, "not-a-token"), 401, "invalid_token");
      const basic = await fetch(`${gw.url}/get_config`, { headers: { authorization: "Basic abc" } });
      expectSeedError(
        { status: basic.status, json: (await basic.json()) as Envelope, headers: basic.headers },
        401,
        "malformed_credentials",
      );
      expectSeedError(
        await call(`${gw.url}/get_config?channel_name=${encodeURIComponent("bad/channel")}`, "GET", undefined, alice.token),
        400,
        "invalid_channel_name",
        "channel_name",
      );
    });

    it("POST /v2/startAgent: bodies that are not a JSON object, or too large", async () => {
      expectSeedError(await call(`${gw.url}/v2/startAgent`, "POST", undefined, alice.token, "{nope"), 400, "invalid_argument", "JSON");
      expectSeedError(await call(`${gw.url}/v2/startAgent`, "POST", undefined, alice.token, ""), 400, "invalid_argument");
      expectSeedError(await start([1, 2]), 400, "invalid_argument");
      expectSeedError(await start("a string"), 400, "invalid_argument");
      expectSeedError(await start({ channelName: "c", rtcUid: "1", userUid: "2", pad: "x".repeat(70_000) }), 413, "invalid_argument");
    });

    it.each([
      ["channelName", { rtcUid: "1", userUid: "2" }],
      ["rtcUid", { channelName: "c", userUid: "2" }],
      ["userUid", { channelName: "c", rtcUid: "1" }],
      ["channelName", { channelName: " ", rtcUid: "1", userUid: "2" }],
      ["rtcUid", { channelName: "c", rtcUid: null, userUid: "2" }],
      ["userUid", { channelName: "c", rtcUid: "1", userUid: true }],
    ])("POST /v2/startAgent without a usable %s", async (name, body) => {
      expectSeedError(await start(body), 400, "invalid_argument", name);
    });

    it("POST /v2/startAgent: bad channel, an agent listening to itself, a bad userUid", async () => {
      expectSeedError(await start({ channelName: "bad/channel", rtcUid: "1", userUid: "2" }), 400, "invalid_channel_name");
      expectSeedError(await start({ channelName: "c", rtcUid: "9", userUid: "9" }), 400, "invalid_uid");
      expectSeedError(await start({ channelName: "c", rtcUid: "1", userUid: "no/slash" }), 400, "invalid_uid", "userUid");
      expectSeedError(await start({ channelName: "c", rtcUid: "1", userUid: -5 }), 400, "invalid_uid", "userUid");
    });

    // rtcUid is the seed's agent uid, a decimal uid (32-bit unsigned), as a string or a JSON number.
    it.each(["abc", "-1", "12.5", "+5", "1e3", "0x10", "4294967296", "0", -1, 12.5, 4294967296, 0])(
      "POST /v2/startAgent refuses rtcUid %j with invalid_uid naming rtcUid",
      async (rtcUid) => {
        const joins = fake.calls("join").length;
        expectSeedError(await start({ channelName: "c", rtcUid, userUid: "2" }), 400, "invalid_uid", "rtcUid");
        expect(fake.calls("join")).toHaveLength(joins);
      },
    );

    it("POST /v2/startAgent accepts rtcUid 4294967295 as a string and as a number", async () => {
      for (const rtcUid of ["4294967295", 4294967295]) {
        const started = await start({ channelName: "edge", rtcUid, userUid: "2" });
        expect(started.status).toBe(200);
        await stop({ agentId: started.json.data?.["agent_id"] });
      }
    });

    it("POST /v2/startAgent: Agora failing is a 500 with Agora's status in details (and Retry-After when given)", async () => {
      fake.failNext("join", { status: 422, reason: "InvalidRequest", detail: "bad properties" });
      const refused = await start({ channelName: "c", rtcUid: "1", userUid: "2" });
      expectSeedError(refused, 500, "agora_error", "422");
      expect(refused.json.details).toMatchObject({ agora_status: "422", agora_reason: "InvalidRequest" });

      fake.failNext("join", { status: 429, reason: "TooManyRequests", headers: { "retry-after": "3" } });
      const limited = await start({ channelName: "c", rtcUid: "1", userUid: "2" });
      expectSeedError(limited, 500, "agora_error", "429");
      expect(limited.headers.get("retry-after")).toBe("3");

      fake.failNext("join", { status: 0, drop: true });
      expectSeedError(await start({ channelName: "c", rtcUid: "1", userUid: "2" }), 500, "agora_error");
    });

    it("POST /v2/startAgent and /v2/stopAgent: credentials", async () => {
      expectSeedError(await start({ channelName: "c", rtcUid: "1", userUid: "2" }, null), 401, "missing_credentials");
      expectSeedError(await start({ channelName: "c", rtcUid: "1", userUid: "2" }, "not-a-token"), 401, "invalid_token");
      expectSeedError(await stop({ agentId: "x" }, null), 401, "missing_credentials");
      expectSeedError(await stop({ agentId: "x" }, "not-a-token"), 401, "invalid_token");
    });

    it("POST /v2/stopAgent: bad bodies, a missing id, an unknown or someone else's agent", async () => {
      expectSeedError(await call(`${gw.url}/v2/stopAgent`, "POST", undefined, alice.token, "{nope"), 400, "invalid_argument");
      expectSeedError(await stop([1]), 400, "invalid_argument");
      expectSeedError(await stop({}), 400, "invalid_argument", "agentId");
      expectSeedError(await stop({ agentId: "" }), 400, "invalid_argument", "agentId");
      expectSeedError(await stop({ agentId: "1NT29XNOSUCHAGENT" }), 404, "agent_not_found");
      const started = await start({ channelName: "c", rtcUid: "1", userUid: "2" });
      const agentId = started.json.data?.["agent_id"] as string;
      expectSeedError(await stop({ agentId }, bob.token), 404, "agent_not_found");
      await stop({ agentId });
    });
  });

  it("refuses missing or bad credentials by default, with the envelope", async () => {
    const none = await call(`${gw.url}/get_config`, "GET");
    expect(none).toMatchObject({ status: 401, json: { code: 401, reason: "missing_credentials" } });
    const bad = await call(`${gw.url}/v2/startAgent`, "POST", { channelName: "c", rtcUid: "1", userUid: "2" }, "not-a-token");
    expect(bad).toMatchObject({ status: 401, json: { code: 401 } });
    expect((await call(`${gw.url}/v2/stopAgent`, "POST", { agentId: "x" })).status).toBe(401);
  });

  it("applies CORS like the RPCs (preflight and simple requests)", async () => {
    const preflight = await fetch(`${gw.url}/v2/startAgent`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,authorization",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    const res = await fetch(`${gw.url}/get_config`, {
      headers: { origin: "http://localhost:3000", authorization: `Bearer ${alice.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe.each(MODES)("the seed's routes served without credentials (opt-in) (%s)", (mode) => {
  let backend: TestBackend;
  let fake: FakeAgora;
  let gw: TestGateway;
  let alice: TestUser;

  beforeAll(async () => {
    backend = await createBackend(mode);
    fake = await new FakeAgora().start();
    gw = await startTestGateway(backend, voiceEnv(fake, { AGENTNET_VOICE_PUBLIC_SEED_ROUTES: "true" }));
    alice = await createUser(gw.url, await loginAdmin(gw.url), "alice");
  });
  afterAll(async () => {
    await gw?.close();
    await fake?.close();
    await backend?.dispose();
  });

  it("serves /get_config, /v2/startAgent and /v2/stopAgent without credentials; agents belong to anonymous", async () => {
    const config = await call(`${gw.url}/get_config`, "GET");
    expect(config).toMatchObject({ status: 200, json: { code: 0, msg: "success" } });
    const data = config.json.data as { channel_name: string; uid: string; agent_uid: string };
    const started = await call(`${gw.url}/v2/startAgent`, "POST", {
      channelName: data.channel_name,
      rtcUid: data.agent_uid,
      userUid: data.uid,
    });
    expect(started).toMatchObject({ status: 200, json: { code: 0, data: { status: "started" } } });
    const agentId = started.json.data?.["agent_id"] as string;
    // Not alice's: she cannot see it.
    expect((await client(VoiceAgentService, gw.url, alice.token).listVoiceAgents({})).agents).toEqual([]);
    expect((await call(`${gw.url}/v2/stopAgent`, "POST", { agentId })).json).toEqual({ code: 0, msg: "success" });
    expect(fake.agents.get(agentId)?.status).toBe("STOPPED");
  });

  it("still checks credentials that are sent, and anonymous callers cannot stop a user's agent", async () => {
    expect((await call(`${gw.url}/get_config`, "GET", undefined, "not-a-token")).status).toBe(401);
    const own = await call(`${gw.url}/v2/startAgent`, "POST", { channelName: "c", rtcUid: "1", userUid: "2" }, alice.token);
    const agentId = own.json.data?.["agent_id"] as string;
    expect((await call(`${gw.url}/v2/stopAgent`, "POST", { agentId })).status).toBe(404);
    expect(fake.agents.get(agentId)?.status).toBe("RUNNING");
    expect((await call(`${gw.url}/v2/stopAgent`, "POST", { agentId }, alice.token)).status).toBe(200);
  });
});

describe("the seed's routes without voice configured", () => {
  let backend: TestBackend;
  let gw: TestGateway;
  beforeAll(async () => {
    backend = await createBackend("embedded");
    gw = await startTestGateway(backend, { AGENTNET_VOICE_PUBLIC_SEED_ROUTES: "true" });
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("answer 503 voice_not_configured in the envelope", async () => {
    const res = await call(`${gw.url}/get_config`, "GET");
    expect(res).toMatchObject({ status: 503, json: { code: 503, reason: "voice_not_configured" } });
    expect(res.json.msg).toContain("APP_ID");
    expectSeedError(res, 503, "voice_not_configured", "APP_ID");
    expectSeedError(
      await call(`${gw.url}/v2/startAgent`, "POST", { channelName: "c", rtcUid: "1", userUid: "2" }),
      503,
      "voice_not_configured",
    );
    expectSeedError(await call(`${gw.url}/v2/stopAgent`, "POST", { agentId: "x" }), 503, "voice_not_configured");
  });
});
