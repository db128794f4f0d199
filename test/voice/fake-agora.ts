import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { PRIV_JOIN_CHANNEL, PRIV_RTM_LOGIN, SERVICE_RTC, SERVICE_RTM, parseAccessToken2, signatureValid } from "./access-token2.js";

// A local stand-in for Agora's Conversational AI REST API v2 on a real HTTP port. It checks what agentnet sends —
// paths, the Authorization header (an AccessToken2 for the agent's uid and channel, verified with the certificate,
// or Basic customer credentials) and the join/speak body schema — and answers like Agora, errors included
// ({detail, reason} with Agora's statuses). Schema and path violations are answered 400 and kept in `violations`
// so a test can insist there were none.

export const FAKE_APP_ID = "0123456789abcdef0123456789abcdef";
export const FAKE_CERTIFICATE = "fedcba9876543210fedcba9876543210";
export const BASE_PATH = "/api/conversational-ai-agent/v2";

export interface FakeAgent {
  agentId: string;
  name: string;
  channel: string;
  agentUid: string;
  status: "RUNNING" | "STOPPED" | "FAILED";
  startTs: number;
  stopTs?: number;
  joinBody: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string;
  body: unknown;
}

export type Operation = "join" | "leave" | "get" | "list" | "speak" | "interrupt";

export interface InjectedFailure {
  status: number;
  reason?: string;
  detail?: string;
  headers?: Record<string, string>;
  /** Extra body fields (e.g. agent_id on a 409). */
  extra?: Record<string, unknown>;
  /** Destroy the connection instead of answering (a network error). */
  drop?: boolean;
}

export interface FakeAgoraOptions {
  appId?: string;
  certificate?: string;
  /** Accept Basic auth with these credentials (and refuse tokens). */
  customer?: { id: string; secret: string };
  /** Whether a 409 on join names the running agent (Agora says to "use the already-started agent_id"). */
  conflictNamesAgent?: boolean;
}

export class FakeAgora {
  readonly requests: RecordedRequest[] = [];
  readonly violations: string[] = [];
  readonly agents = new Map<string, FakeAgent>();
  conflictNamesAgent: boolean;
  private readonly failures = new Map<Operation, InjectedFailure[]>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private port = 0;
  private readonly appId: string;
  private readonly certificate: string;

  constructor(private readonly options: FakeAgoraOptions = {}) {
    this.appId = options.appId ?? FAKE_APP_ID;
    this.certificate = options.certificate ?? FAKE_CERTIFICATE;
    this.conflictNamesAgent = options.conflictNamesAgent ?? true;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /** The value for AGORA_API_BASE_URL. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}${BASE_PATH}`;
  }

  /** The next call of `op` fails this way (queued, in order). */
  failNext(op: Operation, failure: InjectedFailure): void {
    const queue = this.failures.get(op) ?? [];
    queue.push(failure);
    this.failures.set(op, queue);
  }

  /** As if Agora stopped the agent itself (idle timeout). */
  exit(agentId: string, status: "STOPPED" | "FAILED" = "STOPPED"): void {
    const agent = this.agents.get(agentId);
    if (agent) {
      agent.status = status;
      agent.stopTs = Math.floor(Date.now() / 1000);
    }
  }

  calls(op: Operation): RecordedRequest[] {
    return this.requests.filter((r) => operationOf(r.method, r.path) === op);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: unknown;
    try {
      body = raw === "" ? undefined : JSON.parse(raw);
    } catch {
      return this.violation(res, `body is not JSON: ${raw.slice(0, 80)}`);
    }
    const url = new URL(req.url ?? "/", "http://fake");
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname, authorization: req.headers.authorization ?? "", body });

    const prefix = `${BASE_PATH}/projects/${this.appId}`;
    if (!url.pathname.startsWith(prefix)) return this.violation(res, `unexpected path ${method} ${url.pathname}`);
    const op = operationOf(method, url.pathname);
    if (op === undefined) return this.violation(res, `unexpected path ${method} ${url.pathname}`);

    const failure = this.failures.get(op)?.shift();
    if (failure?.drop) {
      req.socket.destroy();
      return;
    }
    if (failure) {
      return send(
        res,
        failure.status,
        { detail: failure.detail ?? `injected ${failure.status}`, reason: failure.reason ?? "", ...failure.extra },
        failure.headers,
      );
    }

    const rest = url.pathname.slice(prefix.length);
    const agentId = /^\/agents\/([^/]+)/.exec(rest)?.[1];
    const agent = agentId === undefined ? undefined : this.agents.get(decodeURIComponent(agentId));

