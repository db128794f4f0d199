import { type ExpressionBuilder, type Kysely, type Selectable, type Transaction, sql } from "kysely";
import type { Logger } from "pino";
import type { Metrics } from "../metrics/index.js";
import { newUlid } from "../ids.js";
import type { Principal } from "../auth/index.js";
import type { Bus } from "../bus/index.js";
import type { SessionsConfig } from "../config.js";
import { DomainError, invalidArgument } from "../errors.js";
import { runPeriodically } from "../lifecycle/index.js";
import { type ChatParty, ChatThreadWriter, openChatThread } from "../messaging/index.js";
import { decodePageToken, encodePageToken, type Page, pageSize, positionString } from "../paging/index.js";
import { createHostedAccounts, endHostedPresence, hostedOnlineEvents, type PresenceEventRecord } from "../registry/index.js";
import type { Database } from "../store/schema.js";
import { type StreamItem, sessionEvents } from "./event-stream.js";
import { appendEvents, appendStop, publishEvents } from "./events.js";
import { ProviderCatalog } from "./providers/catalog.js";
import type { ChatProvider } from "./providers/types.js";
import { type SessionEventRecord, type SessionRecord, toEventRecord, toSessionRecord } from "./records.js";
import type { ChatSessionAgentsTable, ChatSessionsTable, SessionStatusName, SessionTypeName } from "./tables.js";
import { TurnQueue } from "./turns.js";
import * as v from "./validate.js";

// Chat sessions with hosted AI agents: the domain behind SessionService. Sessions, their agents and events live
// in the store; live events travel on the bus (events.ts); turns run on whichever gateway is free (turns.ts).
// Only a session's creator and admins see it; to anyone else it does not exist (NOT_FOUND, so ids cannot be
// probed).

const EXPIRY_BATCH = 100;
const MAX_EXPIRY_BATCHES_PER_SWEEP = 10;

export interface AgentInput {
  provider: string;
  model: string;
  capabilities: string[];
  personality: string;
  metadata: Record<string, unknown> | undefined;
  temperature: number | undefined;
  maxOutputTokens: number | undefined;
}

export interface CreateInput {
  sessionType: SessionTypeName | undefined;
  agents: Record<string, AgentInput>;
  interactionModes: string[];
  metadata: Record<string, unknown> | undefined;
  maxTurns: number | undefined;
  goal: string;
  openingMessage: string;
  firstSpeaker: string;
  stopWord: string | undefined;
  tokensPerMinute: number | undefined;
}

export interface SendInput {
  sessionId: string;
  content: string;
  asAgent: string;
  toAgent: string;
  metadata: Record<string, unknown> | undefined;
  idempotencyKey: string;
  waitForResponse: boolean;
  /** How long to wait for the answer, at most (default: the provider timeout and a margin). */
  waitMs?: number | undefined;
}

export interface SendResult {
  seq: number;
  messageId: string;
  timestamp: Date;
  /** With wait_for_response: the answer (or the error event). */
  response: SessionEventRecord | undefined;
}

export interface ListFilter {
  pageSize: number;
  pageToken: string;
  all: boolean;
  /** Unset: any. Sessions are created active, so `initializing` finds none. */
  status: SessionStatusName | "initializing" | undefined;
  sessionType: SessionTypeName | undefined;
}

export type { Page } from "../paging/index.js";

export interface SessionsDeps {
  db: Kysely<Database>;
  bus: Bus;
  logger: Logger;
  config: SessionsConfig;
  gatewayId: string;
  metrics: Metrics;
  /** How often the expiry and turn sweeps run. */
  sweepIntervalMs: number;
  /** Announces hosted agents going online or offline (the registry's presence events). */
  announce(event: PresenceEventRecord): void;
  /** Aborted when the gateway starts draining: from then on this gateway takes no new turns. */
  draining: AbortSignal;
}

