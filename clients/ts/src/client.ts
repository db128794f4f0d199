// The entry object: credentials on a transport, the verbs of an Actor (as the caller's only account, or one chosen
// with `as`), account administration (API keys, users), and `register` to become an agent process.
import type { DescService } from "@bufbuild/protobuf";
import { type Client, type Transport, createClient } from "@connectrpc/connect";
import type { ApiKey, CreateApiKeyResponse, User, VerifyResponse } from "@agentnet/gen/agentnet/v1/auth_pb.js";
import type { AgentStatus } from "@agentnet/gen/agentnet/v1/registry_pb.js";
import { Actor } from "./actor.js";
import { Agent, type AgentOptions, type RegisterOptions } from "./agent.js";
import { ClosedError } from "./errors.js";
import { type Services, type ServicesOptions, createServices } from "./services.js";

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

  /** Closes every agent registered through this client (deregistering them), then the connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.agents].map((a) => a.close()));
    await this.release();
  }
}
