// The entry object: credentials on a transport, the verbs of an Actor (as the caller's only account, or one chosen
// with `as`), account administration (API keys, users), and `register` to become an agent process.
import type { DescService } from "@bufbuild/protobuf";
import { type Client, type Transport, createClient } from "@connectrpc/connect";
import type { ApiKey, CreateApiKeyResponse, User, VerifyResponse } from "@agentnet/gen/agentnet/v1/auth_pb.js";
import type { AgentStatus } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import type { ChatSession, ProviderInfo, SendSessionMessageResponse, SessionEvent } from "@agentnet/gen/agentnet/v1/session_pb.js";
import type { GetConfigResponse } from "@agentnet/gen/agentnet/v1/token_pb.js";
import type { StartVoiceAgentResponse, VoiceAgent } from "@agentnet/gen/agentnet/v1/voice_pb.js";
import { Actor } from "./actor.js";
import { Agent, type AgentOptions, type RegisterOptions } from "./agent.js";
import * as chat from "./chat.js";
import { ClosedError } from "./errors.js";
import { type Services, type ServicesOptions, createServices } from "./services.js";
import * as voice from "./voice.js";

/** Acting as one chosen account, without a session of its own. */
export class AccountActor extends Actor {
  constructor(
    services: Services,
    readonly accountId: string,
  ) {
    super(services);
  }
  protected get sessionTag(): string {
    return "";
  }
}

export class AgentnetClient extends Actor {
  private readonly agents = new Set<Agent>();
  private closed = false;

  constructor(
    private readonly transport: Transport,
    private readonly release: () => void | Promise<void> = () => undefined,
    waitReady?: (timeoutMs?: number) => Promise<void>,
    options: ServicesOptions = {},
  ) {
    super(createServices(transport, waitReady, options));
  }

  /** Waits until the connection is up, at most `timeoutMs` (default the connect timeout, 20 s); throws UnavailableError `connect_timeout`. */
  waitReady(timeoutMs?: number): Promise<void> {
    return this.services.waitReady(timeoutMs);
  }

  /** A client of any agentnet service on this connection (e.g. SessionService, TokenService, VoiceAgentService). */
  service<S extends DescService>(service: S): Client<S> {
    return createClient(service, this.transport);
  }

  /** "" : the server acts as the caller's only account (and says so when there is not exactly one). */
  get accountId(): string {
    return "";
  }
  protected get sessionTag(): string {
    return "";
  }

  /** The same verbs acting as another of the caller's accounts: "acct_…" or "@username". */
  async as(account: string): Promise<AccountActor> {
    return new AccountActor(this.services, await this.resolveAccount(account));
  }

  /** Registers this process as an agent (account + session), with heartbeats; then call `onMessage`. */
  async register(o: RegisterOptions, options: AgentOptions = {}): Promise<Agent> {
    if (this.closed) throw new ClosedError("client is closed");
    const agent = await Agent.register(this.services, o, options, (a) => this.agents.delete(a));
    this.agents.add(agent);
    return agent;
  }

  /** Who the credentials belong to (AuthService.Verify). */
  whoami(): Promise<VerifyResponse> {
    return this.services.auth.verify({});
  }

  /** The agent accounts the caller owns (admins: only their own), with status. */
  async ownedAccounts(): Promise<AgentStatus[]> {
    const out: AgentStatus[] = [];
    let pageToken = "";
    do {
      const res = await this.services.registry.listAgents({ ownedOnly: true, pageSize: 500, pageToken });
      out.push(...res.agents);
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return out;
  }

  async listApiKeys(o: { includeRevoked?: boolean } = {}): Promise<ApiKey[]> {
    const out: ApiKey[] = [];
    let pageToken = "";
    do {
      const res = await this.services.auth.listApiKeys({ includeRevoked: o.includeRevoked ?? false, pageSize: 500, pageToken });
      out.push(...res.keys);
      pageToken = res.nextPageToken;
    } while (pageToken !== "");
    return out;
  }

  createApiKey(name: string, o: { expiresInSeconds?: number } = {}): Promise<CreateApiKeyResponse> {
    return this.services.auth.createApiKey({ name, expiresIn: o.expiresInSeconds === undefined ? undefined : BigInt(o.expiresInSeconds) });
  }

  async revokeApiKey(keyId: string): Promise<ApiKey> {
    const res = await this.services.auth.revokeApiKey({ keyId });
    if (!res.key) throw new Error("the server answered RevokeApiKey without the key");
    return res.key;
  }

  /** Creates a user who can log in (admins only). */
  async createUser(username: string, password: string, o: { admin?: boolean } = {}): Promise<User> {
    const res = await this.services.auth.createUser({ username, password, admin: o.admin ?? false });
    if (!res.user) throw new Error("the server answered CreateUser without the user");
    return res.user;
  }

  // Chat sessions with hosted agents (the caller's, as a user)

  /** Opens a chat session, e.g. `{ agents: { helper: { provider: "echo" } } }` (human-agent by default). */
  createChatSession(o: chat.CreateChatSessionOptions): Promise<ChatSession> {
    return chat.createChatSession(this.services, o);
  }
  getChatSession(sessionId: string): Promise<ChatSession> {
    return chat.getChatSession(this.services, sessionId);
  }
  listChatSessions(o?: chat.ListChatSessionsOptions): Promise<ChatSession[]> {
    return chat.listChatSessions(this.services, o);
  }
  /** Stops the session and deletes it with its events. */
  deleteChatSession(sessionId: string): Promise<void> {
    return chat.deleteChatSession(this.services, sessionId);
  }
  /** Says `content` in the session; with `waitForResponse` the answer comes back as `response`. */
  sendChatMessage(sessionId: string, content: string, o?: chat.SendChatMessageOptions): Promise<SendSessionMessageResponse> {
    return chat.sendChatMessage(this.services, sessionId, content, o);
  }
  /** The session's events, stored then live, resumable with `afterSeq` (see chat.streamChatSession). */
  streamChatSession(sessionId: string, o?: chat.StreamChatSessionOptions): AsyncGenerator<SessionEvent> {
    return chat.streamChatSession(this.services, sessionId, o);
  }
  /** The providers hosted agents can use, and whether each is configured. */
  listChatProviders(): Promise<ProviderInfo[]> {
    return chat.listChatProviders(this.services);
  }

  // Voice (Agora)

  /** An Agora connection config (App ID, token, uids) for joining `channelName`. */
  voiceConfig(o?: voice.VoiceConfigOptions): Promise<GetConfigResponse> {
    return voice.voiceConfig(this.services, o);
  }
  /** Starts a voice agent in a channel (pass the config's `agentUid`). */
  startVoiceAgent(o: voice.StartVoiceAgentOptions): Promise<StartVoiceAgentResponse> {
    return voice.startVoiceAgent(this.services, o);
  }
  stopVoiceAgent(agentId: string): Promise<void> {
    return voice.stopVoiceAgent(this.services, agentId);
  }
  getVoiceAgent(agentId: string): Promise<VoiceAgent> {
    return voice.getVoiceAgent(this.services, agentId);
  }
  listVoiceAgents(o?: { channelName?: string }): Promise<VoiceAgent[]> {
    return voice.listVoiceAgents(this.services, o);
  }

  /** Closes every agent registered through this client (deregistering them), then the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.agents].map((a) => a.close()));
    await this.release();
  }
}
