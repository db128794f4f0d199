// `agentnet sessions …`: chat sessions with hosted AI agents (SessionService) from a terminal — create, send, stream,
// and the bookkeeping around them.
import { type Command, InvalidArgumentError } from "commander";
import {
  ChatSessionSchema,
  type ChatSession,
  ProviderInfoSchema,
  SendSessionMessageResponseSchema,
  SessionEventSchema,
  SessionEventType,
  SessionService,
  SessionStatus,
  SessionType,
} from "../../../gen/agentnet/v1/session_pb.js";
import type { AgentnetClient } from "@agentnet/client";
import { type ApiOptions, apiAction, withApi } from "./connection.js";
import { UsageError, positiveInt } from "./errors.js";
import { json, jsonLine, keyValues, out, protoJson, table, time } from "./output.js";

const eventName = (t: SessionEventType) => (SessionEventType[t] ?? "").toLowerCase();
const typeName = (t: SessionType) => (SessionType[t] ?? "").toLowerCase().replace("_", "-");

function parseAgent(spec: string, prev: Record<string, { provider: string; model: string }>) {
  const m = /^([^=]+)=([^:]+)(?::(.+))?$/.exec(spec);
  // Commander reports InvalidArgumentError from option parsers as a usage error (exit 2).
  if (!m) throw new InvalidArgumentError(`use name=provider or name=provider:model, got "${spec}"`);
  return { ...prev, [m[1]!]: { provider: m[2]!, model: m[3] ?? "" } };
}

function printSession(s: ChatSession): void {
  keyValues([
    ["session_id", s.sessionId],
    ["type", typeName(s.sessionType)],
    ["status", (SessionStatus[s.status] ?? "-").toLowerCase()],
    ["thread_id", s.threadId],
    [
      "agents",
      Object.values(s.agents)
        .map((a) => `${a.name} (@${a.username}, ${a.provider}${a.model ? `/${a.model}` : ""})`)
        .join(", "),
    ],
    ["turns", `${s.turnCount}${s.maxTurns ? ` of ${s.maxTurns}` : ""}`],
    ["created_at", time(s.createdAt)],
    ["expires_at", time(s.expiresAt)],
  ]);
}

