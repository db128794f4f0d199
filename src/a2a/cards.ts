import type { ProfileRecord } from "../registry/index.js";
import { VERSION } from "../version.js";
import type { JsonObject } from "./model.js";

// Agent cards (A2A §8): what an A2A client reads to find an agentnet agent and learn how to reach it. Every field
// is A2A's; what agentnet adds (presence, resumable streams, the directory) rides in declared extensions, so a
// plain client ignores it and the card stays valid.

/** Declares that the card's `params` carry the agent's live presence (online, sessions, last seen). */
export const PRESENCE_EXTENSION = "https://agentnet.dev/a2a/extensions/presence/v1";
/** Declares resumable streams: events carry `agentnet.dev/seq`; `agentnet-resume-after: <seq>` resumes after it. */
export const RESUME_EXTENSION = "https://agentnet.dev/a2a/extensions/resumable-streams/v1";
/** The gateway's card: where each agent's own card is. */
export const DIRECTORY_EXTENSION = "https://agentnet.dev/a2a/extensions/directory/v1";

/** The service parameter (HTTP header, gRPC metadata) a resuming client sends. */
export const RESUME_AFTER_HEADER = "agentnet-resume-after";

export const A2A_PROTOCOL_VERSION = "1.0";

/** Where this gateway is reached, as the caller reached it. */
export interface GatewayAddress {
  /** e.g. "http://localhost:8000" (no trailing slash). */
  httpUrl: string;
  /** host:port for gRPC, e.g. "localhost:8000". */
  grpcAuthority: string;
}

const MODES = ["text/plain", "application/json"];

/** The JSON-RPC endpoint of one agent. */
export function agentEndpoint(address: GatewayAddress, username: string): string {
  return `${address.httpUrl}/a2a/${username}`;
}

export function agentCardUrl(address: GatewayAddress, username: string): string {
  return `${agentEndpoint(address, username)}/.well-known/agent-card.json`;
}

/** The card of one agent account. */
export function agentCard(profile: ProfileRecord, address: GatewayAddress): JsonObject {
  const version =
    typeof profile.metadata["version"] === "string" && profile.metadata["version"] !== "" ? profile.metadata["version"] : "1.0.0";
  const skills = profile.capabilities.map((capability) => ({
    id: capability,
    name: capability,
    description: `@${profile.username} offers "${capability}" on agentnet (agentnet capability routing reaches any agent that offers it).`,
    tags: [capability],
  }));
  return {
    name: profile.displayName || profile.username,
    description: profile.bio || `The agentnet agent @${profile.username}.`,
    supportedInterfaces: [
      { url: agentEndpoint(address, profile.username), protocolBinding: "JSONRPC", protocolVersion: A2A_PROTOCOL_VERSION },
      { url: address.grpcAuthority, protocolBinding: "GRPC", tenant: profile.username, protocolVersion: A2A_PROTOCOL_VERSION },
    ],
    provider: { organization: `agentnet (@${profile.owner})`, url: address.httpUrl },
    version,
    capabilities: {
      streaming: true,
      pushNotifications: false,
      extendedAgentCard: false,
      extensions: [
        {
          uri: PRESENCE_EXTENSION,
          description: "The agent's presence on agentnet when this card was served.",
          required: false,
          params: {
            online: profile.online,
            sessions: profile.sessionCount,
            ...(profile.lastSeenAt && { lastSeenAt: profile.lastSeenAt.toISOString() }),
            username: profile.username,
            accountId: profile.accountId,
            visibility: profile.visibility,
          },
        },
        resumeExtension(),
      ],
    },
    ...securityOf(),
    defaultInputModes: MODES,
    defaultOutputModes: MODES,
    skills:
      skills.length > 0
        ? skills
        : [
            {
              id: "message",
              name: "message",
              description: `Send @${profile.username} a message; it answers on agentnet.`,
              tags: ["agentnet"],
            },
          ],
  };
}

/** The gateway's own card: agentnet as a directory, each public agent a skill that links to its card. */
export function gatewayCard(agents: ProfileRecord[], address: GatewayAddress): JsonObject {
  return {
    name: "agentnet",
    description:
      "An agentnet gateway: a registry of agents with presence and durable delivery. Each skill is an agent; " +
      "reach it through its own card (the directory extension lists them; the JSON-RPC endpoint takes the agent's username as `tenant`).",
    supportedInterfaces: [
      { url: `${address.httpUrl}/a2a`, protocolBinding: "JSONRPC", protocolVersion: A2A_PROTOCOL_VERSION },
      { url: address.grpcAuthority, protocolBinding: "GRPC", protocolVersion: A2A_PROTOCOL_VERSION },
    ],
    provider: { organization: "agentnet", url: address.httpUrl },
    version: VERSION,
    capabilities: {
      streaming: true,
      pushNotifications: false,
      extendedAgentCard: false,
      extensions: [
        {
          uri: DIRECTORY_EXTENSION,
          description: "The agents on this gateway the caller may see, and where their cards are.",
          required: false,
          params: {
            cardUrlTemplate: `${address.httpUrl}/a2a/{username}/.well-known/agent-card.json`,
            agents: agents.map((p) => ({ username: p.username, card: agentCardUrl(address, p.username), online: p.online })),
          },
        },
        resumeExtension(),
      ],
    },
    ...securityOf(),
    defaultInputModes: MODES,
    defaultOutputModes: MODES,
    skills: agents.map((p) => ({
      id: p.username,
      name: p.displayName || p.username,
      description: p.bio || `The agentnet agent @${p.username}.`,
      tags: p.capabilities.length > 0 ? p.capabilities : ["agentnet"],
    })),
  };
}

function resumeExtension(): JsonObject {
  return {
    uri: RESUME_EXTENSION,
    description:
      `Every streamed event carries metadata "agentnet.dev/seq". Send SubscribeToTask with the service parameter ` +
      `${RESUME_AFTER_HEADER}: <the last seq you saw> to get the events after it (also once the task has ended).`,
    required: false,
    params: { metadataKey: "agentnet.dev/seq", serviceParameter: RESUME_AFTER_HEADER },
  };
}

function securityOf(): JsonObject {
  return {
    securitySchemes: {
      bearer: {
        httpAuthSecurityScheme: {
          scheme: "Bearer",
          bearerFormat: "JWT",
          description: "An agentnet access token from AuthService/Login, as 'Authorization: Bearer <token>'.",
        },
      },
      apiKey: {
        apiKeySecurityScheme: {
          location: "header",
          name: "Authorization",
          description: "An agentnet API key, sent as 'Authorization: Bearer <key>'.",
        },
      },
    },
    securityRequirements: [{ schemes: { bearer: { list: [] } } }, { schemes: { apiKey: { list: [] } } }],
  };
}
