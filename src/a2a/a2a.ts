import { randomUUID } from "node:crypto";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import { newUlid } from "../ids.js";
import { type Messaging, requestProgress } from "../messaging/index.js";
import {
  type Account,
  type ProfileRecord,
  findVisibleProfile,
  getAccountByUsername,
  normaliseUsername,
  profileQuery,
  toProfile,
  visibleTo,
} from "../registry/index.js";
import type { Database } from "../store/schema.js";
import { type GatewayAddress, agentCard, gatewayCard } from "./cards.js";
import { A2aError, taskNotFound } from "./errors.js";
import type { JsonObject, Message, Part, StreamEvent, Task, TaskState } from "./model.js";
import { TaskFeed } from "./task-feed.js";
import { TaskInserts, type TaskRecord, contextThread, findTask, listTasks, markCanceled, openTasks, saveState } from "./task-store.js";
import { TaskView } from "./task-view.js";

// The A2A bridge: an A2A message to an agent is an agentnet REQUEST from the caller's account, and the task is
// what became of it. Both bindings (gRPC and JSON-RPC) call this with A2A's JSON data model.

export interface A2aDeps {
  db: Kysely<Database>;
  messaging: Messaging;
  logger: Logger;
  /** Time to live of the request an A2A message becomes, and the longest a blocking SendMessage waits. */
  requestTtlMs: number;
}

/** SendMessage's parameters (A2A SendMessageRequest), as the binding decoded them. */
export interface SendMessageParams {
  tenant: string;
  message: Message;
  configuration?: { returnImmediately?: boolean; historyLength?: number } | undefined;
  metadata?: JsonObject | undefined;
}

export interface CallOptions {
  /** Which of the caller's accounts sends (agentnet-as-account); empty: the caller's only account. */
  asAccountId: string;
  signal: AbortSignal;
}

/** The service parameter (HTTP header, gRPC metadata) naming which of the caller's accounts sends. */
export const AS_ACCOUNT_PARAMETER = "agentnet-as-account";

/** SendMessageRequest.metadata key: the request's time to live in milliseconds. */
const TTL_KEY = "agentnet.dev/ttl_ms";

/** Why a blocking SendMessage stopped waiting. */
const WAITED = Symbol("waited the default TTL");

/** Interrupted states: a blocking SendMessage returns on these as on terminal ones. */
const INTERRUPTED: ReadonlySet<TaskState> = new Set(["TASK_STATE_INPUT_REQUIRED", "TASK_STATE_AUTH_REQUIRED"]);
/** Tasks refreshed before a ListTasks filtered by state (the stored state is refreshed when a task is read). */
const REFRESH_BEFORE_FILTER = 200;
/** Agents the gateway's card lists. */
const DIRECTORY_SIZE = 200;
/** Who reads cards without credentials: nobody's owner, so public accounts only. */
const ANONYMOUS: Principal = { userId: "", username: "", admin: false, credential: "access", issuedAt: 0, expiresAt: 0 };

export class A2a {
  private readonly feed: TaskFeed;
  private readonly inserts: TaskInserts;

  constructor(private readonly deps: A2aDeps) {
    this.feed = new TaskFeed(deps.db, deps.messaging);
    this.inserts = new TaskInserts(deps.db);
  }

  /** The card of agent `username`; a private agent's only for its owner and admins (others: not found). */
  async card(viewer: Principal | undefined, username: string, address: GatewayAddress): Promise<JsonObject> {
    return agentCard(await this.agent(viewer ?? ANONYMOUS, username), address);
  }

  /** The gateway's card, listing the agents `viewer` may see (online first). */
  async gatewayCard(viewer: Principal | undefined, address: GatewayAddress): Promise<JsonObject> {
    const rows = await profileQuery(this.deps.db)
      .where(visibleTo(viewer ?? ANONYMOUS))
      .orderBy((eb) => eb.fn.coalesce("live.n", eb.lit(0)), "desc")
      .orderBy("accounts.username")
      .limit(DIRECTORY_SIZE)
      .execute();
    return gatewayCard(rows.map(toProfile), address);
  }

