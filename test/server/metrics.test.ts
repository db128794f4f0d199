import { readFile } from "node:fs/promises";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MessageKind } from "../../gen/agentnet/v1/messaging_pb.js";
import { SessionEventType, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { readConfig } from "../../src/config.js";
import { refusal } from "../support/config.js";
import { createUser, loginAdmin, openInbox, registerAgent, text, userClients } from "../support/agents.js";
import { expectError } from "../support/errors.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type Scrape, declaredNames, scrape, sampleValue } from "../support/metrics.js";
import { loginAdmin as sessionAdmin, newUser as sessionUser, ofType, view } from "../sessions/helpers.js";

// What an operator's Prometheus sees at GET /metrics: calls by method and code over every protocol, the message
// path's counters, latencies and gauges, presence, store and bus, chat turns; off or behind a token when asked.

const MESSAGING = "agentnet.v1.MessagingService";
const REGISTRY = "agentnet.v1.RegistryService";

/** Polls `url`'s metrics until `ok` holds of them (gauges read from the store are cached for a few seconds). */
async function scrapeUntil(url: string, ok: (s: Scrape) => boolean, what: string): Promise<Scrape> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const { samples } = await scrape(url);
    if (ok(samples)) return samples;
    if (Date.now() > deadline) throw new Error(`metrics never showed ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe("metrics at GET /metrics (postgres+nats)", () => {
  let backend: TestBackend;
  let gw: TestGateway;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw = await startTestGateway(backend, { AGENTNET_SEND_RATE_PER_SECOND: "1000", AGENTNET_SEND_RATE_BURST: "1000" });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("serves Prometheus text with Node's process metrics and every agentnet metric, each documented in docs/operations.md", async () => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const body = await res.text();
    const names = declaredNames(body);
    expect(names).toEqual(
      expect.arrayContaining(["process_cpu_seconds_total", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes"]),
    );
    const ours = names.filter((n) => n.startsWith("agentnet_"));
    expect(ours.length).toBeGreaterThan(25);
    const docs = await readFile(new URL("../../docs/operations.md", import.meta.url), "utf8");
    expect(ours.filter((n) => !docs.includes(`\`${n}\``))).toEqual([]);
    // Prometheus conventions: counters end in _total, durations are in seconds.
    for (const line of body.matchAll(/^# TYPE (agentnet_\S+) (\S+)$/gm)) {
      if (line[2] === "counter") expect(line[1]).toMatch(/_total$/);
      if (line[1]!.includes("latency") || line[1]!.includes("duration")) expect(line[1]).toMatch(/_seconds$/);
    }
  });

  it("the Grafana dashboard and the docs' queries use only metrics a gateway serves", async () => {
    const declared = new Set(declaredNames((await scrape(gw.url)).text));
    const used = (text: string) =>
      [...text.matchAll(/\b((?:agentnet|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ""));
    const dashboard = JSON.parse(await readFile(new URL("../../deploy/grafana-dashboard.json", import.meta.url), "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThan(20);
    const docs = await readFile(new URL("../../docs/operations.md", import.meta.url), "utf8");
    const queries = [...docs.matchAll(/\| `([^`]*\([^`]*)` \|/g)].map((m) => m[1]!);
    expect(queries.length).toBeGreaterThan(3);
    const unknown = [...exprs, ...queries].flatMap(used).filter((name) => !declared.has(name));
    expect([...new Set(unknown)]).toEqual([]);
  });

  it("counts calls by service, method and code over gRPC and Connect, and times unary ones", async () => {
    const admin = await loginAdmin(gw.url);
    const user = await createUser(gw.url, admin, "counted");
    const agent = await registerAgent(user, "counted-agent");
    const overConnect = userClients(gw.url, user.username, user.token, "connect");
    const before = (await scrape(gw.url)).samples;

    await user.registry.heartbeat({ sessionTag: agent.sessionTag });
    await overConnect.registry.heartbeat({ sessionTag: agent.sessionTag });
    await expectError(user.registry.heartbeat({ sessionTag: " " }), Code.InvalidArgument);
    await expectError(overConnect.registry.heartbeat({ sessionTag: "" }), Code.InvalidArgument);
    await expectError(
      userClients(gw.url, "nobody", "not-a-token").registry.heartbeat({ sessionTag: agent.sessionTag }),
      Code.Unauthenticated,
    );

    const after = (await scrape(gw.url)).samples;
    const delta = (name: string, labels: Record<string, string>) => sampleValue(after, name, labels) - sampleValue(before, name, labels);
    const heartbeat = { service: REGISTRY, method: "Heartbeat" };
    expect(delta("agentnet_rpc_requests_total", { ...heartbeat, code: "ok" })).toBe(2);
    expect(delta("agentnet_rpc_requests_total", { ...heartbeat, code: "invalid_argument" })).toBe(2);
    expect(delta("agentnet_rpc_requests_total", { ...heartbeat, code: "unauthenticated" })).toBe(1);
    expect(delta("agentnet_rpc_duration_seconds_count", { ...heartbeat, code: "ok" })).toBe(2);
    expect(delta("agentnet_rpc_duration_seconds_bucket", { ...heartbeat, code: "ok", le: "+Inf" })).toBe(2);
    expect(delta("agentnet_heartbeats_total", {})).toBe(2);
  });

  it("follows a message from acceptance to processing: counters, in flight, delivery latency, open streams, group commits, bus", async () => {
    const admin = await loginAdmin(gw.url);
    const alice = await registerAgent(await createUser(gw.url, admin, "m-alice"), "m-alice");
    const bob = await registerAgent(await createUser(gw.url, admin, "m-bob"), "m-bob");
    const before = (await scrape(gw.url)).samples;
    const delta = (after: Scrape, name: string, labels: Record<string, string> = {}) =>
      sampleValue(after, name, labels) - sampleValue(before, name, labels);

    const inbox = openInbox(bob);
    await inbox.pendingAtStart;
    const subscribe = { service: MESSAGING, method: "Subscribe" };
    await scrapeUntil(
      gw.url,
      (s) => sampleValue(s, "agentnet_rpc_open_streams", subscribe) === sampleValue(before, "agentnet_rpc_open_streams", subscribe) + 1,
      "the open stream",
    );

    await alice.user.messaging.send({
      asAccountId: alice.accountId,
      to: { target: { case: "accountId", value: bob.accountId } },
      payload: text("one"),
    });
    const [envelope] = await inbox.waitFor(1);
    const inFlight = await scrapeUntil(gw.url, (s) => sampleValue(s, "agentnet_messages_in_flight") >= 1, "the message in flight");
    expect(delta(inFlight, "agentnet_messages_total", { status: "accepted" })).toBe(1);
    expect(delta(inFlight, "agentnet_messages_total", { status: "delivered" })).toBe(1);
    expect(delta(inFlight, "agentnet_message_delivery_seconds_count")).toBe(1);

    await bob.user.messaging.ack({ acks: [{ messageId: envelope!.messageId }] });
    const done = await scrapeUntil(gw.url, (s) => sampleValue(s, "agentnet_messages_in_flight") === 0, "the ack");
    expect(delta(done, "agentnet_messages_total", { status: "processed" })).toBe(1);
    expect(delta(done, "agentnet_group_commit_batch_size_count", { writer: "messages" })).toBeGreaterThanOrEqual(1);
    expect(delta(done, "agentnet_group_commit_batch_size_sum", { writer: "messages" })).toBeGreaterThanOrEqual(1);
    expect(delta(done, "agentnet_group_commit_flush_seconds_count", { writer: "statuses" })).toBeGreaterThanOrEqual(1);
    expect(delta(done, "agentnet_bus_published_total")).toBeGreaterThan(0);
    // A gateway hears its own publications back from NATS a moment after publishing, so the count may trail.
    await scrapeUntil(
      gw.url,
      (s) => sampleValue(s, "agentnet_bus_received_total") > sampleValue(before, "agentnet_bus_received_total"),
      "a bus message received",
    );
    expect(sampleValue(done, "agentnet_bus_connected")).toBe(1);
    expect(
      sampleValue(done, "agentnet_store_pool_connections", { state: "idle" }) +
        sampleValue(done, "agentnet_store_pool_connections", { state: "in_use" }),
    ).toBeGreaterThan(0);

    // A request answered by a reply is timed.
    const replying = (async () => {
      const [, request] = await inbox.waitFor(2);
      expect(request?.kind).toBe(MessageKind.REQUEST);
      await bob.user.messaging.reply({ requestMessageId: request!.messageId, payload: text("pong"), sessionTag: bob.sessionTag });
    })();
    const answered = await alice.user.messaging.request({
      asAccountId: alice.accountId,
      to: { target: { case: "accountId", value: bob.accountId } },
      payload: text("ping"),
      timeoutMs: 20_000n,
    });
    await replying;
    expect(answered.reply?.payload).toEqual(text("pong"));
    expect(delta((await scrape(gw.url)).samples, "agentnet_request_reply_seconds_count")).toBe(1);

    await inbox.close();
    await scrapeUntil(
      gw.url,
      (s) => sampleValue(s, "agentnet_rpc_open_streams", subscribe) === sampleValue(before, "agentnet_rpc_open_streams", subscribe),
      "the stream closed",
    );
    const ended = (await scrape(gw.url)).samples;
    expect(
      delta(ended, "agentnet_rpc_requests_total", { ...subscribe, code: "canceled" }) +
        delta(ended, "agentnet_rpc_requests_total", { ...subscribe, code: "ok" }),
    ).toBe(1);
    // Streams are counted when they end, but their lifetime is no latency.
    expect(delta(ended, "agentnet_rpc_duration_seconds_count", subscribe)).toBe(0);
  });

  it("shows the network's backlog, sessions online and registry size from the store", async () => {
    const admin = await loginAdmin(gw.url);
    const sender = await registerAgent(await createUser(gw.url, admin, "b-sender"), "b-sender");
    const away = await registerAgent(await createUser(gw.url, admin, "b-away"), "b-away");
    // Read from the store at most every few seconds: polled.
    const first = await scrapeUntil(
      gw.url,
      (s) => sampleValue(s, "agentnet_registry_accounts") >= 2 && sampleValue(s, "agentnet_sessions_online") >= 2,
      "the two agents",
    );
    const pendingBefore = sampleValue(first, "agentnet_messages_pending");
    for (const n of [1, 2, 3]) {
      await sender.user.messaging.send({
        asAccountId: sender.accountId,
        to: { target: { case: "accountId", value: away.accountId } },
        payload: text(`${n}`),
      });
    }
    await scrapeUntil(gw.url, (s) => sampleValue(s, "agentnet_messages_pending") >= pendingBefore + 3, "three more messages waiting");
    const inbox = openInbox(away, { autoAck: true });
    await inbox.waitFor(3);
    await inbox.settled();
    await inbox.close();
    await scrapeUntil(gw.url, (s) => sampleValue(s, "agentnet_messages_pending") <= pendingBefore, "the backlog processed");
  });

  it("counts chat turns, provider latency and tokens by provider", async () => {
    const admin = await sessionAdmin(gw);
    const alice = await sessionUser(gw, admin, "chat");
    const before = (await scrape(gw.url)).samples;
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.HUMAN_AGENT,
      agents: { primary: { provider: "echo" } },
    });
    const viewer = view(alice.sessions, session!.sessionId);
    await alice.sessions.sendSessionMessage({ sessionId: session!.sessionId, content: "count me" });
    await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length === 1);
    await viewer.close();
    const after = await scrapeUntil(
      gw.url,
      (s) =>
        sampleValue(s, "agentnet_chat_turns_total", { provider: "echo", outcome: "answered" }) >
        sampleValue(before, "agentnet_chat_turns_total", { provider: "echo", outcome: "answered" }),
      "the turn",
    );
    expect(
      sampleValue(after, "agentnet_chat_provider_seconds_count", { provider: "echo" }) -
        sampleValue(before, "agentnet_chat_provider_seconds_count", { provider: "echo" }),
    ).toBe(1);
    expect(sampleValue(after, "agentnet_chat_tokens_total", { provider: "echo" })).toBeGreaterThan(
      sampleValue(before, "agentnet_chat_tokens_total", { provider: "echo" }),
    );
    await scrapeUntil(gw.url, (s) => sampleValue(s, "agentnet_chat_sessions_active") >= 1, "the open chat session");
  });
});

