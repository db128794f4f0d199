import { type DescMessage, type JsonValue, type MessageShape, fromJson, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  A2AService,
  ListTasksResponseSchema,
  SendMessageRequestSchema,
  type SendMessageResponse,
  SendMessageResponseSchema,
  StreamResponseSchema,
  type StreamResponse,
  type Task as TaskMessage,
  TaskSchema,
  TaskState as TaskStateEnum,
} from "../../gen/lf/a2a/v1/a2a_pb.js";
import {
  type A2a,
  A2aError,
  AS_ACCOUNT_PARAMETER,
  RESUME_AFTER_HEADER,
  type SendMessageParams,
  type StreamEvent,
  type TaskState,
} from "../a2a/index.js";
import { invalidArgument } from "../errors.js";
import { principalOf } from "../server/context.js";
import { checkA2aVersion, toA2aConnectError } from "./a2a-errors.js";

// lf.a2a.v1.A2AService (A2A's gRPC binding, also served over Connect and gRPC-Web) as a thin adapter: requests go
// to the bridge in A2A's JSON form, answers come back from it the same way.

export function registerA2aService(router: ConnectRouter, a2a: A2a): void {
  router.service(A2AService, {
    async sendMessage(req, ctx) {
      return guard(ctx, async () => {
        const task = await a2a.sendMessage(principalOf(ctx), sendParams(req), callOptions(ctx));
        return fromJson(SendMessageResponseSchema, { task } as unknown as JsonValue) as SendMessageResponse;
      });
    },
    sendStreamingMessage(req, ctx) {
      return guardStream(ctx, () => a2a.streamMessage(principalOf(ctx), sendParams(req), callOptions(ctx)));
    },
    async getTask(req, ctx) {
      return guard(ctx, async () => asTask(await a2a.getTask(principalOf(ctx), req.id, req.historyLength)));
    },
    async listTasks(req, ctx) {
      return guard(ctx, async () => {
        const page = await a2a.listTasks(principalOf(ctx), {
          tenant: req.tenant,
          contextId: req.contextId,
          state: req.status === TaskStateEnum.UNSPECIFIED ? undefined : (`TASK_STATE_${TaskStateEnum[req.status]}` as TaskState),
          stateAfter: req.statusTimestampAfter && timestampDate(req.statusTimestampAfter),
          pageSize: req.pageSize,
          pageToken: req.pageToken,
          historyLength: req.historyLength,
          includeArtifacts: req.includeArtifacts ?? false,
        });
        return fromJson(ListTasksResponseSchema, page as unknown as JsonValue);
      });
    },
    async cancelTask(req, ctx) {
      return guard(ctx, async () => asTask(await a2a.cancelTask(principalOf(ctx), req.id)));
    },
    subscribeToTask(req, ctx) {
      return guardStream(ctx, () =>
        a2a.subscribe(principalOf(ctx), req.id, resumePosition(ctx.requestHeader.get(RESUME_AFTER_HEADER)), ctx.signal),
      );
    },
    async createTaskPushNotificationConfig() {
      throw toA2aConnectError(noPush());
    },
    async getTaskPushNotificationConfig() {
      throw toA2aConnectError(noPush());
    },
    async listTaskPushNotificationConfigs() {
      throw toA2aConnectError(noPush());
    },
    async deleteTaskPushNotificationConfig() {
      throw toA2aConnectError(noPush());
    },
    async getExtendedAgentCard() {
      throw toA2aConnectError(noExtendedCard());
    },
  });
}

/** The resumable-streams extension's position: a seq, or undefined when not asked. */
export function resumePosition(header: string | null | undefined): number | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const value = Number(header.trim());
  if (!Number.isSafeInteger(value) || value < 0) throw invalidArgument(RESUME_AFTER_HEADER, "must be a sequence number (0 or more)");
  return value;
}

export function noPush(): A2aError {
  return new A2aError(
    "PUSH_NOTIFICATION_NOT_SUPPORTED",
    "this gateway sends no push notifications; follow a task with SubscribeToTask (resumable) or GetTask",
  );
}

export function noExtendedCard(): A2aError {
  return new A2aError("EXTENDED_AGENT_CARD_NOT_CONFIGURED", "agentnet agents have no extended card; their public card says everything");
}

/** A unary call: the A2A-Version checked, A2A's errors in A2A's form. */
async function guard<T>(ctx: HandlerContext, call: () => Promise<T>): Promise<T> {
  try {
    checkA2aVersion(ctx.requestHeader.get("a2a-version"));
    return await call();
  } catch (err) {
    throw toA2aConnectError(err);
  }
}

/** The same for a server stream, whose events become StreamResponses. */
async function* guardStream(ctx: HandlerContext, events: () => AsyncGenerator<StreamEvent>): AsyncGenerator<StreamResponse> {
  try {
    checkA2aVersion(ctx.requestHeader.get("a2a-version"));
    for await (const event of events()) yield streamResponse(event);
  } catch (err) {
    throw toA2aConnectError(err);
  }
}

function callOptions(ctx: HandlerContext) {
  return { asAccountId: ctx.requestHeader.get(AS_ACCOUNT_PARAMETER)?.trim() ?? "", signal: ctx.signal };
}

function sendParams(req: MessageShape<typeof SendMessageRequestSchema>): SendMessageParams {
  return { ...json(SendMessageRequestSchema, req), tenant: req.tenant } as unknown as SendMessageParams;
}

function asTask(task: unknown): TaskMessage {
  return fromJson(TaskSchema, task as JsonValue);
}

function streamResponse(event: StreamEvent): StreamResponse {
  return fromJson(StreamResponseSchema, event as unknown as JsonValue);
}

function json<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Record<string, unknown> {
  return toJson(schema, message) as Record<string, unknown>;
}