  /** SendMessage: the task once it ends or is interrupted (or at once when asked), within the request's TTL. */
  async sendMessage(principal: Principal, params: SendMessageParams, options: CallOptions): Promise<Task> {
    const view = await this.start(principal, params, options);
    if (params.configuration?.returnImmediately !== true && !view.terminal) {
      // A timer of our own, cleared on the way out: AbortSignal.timeout would hold each call's closure for the TTL.
      const deadline = new AbortController();
      const timer = setTimeout(() => deadline.abort(WAITED), this.deps.requestTtlMs);
      try {
        for await (const _ of this.feed.follow(view, principal, AbortSignal.any([options.signal, deadline.signal]))) {
          if (INTERRUPTED.has(view.currentState)) break;
        }
      } finally {
        clearTimeout(timer);
      }
    }
    // The row's state is left for reads to refresh (a filtered ListTasks refreshes open tasks first): one commit
    // less on every message.
    return view.task({ historyLength: params.configuration?.historyLength });
  }

  /** SendStreamingMessage: the new task, then its status and artifact updates until it ends. */
  async *streamMessage(principal: Principal, params: SendMessageParams, options: CallOptions): AsyncGenerator<StreamEvent> {
    const view = await this.start(principal, params, options);
    yield { task: view.task({ historyLength: params.configuration?.historyLength }) };
    yield* this.feed.follow(view, principal, options.signal);
  }

  async getTask(principal: Principal, taskId: string, historyLength: number | undefined): Promise<Task> {
    const view = await this.read(principal, taskId);
    return view.task({ historyLength });
  }

