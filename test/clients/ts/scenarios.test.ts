// Runs clients/scenarios.json with the TypeScript SDK against a live gateway, on both backends.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryStatus } from "../../../gen/agentnet/v1/messaging_pb.js";
import { type PresenceEvent, PresenceEventType } from "../../../gen/agentnet/v1/registry_pb.js";
import { type SessionEvent, SessionEventType, SessionStatus } from "../../../gen/agentnet/v1/session_pb.js";
import {
  type Agent,
  AgentnetError,
  type AgentnetClient,
  type AssembledStream,
  Code,
  type IncomingMessage,
  NoRespondersError,
  RateLimitedError,
  type StatusName,
  StreamCollector,
  sessionEventTypeName,
  statusName,
} from "../../../clients/ts/src/index.js";
import { MODES } from "../../support/gateway.js";
import { type Network, startNetwork, until } from "./helpers.js";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Scenario {
  id: string;
  description: string;
  params?: Record<string, Json>;
  expect: Record<string, Json>;
}
interface Spec {
  agents: Record<"sender" | "receiver", { username: string; capabilities: string[]; metadata: Record<string, Json>; bio?: string }>;
  scenarios: Scenario[];
}

const sessionStatusName = (s: SessionStatus) => (SessionStatus[s] ?? "").toLowerCase();
const presenceEventTypeName = (t: PresenceEventType) => (PresenceEventType[t] ?? "").toLowerCase();

/** "UNAVAILABLE" → "Unavailable", "RESOURCE_EXHAUSTED" → "ResourceExhausted": scenarios.json's code names as Code's keys. */
const pascal = (name: string) => name.toLowerCase().replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase());

const specPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../clients/scenarios.json");
const raw = readFileSync(specPath, "utf8");

