// `agentnet watch`: live copies of the messages arriving in the caller's accounts' inboxes (Subscribe OBSERVE: no
// effect on delivery) and the receipts of what they sent (WatchReceipts); admins see every account. The seed's
// `watch --subject 'account.*.inbox'` and `'account.*.receipts'`.
import type { Command } from "commander";
import { EnvelopeSchema, ReceiptSchema } from "../../../gen/agentnet/v1/messaging_pb.js";
import type { AgentnetClient, MessageView } from "@agentnet/client";
import { statusName } from "@agentnet/client";
import type { Receipt } from "../../../gen/agentnet/v1/messaging_pb.js";
import { type ApiOptions, apiAction, withApi } from "./connection.js";
import { UsageError, date, positiveInt } from "./errors.js";
import { clip, handle, jsonLine, note, out, protoJson, time } from "./output.js";

interface WatchOptions extends ApiOptions {
  inbox?: boolean;
  receipts?: boolean;
  account: string[];
  since?: string;
  count?: string;
}

export function registerWatch(program: Command): void {
  withApi(program.command("watch").description("watch live inbox traffic and delivery receipts of your accounts (admins: all)"))
    .option("--inbox", "only inbox traffic")
    .option("--receipts", "only receipts")
    .option("--account <agent>", "only this account id or @username (repeatable)", (v: string, prev: string[]) => [...prev, v], [])
    .option("--since <time>", "first replay stored receipts from this time (ISO 8601)")
    .option("--count <n>", "stop after this many events")
    .action(
      apiAction(async (client: AgentnetClient, o: WatchOptions) => {
        const both = !o.inbox && !o.receipts;
        const wantInbox = both || Boolean(o.inbox);
        const wantReceipts = both || Boolean(o.receipts);
        const since = date(o.since, "--since");
        if (since && !wantReceipts) throw new UsageError("--since replays receipts: drop --inbox or --since");
        const limit = positiveInt(o.count, "--count");
        const accountIds = await Promise.all(o.account.map((a) => client.resolveAccount(a)));

        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once("SIGINT", onSignal);
        process.once("SIGTERM", onSignal);
        let seen = 0;
        const counted = () => {
          seen += 1;
          if (limit !== undefined && seen >= limit) stop.abort();
        };
        let live = 0;
        const goneLive = () => {
          live += 1;
          if (live === Number(wantInbox) + Number(wantReceipts)) {
            note(`watching ${[wantInbox && "inbox", wantReceipts && "receipts"].filter(Boolean).join(" and ")} (Ctrl-C to stop)`);
          }
        };

        const tasks: Array<Promise<void>> = [];
        if (wantInbox) {
          tasks.push(
            (async () => {
              for await (const m of client.observe({ accountIds, onStarted: goneLive, signal: stop.signal })) {
                printMessage(m, o.json);
                counted();
              }
            })(),
          );
        }
        if (wantReceipts) {
          tasks.push(
            (async () => {
              for await (const r of client.watchReceipts({ accountIds, since, onSynced: goneLive, signal: stop.signal })) {
                printReceipt(r, o.json);
                counted();
              }
            })(),
          );
        }
        try {
          // Either stream failing ends the watch with its error.
          await Promise.all(tasks.map((t) => t.catch((err: unknown) => (stop.abort(), Promise.reject(err)))));
        } finally {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
        }
      }),
    );
}

function printMessage(m: MessageView, asJson: boolean | undefined): void {
  if (asJson) return jsonLine({ inbox: protoJson(EnvelopeSchema, m.envelope) });
  const e = m.envelope;
  out(
    `inbox    ${time(e.sentAt)}  ${handle(e.fromUsername)} -> ${handle(e.toUsername)}  ${m.kind}  ${e.threadId}  ${e.messageId}  ${clip(JSON.stringify(m.payload), 80)}`,
  );
}

function printReceipt(r: Receipt, asJson: boolean | undefined): void {
  if (asJson) return jsonLine({ receipt: protoJson(ReceiptSchema, r) });
  const why = r.code ? `  ${r.code}${r.detail ? `: ${clip(r.detail, 60)}` : ""}` : "";
  out(`receipt  ${time(r.eventAt)}  ${r.messageId}  ${statusName(r.status)}  ${r.senderAccountId} -> ${r.recipientAccountId}${why}`);
}
