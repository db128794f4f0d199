import { type DescMessage, type JsonValue, fromJson, toJson } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  A2AService,
  CancelTaskRequestSchema,
  GetTaskRequestSchema,
  ListTasksRequestSchema,
  ListTasksResponseSchema,
  SendMessageRequestSchema,
  SendMessageResponseSchema,
  StreamResponseSchema,
  SubscribeToTaskRequestSchema,
  TaskSchema,
} from "../../gen/lf/a2a/v1/a2a_pb.js";
import {
  type A2a,
  AS_ACCOUNT_PARAMETER,
  type GatewayAddress,
  type JsonObject,
  RESUME_AFTER_HEADER,
  type SendMessageParams,
  type StreamEvent,
  type TaskState,
} from "../a2a/index.js";
import type { Auth, Principal } from "../auth/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import { BodyError, readJsonBody, sendJson } from "../server/http-routes.js";
import { toConnectError } from "../server/errors.js";
import type { NodeRequest, NodeResponse } from "../server/http-types.js";
import type { RpcMetrics } from "../metrics/index.js";
import type { AdapterOptions } from "./adapter-options.js";
import { checkA2aVersion, toA2aConnectError, toJsonRpcError } from "./a2a-errors.js";
import { noExtendedCard, noPush, resumePosition } from "./a2a.js";

// A2A over HTTP: agent cards (A2A §8) and the JSON-RPC binding (A2A §9) with Server-Sent Events for streams.
//   GET  /.well-known/agent-card.json                 the gateway's card (a directory of the agents)
//   GET  /a2a/{username}/.well-known/agent-card.json  an agent's card
//   POST /a2a/{username}                              JSON-RPC to that agent (its card's JSONRPC interface)
//   POST /a2a                                         JSON-RPC naming the agent in `params.tenant`
// Credentials are agentnet's (Authorization: Bearer <JWT or API key>); cards need none for public agents.

const MAX_BODY_BYTES = 1024 * 1024;
const SSE_KEEPALIVE_MS = 15_000;

type Id = string | number | null;

/** Why a call's work stops when its client disconnects. */
const CLIENT_GONE = Symbol("client went away");

export function registerA2aHttp(deps: AdapterOptions & { auth: Auth }, a2a: A2a): void {
  const { auth } = deps;

  deps.addHttpRoute("GET", "/.well-known/agent-card.json", async (req, res) => {
    try {
      sendCard(res, await a2a.gatewayCard(await optionalCaller(auth, req), addressOf(req)));
    } catch (err) {
      sendHttpError(res, err);
    }
  });

  deps.addHttpRoute("GET", "/a2a/{username}/.well-known/agent-card.json", async (req, res, params) => {
    try {
      sendCard(res, await a2a.card(await optionalCaller(auth, req), params["username"] ?? "", addressOf(req)));
    } catch (err) {
      sendHttpError(res, err);
    }
  });

  const rpc = async (req: NodeRequest, res: NodeResponse, params: Record<string, string>) => {
    const started = performance.now();
    const call: CallRecord = { method: INVALID_REQUEST, code: undefined, stream: undefined };
    try {
      await serveJsonRpc(a2a, auth, req, res, params["username"], call, deps);
    } catch (err) {
      // Not a refusal: a fault of ours. Logged here; the client hears JSON-RPC's internal error.
      deps.logger.error({ err, http: `${req.method} ${req.url}` }, "A2A JSON-RPC call failed");
      call.code = Code.Internal;
      if (!res.headersSent) sendError(res, null, toJsonRpcError(err).error);
      else res.end();
    } finally {
      // Counted with the gRPC binding's calls, by A2A method; a stream when it ends, without a duration.
      const seconds = call.stream ? undefined : (performance.now() - started) / 1000;
      deps.rpcMetrics.finished(`${A2AService.typeName}/${call.method}`, call.code, seconds);
    }
  };
  deps.addHttpRoute("POST", "/a2a", rpc);
  deps.addHttpRoute("POST", "/a2a/{username}", rpc);
}

