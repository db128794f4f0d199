import { type Kysely, type Selectable, type Transaction, sql } from "kysely";
import type { Logger } from "pino";
import { newUlid } from "../ids.js";
import type { Bus, BusSubscription } from "../bus/index.js";
import type { SessionsConfig } from "../config.js";
import type { ChatParty, ChatThreadWriter } from "../messaging/index.js";
import { FailureLog, isUnavailable } from "../store/errors.js";
import type { Database } from "../store/schema.js";
import type { Metrics } from "../metrics/index.js";
import {
  GOAL_REACHED_MARKER,
  type ThreadMessage,
  agentWithUnanswered,
  conversationFor,
  estimateTokens,
  messageToAnswer,
} from "./conversation.js";
import { appendEvents, appendStop, leaseUntil, publishEvents } from "./events.js";
import type { ProviderCatalog } from "./providers/catalog.js";
import { type ChatProvider, ProviderError, type Usage } from "./providers/types.js";
import type { ChatSessionAgentsTable, ChatSessionsTable } from "./tables.js";
import { TURN_QUEUE, TURN_SUBJECT, decodeTurnOffer, encodeTurnOffer } from "../wire/index.js";

// Turns: one agent answering. A session has at most one pending turn, stored on its row (pending_agent and
// friends), and at most one gateway runs it, holding a lease on it (turn_lease_token / turn_lease_until).
//
// The work queue is a bus subject with a queue group: whoever asks for a turn (a message, the previous turn of
// an AGENT_AGENT conversation, the end of a cooldown) stores it and publishes the session id; exactly one
// gateway receives each job and claims the turn with a conditional UPDATE (unleased or lease expired, not
// before its cooldown), so duplicate jobs are harmless. A gateway at its concurrency limit keeps a bounded local
// backlog. Jobs are only a fast path: each gateway's sweeper re-enqueues, in bounded FOR UPDATE SKIP LOCKED
// batches, pending turns that nobody holds and that were enqueued a while ago — turns whose job was lost, or
// whose gateway died mid-answer (its lease runs out). A turn that keeps getting re-claimed without finishing is
// given up after a few attempts with an `error` event.
//
// The pending turn names an agent, not a message: the message it answers is found when it is claimed (see
// messageToAnswer), and when it ends the next one is worked out from the events, so messages that arrive while
// an agent is answering queue behind it and each gets its own answer, in order. In AGENT_AGENT sessions the
// agents take turns strictly: a message sent during a turn never moves the pending turn to another agent (see
// askForTurn in sessions.ts); after an answer the other agent answers next. So an interjection is answered by
// the agent it is addressed to at that agent's next turn: right away when the other agent is answering now, or
// after the other agent's turn when its addressee is the one answering now — never by the same agent twice in a
// row. An answer always goes to the agent it is addressed to, which is never the agent it was posted as.

const MAX_ATTEMPTS = 5;
const MAX_LOCAL_BACKLOG = 10_000;
const REQUEUE_BATCH = 100;
const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
/** Longest answer kept (characters); a provider that runs on is cut off here. */
const MAX_ANSWER_CHARS = 64_000;

export interface TurnDeps {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  config: SessionsConfig;
  providers: ProviderCatalog;
  threads: ChatThreadWriter;
  metrics: Metrics;
  /** This gateway (answers say which gateway produced them). */
  gatewayId: string;
  /** Called once a session ended because of a turn (max_turns, stop word, goal). */
  ended(sessionId: string, accountIds: string[]): Promise<void>;
}

type SessionRow = Selectable<ChatSessionsTable>;
type AgentRow = Selectable<ChatSessionAgentsTable>;

/** Why a turn's provider call was stopped early. */
type Interruption = "deadline" | "lost" | "shutdown" | "store";

class LostClaim extends Error {}

export class TurnQueue {
  private readonly running = new Map<string, Promise<void>>();
  private readonly backlog = new Set<string>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly shutdown = new AbortController();
  private subscription: BusSubscription | undefined;
  private readonly turnFailures: FailureLog;

