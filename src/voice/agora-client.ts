import { DomainError, type ErrorKind } from "../errors.js";
import type { VoiceAgentState } from "./tables.js";
import type { VoiceTokens } from "./tokens.js";

// A small client of Agora's Conversational AI REST API v2 over fetch: join, leave, query, list, speak, interrupt.
// Authentication is `Authorization: agora token=<RTC+RTM token for the agent's uid in its channel>` or, when
// customer credentials are configured, Basic auth. Agora's failures become DomainErrors with reason `agora_error`
// and the HTTP status and Agora's `reason` in the metadata. Tokens, keys and secrets are never put into errors
// (Agora's own messages are scrubbed of them) and this file logs nothing.

/** Which agent a call is about: the REST token is scoped to its channel and uid. */
export interface AgentScope {
  channel: string;
  agentUid: string;
}

export interface AgoraAgentInfo {
  agentId: string;
  status: VoiceAgentState;
  /** Unix seconds, when Agora says. */
  startTs?: number | undefined;
  stopTs?: number | undefined;
  /** Agora's message (e.g. why an agent exited). */
  message?: string | undefined;
}

export interface AgoraListPage {
  agents: AgoraAgentInfo[];
  cursor: string;
  total: number;
}

export type SpeakPriority = "INTERRUPT" | "APPEND" | "IGNORE";

export interface AgoraClientOptions {
  baseUrl: string;
  appId: string;
  tokens: VoiceTokens;
  customer?: { id: string; secret: string } | undefined;
  /** Strings that must never appear in an error message (API keys, secrets). */
  secrets?: readonly string[];
  timeoutMs?: number;
}

/** A failed Agora call; `body` is Agora's parsed answer (a 409 on join may name the running agent). */
export class AgoraError extends DomainError {
  override name = "AgoraError";
  constructor(
    kind: ErrorKind,
    message: string,
    readonly status: number,
    readonly agoraReason: string,
    readonly body: Record<string, unknown>,
    retryAfterMs?: number,
  ) {
    super(kind, "agora_error", message, { metadata: { agora_status: String(status), agora_reason: agoraReason }, retryAfterMs });
  }
}

/** The gRPC meaning of an Agora HTTP status (issue #6): whose fault it is and whether to retry. */
export function kindForAgoraStatus(status: number): ErrorKind {
  if (status === 400 || status === 422) return "invalid_argument";
  // Agora refusing our credentials is the server's configuration problem, not the caller's.
  if (status === 401 || status === 403) return "failed_precondition";
  if (status === 404) return "not_found";
  if (status === 409) return "already_exists";
  if (status === 429) return "resource_exhausted";
  return "unavailable";
}

const TOKEN_TTL_SECONDS = 600;
const AGORA_STATES: Record<string, VoiceAgentState> = {
  IDLE: "idle",
  STARTING: "starting",
  RUNNING: "running",
  STOPPING: "stopping",
  STOPPED: "stopped",
  RECOVERING: "recovering",
  FAILED: "failed",
};

export function agoraState(status: unknown): VoiceAgentState {
  return (typeof status === "string" && AGORA_STATES[status.toUpperCase()]) || "starting";
}