  async listTasks(
    principal: Principal,
    filter: {
      tenant: string;
      contextId: string;
      state: TaskState | undefined;
      stateAfter: Date | undefined;
      pageSize: number | undefined;
      pageToken: string;
      historyLength: number | undefined;
      includeArtifacts: boolean;
    },
  ): Promise<{ tasks: Task[]; nextPageToken: string; pageSize: number; totalSize: number }> {
    const pageSize = filter.pageSize ?? 50;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100) throw invalidArgument("page_size", "must be 1 to 100 (default 50)");
    if (filter.historyLength !== undefined && filter.historyLength < 0) throw invalidArgument("history_length", "must not be negative");
    const agent = filter.tenant === "" ? undefined : await this.agentAccount(principal, filter.tenant);
    // The stored state moves on when a task is read; a filter on it must not see stale ones.
    if (filter.state !== undefined || filter.stateAfter !== undefined) {
      for (const record of await openTasks(this.deps.db, principal, REFRESH_BEFORE_FILTER))
        await this.remember(await this.fold(record, principal));
    }
    const page = await listTasks(this.deps.db, principal, {
      agentAccountId: agent?.accountId,
      contextId: filter.contextId === "" ? undefined : filter.contextId,
      state: filter.state,
      stateAfter: filter.stateAfter,
      pageSize,
      pageToken: filter.pageToken,
    });
    const tasks: Task[] = [];
    for (const record of page.records) {
      const view = await this.fold(record, principal);
      await this.remember(view);
      tasks.push(view.task({ historyLength: filter.historyLength, includeArtifacts: filter.includeArtifacts }));
    }
    return { tasks, nextPageToken: page.nextPageToken, pageSize, totalSize: page.totalSize };
  }

  /** CancelTask: canceled from now on (answers the agent sends later are not shown); ended tasks refuse. */
  async cancelTask(principal: Principal, taskId: string): Promise<Task> {
    const view = await this.read(principal, taskId);
    if (view.terminal) {
      throw new A2aError("TASK_NOT_CANCELABLE", `task ${taskId} has already ended (${view.currentState})`, {
        taskId,
        state: view.currentState,
      });
    }
    const canceledAt = await markCanceled(this.deps.db, taskId);
    this.feed.poke(taskId);
    const canceled = await this.fold({ ...view.record, canceledAt }, principal);
    await this.remember(canceled);
    return canceled.task();
  }

  /**
   * SubscribeToTask: the task, then its updates until it ends; an ended task refuses (A2A). With `resumeAfter`
   * (the resumable-streams extension) the events after that seq instead, then the updates — ended tasks too.
   */
  async *subscribe(
    principal: Principal,
    taskId: string,
    resumeAfter: number | undefined,
    signal: AbortSignal,
  ): AsyncGenerator<StreamEvent> {
    const record = await findTask(this.deps.db, principal, taskId);
    if (!record) throw taskNotFound(taskId);
    if (resumeAfter !== undefined) {
      const view = new TaskView(record);
      const seen = await requestProgress(this.deps.db, record.threadId, record.requestMessageId);
      if (seen) view.fold({ ...seen, answers: seen.answers.filter((a) => a.seq <= resumeAfter) }, false);
      view.position = Math.max(view.position, resumeAfter);
      yield view.statusEvent();
      yield* this.feed.follow(view, principal, signal);
      return;
    }
    const view = await this.fold(record, principal);
    if (view.terminal) {
      throw new A2aError("UNSUPPORTED_OPERATION", `task ${taskId} has ended (${view.currentState}); read it with GetTask`, {
        taskId,
        state: view.currentState,
      });
    }
    yield { task: view.task() };
    yield* this.feed.follow(view, principal, signal);
  }

  // --- internals -----------------------------------------------------------------------------------------------

  /** The profile of an agent `viewer` may see, by username (the A2A `tenant`), for its card. */
  private async agent(viewer: Principal, username: string): Promise<ProfileRecord> {
    checkTenant(username);
    try {
      return await findVisibleProfile(this.deps.db, viewer, { username });
    } catch (err) {
      if (err instanceof DomainError && err.reason === "account_not_found") throw agentNotFound(username);
      throw err;
    }
  }

  /** The account of an agent `viewer` may reach (one row, without the profile's presence). */
  private async agentAccount(viewer: Principal, username: string): Promise<Account> {
    checkTenant(username);
    const account = await getAccountByUsername(this.deps.db, normaliseUsername(username));
    if (!account || !(viewer.admin || account.visibility === "public" || account.ownerUserId === viewer.userId))
      throw agentNotFound(username);
    return account;
  }

  /** Stores the request and the task; a repeat of an A2A message id from the same account is the same task. */
  private async start(principal: Principal, params: SendMessageParams, options: CallOptions): Promise<TaskView> {
    const message = checkMessage(params.message);
    const historyLength = params.configuration?.historyLength;
    if (historyLength !== undefined && historyLength < 0) throw invalidArgument("configuration.history_length", "must not be negative");
    const agent = await this.agentAccount(principal, params.tenant);
    if (message.taskId !== undefined && message.taskId !== "") {
      const earlier = await findTask(this.deps.db, principal, message.taskId);
      if (!earlier) throw taskNotFound(message.taskId);
      throw new A2aError(
        "UNSUPPORTED_OPERATION",
        `task ${message.taskId} takes no further messages (agentnet agents answer each message as its own task); ` +
          "send a new message with the same contextId to continue the conversation",
        { taskId: message.taskId },
      );
    }
    const named = message.contextId !== undefined && message.contextId !== "";
    const contextId = named ? message.contextId! : randomUUID();
    if (contextId.length > 256) throw invalidArgument("message.context_id", "at most 256 characters");
    // A context the client named may have a thread already; a new one has none.
    const threadId = (named ? await contextThread(this.deps.db, principal.userId, contextId) : undefined) ?? `a2a_${newUlid()}`;
    const taskId = randomUUID();
    const requestMessageId = `msg_${newUlid()}`;
    const sent: Message = { ...message, taskId, contextId };
    const result = await this.deps.messaging
      .send(principal, {
        to: { accountId: agent.accountId },
        asAccountId: options.asAccountId,
        kind: "request",
        payload: { text: textOf(message.parts), a2a: { message: sent, ...(params.metadata && { metadata: params.metadata }) } },
        threadId,
        parentMessageId: "",
        traceId: "",
        // A client retrying a SendMessage (same message id) gets the task it already has.
        idempotencyKey: `a2a:${agent.accountId}:${message.messageId}`,
        ttlMs: ttlOf(params.metadata) ?? this.deps.requestTtlMs,
        schemaVersion: "",
        blobIds: [],
        sessionTag: "",
        messageId: requestMessageId,
        waitFor: "accepted",
      })
      .catch((err: unknown) => {
        // Send's wording names its own field; over A2A the sending account is a service parameter.
        if (err instanceof DomainError && err.field === "as_account_id") {
          throw invalidArgument(
            AS_ACCOUNT_PARAMETER,
            `${err.message.replace(/^as_account_id: /, "").replace(/ with as_account_id or session_tag$/, "")} with the ${AS_ACCOUNT_PARAMETER} service parameter (HTTP header or gRPC metadata)`,
          );
        }
        throw err;
      });
    if (result.duplicate) {
      const earlier = await findTask(this.deps.db, principal, { requestMessageId: result.message.messageId });
      if (earlier) return this.fold(earlier, principal);
    }
    const now = new Date();
    const record: TaskRecord = {
      taskId,
      contextId,
      ownerUserId: principal.userId,
      senderAccountId: result.message.fromAccountId,
      agentAccountId: agent.accountId,
      agentUsername: agent.username,
      threadId,
      requestMessageId: result.message.messageId,
      message: sent,
      state: "TASK_STATE_SUBMITTED",
      stateAt: now,
      canceledAt: null,
      createdAt: now,
    };
    if (!(await this.inserts.insert(record))) {
      const first = await findTask(this.deps.db, principal, { requestMessageId: record.requestMessageId });
      if (first) return this.fold(first, principal);
    }
    return new TaskView(record, true);
  }

  private async read(principal: Principal, taskId: string): Promise<TaskView> {
    if (taskId === "") throw invalidArgument("id", "name the task");
    const record = await findTask(this.deps.db, principal, taskId);
    if (!record) throw taskNotFound(taskId);
    const view = await this.fold(record, principal);
    await this.remember(view);
    return view;
  }

  /** The task as the store has it now; what it shows of the inbox of the account that asked is consumed. */
  private async fold(record: TaskRecord, principal: Principal): Promise<TaskView> {
    const view = new TaskView(record);
    const progress = await requestProgress(this.deps.db, record.threadId, record.requestMessageId);
    if (progress) {
      view.fold(progress);
      this.feed.consume(principal, view, progress.answers);
    }
    return view;
  }

  /** Keeps the row's state in step with what was read, for listings filtered by state. */
  private async remember(view: TaskView): Promise<void> {
    if (view.currentState !== view.record.state) await saveState(this.deps.db, view.record.taskId, view.currentState, view.stateAt);
  }
}