    // Authorization: the scope is the agent's (join: the body's, list: the channel asked for).
    let scope: { channel: string; uid: string } | undefined;
    if (op === "join") {
      const props = obj(obj(body)["properties"]);
      scope = { channel: String(props["channel"]), uid: String(props["agent_rtc_uid"]) };
    } else if (op === "list") {
      scope = { channel: url.searchParams.get("channel") ?? "", uid: "" };
    } else if (agent) {
      scope = { channel: agent.channel, uid: agent.agentUid };
    }
    const authProblem = this.checkAuth(req.headers.authorization ?? "", scope);
    if (authProblem) return send(res, 401, { detail: authProblem, reason: "Unauthorized" });

    switch (op) {
      case "join":
        return this.join(res, body);
      case "list": {
        const channel = url.searchParams.get("channel");
        const list = [...this.agents.values()].filter((a) => a.channel === channel);
        return send(res, 200, {
          data: { count: list.length, list: list.map((a) => ({ agent_id: a.agentId, start_ts: a.startTs, status: a.status })) },
          meta: { cursor: "", total: list.length },
          status: "ok",
        });
      }
      default:
        break;
    }
    if (!agent) return send(res, 404, { detail: "task not found", reason: "TaskNotFound" });
    switch (op) {
      case "leave":
        if (agent.status !== "RUNNING") return send(res, 404, { detail: "task not found", reason: "TaskNotFound" });
        agent.status = "STOPPED";
        agent.stopTs = Math.floor(Date.now() / 1000);
        return send(res, 200, {});
      case "get":
        return send(res, 200, {
          message: agent.status === "FAILED" ? "agent exits with reason: llm failure" : "",
          start_ts: agent.startTs,
          ...(agent.stopTs === undefined ? {} : { stop_ts: agent.stopTs }),
          status: agent.status,
          agent_id: agent.agentId,
        });
      case "speak": {
        const b = obj(body);
        const problems: string[] = [];
        if (typeof b["text"] !== "string" || b["text"] === "") problems.push("text must be a non-empty string");
        if (!["INTERRUPT", "APPEND", "IGNORE"].includes(String(b["priority"]))) problems.push("priority must be INTERRUPT|APPEND|IGNORE");
        if (typeof b["interruptable"] !== "boolean") problems.push("interruptable must be a boolean");
        if (problems.length > 0) return this.violation(res, `speak: ${problems.join("; ")}`);
        if (agent.status !== "RUNNING") return send(res, 404, { detail: "task not found", reason: "TaskNotFound" });
        return send(res, 200, { agent_id: agent.agentId, channel: agent.channel, start_ts: agent.startTs });
      }
      case "interrupt":
        if (agent.status !== "RUNNING") return send(res, 404, { detail: "task not found", reason: "TaskNotFound" });
        return send(res, 200, { agent_id: agent.agentId, channel: agent.channel, start_ts: agent.startTs });
    }
  }

  private join(res: ServerResponse, body: unknown): void {
    const problems = joinBodyProblems(body, this.appId, this.certificate);
    if (problems.length > 0) return this.violation(res, `join: ${problems.join("; ")}`);
    const b = obj(body);
    const props = obj(b["properties"]);
    const name = String(b["name"]);
    const running = [...this.agents.values()].find((a) => a.name === name && a.status === "RUNNING");
    if (running) {
      return send(res, 409, {
        detail: "task conflict",
        reason: "TaskConflict",
        ...(this.conflictNamesAgent ? { agent_id: running.agentId } : {}),
      });
    }
    const agent: FakeAgent = {
      agentId: `1NT29X${randomBytes(10).toString("hex").toUpperCase()}`,
      name,
      channel: String(props["channel"]),
      agentUid: String(props["agent_rtc_uid"]),
      status: "RUNNING",
      startTs: Math.floor(Date.now() / 1000),
      joinBody: b,
    };
    this.agents.set(agent.agentId, agent);
    send(res, 200, { agent_id: agent.agentId, create_ts: agent.startTs, status: "RUNNING" });
  }

  private checkAuth(header: string, scope: { channel: string; uid: string } | undefined): string | undefined {
    if (this.options.customer) {
      const expected = `Basic ${Buffer.from(`${this.options.customer.id}:${this.options.customer.secret}`).toString("base64")}`;
      return header === expected ? undefined : "bad Basic credentials";
    }
    const m = /^agora token=(007\S+)$/.exec(header);
    if (!m?.[1]) return "expected Authorization: agora token=<AccessToken2>";
    // Unknown agents have no scope to check against; they are answered 404 afterwards.
    return scope === undefined ? undefined : tokenProblem(m[1], scope.channel, scope.uid, this.appId, this.certificate);
  }

  private violation(res: ServerResponse, problem: string): void {
    this.violations.push(problem);
    send(res, 400, { detail: problem, reason: "InvalidRequest" });
  }
}