export class AgoraConvoAiClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: AgoraClientOptions) {
    this.baseUrl = `${options.baseUrl.replace(/\/+$/, "")}/projects/${encodeURIComponent(options.appId)}`;
    this.timeoutMs = options.timeoutMs ?? 15_000;
  }

  /** POST /join: starts an agent. */
  async join(body: Record<string, unknown>, scope: AgentScope): Promise<AgoraAgentInfo & { createTs?: number | undefined }> {
    const res = await this.call("POST", "/join", scope, body);
    return { ...agentInfo(res), createTs: num(res["create_ts"]) };
  }

  /** POST /agents/{id}/leave: stops an agent. */
  async leave(agentId: string, scope: AgentScope): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(agentId)}/leave`, scope, {});
  }

  /** GET /agents/{id}: an agent's state. */
  async get(agentId: string, scope: AgentScope): Promise<AgoraAgentInfo> {
    const res = await this.call("GET", `/agents/${encodeURIComponent(agentId)}`, scope);
    return agentInfo({ agent_id: agentId, ...res });
  }

  /** GET /agents?channel=…: agents of the project in one channel (the REST token is per channel). */
  async list(
    query: { channel: string; state?: VoiceAgentState; limit?: number; cursor?: string },
    scope: AgentScope,
  ): Promise<AgoraListPage> {
    const params = new URLSearchParams({ channel: query.channel });
    if (query.state !== undefined) params.set("state", String(Object.values(AGORA_STATES).indexOf(query.state)));
    if (query.limit !== undefined) params.set("limit", String(query.limit));
    if (query.cursor) params.set("cursor", query.cursor);
    const res = await this.call("GET", `/agents?${params.toString()}`, scope);
    const data = obj(res["data"]);
    const meta = obj(res["meta"]);
    const list = Array.isArray(data["list"]) ? data["list"] : [];
    return {
      agents: list.map((item) => agentInfo(obj(item))),
      cursor: typeof meta["cursor"] === "string" ? meta["cursor"] : "",
      total: num(meta["total"]) ?? num(data["count"]) ?? list.length,
    };
  }

  /** POST /agents/{id}/speak: the agent says `text` through its TTS. */
  async speak(agentId: string, input: { text: string; priority: SpeakPriority; interruptable: boolean }, scope: AgentScope): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(agentId)}/speak`, scope, { ...input });
  }

  /** POST /agents/{id}/interrupt: the agent stops speaking and thinking. */
  async interrupt(agentId: string, scope: AgentScope): Promise<void> {
    await this.call("POST", `/agents/${encodeURIComponent(agentId)}/interrupt`, scope, {});
  }

  private authorization(scope: AgentScope): string {
    const { customer, tokens } = this.options;
    if (customer) return `Basic ${Buffer.from(`${customer.id}:${customer.secret}`).toString("base64")}`;
    return `agora token=${tokens.rtcWithRtm(scope.channel, scope.agentUid, TOKEN_TTL_SECONDS).token}`;
  }

  private async call(
    method: "GET" | "POST",
    path: string,
    scope: AgentScope,
    body?: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: this.authorization(scope),
          accept: "application/json",
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && err.name === "TimeoutError";
      const cause =
        err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new AgoraError(
        "unavailable",
        timedOut ? `Agora did not answer within ${this.timeoutMs} ms` : `cannot reach Agora: ${this.scrub(cause)}`,
        0,
        timedOut ? "timeout" : "network_error",
        {},
      );
    }
    const text = await res.text().catch(() => "");
    let parsed: Record<string, unknown> = {};
    try {
      parsed = text === "" ? {} : obj(JSON.parse(text));
    } catch {
      parsed = {};
    }
    if (res.ok) return parsed;

    const reason =
      typeof parsed["reason"] === "string" ? parsed["reason"] : typeof parsed["statusCode"] === "string" ? parsed["statusCode"] : "";
    const detail =
      typeof parsed["detail"] === "string" ? parsed["detail"] : typeof parsed["message"] === "string" ? parsed["message"] : text;
    const kind = kindForAgoraStatus(res.status);
    const retryAfterMs =
      kind === "resource_exhausted" || kind === "unavailable" ? retryAfter(res.headers.get("retry-after"), kind) : undefined;
    const message = `Agora answered ${res.status}${reason ? ` ${reason}` : ""}${detail ? `: ${this.scrub(detail).slice(0, 300)}` : ""}`;
    throw new AgoraError(kind, message, res.status, reason, parsed, retryAfterMs);
  }

  /** Removes anything secret from text Agora (or the network stack) produced before it reaches a caller. */
  private scrub(text: string): string {
    let out = text.replace(/007[A-Za-z0-9+/=]{16,}/g, "[token]");
    const secrets = [...(this.options.secrets ?? []), this.options.customer?.secret ?? ""];
    for (const secret of secrets) if (secret.length >= 6) out = out.split(secret).join("[redacted]");
    return out;
  }
}

function retryAfter(header: string | null, kind: ErrorKind): number | undefined {
  const seconds = header === null ? Number.NaN : Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.max(1, seconds * 1000);
  return kind === "resource_exhausted" ? 1000 : undefined;
}

function agentInfo(res: Record<string, unknown>): AgoraAgentInfo {
  return {
    agentId: typeof res["agent_id"] === "string" ? res["agent_id"] : "",
    status: agoraState(res["status"]),
    startTs: num(res["start_ts"]) ?? num(res["create_ts"]),
    stopTs: num(res["stop_ts"]),
    message: typeof res["message"] === "string" ? res["message"] : undefined,
  };
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}