/** What the metrics say of one JSON-RPC call; the handler fills it in as it goes. */
interface CallRecord {
  /** An A2A method's name, or INVALID_REQUEST before one is known (labels stay a bounded set). */
  method: string;
  code: Code | undefined;
  /** Set once the answer is an SSE stream. */
  stream: { inc(): void; dec(): void } | undefined;
}

/** The method label of calls that name no A2A method: unreadable, not JSON-RPC, or an unknown method. */
const INVALID_REQUEST = "InvalidRequest";

const A2A_METHODS: ReadonlySet<string> = new Set(A2AService.methods.map((m) => m.name));

/** The gRPC code a JSON-RPC error code stands for: bad envelopes and params are INVALID_ARGUMENT. */
function codeOfJsonRpc(code: number): Code {
  if (code === -32601) return Code.Unimplemented;
  if (code === -32603) return Code.Internal;
  return Code.InvalidArgument;
}

/** One JSON-RPC call: a JSON answer, or an SSE stream for the two streaming methods. */
async function serveJsonRpc(
  a2a: A2a,
  auth: Auth,
  req: NodeRequest,
  res: NodeResponse,
  pathTenant: string | undefined,
  record: CallRecord,
  deps: { rpcMetrics: RpcMetrics; draining: AbortSignal },
): Promise<void> {
  const answerError = (res: NodeResponse, id: Id, error: { code: number; message: string; data: unknown[] }) => {
    record.code = codeOfJsonRpc(error.code);
    sendError(res, id, error);
  };
  const stream = (res: NodeResponse, id: Id, events: AsyncGenerator<StreamEvent>) => {
    record.stream = deps.rpcMetrics.openStreams(`${A2AService.typeName}/${record.method}`);
    return streamEvents(res, id, events, record, deps.draining);
  };
  // A stream ends when its client goes, or when the gateway starts draining (then it says so, see streamEvents).
  const streamSignal = () => AbortSignal.any([abortOnClose(req, res), deps.draining]);
  let id: Id = null;
  try {
    let body: unknown;
    try {
      body = await readJsonBody(req, MAX_BODY_BYTES);
    } catch (err) {
      if (err instanceof BodyError && err.status === 400)
        return answerError(res, null, { code: -32700, message: "Invalid JSON payload", data: [] });
      throw err;
    }
    if (Array.isArray(body))
      return answerError(res, null, { code: -32600, message: "batch requests are not supported; send one call per request", data: [] });
    if (!isObject(body) || body["jsonrpc"] !== "2.0" || typeof body["method"] !== "string") {
      return answerError(res, null, {
        code: -32600,
        message: 'Request payload validation error: need {"jsonrpc": "2.0", "method", "id"}',
        data: [],
      });
    }
    const rawId = body["id"];
    if (rawId !== undefined && rawId !== null && typeof rawId !== "string" && typeof rawId !== "number") {
      return answerError(res, null, {
        code: -32600,
        message: "Request payload validation error: id must be a string, a number or null",
        data: [],
      });
    }
    id = rawId ?? null;
    const method = body["method"];
    if (A2A_METHODS.has(method)) record.method = method;
    const params = body["params"] ?? {};
    if (!isObject(params)) throw invalidArgument("params", "must be an object");
    checkA2aVersion(header(req, "a2a-version"));
    const principal = await auth.authenticate(header(req, "authorization") ?? null);
    const call = { principal, params, req, tenant: tenantOf(params, pathTenant) };
    switch (method) {
      case "SendMessage": {
        const task = await a2a.sendMessage(principal, sendParams(call), callOptions(req, abortOnClose(req, res)));
        return answer(res, id, canonical(SendMessageResponseSchema, { task }));
      }
      case "SendStreamingMessage":
        return stream(res, id, a2a.streamMessage(principal, sendParams(call), callOptions(req, streamSignal())));
      case "GetTask": {
        const p = decode(GetTaskRequestSchema, params);
        return answer(res, id, canonical(TaskSchema, await a2a.getTask(principal, str(p["id"]), num(p["historyLength"]))));
      }
      case "ListTasks": {
        const p = decode(ListTasksRequestSchema, params);
        const page = await a2a.listTasks(principal, {
          tenant: call.tenant,
          contextId: str(p["contextId"]),
          state: typeof p["status"] === "string" ? (p["status"] as TaskState) : undefined,
          stateAfter: typeof p["statusTimestampAfter"] === "string" ? new Date(p["statusTimestampAfter"]) : undefined,
          pageSize: num(p["pageSize"]),
          pageToken: str(p["pageToken"]),
          historyLength: num(p["historyLength"]),
          includeArtifacts: p["includeArtifacts"] === true,
        });
        return answer(res, id, canonical(ListTasksResponseSchema, page));
      }
      case "CancelTask": {
        const p = decode(CancelTaskRequestSchema, params);
        return answer(res, id, canonical(TaskSchema, await a2a.cancelTask(principal, str(p["id"]))));
      }
      case "SubscribeToTask": {
        const p = decode(SubscribeToTaskRequestSchema, params);
        const after = resumePosition(header(req, RESUME_AFTER_HEADER));
        return stream(res, id, a2a.subscribe(principal, str(p["id"]), after, streamSignal()));
      }
      case "CreateTaskPushNotificationConfig":
      case "GetTaskPushNotificationConfig":
      case "ListTaskPushNotificationConfigs":
      case "DeleteTaskPushNotificationConfig":
        throw noPush();
      case "GetExtendedAgentCard":
        throw noExtendedCard();
      default:
        return answerError(res, id, {
          code: -32601,
          message: `Method not found: ${method} (A2A 1.0 methods are SendMessage, SendStreamingMessage, GetTask, ListTasks, CancelTask, SubscribeToTask)`,
          data: [],
        });
    }
  } catch (err) {
    if (res.headersSent || !(err instanceof DomainError)) throw err;
    record.code = toConnectError(toA2aConnectError(err)).code;
    const { error, httpStatus } = toJsonRpcError(err);
    sendJson(res, httpStatus, { jsonrpc: "2.0", id, error }, httpStatus === 401 ? { "www-authenticate": 'Bearer realm="agentnet"' } : {});
  }
}

