// `agentnet send` and `agentnet request`: one message from one of the caller's accounts, by the seed's flags.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { text as readAll } from "node:stream/consumers";
import { EnvelopeSchema, SendResponseSchema } from "../../../gen/agentnet/v1/messaging_pb.js";
import { type AgentnetClient, type KindName, type WaitForName, statusName } from "@agentnet/client";
import { type ApiOptions, type TargetOptions, actingAs, apiAction, targetOf, withApi, withTarget } from "./connection.js";
import { UsageError, positiveInt } from "./errors.js";
import { handle, json, out, protoJson } from "./output.js";

interface MessageOptions extends ApiOptions, TargetOptions {
  as?: string;
  text?: string;
  threadId?: string;
  parent?: string;
  traceId?: string;
  idempotencyKey?: string;
  ttlMs?: string;
}

const KINDS = ["direct", "request", "reply", "error", "system", "stream"];

function withMessage(cmd: Command): Command {
  return withTarget(withApi(cmd))
    .argument("[payload]", "the payload as a JSON object, or - to read it from standard input")
    .option("--text <text>", 'send {"text": <text>} as the payload')
    .option("--as <account>", "account to send as (account id or @username; default: your only account)")
    .option("--thread-id <thread>", "thread to post in (default: a new thread)")
    .option("--parent <message_id>", "the message this one follows")
    .option("--trace-id <trace>", "correlation id")
    .option("--idempotency-key <key>", "makes retries of this send return the original")
    .option("--ttl-ms <ms>", "time to live in milliseconds (server default 30000)");
}

async function payloadOf(arg: string | undefined, text: string | undefined): Promise<JsonObject> {
  if (arg !== undefined && text !== undefined) throw new UsageError("give the payload as an argument or --text, not both");
  if (text !== undefined) return { text };
  if (arg === undefined) throw new UsageError('no payload: give a JSON object (e.g. \'{"text":"yo"}\') or --text');
  const source = arg === "-" ? await readAll(process.stdin) : arg;
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch {
    throw new UsageError(`the payload is not valid JSON: ${source.slice(0, 80)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new UsageError("the payload must be a JSON object");
  return value as JsonObject;
}

export function registerMessages(program: Command): void {
  withMessage(program.command("send").description("send one message and print its id and status"))
    .option("--kind <kind>", `message kind: ${KINDS.join(", ")}`, "direct")
    .option("--wait <status>", "wait until the message is delivered or processed")
    .option("--wait-timeout-ms <ms>", "longest wait for --wait (default: the message's TTL)")
    .action(
      apiAction(
        async (
          client: AgentnetClient,
          payloadArg: string | undefined,
          o: MessageOptions & { kind: string; wait?: string; waitTimeoutMs?: string },
        ) => {
          const to = targetOf(o);
          if (!KINDS.includes(o.kind)) throw new UsageError(`--kind must be one of ${KINDS.join(", ")}, got "${o.kind}"`);
          if (o.wait !== undefined && o.wait !== "delivered" && o.wait !== "processed") {
            throw new UsageError(`--wait must be delivered or processed, got "${o.wait}"`);
          }
          const payload = await payloadOf(payloadArg, o.text);
          const ttlMs = positiveInt(o.ttlMs, "--ttl-ms");
          const waitTimeoutMs = positiveInt(o.waitTimeoutMs, "--wait-timeout-ms");
          const actor = await actingAs(client, o.as);
          const res = await actor.send(to, payload, {
            kind: o.kind as KindName,
            threadId: o.threadId,
            parentMessageId: o.parent,
            traceId: o.traceId,
            idempotencyKey: o.idempotencyKey,
            ttlMs,
            waitFor: o.wait as WaitForName | undefined,
            waitTimeoutMs,
          });
          if (o.json) return json(protoJson(SendResponseSchema, res));
          const code = res.receipt?.code ? ` (${res.receipt.code}${res.receipt.detail ? `: ${res.receipt.detail}` : ""})` : "";
          out(
            `sent ${res.messageId} to ${res.toAccountId} in ${res.threadId}: ${statusName(res.status)}${code}` +
              `${res.duplicate ? " (duplicate: the original was returned)" : ""}${res.waitTimedOut ? " (the wait timed out)" : ""}`,
          );
        },
      ),
    );

  withMessage(program.command("request").description("send a request and print the reply"))
    .option("--timeout-ms <ms>", "how long to wait for the reply", "30000")
    .action(
      apiAction(async (client: AgentnetClient, payloadArg: string | undefined, o: MessageOptions & { timeoutMs: string }) => {
        const to = targetOf(o);
        const payload = await payloadOf(payloadArg, o.text);
        const timeoutMs = positiveInt(o.timeoutMs, "--timeout-ms");
        const ttlMs = positiveInt(o.ttlMs, "--ttl-ms");
        const actor = await actingAs(client, o.as);
        const reply = await actor.request(to, payload, {
          threadId: o.threadId,
          parentMessageId: o.parent,
          traceId: o.traceId,
          idempotencyKey: o.idempotencyKey,
          ttlMs,
          timeoutMs,
        });
        if (o.json) return json(protoJson(EnvelopeSchema, reply.envelope));
        const body = reply.text ?? JSON.stringify(reply.payload);
        out(`${handle(reply.from.username)} (${reply.kind}, ${reply.messageId} in ${reply.threadId}):`);
        out(body);
        if (reply.kind === "error") process.exitCode = 1;
      }),
    );
}