describe.each(MODES)("client scenarios, TypeScript (%s)", (mode) => {
  const run = Math.random().toString(36).slice(2, 8);
  const spec = JSON.parse(raw.replaceAll("{run}", run)) as Spec;
  let net: Network;
  let senderClient: AgentnetClient;
  let receiverClient: AgentnetClient;
  let sender: Agent;
  let receiver: Agent;
  const handled = new Map<string, number>();
  const payloads = new Map<string, unknown>();

  const impl: Record<string, (p: Record<string, Json>, e: Record<string, Json>) => Promise<void>> = {
    async register(_p, e) {
      const { sender: s, receiver: r } = spec.agents;
      sender = await senderClient.register({ username: s.username, capabilities: s.capabilities, metadata: s.metadata as never });
      receiver = await receiverClient.register({
        username: r.username,
        capabilities: r.capabilities,
        metadata: r.metadata as never,
        bio: r.bio,
      });
      for (const agent of [sender, receiver]) {
        expect(agent.accountId.startsWith(String(e["account_id_prefix"]))).toBe(true);
        expect(agent.sessionTag.startsWith(String(e["session_tag_prefix"]))).toBe(true);
        expect(agent.heartbeatInterval).toBe(e["heartbeat_interval_seconds"]);
      }
      expect(sender.username).toBe(e["sender_username"]);
      receiver.onMessage(async (m) => {
        handled.set(m.messageId, (handled.get(m.messageId) ?? 0) + 1);
        payloads.set(m.messageId, m.payload);
        if (m.text?.startsWith("resume-")) await new Promise((r) => setTimeout(r, 150));
        if (m.isRequest) await m.replyText(`pong: ${m.text ?? ""}`);
        else if (m.payload["stream_back"] === true) {
          const words = (m.text ?? "").split(" ");
          const answer = m.stream();
          await answer.start();
          for (const [i, word] of words.entries()) await answer.delta(i < words.length - 1 ? `${word} ` : word);
          await answer.end();
        }
      });
      await receiver.ready();
    },

    async discover(p, e) {
      const online = await sender.listOnline();
      expect(online.map((a) => a.username)).toContain(receiver.username);
      const byQuery = await sender.searchAgents({ query: String(p["query"]) });
      expect(byQuery.map((a) => a.accountId)).toEqual([receiver.accountId]);
      const byCapability = await sender.searchAgents({ capability: String(p["capability"]), onlineOnly: true });
      expect(byCapability.map((a) => a.accountId)).toContain(receiver.accountId);
      const profile = await sender.getProfile(String(p["profile"]));
      expect(profile).toMatchObject({
        accountId: receiver.accountId,
        online: e["online"],
        capabilities: e["capabilities"],
        metadata: e["metadata"],
        bio: e["bio"],
      });
      expect(profile.sessionCount).toBeGreaterThanOrEqual(Number(e["min_sessions"]));
    },

    async send_with_receipts(p, e) {
      const abort = new AbortController();
      const seen: StatusName[] = [];
      let synced!: () => void;
      const live = new Promise<void>((r) => (synced = r));
      const messageId = `scn_${run}_receipts`;
      const watching = (async () => {
        for await (const receipt of sender.watchReceipts({
          accountIds: [sender.accountId],
          onSynced: () => synced(),
          signal: abort.signal,
        })) {
          if (receipt.messageId === messageId) seen.push(statusName(receipt.status) as StatusName);
        }
      })().catch(() => undefined);
      await live;
      const sent = await sender.send(String(p["to"]), p["payload"] as never, { waitFor: "processed", messageId });
      expect(statusName(sent.status)).toBe(e["status"]);
      await until(() => seen.length >= 3, 20_000, "three receipts");
      expect(seen).toEqual(e["receipts"]);
      expect(payloads.get(sent.messageId)).toEqual(e["received_payload"]);
      abort.abort();
      await watching;
    },

    async request_reply(p, e) {
      const reply = await sender.request(String(p["to"]), p["payload"] as never, {
        threadId: String(p["thread_id"]),
        timeoutMs: Number(p["timeout_ms"]),
      });
      expect(reply.kind).toBe(e["kind"]);
      expect(reply.payload).toEqual(e["payload"]);
      expect(reply.threadId).toBe(e["thread_id"]);
      const [request] = (await sender.searchMessages({ threadId: reply.threadId, kind: "request" })).items;
      expect(reply.parentMessageId === request?.messageId).toBe(e["parent_is_request"]);
    },

    async send_to_capability(p, e) {
      const sent = await sender.send(String(p["to"]), p["payload"] as never, { waitFor: p["wait_for"] as "processed" });
      expect(statusName(sent.status)).toBe(e["status"]);
      expect(sent.toAccountId === receiver.accountId).toBe(e["to_receiver"]);
      expect(payloads.get(sent.messageId)).toEqual(e["received_payload"]);
      const nobody = await sender.send(String(p["nobody"]), p["payload"] as never).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(nobody).toBeInstanceOf(NoRespondersError);
      expect(Code[(nobody as NoRespondersError).code]).toBe(pascal(String(e["nobody_code"])));
      expect((nobody as NoRespondersError).reason).toBe(e["nobody_reason"]);
    },

    async request_to_capability(p, e) {
      const reply = await sender.request(String(p["to"]), p["payload"] as never, { timeoutMs: Number(p["timeout_ms"]) });
      expect(reply.kind).toBe(e["kind"]);
      expect(reply.payload).toEqual(e["payload"]);
      expect(reply.from.accountId === receiver.accountId).toBe(e["from_receiver"]);
    },

    async streamed_answer(p, e) {
      const collector = new StreamCollector();
      const parts: IncomingMessage[] = [];
      let assembled: AssembledStream | undefined;
      sender.onMessage(async (m) => {
        parts.push(m);
        assembled = collector.add(m) ?? assembled;
      });
      await sender.ready();
      const sent = await sender.send(String(p["to"]), p["payload"] as never, { threadId: String(p["thread_id"]) });
      await until(() => assembled?.done === true, 20_000, "the streamed answer to end");
      expect(assembled!.text).toBe(e["text"]);
      expect(assembled!.error ?? null).toEqual(e["error"]);
      expect(parts).toHaveLength(Number(e["parts"]));
      expect(new Set(parts.map((m) => m.kind))).toEqual(new Set([e["kind"]]));
      expect(new Set(parts.map((m) => m.threadId))).toEqual(new Set([e["thread_id"]]));
      expect(parts.every((m) => m.parentMessageId === sent.messageId)).toBe(e["parent_is_message"]);
    },

    async blobs(p, e) {
      const blob = await sender.putBlob(String(p["content"]), { mimeType: String(p["mime_type"]), filename: String(p["filename"]) });
      const head = await sender.headBlob(blob.blobId);
      expect({ size: Number(head.sizeBytes), mime: head.mimeType, filename: head.filename, sha: head.sha256.length }).toEqual({
        size: e["size_bytes"],
        mime: e["mime_type"],
        filename: e["filename"],
        sha: e["sha256_hex_length"],
      });
      const sent = await sender.sendBlobRef(String(p["to"]), blob, { waitFor: "processed" });
      const ref = payloads.get(sent.messageId) as Record<string, Json>;
      expect(ref["blob_id"]).toBe(blob.blobId);
      expect(await receiver.getBlobText(String(ref["blob_id"]))).toBe(e["received_text"]);
      expect(await sender.deleteBlob(blob.blobId)).toBe(e["deleted"]);
      expect(await sender.deleteBlob(blob.blobId)).toBe(e["deleted_again"]);
      const gone = await receiver.getBlob(blob.blobId).then(
        () => undefined,
        (err: unknown) => err as AgentnetError,
      );
      expect(gone).toBeInstanceOf(AgentnetError);
      expect([Code[gone!.code], gone!.reason]).toEqual([pascal(String(e["after_delete_code"])), e["after_delete_reason"]]);
    },

    async threads_paging(p, e) {
      await new Promise((r) => setTimeout(r, Number(p["quiet_ms"])));
      const threadId = String(p["thread_id"]);
      for (let i = 0; i < Number(p["count"]); i++) {
        await sender.send(String(p["to"]), { text: `${String(p["text_prefix"])}${i}` }, { threadId, waitFor: "processed" });
      }
      const sizes: number[] = [];
      const texts: Json[] = [];
      let cursor = "";
      do {
        const page = await sender.getThreadMessages(threadId, { limit: Number(p["page_size"]), cursor });
        sizes.push(page.items.length);
        texts.push(...page.items.map((m) => (m.payload?.["text"] ?? null) as Json));
        cursor = page.nextCursor;
      } while (cursor !== "");
      expect(sizes).toEqual(e["page_sizes"]);
      expect(texts).toEqual(e["texts"]);
      const status = await sender.threadStatus(threadId);
      expect([Number(status.messageCount), Number(status.pendingMessages)]).toEqual([e["message_count"], e["pending_messages"]]);
      const threads = await sender.listThreads({ limit: 20 });
      expect(threads.items[0]?.threadId === threadId).toBe(e["listed_first"]);
    },

    async chat_session_echo(p, e) {
      const agent = String(p["agent"]);
      const session = await senderClient.createChatSession({ agents: { [agent]: { provider: String(p["provider"]) } } });
      expect(sessionStatusName(session.status)).toBe(e["status"]);
      const sent = await senderClient.sendChatMessage(session.sessionId, String(p["content"]), { waitForResponse: true });
      expect(sent.response?.sender).toBe(e["response_sender"]);
      expect(sent.response?.content).toContain(e["response_contains"]);
      const abort = new AbortController();
      const replayed: SessionEvent[] = [];
      for await (const event of senderClient.streamChatSession(session.sessionId, { afterSeq: 0, signal: abort.signal })) {
        replayed.push(event);
        if (event.type === SessionEventType.RESPONSE) break;
      }
      const deltas = replayed.filter((ev) => ev.type === SessionEventType.DELTA);
      expect(replayed.filter((ev) => ev.type !== SessionEventType.DELTA).map((ev) => sessionEventTypeName(ev.type))).toEqual(
        e["replayed_types"],
      );
      expect(deltas.length).toBeGreaterThanOrEqual(Number(e["deltas_min"]));
      expect(deltas.map((d) => d.content).join("") === replayed.at(-1)?.content).toBe(e["deltas_join_to_response"]);

      await senderClient.sendChatMessage(session.sessionId, String(p["again"]), { waitForResponse: true });
      const resumed = senderClient.streamChatSession(session.sessionId, { afterSeq: replayed.at(-1)!.seq, signal: abort.signal });
      const first = (await resumed.next()).value as SessionEvent;
      await resumed.return(undefined);
      expect([sessionEventTypeName(first.type), first.content]).toEqual([e["resumed_first_type"], e["resumed_first_content"]]);

      await senderClient.deleteChatSession(session.sessionId);
      const gone = await senderClient.getChatSession(session.sessionId).then(
        () => undefined,
        (err: unknown) => err as AgentnetError,
      );
      expect(gone).toBeInstanceOf(AgentnetError);
      expect([Code[gone!.code], gone!.reason]).toEqual([pascal(String(e["after_delete_code"])), e["after_delete_reason"]]);
    },

    async presence_events(p, e) {
      const abort = new AbortController();
      const events: PresenceEvent[] = [];
      let snapshotCount = -1;
      let synced!: () => void;
      const live = new Promise<void>((r) => (synced = r));
      const watching = (async () => {
        for await (const ev of sender.watchPresence({
          capability: String(p["capability"]),
          includeSnapshot: true,
          onSynced: (n) => {
            snapshotCount = n;
            synced();
          },
          signal: abort.signal,
        })) {
          events.push(ev);
        }
      })().catch(() => undefined);
      await live;
      expect(snapshotCount).toBe(e["snapshot_count"]);
      const visitor = await receiverClient.register({ username: String(p["visitor"]), capabilities: [String(p["capability"])] });
      await until(() => events.some((ev) => ev.type === PresenceEventType.ONLINE), 20_000, "the visitor to come online");
      await visitor.close();
      await until(() => events.some((ev) => ev.type === PresenceEventType.OFFLINE), 20_000, "the visitor to go offline");
      abort.abort();
      await watching;
      const mine = events.filter((ev) => ev.account?.accountId === visitor.accountId);
      expect(mine.map((ev) => presenceEventTypeName(ev.type))).toEqual(e["events"]);
      expect(mine.every((ev) => ev.snapshot === e["snapshot"])).toBe(true);
      expect(mine.at(-1)?.reason).toBe(e["offline_reason"]);
    },

    async resume_after_reconnect(p, e) {
      const count = Number(p["count"]);
      const ids: string[] = [];
      for (let i = 0; i < count; i++) ids.push((await sender.sendText(receiver.username, `${String(p["payload_prefix"])}${i}`)).messageId);
      await until(() => ids.some((id) => handled.has(id)), 20_000, "the first message to be handled");
      // The gateway goes away mid-work: the inbox stream ends, acks in the air may be lost.
      await net.restart(400);
      await until(() => ids.every((id) => handled.has(id)), 20_000, "every message to be handled after the reconnect");
      expect(ids.filter((id) => handled.get(id) === 1)).toHaveLength(Number(e["handled"]));
      expect(ids.filter((id) => (handled.get(id) ?? 0) > 1)).toHaveLength(Number(e["handled_twice"]));
      // And every one of them ends processed on the server (acks made it, or were repeated after redelivery).
      await until(
        async () => {
          const { items } = await sender.searchMessages({ from: sender.accountId, to: receiver.accountId, limit: 100 });
          return ids.every((id) => items.find((m) => m.messageId === id)?.status === DeliveryStatus.PROCESSED);
        },
        20_000,
        "every message to be processed",
      );
    },

    async idempotent_retry(p, e) {
      const first = await sender.send(String(p["to"]), p["payload"] as never, { idempotencyKey: String(p["idempotency_key"]) });
      // A retry is a new attempt (new message id chosen by the SDK) with the same key.
      const again = await sender.send(String(p["to"]), p["payload"] as never, { idempotencyKey: String(p["idempotency_key"]) });
      expect(again.messageId === first.messageId).toBe(e["same_message_id"]);
      expect(again.duplicate).toBe(e["second_duplicate"]);
      await until(() => handled.has(first.messageId), 20_000, "the message to be handled");
      await new Promise((r) => setTimeout(r, 300));
      expect(handled.get(first.messageId)).toBe(e["handled"]);
    },

    async expiry(p, e) {
      const offline = await receiverClient.register({ username: String(p["to_username"]) });
      await offline.close();
      const since = new Date(Date.now() - 1000);
      const sent = await sender.sendText(`@${String(p["to_username"])}`, "too late", { ttlMs: Number(p["ttl_ms"]) });
      const abort = new AbortController();
      let last: { status: string; code: string } | undefined;
      for await (const r of sender.watchReceipts({ messageIds: [sent.messageId], since, signal: abort.signal })) {
        last = { status: statusName(r.status), code: r.code };
        if (last.status === e["final_status"]) break;
      }
      expect(last).toEqual({ status: e["final_status"], code: e["code"] });
    },

    async rate_limit(p, e) {
      // Counts are ranges (see scenarios.json): the sends reach the server spread over time and each 200 ms refills a token.
      await new Promise((r) => setTimeout(r, Number(p["quiet_ms"])));
      const sends = Number(p["sends"]);
      const results = await Promise.allSettled(
        Array.from({ length: sends }, (_, i) => sender.sendText(String(p["to"]), `burst ${i}`, { retries: 0 })),
      );
      const accepted = results.filter((r) => r.status === "fulfilled").length;
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      expect(accepted).toBeGreaterThanOrEqual(Number(e["accepted_min"]));
      expect(refused.length).toBeGreaterThanOrEqual(Number(e["refused_min"]));
      expect(accepted + refused.length).toBe(sends);
      for (const err of refused) {
        expect(err).toBeInstanceOf(RateLimitedError);
        const limited = err as RateLimitedError;
        expect(limited.reason).toBe(e["reason"]);
        expect(Code[limited.code]).toBe(pascal(String(e["code"])));
        expect(limited.retryAfterMs).toBeGreaterThan(0);
        expect(limited.retryAfterMs).toBeLessThanOrEqual(Number(e["retry_after_ms_max"]));
      }
    },
  };

  beforeAll(async () => {
    net = await startNetwork(mode);
    senderClient = (await net.user(`scn_${run}_s`)).client();
    receiverClient = (await net.user(`scn_${run}_r`)).client();
  });
  afterAll(async () => net?.close());

  it("implements every scenario of clients/scenarios.json", () => {
    expect(Object.keys(impl).sort()).toEqual(spec.scenarios.map((sc) => sc.id).sort());
  });

  for (const scenario of spec.scenarios) {
    it(`${scenario.id}: ${scenario.description}`, async () => {
      await impl[scenario.id]!(scenario.params ?? {}, scenario.expect);
    });
  }
});