/**
 * Streams events as SSE. The first event is awaited before anything is written, so a refusal (bad input, unknown
 * task) is an ordinary JSON-RPC error answer; a failure after that is the stream's last event.
 */
async function streamEvents(
  res: NodeResponse,
  id: Id,
  events: AsyncGenerator<StreamEvent>,
  record: CallRecord,
  draining: AbortSignal,
): Promise<void> {
  let first: IteratorResult<StreamEvent>;
  try {
    first = await events.next();
  } catch (err) {
    // Refused before anything was written: an ordinary answer, counted as a call rather than a stream.
    record.stream = undefined;
    throw err;
  }
  record.stream?.inc();
  res.statusCode = 200;
  res.setHeader("content-type", "text/event-stream");
  res.setHeader("cache-control", "no-cache");
  res.setHeader("x-accel-buffering", "no");
  // An SSE comment first: the headers leave at once, and an idle proxy sees bytes.
  res.write(": stream open\n\n");
  const keepalive = setInterval(() => res.write(": keepalive\n\n"), SSE_KEEPALIVE_MS);
  const send = (payload: unknown) => res.write(`data: ${JSON.stringify(payload)}\n\n`);
  try {
    if (!first.done) send({ jsonrpc: "2.0", id, result: canonical(StreamResponseSchema, first.value) });
    if (!first.done) {
      for await (const event of events) {
        if (res.destroyed) break;
        send({ jsonrpc: "2.0", id, result: canonical(StreamResponseSchema, event) });
      }
    }
    if (draining.aborted && !res.destroyed) {
      // The task goes on; the client resumes on another gateway after the last seq it saw.
      const leaving = new DomainError(
        "unavailable",
        "shutting_down",
        `this gateway is shutting down: SubscribeToTask on another one, with ${RESUME_AFTER_HEADER} set to the last agentnet.dev/seq seen`,
      );
      send({ jsonrpc: "2.0", id, error: toJsonRpcError(leaving).error });
      record.code = Code.Unavailable;
    }
  } catch (err) {
    if (!res.destroyed) send({ jsonrpc: "2.0", id, error: toJsonRpcError(err).error });
    if (!(err instanceof DomainError)) throw err;
    record.code = toConnectError(toA2aConnectError(err)).code;
  } finally {
    record.stream?.dec();
    clearInterval(keepalive);
    await events.return(undefined);
    res.end();
  }
}