function checkTenant(username: string): void {
  if (username === "") throw invalidArgument("tenant", "name the agent: its agentnet username (the card's interface gives it)");
}

/** Unknown and invisible agents alike (A2A: do not reveal what the caller may not see). */
function agentNotFound(username: string): DomainError {
  return new DomainError("not_found", "agent_not_found", `no agent @${username} you may see on this gateway`, {
    metadata: { tenant: username },
  });
}

/** The A2A message as the bridge needs it: an id, the user's role, at least one well-formed part. */
function checkMessage(message: Message | undefined): Message {
  if (!message) throw invalidArgument("message", "required");
  if (typeof message.messageId !== "string" || message.messageId === "") throw invalidArgument("message.message_id", "required");
  if (message.messageId.length > 200) throw invalidArgument("message.message_id", "at most 200 characters");
  if (message.role !== "ROLE_USER") throw invalidArgument("message.role", "a client's message has role ROLE_USER");
  if (!Array.isArray(message.parts) || message.parts.length === 0) throw invalidArgument("message.parts", "at least one part is required");
  message.parts.forEach((part, i) => {
    const contents = ["text", "raw", "url", "data"].filter((k) => part[k as keyof Part] !== undefined);
    if (contents.length !== 1) throw invalidArgument(`message.parts[${i}]`, "exactly one of text, raw, url or data");
  });
  return message;
}

/**
 * The request's time to live from `metadata["agentnet.dev/ttl_ms"]` (how long a message may wait for an agent that is
 * offline), or undefined for the default; agentnet's own limits apply to it as on Send.
 */
function ttlOf(metadata: JsonObject | undefined): number | undefined {
  const value = metadata?.[TTL_KEY];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value))
    throw invalidArgument(`metadata.${TTL_KEY}`, "must be a whole number of milliseconds");
  return value;
}

/** The message's text parts joined, for agents that read `text` (the seed's payload convention). */
function textOf(parts: Part[]): string {
  return parts
    .map((p) => p.text)
    .filter((t): t is string => t !== undefined)
    .join("\n");
}