/** How long SendSessionMessage waits for an answer beyond the provider timeout when the call has no deadline. */
const DEFAULT_WAIT_MARGIN_MS = 10_000;

type SessionRow = Selectable<ChatSessionsTable>;
type AgentRow = Selectable<ChatSessionAgentsTable>;

export class Sessions {
  readonly providers: ProviderCatalog;
  private readonly threads: ChatThreadWriter;
  private readonly turns: TurnQueue;
  private readonly logger: Logger;

  constructor(private readonly deps: SessionsDeps) {
    this.logger = deps.logger.child({ component: "sessions" });
    this.providers = new ProviderCatalog(deps.config);
    this.threads = new ChatThreadWriter(deps.db);
    this.turns = new TurnQueue({
      db: deps.db,
      bus: deps.bus,
      logger: this.logger,
      config: deps.config,
      providers: this.providers,
      threads: this.threads,
      metrics: deps.metrics,
      gatewayId: deps.gatewayId,
      ended: (_sessionId, accountIds) => this.agentsStopped(accountIds),
    });
  }

  /**
   * Takes turns and sweeps for expired sessions and lost turns until `signal` aborts, then waits for the turns in
   * progress. New turns stop earlier, as soon as the gateway starts draining (`draining` in the options).
   */
  async run(signal: AbortSignal): Promise<void> {
    this.turns.start();
    if (this.deps.draining.aborted) this.turns.pause();
    else this.deps.draining.addEventListener("abort", () => this.turns.pause(), { once: true });
    await runPeriodically(signal, {
      intervalMs: this.deps.sweepIntervalMs,
      pass: () => this.sweepOnce().catch((err: unknown) => this.logger.warn({ err }, "session sweep failed")),
    });
    await this.turns.stop();
  }

  async sweepOnce(): Promise<void> {
    // One round trip says whether either job has anything to do; on an idle gateway neither has.
    const work = await this.deps.db
      .selectNoFrom((eb) => [
        eb
          .exists(
            eb
              .selectFrom("chat_sessions")
              .select(sql<number>`1`.as("one"))
              .where((w) => this.dueForExpiry(w)),
          )
          .as("expire"),
        eb
          .exists(
            eb
              .selectFrom("chat_sessions")
              .select(sql<number>`1`.as("one"))
              .where("status", "=", "active")
              .where("pending_agent", "is not", null),
          )
          .as("pending"),
      ])
      .executeTakeFirstOrThrow();
    if (work.expire) await this.expireDue();
    if (work.pending) await this.turns.requeueLost();
  }

  /** Active sessions past their lifetime, or without activity for longer than the inactivity limit. */
  private dueForExpiry(eb: ExpressionBuilder<Database, "chat_sessions">) {
    return eb.and([
      eb("status", "=", "active"),
      eb.or([
        eb("expires_at", "<=", sql<Date>`now()`),
        eb("last_activity_at", "<=", sql<Date>`now() - ${this.deps.config.inactivitySeconds}::double precision * interval '1 second'`),
      ]),
    ]);
  }

  // ---- create -------------------------------------------------------------------------------------------

