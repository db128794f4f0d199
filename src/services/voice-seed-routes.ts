import { DomainError, type ErrorKind } from "../errors.js";
import { BodyError, readJsonBody, sendJson } from "../server/http-routes.js";
import type { NodeRequest, NodeResponse } from "../server/http-types.js";
import { ANONYMOUS, requireVoice, type Voice, type VoiceCaller } from "../voice/index.js";
import type { Auth } from "../auth/index.js";
import type { AdapterOptions } from "./adapter-options.js";

type SeedRouteDeps = AdapterOptions & { auth: Auth };

// The Agora seed's HTTP API on the gateway's port, so its front end works unchanged:
//   GET /get_config, POST /v2/startAgent {channelName, rtcUid, userUid}, POST /v2/stopAgent {agentId},
// answering {code: 0, msg: "success", data} or {code: <HTTP status>, msg, detail, reason} with the seed's statuses
// (400 bad parameters, 404 unknown agent, 500 when Agora fails). They take the same `authorization` as the RPCs; serving
// them without credentials, as the seed does, needs AGENTNET_VOICE_PUBLIC_SEED_ROUTES (agents started that way
// belong to `anonymous`). Thin, like the RPC handlers: the voice domain does the work.

export function registerVoiceSeedRoutes(deps: SeedRouteDeps, voice: Voice | undefined): void {
  const route =
    (handler: (caller: VoiceCaller, voice: Voice, req: NodeRequest) => Promise<SeedSuccess>) =>
    async (req: NodeRequest, res: NodeResponse) => {
      try {
        const caller = await callerOf(deps, req);
        const result = await handler(caller, requireVoice(voice), req);
        sendJson(res, 200, { code: 0, msg: "success", ...(result.data === undefined ? {} : { data: result.data }) });
      } catch (err) {
        sendError(deps, res, err);
      }
    };

  deps.addHttpRoute(
    "GET",
    "/get_config",
    route(async (_caller, { tokens }, req) => {
      const channel = new URL(req.url ?? "/", "http://localhost").searchParams.get("channel_name") ?? undefined;
      const config = tokens.connectionConfig({ channelName: channel });
      return {
        data: { app_id: config.appId, token: config.token, uid: config.uid, channel_name: config.channelName, agent_uid: config.agentUid },
      };
    }),
  );

  deps.addHttpRoute(
    "POST",
    "/v2/startAgent",
    route(async (caller, { agents }, req) => {
      const body = await jsonObject(req);
      const channelName = required(body, "channelName");
      const rtcUid = required(body, "rtcUid");
      const userUid = required(body, "userUid");
      const agent = await agents.start(caller, {
        channelName: String(channelName),
        agentUid: rtcUid,
        remoteUids: [userUid],
        agentUidField: "rtcUid",
        remoteUidsField: "userUid",
      });
      return { data: { agent_id: agent.agentId, channel_name: agent.channelName, status: "started" } };
    }),
  );

  deps.addHttpRoute(
    "POST",
    "/v2/stopAgent",
    route(async (caller, { agents }, req) => {
      const body = await jsonObject(req);
      const agentId = required(body, "agentId");
      // An id it does not know is 404, as in the seed; stopping a stopped agent is still success.
      await agents.stop(caller, String(agentId));
      return {};
    }),
  );
}

interface SeedSuccess {
  data?: Record<string, unknown>;
}

async function callerOf(deps: SeedRouteDeps, req: NodeRequest): Promise<VoiceCaller> {
  const authorization = req.headers.authorization;
  // Credentials, when sent, are always checked — also on a server that serves these routes without them.
  if ((authorization === undefined || authorization.trim() === "") && deps.publicSeedRoutes) return ANONYMOUS;
  return deps.auth.authenticate(authorization ?? null);
}

async function jsonObject(req: NodeRequest): Promise<Record<string, unknown>> {
  const body = await readJsonBody(req);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new BodyError(400, "request body must be a JSON object");
  return body as Record<string, unknown>;
}

/** A required string-or-number parameter (uids arrive as either from browsers). */
function required(body: Record<string, unknown>, name: string): string | number {
  const value = body[name];
  if ((typeof value === "string" && value.trim() !== "") || (typeof value === "number" && Number.isFinite(value))) return value;
  throw new DomainError("invalid_argument", "invalid_argument", `${name} is required (a string or a number)`, { field: name });
}

const HTTP_STATUS: Record<ErrorKind, number> = {
  invalid_argument: 400,
  unauthenticated: 401,
  permission_denied: 403,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 409,
  resource_exhausted: 429,
  unavailable: 503,
  deadline_exceeded: 504,
  unimplemented: 501,
};

function sendError(deps: SeedRouteDeps, res: NodeResponse, err: unknown): void {
  if (err instanceof BodyError) {
    sendJson(res, err.status, errorBody(err.status, err.message, "invalid_argument"));
    return;
  }
  if (!(err instanceof DomainError)) {
    deps.logger.error({ err }, "voice seed route failed");
    sendJson(res, 500, errorBody(500, "internal error", "internal"));
    return;
  }
  // As the seed: whatever Agora refuses is a 500 (its RuntimeError); a server without voice settings is a 503.
  let status = HTTP_STATUS[err.kind];
  if (err.reason === "agora_error") status = 500;
  else if (err.reason.endsWith("_not_configured")) status = 503;
  const headers: Record<string, string> = {};
  if (err.retryAfterMs !== undefined) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  const body = errorBody(status, err.message, err.reason);
  sendJson(res, status, Object.keys(err.metadata).length > 0 ? { ...body, details: err.metadata } : body, headers);
}

/**
 * The seed is FastAPI, whose errors are {"detail": "<message>"}, and its front end shows `detail`; `msg` and
 * `reason` are agentnet's envelope, kept for clients written against it.
 */
function errorBody(status: number, message: string, reason: string): { code: number; msg: string; detail: string; reason: string } {
  return { code: status, msg: message, detail: message, reason };
}
