// `agentnet chat`: an interactive conversation with one agent from one of the caller's accounts. Each line is sent
// as a request in the current thread and the answer is printed: a reply when it comes, a streamed answer piece by
// piece as it arrives; `/thread <id>` switches threads, `/showthread`
// prints the current one, `/quit` (or end of input) leaves. Works on a pipe too, one line per message.
import type { Command } from "commander";
import { createInterface } from "node:readline";
import { EnvelopeSchema } from "../../../gen/agentnet/v1/messaging_pb.js";
import type { AgentnetClient } from "@agentnet/client";
import { type ApiOptions, type TargetOptions, actingAs, apiAction, targetOf, withApi, withTarget } from "./connection.js";
import { describeFailure, positiveInt } from "./errors.js";
import { handle, jsonLine, note, out, protoJson } from "./output.js";
import { streamedAsk } from "./streamed-ask.js";

const HELP = "commands: /thread <id> switches thread, /showthread prints it, /quit leaves; anything else is sent";

export function registerChat(program: Command): void {
  withTarget(withApi(program.command("chat").description("chat interactively with an agent (/thread <id>, /showthread, /quit)")))
    .option("--as <account>", "account to chat as (account id or @username; default: your only account)")
    .option("--thread-id <thread>", "thread to talk in (default: a new one)")
    .option("--timeout-ms <ms>", "how long to wait for each reply", "60000")
    .action(
      apiAction(async (client: AgentnetClient, o: ApiOptions & TargetOptions & { as?: string; threadId?: string; timeoutMs: string }) => {
        const to = targetOf(o);
        const timeoutMs = positiveInt(o.timeoutMs, "--timeout-ms");
        const actor = await actingAs(client, o.as);
        let threadId = o.threadId ?? `chat_${globalThis.crypto.randomUUID().slice(0, 8)}`;
        const interactive = Boolean(process.stdin.isTTY);
        if (interactive) note(`chatting in ${threadId}; ${HELP}`);
        const lines = createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive });
        const prompt = () => interactive && lines.prompt();
        lines.setPrompt("you> ");
        prompt();
        let failed = false;
        for await (const raw of lines) {
          const line = raw.trim();
          if (line === "") {
            prompt();
            continue;
          }
          if (line === "/quit" || line === "/exit") break;
          if (line === "/showthread") out(`thread: ${threadId}`);
          else if (line.startsWith("/thread")) {
            const next = line.slice("/thread".length).trim();
            if (next === "") note("usage: /thread <id>");
            else out(`thread: ${(threadId = next)}`);
          } else if (line === "/help") note(HELP);
          else if (line.startsWith("/")) note(`unknown command ${line.split(/\s/)[0]}; ${HELP}`);
          else {
            try {
              const answer = await streamedAsk(actor, to, line, {
                threadId,
                timeoutMs: timeoutMs ?? 60_000,
                onStreamStart: (from) => o.json || process.stdout.write(`${handle(from)}: `),
                onPiece: (piece) => o.json || process.stdout.write(piece),
              });
              if (answer.kind === "reply") {
                if (o.json) jsonLine({ reply: protoJson(EnvelopeSchema, answer.reply.envelope) });
                else out(`${handle(answer.reply.from.username)}: ${answer.text}`);
              } else {
                if (o.json)
                  jsonLine({ stream: { from: answer.from, text: answer.text, ...(answer.error ? { error: answer.error } : {}) } });
                else process.stdout.write("\n");
                if (answer.error) {
                  failed = true;
                  process.stderr.write(`agentnet: the answer stream ended with ${answer.error.code}: ${answer.error.detail}\n`);
                }
              }
            } catch (err) {
              failed = true;
              process.stderr.write(`agentnet: ${describeFailure(err)}\n`);
            }
          }
          prompt();
        }
        lines.close();
        if (failed) process.exitCode = 1;
      }),
    );
}