  async create(principal: Principal, input: CreateInput): Promise<SessionRecord> {
    const { config } = this.deps;
    if (input.sessionType === undefined) {
      throw new DomainError("invalid_argument", "invalid_session_type", "session_type: HUMAN_AGENT or AGENT_AGENT", {
        field: "session_type",
      });
    }
    const names = Object.keys(input.agents).sort();
    const wanted = input.sessionType === "human_agent" ? 1 : 2;
    if (names.length !== wanted) {
      throw new DomainError(
        "invalid_argument",
        "invalid_agent_count",
        `agents: a ${input.sessionType === "human_agent" ? "HUMAN_AGENT" : "AGENT_AGENT"} session takes exactly ${wanted} agent${wanted === 1 ? "" : "s"}, got ${names.length}`,
        { field: "agents", metadata: { expected: String(wanted), got: String(names.length) } },
      );
    }
    const agents = names.map((name) => {
      const a = input.agents[name]!;
      v.checkAgentName(name);
      v.checkPersonality(name, a.personality);
      v.checkTemperature(name, a.temperature);
      v.checkMaxOutputTokens(name, a.maxOutputTokens);
      const provider = this.provider(name, a.provider || config.defaultProvider);
      v.checkTemperature(name, a.temperature, provider.kind);
      return {
        name,
        input: a,
        provider,
        model: a.model.trim() || provider.defaultModel,
        metadataJson: v.metadataJson(a.metadata, `agents[${name}].metadata`),
      };
    });
    const agentAgent = input.sessionType === "agent_agent";
    const firstSpeaker = agentAgent ? input.firstSpeaker || names[0]! : "";
    if (agentAgent && !names.includes(firstSpeaker)) {
      throw new DomainError(
        "invalid_argument",
        "unknown_agent",
        `first_speaker: ${JSON.stringify(firstSpeaker)} is not one of the agents (${names.join(", ")})`,
        {
          field: "first_speaker",
        },
      );
    }
    v.checkGoal(input.goal);
    const opening = agentAgent ? input.openingMessage || defaultOpening(input.goal) : "";
    if (agentAgent) v.checkContent(opening, "opening_message");
    const modes = v.interactionModes(input.interactionModes);
    const metadataJson = v.metadataJson(input.metadata, "metadata");
    // Checked for HUMAN_AGENT too: the value is ignored there, but an out-of-range one is still a mistake.
    const turnLimit = v.maxTurns(input.maxTurns);
    const maxTurns = agentAgent ? turnLimit : 0;
    const stopWord = agentAgent ? v.stopWord(input.stopWord) : "";
    const tokensPerMinute = v.tokensPerMinute(input.tokensPerMinute, config.tokensPerMinute);

    const sessionId = `chat_${newUlid()}`;
    const threadId = `thread_${sessionId}`;
    const openingMessageId = `msg_${newUlid()}`;
    const created = await this.deps.db.transaction().execute(async (trx) => {
      const session = await trx
        .insertInto("chat_sessions")
        .values({
          session_id: sessionId,
          owner_user_id: principal.userId,
          owner_username: principal.username,
          session_type: input.sessionType!,
          status: "active",
          thread_id: threadId,
          interaction_modes: modes,
          metadata: metadataJson,
          max_turns: maxTurns,
          goal: input.goal,
          stop_word: stopWord,
          tokens_per_minute: tokensPerMinute,
          first_speaker: firstSpeaker,
          created_at: sql<Date>`now()`,
          updated_at: sql<Date>`now()`,
          expires_at: sql<Date>`now() + ${config.lifetimeSeconds}::double precision * interval '1 second'`,
          last_activity_at: sql<Date>`now()`,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const accounts = await createHostedAccounts(
        trx,
        principal,
        agents.map((a) => ({ name: a.name, displayName: a.name, capabilities: a.input.capabilities, metadata: a.input.metadata ?? {} })),
        { gatewayId: this.deps.gatewayId, onlineUntil: session.expires_at, metadata: { chat_session_id: sessionId } },
      );
      const agentRows = await trx
        .insertInto("chat_session_agents")
        .values(
          agents.map((a, i) => ({
            session_id: sessionId,
            name: a.name,
            account_id: accounts[i]!.accountId,
            username: accounts[i]!.username,
            provider: a.provider.name,
            model: a.model,
            personality: a.input.personality,
            capabilities: a.input.capabilities,
            metadata: a.metadataJson,
            temperature: a.input.temperature ?? null,
            max_output_tokens: a.input.maxOutputTokens ?? null,
          })),
        )
        .returningAll()
        .execute();
      await openChatThread(trx, { threadId, chatSessionId: sessionId, participantAccountIds: accounts.map((a) => a.accountId) });
      const drafts = [
        {
          type: "system" as const,
          content: `session created: ${agentAgent ? "AGENT_AGENT" : "HUMAN_AGENT"} with ${agents.map((a) => `${a.name} (${a.provider.name}/${a.model})`).join(" and ")}`,
          sender: "system",
          role: "system" as const,
          metadata: {
            session_type: input.sessionType!,
            agents: Object.fromEntries(
              agents.map((a, i) => [
                a.name,
                { provider: a.provider.name, model: a.model, account_id: accounts[i]!.accountId, username: accounts[i]!.username },
              ]),
            ),
          },
        },
        ...(agentAgent
          ? [
              {
                type: "text" as const,
                content: opening,
                sender: principal.username,
                receiver: firstSpeaker,
                role: "user" as const,
                messageId: openingMessageId,
              },
            ]
          : []),
      ];
      const events = (await appendEvents(trx, sessionId, drafts))!;
      if (agentAgent) await askForTurn(trx, sessionId, firstSpeaker, events.at(-1)!.seq);
      const row = await trx.selectFrom("chat_sessions").selectAll().where("session_id", "=", sessionId).executeTakeFirstOrThrow();
      return { row, agentRows, events, accountIds: accounts.map((a) => a.accountId) };
    });

    publishEvents(this.deps.bus, this.logger, created.events);
    for (const event of await hostedOnlineEvents(this.deps.db, created.accountIds)) this.deps.announce(event);
    if (agentAgent) {
      const first = created.agentRows.find((a) => a.name === firstSpeaker)!;
      await this.threads.write({
        threadId,
        messageId: openingMessageId,
        chatSessionId: sessionId,
        from: userParty(principal),
        to: agentParty(first),
        payload: { text: opening, chat_session_id: sessionId, event: "text", sender: principal.username, receiver: firstSpeaker },
        parentMessageId: "",
        idempotencyKey: "",
        ttlMs: config.lifetimeSeconds * 1000,
      });
      this.turns.enqueue(sessionId);
    }
    this.logger.info(
      { sessionId, type: input.sessionType, agents: agents.map((a) => `${a.name}:${a.provider.name}/${a.model}`) },
      "chat session created",
    );
    return toSessionRecord(created.row, created.agentRows, config.inactivitySeconds);
  }

  private provider(agentName: string, name: string): ChatProvider {
    const provider = this.providers.get(name);
    if (!provider) {
      const known = this.providers
        .list()
        .map((p) => p.name)
        .join(", ");
      throw new DomainError(
        "invalid_argument",
        "unknown_provider",
        `agents[${agentName}].provider: unknown provider ${JSON.stringify(name)} (known: ${known})`,
        {
          field: `agents[${agentName}].provider`,
        },
      );
    }
    if (!provider.configured) {
      throw new DomainError(
        "failed_precondition",
        "provider_not_configured",
        `provider ${name} is not configured on this server (its API key or base URL is missing)`,
        {
          metadata: { provider: name },
        },
      );
    }
    return provider;
  }

  // ---- read ---------------------------------------------------------------------------------------------

  async get(principal: Principal, sessionId: string): Promise<SessionRecord> {
    const { row, agents } = await this.visible(principal, sessionId);
    return toSessionRecord(row, agents, this.deps.config.inactivitySeconds);
  }

  async list(principal: Principal, filter: ListFilter): Promise<Page<SessionRecord>> {
    const limit = pageSize(filter.pageSize, 20, 200);
    const position = decodePageToken("sessions", filter.pageToken);
    const before = position && positionString(position, "s");
    let query = this.deps.db.selectFrom("chat_sessions").selectAll();
    if (!(filter.all && principal.admin)) query = query.where("owner_user_id", "=", principal.userId);
    if (filter.status === "initializing") return { items: [], nextPageToken: "" };
    if (filter.status) query = query.where("status", "=", filter.status);
    if (filter.sessionType) query = query.where("session_type", "=", filter.sessionType);
    if (before !== undefined) query = query.where("session_id", "<", before);
    const rows = await query
      .orderBy("session_id", "desc")
      .limit(limit + 1)
      .execute();
    const page = rows.slice(0, limit);
    const agents =
      page.length === 0
        ? []
        : await this.deps.db
            .selectFrom("chat_session_agents")
            .selectAll()
            .where(
              "session_id",
              "in",
              page.map((r) => r.session_id),
            )
            .execute();
    const now = new Date();
    const last = page.at(-1);
    return {
      items: page.map((r) =>
        toSessionRecord(
          r,
          agents.filter((a) => a.session_id === r.session_id),
          this.deps.config.inactivitySeconds,
          now,
        ),
      ),
      nextPageToken: rows.length > limit && last ? encodePageToken("sessions", { s: last.session_id }) : "",
    };
  }

  listProviders(request: { pageSize: number; pageToken: string }): Page<ChatProvider> {
    const limit = pageSize(request.pageSize, 50, 200);
    const position = decodePageToken("providers", request.pageToken);
    const offset = position ? Number(positionString(position, "o")) : 0;
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new DomainError("invalid_argument", "invalid_page_token", "page_token: malformed", { field: "page_token" });
    }
    const all = this.providers.list();
    const items = all.slice(offset, offset + limit);
    return { items, nextPageToken: offset + limit < all.length ? encodePageToken("providers", { o: String(offset + limit) }) : "" };
  }

  // ---- delete -------------------------------------------------------------------------------------------

  async delete(principal: Principal, sessionId: string): Promise<void> {
    const { row, agents } = await this.visible(principal, sessionId);
    const stop = await this.deps.db.transaction().execute(async (trx) => {
      const event =
        row.status === "active"
          ? await appendStop(trx, sessionId, { status: "stopped", reason: "deleted", content: "the session was deleted" })
          : undefined;
      // Agents and events go with it; the thread and its messages stay until thread retention prunes them.
      await trx.deleteFrom("chat_sessions").where("session_id", "=", sessionId).execute();
      return event;
    });
    if (stop) publishEvents(this.deps.bus, this.logger, [stop]);
    await this.agentsStopped(agents.map((a) => a.account_id));
    this.logger.info({ sessionId }, "chat session deleted");
  }

  // ---- messages -----------------------------------------------------------------------------------------

  async send(principal: Principal, input: SendInput, signal: AbortSignal): Promise<SendResult> {
    const { row, agents } = await this.usable(principal, input.sessionId, true);
    v.checkContent(input.content);
    v.checkIdempotencyKey(input.idempotencyKey);
    const metadataJson = v.metadataJson(input.metadata, "metadata");
    const agentAgent = row.session_type === "agent_agent";
    const names = agents.map((a) => a.name);
    const unknownAgent = (field: string, why: string) =>
      new DomainError("invalid_argument", "unknown_agent", `${field}: ${why}`, { field });
    let speaker: AgentRow | undefined;
    if (input.asAgent !== "") {
      if (!agentAgent) throw unknownAgent("as_agent", "only AGENT_AGENT sessions take messages posted as an agent");
      speaker = agents.find((a) => a.name === input.asAgent);
      if (!speaker) throw unknownAgent("as_agent", `${JSON.stringify(input.asAgent)} is not one of the agents (${names.join(", ")})`);
    }
    let addressee: AgentRow | undefined;
    if (input.toAgent !== "") {
      addressee = agents.find((a) => a.name === input.toAgent);
      if (!addressee) throw unknownAgent("to_agent", `${JSON.stringify(input.toAgent)} is not one of the agents (${names.join(", ")})`);
      if (addressee === speaker) throw unknownAgent("to_agent", "an agent cannot address itself");
    } else if (!agentAgent) {
      addressee = agents[0];
    } else {
      addressee = speaker ? agents.find((a) => a !== speaker) : agents.find((a) => a.name === row.first_speaker);
    }
    if (!addressee) throw unknownAgent("to_agent", "no agent to address");

    const key = input.idempotencyKey;
    if (key !== "") {
      const earlier = await this.byIdempotencyKey(row.session_id, key);
      if (earlier) return this.sent(row, earlier, addressee.name, input, signal);
    }
    const sender = speaker ? speaker.name : principal.username;
    const messageId = await this.threads.write({
      threadId: row.thread_id,
      messageId: `msg_${newUlid()}`,
      chatSessionId: row.session_id,
      from: speaker ? agentParty(speaker) : userParty(principal),
      to: agentParty(addressee),
      payload: { text: input.content, chat_session_id: row.session_id, event: "text", sender, receiver: addressee.name },
      parentMessageId: "",
      idempotencyKey: key === "" ? "" : `${row.session_id}:${key}`,
      ttlMs: this.deps.config.lifetimeSeconds * 1000,
    });
    const stops = agentAgent && row.stop_word !== "" && input.content.includes(row.stop_word);
    let outcome: { events: SessionEventRecord[]; stopped: boolean } | undefined;
    try {
      outcome = await this.deps.db.transaction().execute(async (trx) => {
        const events = await appendEvents(trx, row.session_id, [
          {
            type: "text",
            content: input.content,
            sender,
            receiver: addressee.name,
            role: speaker ? "assistant" : "user",
            messageId,
            metadata: JSON.parse(metadataJson) as Record<string, unknown>,
            ...(key !== "" && { idempotencyKey: key }),
          },
        ]);
        if (!events) return undefined;
        if (stops) {
          const stop = await appendStop(trx, row.session_id, {
            status: "stopped",
            reason: "stop_word",
            content: `${sender} said the stop word`,
          });
          return { events: stop ? [...events, stop] : events, stopped: true };
        }
        await askForTurn(trx, row.session_id, addressee.name, events[0]!.seq);
        return { events, stopped: false };
      });
    } catch (err) {
      // The same key raced us in: answer with the event that won.
      const earlier = key !== "" && isUniqueViolation(err) ? await this.byIdempotencyKey(row.session_id, key) : undefined;
      if (!earlier) throw err;
      return this.sent(row, earlier, addressee.name, input, signal);
    }
    if (!outcome) {
      // It ended between our checks and the write: say how.
      await this.usable(principal, input.sessionId, true);
      throw new DomainError("failed_precondition", "session_stopped", `session ${input.sessionId} has ended`);
    }
    publishEvents(this.deps.bus, this.logger, outcome.events);
    if (outcome.stopped) await this.agentsStopped(agents.map((a) => a.account_id));
    else this.turns.enqueue(row.session_id);
    return this.sent(row, outcome.events[0]!, addressee.name, input, signal);
  }

  private async sent(
    row: SessionRow,
    event: SessionEventRecord,
    addressee: string,
    input: SendInput,
    signal: AbortSignal,
  ): Promise<SendResult> {
    const result: SendResult = { seq: event.seq, messageId: event.messageId, timestamp: event.timestamp, response: undefined };
    if (input.waitForResponse)
      result.response = await this.awaitAnswer(
        row.session_id,
        event.seq,
        addressee,
        input.waitMs ?? this.deps.config.providerTimeoutMs + DEFAULT_WAIT_MARGIN_MS,
        signal,
      );
    return result;
  }

  /** The addressee's answer (or failure) to the message stored as `seq`; undefined when the session ends first. */
  private async awaitAnswer(
    sessionId: string,
    seq: number,
    agent: string,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<SessionEventRecord | undefined> {
    const waiting = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, waitMs))]);
    for await (const item of this.events(sessionId, seq, false, waiting)) {
      if (item.type === "ping") continue;
      if (item.type === "stop") return undefined;
      // Each message gets its own answer (turns.ts); a later message's answer is not this one's.
      if ((item.type === "response" || item.type === "error") && item.sender === agent && Number(item.metadata["in_reply_to"] ?? 0) === seq)
        return item;
    }
    signal.throwIfAborted();
    throw new DomainError(
      "deadline_exceeded",
      "timeout",
      `no answer from ${agent} within ${waitMs} ms; it will still arrive on StreamSession`,
    );
  }

  private async byIdempotencyKey(sessionId: string, key: string): Promise<SessionEventRecord | undefined> {
    const row = await this.deps.db
      .selectFrom("chat_session_events")
      .selectAll()
      .where("session_id", "=", sessionId)
      .where("idempotency_key", "=", key)
      .executeTakeFirst();
    return row && toEventRecord(row);
  }

  // ---- streams ------------------------------------------------------------------------------------------

  async *stream(principal: Principal, sessionId: string, afterSeq: number, signal: AbortSignal): AsyncGenerator<StreamItem> {
    const { row } = await this.usable(principal, sessionId, false);
    if (afterSeq < 0 || afterSeq > row.last_seq) {
      throw new DomainError(
        "invalid_argument",
        "invalid_seq",
        `after_seq: must be between 0 and the latest event's seq (${row.last_seq})`,
        {
          field: "after_seq",
          metadata: { last_seq: String(row.last_seq) },
        },
      );
    }
    yield* this.events(sessionId, afterSeq, row.status !== "active", signal);
  }

  private events(sessionId: string, afterSeq: number, ended: boolean, signal: AbortSignal): AsyncGenerator<StreamItem> {
    return sessionEvents({
      db: this.deps.db,
      bus: this.deps.bus,
      sessionId,
      afterSeq,
      ended,
      pingIntervalMs: this.deps.config.pingIntervalMs,
      signal,
    });
  }

  // ---- access and expiry --------------------------------------------------------------------------------

  /** The session when the caller may see it (expired first if it is overdue); NOT_FOUND otherwise. */
  private async visible(principal: Principal, sessionId: string): Promise<{ row: SessionRow; agents: AgentRow[] }> {
    if (sessionId.trim() === "") throw invalidArgument("session_id", "must not be empty");
    let row = await this.deps.db.selectFrom("chat_sessions").selectAll().where("session_id", "=", sessionId).executeTakeFirst();
    if (!row || !(principal.admin || row.owner_user_id === principal.userId)) {
      throw new DomainError("not_found", "session_not_found", `no session ${sessionId}`, { field: "session_id" });
    }
    if (row.status === "active" && this.overdue(row)) {
      await this.expireDue([sessionId]);
      row = (await this.deps.db.selectFrom("chat_sessions").selectAll().where("session_id", "=", sessionId).executeTakeFirst()) ?? row;
    }
    const agents = await this.deps.db
      .selectFrom("chat_session_agents")
      .selectAll()
      .where("session_id", "=", sessionId)
      .orderBy("name")
      .execute();
    return { row, agents };
  }

  /** A visible session that has not expired (and, for messages, has not stopped). */
  private async usable(principal: Principal, sessionId: string, forMessages: boolean): Promise<{ row: SessionRow; agents: AgentRow[] }> {
    const found = await this.visible(principal, sessionId);
    if (found.row.status === "expired") {
      throw new DomainError("failed_precondition", "session_expired", `session ${sessionId} expired (${found.row.stop_reason})`, {
        metadata: { stop_reason: found.row.stop_reason },
      });
    }
    if (forMessages && found.row.status === "stopped") {
      throw new DomainError("failed_precondition", "session_stopped", `session ${sessionId} has stopped (${found.row.stop_reason})`, {
        metadata: { stop_reason: found.row.stop_reason },
      });
    }
    return found;
  }

  private overdue(row: SessionRow, now = Date.now()): boolean {
    return row.expires_at.getTime() <= now || row.last_activity_at.getTime() + this.deps.config.inactivitySeconds * 1000 <= now;
  }

  /**
   * Expires active sessions past their lifetime or inactivity time (those given, or any), in bounded batches safe
   * on several gateways: each is stopped by exactly one of them, with one `stop` event.
   */
  async expireDue(sessionIds?: string[]): Promise<number> {
    let expired = 0;
    for (let batch = 0; batch < MAX_EXPIRY_BATCHES_PER_SWEEP; batch++) {
      const stops = await this.deps.db.transaction().execute(async (trx) => {
        let query = trx
          .selectFrom("chat_sessions")
          .select(["session_id", sql<boolean>`expires_at <= now()`.as("lifetime_over")])
          .where((eb) => this.dueForExpiry(eb));
        if (sessionIds) query = query.where("session_id", "in", sessionIds);
        const due = await query.orderBy("last_activity_at").limit(EXPIRY_BATCH).forUpdate().skipLocked().execute();
        const out: SessionEventRecord[] = [];
        for (const d of due) {
          const reason = d.lifetime_over ? "session_expired" : "inactivity_timeout";
          const stop = await appendStop(trx, d.session_id, {
            status: "expired",
            reason,
            content: d.lifetime_over ? "the session reached the end of its lifetime" : "the session expired after a period of inactivity",
          });
          if (stop) out.push(stop);
        }
        return { out, more: due.length === EXPIRY_BATCH };
      });
      if (stops.out.length > 0) {
        publishEvents(this.deps.bus, this.logger, stops.out);
        const agents = await this.deps.db
          .selectFrom("chat_session_agents")
          .select("account_id")
          .where(
            "session_id",
            "in",
            stops.out.map((s) => s.sessionId),
          )
          .execute();
        await this.agentsStopped(agents.map((a) => a.account_id));
        expired += stops.out.length;
      }
      if (!stops.more || sessionIds) break;
    }
    return expired;
  }

  /** Takes the hosted agents of an ended session offline and announces it. */
  private async agentsStopped(accountIds: string[]): Promise<void> {
    try {
      for (const event of await endHostedPresence(this.deps.db, accountIds)) this.deps.announce(event);
    } catch (err) {
      this.logger.warn({ err, accountIds }, "could not take hosted agents offline; their presence expires with the session's lifetime");
    }
  }
}