describe("metrics turned off or behind a token (postgres+nats)", () => {
  let backend: TestBackend;
  let off: TestGateway;
  let guarded: TestGateway;
  const token = "scrape-token-0123456789";

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    off = await startTestGateway(backend, { AGENTNET_METRICS: "false" });
    guarded = await startTestGateway(backend, { AGENTNET_METRICS_TOKEN: token });
  }, 60_000);
  afterAll(async () => {
    await off?.close();
    await guarded?.close();
    await backend?.dispose();
  });

  it("AGENTNET_METRICS=false serves no /metrics, and the RPCs work as before", async () => {
    const res = await fetch(`${off.url}/metrics`);
    expect(res.status).toBe(404);
    await res.text();
    const admin = await loginAdmin(off.url);
    expect((await admin.auth.listApiKeys({})).keys).toEqual([]);
  });

  it("with AGENTNET_METRICS_TOKEN a scrape needs the bearer token: none or a wrong one is 401 with a reason", async () => {
    for (const [authorization, reason] of [
      [undefined, "missing_credentials"],
      ["Bearer wrong-token-0123456789", "invalid_credentials"],
      [`Basic ${Buffer.from(`x:${token}`).toString("base64")}`, "missing_credentials"],
      [`Bearer ${token}x`, "invalid_credentials"],
    ] as const) {
      const res = await fetch(`${guarded.url}/metrics`, authorization ? { headers: { authorization } } : {});
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer /);
      expect(await res.json()).toMatchObject({ reason });
    }
    const { samples } = await scrape(guarded.url, token);
    expect(samples.has("agentnet_rpc_requests_total") || samples.has("process_cpu_seconds_total")).toBe(true);
  });
});

describe("metrics configuration", () => {
  const refused = (env: Record<string, string>) => refusal(env)?.message;

  it("takes AGENTNET_METRICS as a boolean, on by default", () => {
    expect(readConfig({}).metrics).toEqual({ enabled: true, token: undefined });
    expect(readConfig({ AGENTNET_METRICS: "off" }).metrics.enabled).toBe(false);
    expect(refused({ AGENTNET_METRICS: "maybe" })).toMatch(/AGENTNET_METRICS must be true or false/);
  });

  it("refuses a short metrics token or one that cannot travel in a header", () => {
    expect(refused({ AGENTNET_METRICS_TOKEN: "short" })).toMatch(/AGENTNET_METRICS_TOKEN must be at least 16 characters/);
    expect(refused({ AGENTNET_METRICS_TOKEN: "has a space in the token" })).toMatch(/AGENTNET_METRICS_TOKEN must be printable ASCII/);
    expect(readConfig({ AGENTNET_METRICS_TOKEN: "a-long-enough-token" }).metrics.token).toBe("a-long-enough-token");
  });
});
