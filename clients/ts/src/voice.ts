// Voice (TokenService, VoiceAgentService): an Agora connection config for a person joining a channel, and the
// voice agents agentnet starts there through Agora's Conversational AI service.
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { GetConfigResponse } from "@agentnet/gen/agentnet/v1/token_pb.js";
import type { StartVoiceAgentRequestSchema, StartVoiceAgentResponse, VoiceAgent } from "@agentnet/gen/agentnet/v1/voice_pb.js";
import type { Services } from "./services.js";

export interface VoiceConfigOptions {
  /** Default "channel_<unix seconds>". */
  channelName?: string;
  /** Token lifetime in seconds, 1..86400 (default 86400). */
  expiresInSeconds?: number;
}

export type StartVoiceAgentOptions = MessageInitShape<typeof StartVoiceAgentRequestSchema>;

export function voiceConfig(services: Services, o: VoiceConfigOptions = {}): Promise<GetConfigResponse> {
  return services.tokens.getConfig({
    channelName: o.channelName,
    expiresIn: o.expiresInSeconds === undefined ? undefined : BigInt(o.expiresInSeconds),
  });
}

export function startVoiceAgent(services: Services, o: StartVoiceAgentOptions): Promise<StartVoiceAgentResponse> {
  return services.voice.startVoiceAgent(o);
}

export async function stopVoiceAgent(services: Services, agentId: string): Promise<void> {
  await services.voice.stopVoiceAgent({ agentId });
}

export async function getVoiceAgent(services: Services, agentId: string): Promise<VoiceAgent> {
  const res = await services.voice.getVoiceAgent({ agentId });
  if (!res.agent) throw new Error("the server answered GetVoiceAgent without the agent");
  return res.agent;
}

export async function listVoiceAgents(services: Services, o: { channelName?: string } = {}): Promise<VoiceAgent[]> {
  const out: VoiceAgent[] = [];
  let pageToken = "";
  do {
    const res = await services.voice.listVoiceAgents({ channelName: o.channelName ?? "", pageSize: 100, pageToken });
    out.push(...res.agents);
    pageToken = res.nextPageToken;
  } while (pageToken !== "");
  return out;
}
