import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionEventType, SessionType } from "../../gen/agentnet/v1/session_pb.js";
import { type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { type SessionUser, clientsFor, loginAdmin, newUser, ofType, stored, summary, view } from "./helpers.js";

// Turns run on whichever gateway is free: a gateway that stops mid-conversation, or dies holding a turn, does
// not end the session.

const env = {
  AGENTNET_CHAT_QUERY_RATE_PER_MINUTE: "10000",
  AGENTNET_CHAT_MESSAGE_RATE_PER_MINUTE: "10000",
  AGENTNET_CHAT_ECHO_DELAY_MS: "40",
  AGENTNET_CHAT_TURN_LEASE_MS: "1000",
  AGENTNET_SWEEP_INTERVAL_MS: "200",
};

describe("chat sessions across gateways (postgres+nats)", () => {
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let admin: SessionUser;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw1 = await startTestGateway(backend, env);
    gw2 = await startTestGateway(backend, env);
    admin = await loginAdmin(gw1);
  });
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
  });

  it("finishes a conversation on the other gateway when the first one shuts down mid-conversation", async () => {
    const alice = await newUser(gw1, admin, "alice");
    const { session } = await alice.sessions.createSession({
      sessionType: SessionType.AGENT_AGENT,
      agents: { ada: { provider: "echo" }, bob: { provider: "echo" } },
      maxTurns: 8,
      tokensPerMinute: 0,
    });
    const onTwo = clientsFor(gw2, alice.username, alice.token);
    const viewer = view(onTwo.sessions, session!.sessionId);
    await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length >= 2 && ofType(es, SessionEventType.DELTA).length > 12);
    await gw1.close();
    const events = stored(await viewer.ended(30_000));
    expect(
      events.map((e) => e.seq),
      summary(events),
    ).toEqual(events.map((_, i) => BigInt(i + 1)));
    const responses = ofType(events, SessionEventType.RESPONSE);
    expect(responses.map((r) => r.turn)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.at(-1)).toMatchObject({ type: SessionEventType.STOP, reason: "max_turns" });
    // The last turns ran on the gateway that stayed.
    const survivor = responses.at(-1)!.metadata?.["gateway"];
    expect(responses.slice(-3).every((r) => r.metadata?.["gateway"] === survivor)).toBe(true);
  });

  it("takes over a turn whose gateway died holding it, once its lease runs out", async () => {
    const bob = await newUser(gw2, await loginAdmin(gw2), "bob");
    const { session } = await bob.sessions.createSession({ sessionType: SessionType.HUMAN_AGENT, agents: { solo: { provider: "echo" } } });
    const id = session!.sessionId;
    const viewer = view(bob.sessions, id);
    // What a crash leaves behind: a message asked for a turn, and a gateway that claimed it is gone.
    await gw2.store.db.transaction().execute(async (trx) => {
      await sql`update chat_sessions set last_seq = last_seq + 1 where session_id = ${id}`.execute(trx);
      await sql`insert into chat_session_events (session_id, seq, type, content, sender, receiver, ts, role)
                values (${id}, 2, 'text', 'anyone there?', ${bob.username}, 'solo', now(), 'user')`.execute(trx);
      await sql`update chat_sessions set pending_agent = 'solo', pending_serial = 1, pending_reply_to = 2, pending_attempts = 1,
                  turn_lease_token = 'turn_of_a_dead_gateway', turn_lease_until = now() + interval '500 milliseconds',
                  pending_enqueued_at = now() - interval '1 hour'
                where session_id = ${id}`.execute(trx);
    });
    const events = await viewer.until((es) => ofType(es, SessionEventType.RESPONSE).length === 1, 10_000);
    await viewer.close();
    expect(ofType(events, SessionEventType.INFO)[0]?.content).toMatch(/restarted/);
    expect(ofType(events, SessionEventType.RESPONSE)[0]).toMatchObject({ content: "echo: anyone there?", turn: 1 });
  });
});