  constructor(private readonly deps: TurnDeps) {
    this.turnFailures = new FailureLog(deps.logger, "a turn (lease lapses; the sweeper re-enqueues it)");
  }

  /** Starts taking turn jobs from the bus. */
  start(): void {
    this.subscription = this.deps.bus.subscribe(TURN_SUBJECT, (msg) => this.offer(decodeTurnOffer(msg.data)), {
      queue: TURN_QUEUE,
    });
  }

  /** Stops taking new jobs (the gateway is draining); running turns go on until stop(). */
  pause(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Stops taking jobs; running turns hand their claim back (another gateway finishes them). */
  async stop(): Promise<void> {
    this.pause();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.backlog.clear();
    this.shutdown.abort();
    await Promise.allSettled([...this.running.values()]);
  }

  /** Puts a session's pending turn on the work queue (any gateway may take it). */
  enqueue(sessionId: string): void {
    try {
      this.deps.bus.publish(TURN_SUBJECT, encodeTurnOffer(sessionId));
    } catch (err) {
      this.deps.logger.warn({ err, sessionId }, "could not enqueue a turn; the sweeper will");
    }
  }

  /**
   * One sweep: re-enqueues pending turns that nobody holds and nobody took for a while. Bounded and safe on
   * several gateways (SKIP LOCKED; the enqueue time moves on, so each turn is re-sent by one gateway).
   */
  async requeueLost(): Promise<number> {
    const staleMs = Math.max(2000, this.deps.config.turnLeaseMs / 10);
    const { rows } = await sql<{ session_id: string }>`
      update chat_sessions set pending_enqueued_at = now()
       where session_id in (
               select session_id from chat_sessions
                where status = 'active' and pending_agent is not null
                  and (turn_lease_until is null or turn_lease_until < now())
                  and (pending_not_before is null or pending_not_before <= now())
                  and (pending_enqueued_at is null or pending_enqueued_at < now() - ${staleMs}::double precision * interval '1 millisecond')
                order by pending_not_before nulls first
                limit ${REQUEUE_BATCH}
                for update skip locked)
      returning session_id`.execute(this.deps.db);
    for (const row of rows) this.enqueue(row.session_id);
    return rows.length;
  }

  private offer(sessionId: string): void {
    if (this.shutdown.signal.aborted || !sessionId.startsWith("chat_")) return;
    // The turn of a session already running here cannot be claimed again; when it ends it enqueues what is left.
    if (this.running.has(sessionId)) return;
    if (this.running.size >= this.deps.config.maxConcurrentTurns) {
      if (this.backlog.size < MAX_LOCAL_BACKLOG) this.backlog.add(sessionId);
      return;
    }
    const run = this.runTurn(sessionId)
      .then(() => this.turnFailures.succeeded())
      .catch((err: unknown) => {
        // The database going away mid-turn is not a bug: the turn's lease lapses and the sweeper re-enqueues it.
        if (isUnavailable(err)) this.turnFailures.failed(err);
        else this.deps.logger.error({ err, sessionId }, "turn failed");
      })
      .finally(() => {
        this.running.delete(sessionId);
        const next = this.backlog.values().next();
        if (!next.done) {
          this.backlog.delete(next.value);
          this.offer(next.value);
        }
      });
    this.running.set(sessionId, run);
  }

  private enqueueAt(sessionId: string, at: Date): void {
    const timer = setTimeout(
      () => {
        this.timers.delete(timer);
        this.enqueue(sessionId);
      },
      Math.max(0, at.getTime() - Date.now()) + 10,
    );
    timer.unref();
    this.timers.add(timer);
  }

  // ---- one turn -----------------------------------------------------------------------------------------

  private async runTurn(sessionId: string): Promise<void> {
    const { db, config } = this.deps;
    const token = `turn_${newUlid()}`;
    const claimed = await db
      .updateTable("chat_sessions")
      .set({
        turn_lease_token: token,
        turn_lease_until: leaseUntil(config.turnLeaseMs),
        pending_attempts: sql<number>`pending_attempts + 1`,
      })
      .where("session_id", "=", sessionId)
      .where("status", "=", "active")
      .where("pending_agent", "is not", null)
      .where((eb) => eb.or([eb("turn_lease_until", "is", null), eb("turn_lease_until", "<", sql<Date>`now()`)]))
      .where((eb) => eb.or([eb("pending_not_before", "is", null), eb("pending_not_before", "<=", sql<Date>`now()`)]))
      .returningAll()
      .returning(sql<Date>`now()`.as("db_now"))
      .executeTakeFirst();
    if (!claimed) return;
    const { db_now: now, ...session } = claimed;
    const agents = await db.selectFrom("chat_session_agents").selectAll().where("session_id", "=", sessionId).execute();
    const agent = agents.find((a) => a.name === session.pending_agent);
    try {
      const answers = agent && (await messageToAnswer(db, session, agent));
      // Nothing (left) to answer: the turn ends without an outcome, unless a message arrived meanwhile.
      if (!agent || !answers) return await this.settleIdle(session, agents, token);
      const turn = session.turn_count + 1;
      if (session.pending_attempts > MAX_ATTEMPTS) {
        return await this.fail(session, agents, agent, answers, token, {
          reason: "provider_error",
          message: `turn ${turn} of ${agent.name} was given up after ${MAX_ATTEMPTS} attempts that did not finish`,
          responseId: "",
          status: 0,
        });
      }
      const windowMs = config.tokenWindowSeconds * 1000;
      if (
        session.tokens_per_minute > 0 &&
        agent.window_started_at !== null &&
        agent.window_started_at.getTime() + windowMs > now.getTime() &&
        agent.window_tokens >= session.tokens_per_minute
      ) {
        return await this.coolDown(session, agent, token, new Date(agent.window_started_at.getTime() + windowMs));
      }
      const provider = this.deps.providers.get(agent.provider);
      if (!provider?.configured) {
        return await this.fail(session, agents, agent, answers, token, {
          reason: "provider_not_configured",
          message: `provider ${agent.provider} is not configured on this server`,
          responseId: "",
          status: 0,
        });
      }
      if (session.pending_attempts > 1) {
        const events = await db.transaction().execute((trx) =>
          appendEvents(
            trx,
            sessionId,
            [
              {
                type: "info",
                content: `turn ${turn} of ${agent.name} restarted: the gateway running it stopped`,
                sender: "system",
                role: "system",
                turn,
              },
            ],
            { leaseToken: token, leaseMs: config.turnLeaseMs },
          ),
        );
        if (!events) return;
        publishEvents(this.deps.bus, this.deps.logger, events);
      }
      await this.answer(session, agents, agent, answers, provider, token);
    } catch (err) {
      if (err instanceof LostClaim) return;
      // Something of ours failed (the store, most likely): hand the turn back so it is tried again.
      this.deps.logger.warn({ err, sessionId }, "turn failed; handing it back");
      await this.release(session, token, true).catch(() => undefined);
    }
  }

  /** Streams the agent's answer into delta events, then stores the response (or the error). */
  private async answer(
    session: SessionRow,
    agents: AgentRow[],
    agent: AgentRow,
    answers: ThreadMessage,
    provider: ChatProvider,
    token: string,
  ): Promise<void> {
    const { db, bus, logger, config } = this.deps;
    const conversation = await conversationFor(db, session, agent, agents, answers);
    const responseId = `resp_${newUlid()}`;
    const turn = session.turn_count + 1;
    const receiver = counterpart(session, agents, agent);

    const abort = new AbortController();
    let interruption: Interruption | undefined;
    const interrupt = (why: Interruption) => {
      interruption ??= why;
      abort.abort();
    };
    const deadline = setTimeout(() => interrupt("deadline"), config.providerTimeoutMs);
    const onShutdown = () => interrupt("shutdown");
    this.shutdown.signal.addEventListener("abort", onShutdown);
    // Deltas renew the lease; a provider that thinks for long without sending any must not lose it meanwhile.
    const renewal = setInterval(
      () => {
        void renewLease(db, session.session_id, token, config.turnLeaseMs).then(
          (held) => held || interrupt("lost"),
          () => undefined,
        );
      },
      Math.max(50, config.turnLeaseMs / 3),
    );

    const sink = new DeltaSink(async (text) => {
      const events = await db
        .transaction()
        .execute((trx) =>
          appendEvents(
            trx,
            session.session_id,
            [{ type: "delta", content: text, sender: agent.name, receiver: receiver.name, role: "assistant", responseId, turn }],
            { leaseToken: token, leaseMs: config.turnLeaseMs },
          ),
        );
      if (!events) return false;
      publishEvents(bus, logger, events);
      return true;
    }, interrupt);

    let usage: Usage | undefined;
    let failure: unknown;
    let chars = 0;
    const providerStarted = performance.now();
    try {
      const stream = provider.stream({
        model: agent.model,
        system: conversation.system,
        messages: conversation.messages,
        temperature: agent.temperature ?? undefined,
        maxOutputTokens: agent.max_output_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
        signal: abort.signal,
      });
      for await (const chunk of abortable(stream, abort.signal)) {
        if (chunk.type === "usage") {
          usage = chunk.usage;
          continue;
        }
        const text = chunk.text.slice(0, MAX_ANSWER_CHARS - chars);
        chars += text.length;
        if (text !== "") sink.push(text);
        if (chars >= MAX_ANSWER_CHARS) break;
      }
    } catch (err) {
      failure = err;
    } finally {
      clearTimeout(deadline);
      clearInterval(renewal);
      this.shutdown.signal.removeEventListener("abort", onShutdown);
    }
    const providerSeconds = (performance.now() - providerStarted) / 1000;
    const { metrics } = this.deps;
    const failed = (reason: "provider_error" | "provider_timeout") => {
      metrics.providerErrors.inc({ provider: agent.provider, reason });
      metrics.chatTurns.inc({ provider: agent.provider, outcome: reason === "provider_timeout" ? "timeout" : "failed" });
    };
    await sink.flush();
    if (sink.failed) interruption ??= "store";

    switch (interruption) {
      case "lost":
        return;
      case "shutdown":
      case "store":
        return this.release(session, token, true);
      case "deadline":
        failed("provider_timeout");
        return this.fail(session, agents, agent, answers, token, {
          reason: "provider_timeout",
          message: `${agent.provider} did not finish answering within ${config.providerTimeoutMs} ms`,
          responseId,
          status: 0,
        });
    }
    if (failure !== undefined) {
      failed("provider_error");
      if (!(failure instanceof ProviderError)) logger.warn({ err: failure, provider: agent.provider }, "provider call failed unexpectedly");
      return this.fail(session, agents, agent, answers, token, {
        reason: "provider_error",
        message:
          failure instanceof ProviderError ? failure.message : `${agent.provider} failed: ${(failure as Error).message ?? String(failure)}`,
        responseId,
        status: failure instanceof ProviderError ? failure.status : 0,
      });
    }

    const content = sink.parts.join("");
    // An empty answer is never stored as one: it would read as the agent having nothing to say.
    if (content.trim() === "") {
      failed("provider_error");
      return this.fail(session, agents, agent, answers, token, {
        reason: "provider_error",
        message: `${agent.provider} returned an empty answer`,
        responseId,
        status: 0,
      });
    }
    const promptChars = conversation.system.length + conversation.messages.reduce((n, m) => n + m.content.length, 0);
    const tokens = usage ? usage.inputTokens + usage.outputTokens : estimateTokens(promptChars + content.length);
    metrics.providerLatency.observe({ provider: agent.provider }, providerSeconds);
    metrics.chatTokens.inc({ provider: agent.provider }, tokens);
    metrics.chatTurns.inc({ provider: agent.provider, outcome: "answered" });
    const messageId = await this.deps.threads.write({
      threadId: session.thread_id,
      messageId: `msg_${newUlid()}`,
      chatSessionId: session.session_id,
      from: { accountId: agent.account_id, username: agent.username, agentId: agent.name },
      to: receiver.party,
      payload: {
        text: content,
        chat_session_id: session.session_id,
        event: "response",
        sender: agent.name,
        receiver: receiver.name,
        response_id: responseId,
        turn,
      },
      parentMessageId: answers.messageId,
      idempotencyKey: "",
      ttlMs: config.lifetimeSeconds * 1000,
    });
    const stopReason = stopReasonOf(session, content, turn);
    const next =
      session.session_type === "agent_agent" && stopReason === undefined ? agents.find((a) => a.name !== agent.name)?.name : undefined;
    const outcome = await db.transaction().execute(async (trx) => {
      const events = await appendEvents(
        trx,
        session.session_id,
        [
          {
            type: "response",
            content,
            sender: agent.name,
            receiver: receiver.name,
            role: "assistant",
            responseId,
            turn,
            messageId,
            metadata: {
              role: "assistant",
              provider: agent.provider,
              model: agent.model,
              in_reply_to: answers.seq,
              gateway: this.deps.gatewayId,
              usage: {
                tokens,
                estimated: usage === undefined,
                ...(usage && { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens }),
              },
            },
          },
        ],
        { leaseToken: token },
      );
      if (!events) throw new LostClaim();
      const windowOver = sql<boolean>`(window_started_at is null or window_started_at + ${config.tokenWindowSeconds}::double precision * interval '1 second' <= now())`;
      await trx
        .updateTable("chat_session_agents")
        .set({
          message_count: sql<number>`message_count + 1`,
          status: "active",
          cooldown_until: null,
          tokens_total: sql<number>`tokens_total + ${tokens}`,
          last_active_at: sql<Date>`now()`,
          // Both read the row as it was: a window that is over starts again with this answer.
          window_started_at: sql<Date>`case when ${windowOver} then now() else window_started_at end`,
          window_tokens: sql<number>`case when ${windowOver} then ${tokens}::integer else window_tokens + ${tokens}::integer end`,
        })
        .where("session_id", "=", session.session_id)
        .where("name", "=", agent.name)
        .execute();
      const pending = await this.settle(trx, session, agents, token, { answered: true, next, replyTo: events[0]!.seq });
      const stop =
        stopReason === undefined
          ? undefined
          : await appendStop(trx, session.session_id, {
              status: "stopped",
              reason: stopReason,
              content: stopMessage(stopReason, agent.name, turn),
            });
      return { events: stop ? [...events, stop] : events, pending: stop ? false : pending };
    });
    publishEvents(bus, logger, outcome.events);
    if (outcome.events.some((e) => e.type === "stop"))
      await this.deps.ended(
        session.session_id,
        agents.map((a) => a.account_id),
      );
    else if (outcome.pending) this.enqueue(session.session_id);
  }

  /**
   * Ends the claim and asks for the next turn, if any. `next` is the other agent of an AGENT_AGENT session after
   * an answer: the agents take turns whatever was sent meanwhile (what was sent to either is answered at its own
   * turn). Otherwise the next turn is for whoever has a message without an answer (the oldest one's addressee).
   * Runs in the transaction that stored the outcome, after the session row was locked by it, so a message sent
   * concurrently is either seen here or asks for its turn after this commits. True when a turn is pending.
   */
  private async settle(
    trx: Transaction<Database>,
    session: SessionRow,
    agents: AgentRow[],
    token: string,
    outcome: { answered: boolean; next: string | undefined; replyTo: number },
  ): Promise<boolean> {
    const pendingAgent =
      outcome.next ??
      (await agentWithUnanswered(
        trx,
        session.session_id,
        agents.map((a) => a.name),
      )) ??
      null;
    const updated = await trx
      .updateTable("chat_sessions")
      .set({
        turn_count: outcome.answered ? sql<number>`turn_count + 1` : sql<number>`turn_count`,
        turn_lease_token: null,
        turn_lease_until: null,
        pending_attempts: 0,
        pending_agent: pendingAgent,
        // An agent in cooldown stays in it when its turn comes again.
        pending_not_before: null,
        pending_enqueued_at: pendingAgent === null ? null : sql<Date>`now()`,
        ...(pendingAgent !== null && { pending_serial: sql<number>`pending_serial + 1` }),
        ...(outcome.next !== undefined && { pending_reply_to: outcome.replyTo }),
      })
      .where("session_id", "=", session.session_id)
      .where("turn_lease_token", "=", token)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw new LostClaim();
    return pendingAgent !== null;
  }

  /** The claimed turn has nothing to answer: end it, asking for another if a message is waiting for one. */
  private async settleIdle(session: SessionRow, agents: AgentRow[], token: string): Promise<void> {
    const pending = await this.deps.db.transaction().execute(async (trx) => {
      // The same lock a message's send takes, so a message sent now is seen here or asks after this commits.
      const locked = await trx
        .selectFrom("chat_sessions")
        .select("session_id")
        .where("session_id", "=", session.session_id)
        .forUpdate()
        .executeTakeFirst();
      if (!locked) throw new LostClaim();
      return this.settle(trx, session, agents, token, { answered: false, next: undefined, replyTo: 0 });
    });
    if (pending) this.enqueue(session.session_id);
  }

  /** The agent spent its budget: a `cooldown` event, and the turn waits until the window ends. */
  private async coolDown(session: SessionRow, agent: AgentRow, token: string, until: Date): Promise<void> {
    const { db, bus, logger, config } = this.deps;
    const events = await db.transaction().execute(async (trx) => {
      const stored = await appendEvents(
        trx,
        session.session_id,
        [
          {
            type: "cooldown",
            content: `${agent.name} used ${agent.window_tokens} of its ${session.tokens_per_minute} tokens per ${config.tokenWindowSeconds} s and pauses until ${until.toISOString()}`,
            sender: agent.name,
            role: "system",
            turn: session.turn_count + 1,
            cooldownUntil: until,
            reason: "token_budget",
            metadata: {
              agent: agent.name,
              tokens_used: agent.window_tokens,
              tokens_per_minute: session.tokens_per_minute,
              window_seconds: config.tokenWindowSeconds,
            },
          },
        ],
        { leaseToken: token },
      );
      if (!stored) throw new LostClaim();
      await trx
        .updateTable("chat_session_agents")
        .set({ cooldown_until: until })
        .where("session_id", "=", session.session_id)
        .where("name", "=", agent.name)
        .execute();
      await trx
        .updateTable("chat_sessions")
        .set({
          pending_not_before: until,
          pending_enqueued_at: sql<Date>`now()`,
          pending_attempts: 0,
          turn_lease_token: null,
          turn_lease_until: null,
        })
        .where("session_id", "=", session.session_id)
        .where("turn_lease_token", "=", token)
        .execute();
      return stored;
    });
    publishEvents(bus, logger, events);
    this.enqueueAt(session.session_id, until);
  }

  /** The provider failed: an `error` event; the session stays usable and the agent answers the next message. */
  private async fail(
    session: SessionRow,
    agents: AgentRow[],
    agent: AgentRow,
    answers: ThreadMessage,
    token: string,
    failure: { reason: string; message: string; responseId: string; status: number },
  ): Promise<void> {
    const { db, bus, logger } = this.deps;
    const outcome = await db.transaction().execute(async (trx) => {
      const events = await appendEvents(
        trx,
        session.session_id,
        [
          {
            type: "error",
            content: failure.message,
            sender: agent.name,
            role: "system",
            reason: failure.reason,
            responseId: failure.responseId,
            turn: session.turn_count + 1,
            metadata: {
              code: failure.reason,
              agent: agent.name,
              provider: agent.provider,
              model: agent.model,
              in_reply_to: answers.seq,
              details: failure.status === 0 ? {} : { http_status: failure.status },
            },
          },
        ],
        { leaseToken: token },
      );
      if (!events) throw new LostClaim();
      await trx
        .updateTable("chat_session_agents")
        .set({ status: "error", last_active_at: sql<Date>`now()` })
        .where("session_id", "=", session.session_id)
        .where("name", "=", agent.name)
        .execute();
      const pending = await this.settle(trx, session, agents, token, { answered: false, next: undefined, replyTo: 0 });
      return { events, pending };
    });
    publishEvents(bus, logger, outcome.events);
    if (outcome.pending) this.enqueue(session.session_id);
  }

  /** Hands the claim back without an outcome; with `retry` another gateway (or this one) takes the turn soon. */
  private async release(session: SessionRow, token: string, retry: boolean): Promise<void> {
    await this.deps.db
      .updateTable("chat_sessions")
      .set({ turn_lease_token: null, turn_lease_until: null, pending_enqueued_at: null, ...(!retry && { pending_agent: null }) })
      .where("session_id", "=", session.session_id)
      .where("turn_lease_token", "=", token)
      .execute();
    if (retry) this.enqueue(session.session_id);
  }
}

async function renewLease(db: Kysely<Database>, sessionId: string, token: string, leaseMs: number): Promise<boolean> {
  const res = await db
    .updateTable("chat_sessions")
    .set({ turn_lease_until: leaseUntil(leaseMs) })
    .where("session_id", "=", sessionId)
    .where("status", "=", "active")
    .where("turn_lease_token", "=", token)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** Whom an agent answers: the user (HUMAN_AGENT) or the other agent. */
function counterpart(session: SessionRow, agents: AgentRow[], agent: AgentRow): { name: string; party: ChatParty } {
  const other = session.session_type === "agent_agent" ? agents.find((a) => a.name !== agent.name) : undefined;
  if (other) return { name: other.name, party: { accountId: other.account_id, username: other.username, agentId: other.name } };
  return { name: session.owner_username, party: { accountId: session.owner_user_id, username: session.owner_username, agentId: "" } };
}

/** Why an AGENT_AGENT session ends after this answer, if it does. */
function stopReasonOf(session: SessionRow, content: string, turn: number): string | undefined {
  if (session.session_type !== "agent_agent") return undefined;
  if (session.stop_word !== "" && content.includes(session.stop_word)) return "stop_word";
  if (session.goal !== "" && content.includes(GOAL_REACHED_MARKER)) return "goal_reached";
  if (turn >= session.max_turns) return "max_turns";
  return undefined;
}

function stopMessage(reason: string, agent: string, turn: number): string {
  switch (reason) {
    case "stop_word":
      return `${agent} said the stop word at turn ${turn}`;
    case "goal_reached":
      return `${agent} declared the goal reached at turn ${turn}`;
    default:
      return `the conversation reached its limit of ${turn} turns`;
  }
}

/**
 * Stores streamed text as `delta` events as fast as the store takes them: text arriving while one is being
 * stored is merged into the next, so a fast provider makes fewer, larger deltas instead of a queue.
 */
class DeltaSink {
  readonly parts: string[] = [];
  failed = false;
  private buffered = "";
  private writing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly write: (text: string) => Promise<boolean>,
    private readonly interrupt: (why: Interruption) => void,
  ) {}

  push(text: string): void {
    if (this.stopped) return;
    this.buffered += text;
    this.writing ??= this.drain();
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.buffered !== "" && !this.stopped) {
        const text = this.buffered;
        this.buffered = "";
        if (await this.write(text)) {
          this.parts.push(text);
        } else {
          this.stopped = true;
          this.interrupt("lost");
        }
      }
    } catch {
      this.stopped = true;
      this.failed = true;
      this.interrupt("store");
    } finally {
      this.writing = undefined;
    }
  }
}

/** The stream's items until `signal` aborts, even from a provider that ignores the signal. */
async function* abortable<T>(iterable: AsyncIterable<T>, signal: AbortSignal): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(signal.reason ?? new Error("aborted"));
    if (signal.aborted) fail();
    else signal.addEventListener("abort", fail, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    void Promise.resolve(iterator.return?.()).catch(() => undefined);
  }
}