export function registerSessions(program: Command): void {
  const sessions = program.command("sessions").description("chat sessions with hosted AI agents");

  withApi(sessions.command("providers").description("list the AI providers the server offers")).action(
    apiAction(async (client: AgentnetClient, o: ApiOptions) => {
      const { providers } = await client.service(SessionService).listProviders({});
      if (o.json) return json(providers.map((p) => protoJson(ProviderInfoSchema, p)));
      table(
        ["PROVIDER", "CONFIGURED", "DEFAULT MODEL"],
        providers.map((p) => [p.name, p.configured ? "yes" : "no", p.defaultModel || "-"]),
      );
    }),
  );

  withApi(sessions.command("create").description("create a session; its agents start at once"))
    .option("--agent <name=provider[:model]>", "an agent of the session (repeatable; default assistant=echo)", parseAgent, {})
    .option("--type <human-agent|agent-agent>", "one agent answering you, or two agents conversing", "human-agent")
    .option("--goal <text>", "what the agents should achieve")
    .option("--opening-message <text>", "agent-agent: the message that starts the conversation")
    .option("--first-speaker <name>", "agent-agent: which agent speaks first")
    .option("--max-turns <n>", "stop after this many agent turns")
    .action(
      apiAction(
        async (
          client: AgentnetClient,
          o: ApiOptions & {
            agent: Record<string, { provider: string; model: string }>;
            type: string;
            goal?: string;
            openingMessage?: string;
            firstSpeaker?: string;
            maxTurns?: string;
          },
        ) => {
          const type = { "human-agent": SessionType.HUMAN_AGENT, "agent-agent": SessionType.AGENT_AGENT }[o.type];
          if (type === undefined) throw new UsageError(`--type must be human-agent or agent-agent, got "${o.type}"`);
          const agents = Object.keys(o.agent).length > 0 ? o.agent : { assistant: { provider: "echo", model: "" } };
          const { session } = await client.service(SessionService).createSession({
            sessionType: type,
            agents,
            goal: o.goal ?? "",
            openingMessage: o.openingMessage ?? "",
            firstSpeaker: o.firstSpeaker ?? "",
            maxTurns: positiveInt(o.maxTurns, "--max-turns"),
          });
          if (!session) throw new Error("the server answered CreateSession without a session");
          if (o.json) return json(protoJson(ChatSessionSchema, session));
          printSession(session);
        },
      ),
    );

  withApi(sessions.command("list").description("list your sessions (admins: --all for everyone's)"))
    .option("--all", "every user's sessions (admins)", false)
    .action(
      apiAction(async (client: AgentnetClient, o: ApiOptions & { all: boolean }) => {
        const { sessions: list } = await client.service(SessionService).listSessions({ all: o.all, pageSize: 200 });
        if (o.json) return json(list.map((s) => protoJson(ChatSessionSchema, s)));
        if (list.length === 0) return out("no sessions");
        table(
          ["SESSION", "TYPE", "TURNS", "AGENTS", "CREATED"],
          list.map((s) => [s.sessionId, typeName(s.sessionType), String(s.turnCount), Object.keys(s.agents).join(", "), time(s.createdAt)]),
        );
      }),
    );

  withApi(sessions.command("get").description("show one session"))
    .argument("<session_id>")
    .action(
      apiAction(async (client: AgentnetClient, id: string, o: ApiOptions) => {
        const { session } = await client.service(SessionService).getSession({ sessionId: id });
        if (!session) throw new Error("the server answered GetSession without a session");
        if (o.json) return json(protoJson(ChatSessionSchema, session));
        printSession(session);
      }),
    );

  withApi(sessions.command("send").description("send a message to a session's agent; --wait prints its answer"))
    .argument("<session_id>")
    .argument("<text>")
    .option("--to-agent <name>", "which agent answers (default: the session's only or first)")
    .option("--wait", "wait for the agent's complete answer and print it", false)
    .action(
      apiAction(async (client: AgentnetClient, id: string, text: string, o: ApiOptions & { toAgent?: string; wait: boolean }) => {
        const res = await client
          .service(SessionService)
          .sendSessionMessage({ sessionId: id, content: text, toAgent: o.toAgent ?? "", waitForResponse: o.wait }, { timeoutMs: 120_000 });
        if (o.json) return json(protoJson(SendSessionMessageResponseSchema, res));
        if (res.response) out(`${res.response.sender}: ${res.response.content}`);
        else out(`sent as event ${res.seq} (${res.messageId})`);
      }),
    );

  withApi(sessions.command("stream").description("follow a session's events until it stops (or --count)"))
    .argument("<session_id>")
    .option("--after-seq <n>", "resume after this event number (0: from the start)", "0")
    .option("--count <n>", "stop after this many events")
    .option("--deltas", "show an answer's pieces as they are generated, joined on one line (the default)", true)
    .option("--no-deltas", "print only whole events")
    .action(
      apiAction(async (client: AgentnetClient, id: string, o: ApiOptions & { afterSeq: string; count?: string; deltas: boolean }) => {
        const afterSeq = Number(o.afterSeq);
        if (!Number.isSafeInteger(afterSeq) || afterSeq < 0)
          throw new UsageError(`--after-seq must be a whole number, got "${o.afterSeq}"`);
        const limit = positiveInt(o.count, "--count");
        const abort = new AbortController();
        const stop = () => abort.abort();
        process.once("SIGINT", stop);
        let seen = 0;
        // The response id of the answer whose pieces are being written on the current line, if any.
        let open: string | undefined;
        const endLine = () => {
          if (open !== undefined) process.stdout.write("\n");
          open = undefined;
        };
        try {
          for await (const event of client.streamChatSession(id, { afterSeq, signal: abort.signal })) {
            if (event.type === SessionEventType.DELTA && !o.json) {
              if (!o.deltas) continue;
              if (open !== event.responseId) {
                endLine();
                process.stdout.write(`${event.seq}  delta  ${event.sender || "-"}: `);
                open = event.responseId;
              }
              process.stdout.write(event.content);
              continue;
            }
            if (event.type === SessionEventType.DELTA && !o.deltas) continue;
            endLine();
            if (o.json) jsonLine(protoJson(SessionEventSchema, event));
            else out(`${event.seq}  ${eventName(event.type)}  ${event.sender || "-"}: ${event.content || event.reason}`);
            seen += 1;
            if (event.type === SessionEventType.STOP || (limit !== undefined && seen >= limit)) break;
          }
        } catch (err) {
          if (!abort.signal.aborted) throw err;
        } finally {
          endLine();
          process.off("SIGINT", stop);
        }
      }),
    );

  withApi(sessions.command("delete").description("stop and delete a session"))
    .argument("<session_id>")
    .action(
      apiAction(async (client: AgentnetClient, id: string, o: ApiOptions) => {
        const res = await client.service(SessionService).deleteSession({ sessionId: id });
        if (o.json) return json({ sessionId: res.sessionId });
        out(`deleted ${res.sessionId}`);
      }),
    );
}