/** Why `token` is not an RTC+RTM AccessToken2 for `uid` in `channel` (uid "" = any RTC uid), or undefined. */
export function tokenProblem(token: string, channel: string, uid: string, appId: string, certificate: string): string | undefined {
  let parsed: ReturnType<typeof parseAccessToken2>;
  try {
    parsed = parseAccessToken2(token);
  } catch (err) {
    return `unparsable token: ${(err as Error).message}`;
  }
  if (parsed.appId !== appId) return "token for another App ID";
  if (!signatureValid(parsed, certificate)) return "token signature does not verify";
  if (parsed.issueTs + parsed.expire < Math.floor(Date.now() / 1000)) return "token expired";
  const rtc = parsed.services.find((s) => s.type === SERVICE_RTC);
  const rtm = parsed.services.find((s) => s.type === SERVICE_RTM);
  if (!rtc || !rtm) return "token lacks RTC or RTM";
  if (rtc.channel !== channel) return `token for channel ${rtc.channel}, not ${channel}`;
  if (uid !== "" && rtc.uid !== uid) return `token for uid ${rtc.uid}, not ${uid}`;
  if (uid !== "" && rtm.userId !== uid) return `RTM login for ${rtm.userId}, not ${uid}`;
  if (!rtc.privileges.has(PRIV_JOIN_CHANNEL) || !rtm.privileges.has(PRIV_RTM_LOGIN)) return "token lacks join or login";
  return undefined;
}

function joinBodyProblems(body: unknown, appId: string, certificate: string): string[] {
  const problems: string[] = [];
  const b = obj(body);
  const need = (cond: boolean, what: string) => {
    if (!cond) problems.push(what);
  };
  need(typeof b["name"] === "string" && b["name"] !== "", "name must be a non-empty string");
  const p = obj(b["properties"]);
  need(typeof b["properties"] === "object", "properties must be an object");
  need(typeof p["channel"] === "string" && p["channel"] !== "", "properties.channel must be a non-empty string");
  need(typeof p["agent_rtc_uid"] === "string" && p["agent_rtc_uid"] !== "", "properties.agent_rtc_uid must be a non-empty string");
  const remote = p["remote_rtc_uids"];
  need(
    Array.isArray(remote) && remote.length > 0 && remote.every((u) => typeof u === "string"),
    "properties.remote_rtc_uids must be a non-empty array of strings",
  );
  need(p["enable_string_uid"] === true, "properties.enable_string_uid must be true (uids are strings)");
  need(Number.isInteger(p["idle_timeout"]), "properties.idle_timeout must be an integer");
  need(typeof obj(p["advanced_features"])["enable_rtm"] === "boolean", "properties.advanced_features.enable_rtm must be a boolean");
  const params = obj(p["parameters"]);
  need(["rtm", "datastream"].includes(String(params["data_channel"])), "properties.parameters.data_channel must be rtm or datastream");
  need(params["enable_error_message"] === true, "properties.parameters.enable_error_message must be true");
  const llm = obj(p["llm"]);
  need(typeof llm["url"] === "string", "properties.llm.url must be a string");
  need(Array.isArray(llm["system_messages"]), "properties.llm.system_messages must be an array");
  need(typeof obj(llm["params"])["model"] === "string", "properties.llm.params.model must be a string");
  const tts = obj(p["tts"]);
  need(typeof tts["vendor"] === "string" && typeof tts["params"] === "object", "properties.tts must have vendor and params");
  const asr = obj(p["asr"]);
  need(typeof asr["vendor"] === "string", "properties.asr.vendor must be a string");
  if (typeof p["token"] !== "string") problems.push("properties.token must be a string");
  else {
    const problem = tokenProblem(p["token"], String(p["channel"]), String(p["agent_rtc_uid"]), appId, certificate);
    if (problem) problems.push(`properties.token: ${problem}`);
  }
  return problems;
}

function operationOf(method: string, path: string): Operation | undefined {
  if (method === "POST" && path.endsWith("/join")) return "join";
  if (method === "GET" && /\/agents$/.test(path)) return "list";
  if (method === "GET" && /\/agents\/[^/]+$/.test(path)) return "get";
  const m = /\/agents\/[^/]+\/(leave|speak|interrupt)$/.exec(path);
  if (method === "POST" && m) return m[1] as Operation;
  return undefined;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