function answer(res: NodeResponse, id: Id, result: unknown): void {
  sendJson(res, 200, { jsonrpc: "2.0", id, result });
}

function sendError(res: NodeResponse, id: Id, error: { code: number; message: string; data: unknown[] }): void {
  sendJson(res, 200, { jsonrpc: "2.0", id, error });
}

/** The agent a call is for: the path's, or `params.tenant`; both given must agree. */
function tenantOf(params: JsonObject, pathTenant: string | undefined): string {
  const given = typeof params["tenant"] === "string" ? params["tenant"] : "";
  if (pathTenant !== undefined && given !== "" && given !== pathTenant) {
    throw invalidArgument("tenant", `this endpoint is @${pathTenant}'s; tenant ${JSON.stringify(given)} names another agent`);
  }
  return pathTenant ?? given;
}

function sendParams(call: { params: JsonObject; tenant: string }): SendMessageParams {
  const p = decode(SendMessageRequestSchema, call.params);
  return { ...p, tenant: call.tenant } as unknown as SendMessageParams;
}

function callOptions(req: NodeRequest, signal: AbortSignal) {
  return { asAccountId: header(req, AS_ACCOUNT_PARAMETER)?.trim() ?? "", signal };
}

/** Aborted when the client goes away before the answer is complete. */
function abortOnClose(_req: NodeRequest, res: NodeResponse): AbortSignal {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(CLIENT_GONE);
  });
  return controller.signal;
}

/**
 * `params` checked against A2A's schema (unknown fields and wrong types refused, as the gRPC binding would), in
 * ProtoJSON form.
 */
function decode<Desc extends DescMessage>(schema: Desc, params: JsonObject): Record<string, unknown> {
  try {
    return toJson(schema, fromJson(schema, params as JsonValue, { ignoreUnknownFields: false })) as Record<string, unknown>;
  } catch (err) {
    throw new DomainError("invalid_argument", "invalid_params", `Invalid parameters: ${(err as Error).message}`, { field: "params" });
  }
}

/** An answer in ProtoJSON as the schema writes it (our own output checked against A2A's schema on the way out). */
function canonical<Desc extends DescMessage>(schema: Desc, value: unknown): JsonValue {
  return toJson(schema, fromJson(schema, value as JsonValue));
}

async function optionalCaller(auth: Auth, req: NodeRequest): Promise<Principal | undefined> {
  const authorization = header(req, "authorization");
  return authorization === undefined ? undefined : auth.authenticate(authorization);
}

function sendCard(res: NodeResponse, card: JsonObject): void {
  // Presence is in the card and private cards depend on who asks: revalidate each time, per credential.
  sendJson(res, 200, card, { "cache-control": "no-cache", vary: "authorization" });
}

function sendHttpError(res: NodeResponse, err: unknown): void {
  if (!(err instanceof DomainError)) throw err;
  const status = err.kind === "unauthenticated" ? 401 : err.kind === "not_found" ? 404 : err.kind === "invalid_argument" ? 400 : 503;
  sendJson(
    res,
    status,
    { error: { code: status, message: err.message, reason: err.reason, domain: "agentnet.dev" } },
    status === 401 ? { "www-authenticate": 'Bearer realm="agentnet"' } : {},
  );
}

/** Where the caller reached this gateway (its Host, and the proxy's scheme when one says). */
function addressOf(req: NodeRequest): GatewayAddress {
  const host = header(req, "x-forwarded-host") ?? header(req, ":authority") ?? header(req, "host") ?? "localhost";
  const scheme = header(req, "x-forwarded-proto") ?? "http";
  return { httpUrl: `${scheme}://${host}`, grpcAuthority: host };
}

function header(req: NodeRequest, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function num(value: unknown): number | undefined {
  return typeof value === "number" ? value : undefined;
}
