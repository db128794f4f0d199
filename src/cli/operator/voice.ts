// `agentnet voice config|start|stop|list`: Agora tokens and Conversational AI voice agents (TokenService,
// VoiceAgentService), as the Agora seed's /get_config, /v2/startAgent and /v2/stopAgent.
import type { Command } from "commander";
import { GetConfigResponseSchema, TokenService } from "../../../gen/agentnet/v1/token_pb.js";
import {
  StartVoiceAgentResponseSchema,
  StopVoiceAgentResponseSchema,
  VoiceAgentSchema,
  VoiceAgentService,
  VoiceAgentStatus,
} from "../../../gen/agentnet/v1/voice_pb.js";
import type { AgentnetClient } from "@agentnet/client";
import { type ApiOptions, apiAction, withApi } from "./connection.js";
import { positiveInt } from "./errors.js";
import { json, keyValues, out, protoJson, table, time } from "./output.js";

const statusOf = (s: VoiceAgentStatus) => (VoiceAgentStatus[s] ?? "").toLowerCase();

export function registerVoice(program: Command): void {
  const voice = program.command("voice").description("Agora voice: tokens and Conversational AI agents");

  withApi(voice.command("config").description("an RTC token and channel for a client, as the seed's /get_config"))
    .option("--channel <name>", "channel to join (default: a new random one)")
    .option("--expires-in <seconds>", "token lifetime")
    .action(
      apiAction(async (client: AgentnetClient, o: ApiOptions & { channel?: string; expiresIn?: string }) => {
        const expires = positiveInt(o.expiresIn, "--expires-in");
        const res = await client
          .service(TokenService)
          .getConfig({ channelName: o.channel, expiresIn: expires === undefined ? undefined : BigInt(expires) });
        if (o.json) return json(protoJson(GetConfigResponseSchema, res));
        keyValues([
          ["app_id", res.appId],
          ["channel_name", res.channelName],
          ["uid", res.uid],
          ["agent_uid", res.agentUid],
          ["token", res.token],
          ["expires_at", time(res.expiresAt)],
        ]);
      }),
    );

  withApi(voice.command("start").description("start a voice agent in a channel"))
    .requiredOption("--channel <name>", "the channel the agent joins")
    .option("--agent-uid <uid>", "the agent's uid in the channel")
    .option("--remote-uid <uid>", "a user the agent listens to (repeatable)", (v: string, prev: string[]) => [...prev, v], [])
    .option("--name <name>", "a name for the agent")
    .option("--instructions <text>", "system instructions for its LLM")
    .option("--greeting <text>", "what it says on joining")
    .action(
      apiAction(
        async (
          client: AgentnetClient,
          o: ApiOptions & {
            channel: string;
            agentUid?: string;
            remoteUid: string[];
            name?: string;
            instructions?: string;
            greeting?: string;
          },
        ) => {
          const res = await client.service(VoiceAgentService).startVoiceAgent({
            channelName: o.channel,
            agentUid: o.agentUid ?? "",
            remoteUids: o.remoteUid,
            name: o.name ?? "",
            instructions: o.instructions ?? "",
            greeting: o.greeting ?? "",
          });
          if (o.json) return json(protoJson(StartVoiceAgentResponseSchema, res));
          out(`started voice agent ${res.agentId} in ${res.channelName}: ${statusOf(res.status)}`);
        },
      ),
    );

  withApi(voice.command("stop").description("stop a voice agent (stopping a stopped one succeeds)"))
    .argument("<agent_id>")
    .action(
      apiAction(async (client: AgentnetClient, agentId: string, o: ApiOptions) => {
        const res = await client.service(VoiceAgentService).stopVoiceAgent({ agentId });
        if (o.json) return json(protoJson(StopVoiceAgentResponseSchema, res));
        out(`stopped voice agent ${res.agentId}: ${statusOf(res.status)}`);
      }),
    );

  withApi(voice.command("list").description("list your voice agents (admins: --all)"))
    .option("--all", "every user's voice agents (admins)", false)
    .action(
      apiAction(async (client: AgentnetClient, o: ApiOptions & { all: boolean }) => {
        const { agents } = await client.service(VoiceAgentService).listVoiceAgents({ all: o.all, pageSize: 200 });
        if (o.json) return json(agents.map((a) => protoJson(VoiceAgentSchema, a)));
        if (agents.length === 0) return out("no voice agents");
        table(
          ["AGENT", "NAME", "CHANNEL", "STATUS", "CREATED"],
          agents.map((a) => [a.agentId, a.name || "-", a.channelName, statusOf(a.status), time(a.createdAt)]),
        );
      }),
    );
}