/**
 * Asks for a turn for the message stored as `replyTo`, sent to `agent`. When a turn is already pending (or
 * running) it stays as it is: the message waits for its addressee's turn, and the turn that ends works out the
 * next one from what is still unanswered (turns.ts). Moving the pending turn to the addressee instead would let a
 * message sent during an agent's answer make that agent answer twice in a row in AGENT_AGENT, or skip a message
 * queued before it.
 */
async function askForTurn(trx: Transaction<Database>, sessionId: string, agent: string, replyTo: number): Promise<void> {
  await trx
    .updateTable("chat_sessions")
    .set({
      pending_agent: sql<string>`coalesce(pending_agent, ${agent})`,
      pending_serial: sql<number>`pending_serial + 1`,
      pending_reply_to: sql<number>`case when pending_agent is null then ${replyTo}::bigint else pending_reply_to end`,
      pending_enqueued_at: sql<Date>`case when pending_agent is null then now() else pending_enqueued_at end`,
      pending_not_before: sql<Date | null>`case when pending_agent is null then null else pending_not_before end`,
      pending_attempts: sql<number>`case when pending_agent is null then 0 else pending_attempts end`,
    })
    .where("session_id", "=", sessionId)
    .execute();
}

function defaultOpening(goal: string): string {
  return goal ? `Let's work on this together. Our goal: ${goal}` : "Hello! Let's have a conversation.";
}

function userParty(principal: Principal): ChatParty {
  return { accountId: principal.userId, username: principal.username, agentId: "" };
}

function agentParty(agent: AgentRow): ChatParty {
  return { accountId: agent.account_id, username: agent.username, agentId: agent.name };
}

function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "23505";
}
