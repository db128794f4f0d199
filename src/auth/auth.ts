import type { Kysely } from "kysely";
import { boundedCache } from "../bounded-cache.js";
import type { Logger } from "pino";
import type { Bus, BusSubscription } from "../bus/index.js";
import { DomainError, invalidArgument } from "../errors.js";
import type { Database } from "../store/schema.js";
import { AUTH_INVALIDATE_SUBJECT, type CredentialInvalidation, decodeInvalidation, encodeInvalidation } from "../wire/index.js";
import * as apiKeys from "./api-keys.js";
import { verifyAgainstDecoy, verifyPassword } from "./passwords.js";
import type { Principal } from "./principal.js";
import type { TokenSigner } from "./tokens.js";
import * as users from "./users.js";

// How long a gateway trusts what it looked up about a user or key without hearing otherwise. Revocation reaches
// every gateway at once over the bus (see revokeApiKey); this TTL is only the fallback bound for when that
// message is lost (a bus outage, a gateway that was reconnecting): then other gateways notice within this time.
const CACHE_TTL_MS = 10_000;
// How long RevokeApiKey waits for the bus to take its invalidation. Past this the bus is down and the TTL above
// is all there is; the revocation itself is already stored, so the call still succeeds.
const INVALIDATE_FLUSH_TIMEOUT_MS = 2_000;
// last_used_at is a hint for operators, not an audit log: write it at most this often per key.
const TOUCH_EVERY_MS = 60_000;

export interface LoginResult {
  accessToken: string;
  tokenType: "bearer";
  expiresIn: number;
}

/** Authentication and the credentials it rests on: users, passwords, access tokens and API keys. */
export class Auth {
  private readonly usersById = boundedCache<string, users.UserRecord>({ maxEntries: 10_000, ttlMs: CACHE_TTL_MS });
  private readonly keysBySecret = boundedCache<string, apiKeys.ApiKeyOwner>({ maxEntries: 10_000, ttlMs: CACHE_TTL_MS });
  // An entry older than TOUCH_EVERY_MS only says "touch again", which a missing one says too.
  private readonly lastTouched = boundedCache<string, number>({ maxEntries: 10_000, ttlMs: TOUCH_EVERY_MS });
  // Bumped by every invalidation. A lookup that started before one may have read the row before the revocation
  // was stored; it must not cache that, or the key would live on for a TTL after the invalidation went by.
  private invalidations = 0;
  private bus: Bus | undefined;
  private readonly logger: Logger | undefined;

  /** Without `wire` (one-off commands) revocations reach other gateways only through the cache TTL. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly signer: TokenSigner,
    wire?: { bus: Bus; logger: Logger },
  ) {
    this.bus = wire?.bus;
    this.logger = wire?.logger;
  }

  /**
   * Listens on the gateways' invalidation channel until `signal` aborts: invalidations published by any gateway
   * (this one included) drop the cached entries here. Revocations made here are published while it runs.
   */
  async run(signal: AbortSignal): Promise<void> {
    const bus = this.bus;
    if (bus === undefined || signal.aborted) return;
    // Handled synchronously on arrival (no await before the cache is cleared), so a request that the bus
    // message beat to this gateway cannot slip in between.
    const sub: BusSubscription = bus.subscribe(AUTH_INVALIDATE_SUBJECT, (msg) => {
      const invalidation = decodeInvalidation(msg.data);
      if (invalidation === undefined) {
        this.logger?.warn({ subject: msg.subject }, "ignoring a malformed credential invalidation");
        return;
      }
      this.forgetKey(invalidation.keyId);
    });
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    sub.unsubscribe();
    this.bus = undefined;
  }

  async login(username: string, password: string): Promise<LoginResult> {
    if (username.trim() === "") throw invalidArgument("username", "must not be empty");
    if (password === "") throw invalidArgument("password", "must not be empty");
    const user = await users.findUserByName(this.db, username);
    if (!user) {
      await verifyAgainstDecoy(password);
      throw invalidCredentials();
    }
    if (!(await verifyPassword(user.passwordHash, password))) throw invalidCredentials();
    const { token } = await this.signer.issue(user.userId, user.username);
    return { accessToken: token, tokenType: "bearer", expiresIn: this.signer.ttlSeconds };
  }

  /** The principal behind an `authorization` header value (`Bearer <jwt or API key>`). */
  async authenticate(authorization: string | null): Promise<Principal> {
    const credential = parseBearer(authorization);
    return this.principalFor(credential);
  }

  /** The principal a bare credential (JWT or API key) stands for. */
  async principalFor(credential: string): Promise<Principal> {
    if (apiKeys.isApiKey(credential)) return this.principalForApiKey(credential);
    const claims = await this.signer.verify(credential);
    const user = await this.user(claims.userId);
    return {
      userId: user.userId,
      username: user.username,
      admin: user.admin,
      credential: "access",
      issuedAt: claims.issuedAt,
      expiresAt: claims.expiresAt,
    };
  }

  async createUser(caller: Principal, input: { username: string; password: string; admin: boolean }): Promise<users.UserRecord> {
    requireAdmin(caller, "create users");
    return users.createUser(this.db, input);
  }

  createApiKey(caller: Principal, input: { name: string; expiresInSeconds?: number | undefined }) {
    return apiKeys.createApiKey(this.db, { userId: caller.userId, username: caller.username }, input);
  }

  listApiKeys(caller: Principal, page: { limit: number; afterKeyId?: string | undefined; includeRevoked: boolean }) {
    return apiKeys.listApiKeys(this.db, caller, page);
  }

  /**
   * Revokes a key and makes every gateway forget it before answering. Locally the cache entry goes at once;
   * the bus message is flushed, i.e. the NATS server has it (and has queued it to every subscribed gateway)
   * before the caller hears back, so a call the caller makes after the answer finds the key gone there too.
   */
  async revokeApiKey(caller: Principal, keyId: string): Promise<apiKeys.ApiKeyRecord> {
    const key = await apiKeys.revokeApiKey(this.db, caller, keyId);
    this.forgetKey(key.keyId);
    await this.publishInvalidation({ keyId: key.keyId });
    return key;
  }

  private async publishInvalidation(invalidation: CredentialInvalidation): Promise<void> {
    const bus = this.bus;
    if (bus === undefined) return;
    try {
      bus.publish(AUTH_INVALIDATE_SUBJECT, encodeInvalidation(invalidation));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), INVALIDATE_FLUSH_TIMEOUT_MS);
      });
      const outcome = await Promise.race([bus.flush().then(() => "flushed" as const), timedOut]).finally(() => clearTimeout(timer));
      if (outcome === "timeout") {
        this.logger?.warn(
          { ...invalidation },
          `the bus did not take a credential invalidation in time; other gateways may trust it for up to ${CACHE_TTL_MS} ms`,
        );
      }
    } catch (err) {
      this.logger?.warn(
        { err, ...invalidation },
        `could not publish a credential invalidation; other gateways may trust it for up to ${CACHE_TTL_MS} ms`,
      );
    }
  }

  /** Drops what this gateway cached about a key. The cache is keyed by secret, which revocation does not know. */
  private forgetKey(keyId: string): void {
    this.invalidations++;
    const stale: string[] = [];
    for (const [secret, owner] of this.keysBySecret.entries()) if (owner.keyId === keyId) stale.push(secret);
    for (const secret of stale) this.keysBySecret.delete(secret);
  }

  private async principalForApiKey(secret: string): Promise<Principal> {
    let key = this.keysBySecret.get(secret);
    if (!key) {
      const before = this.invalidations;
      key = await apiKeys.findLiveKey(this.db, secret);
      if (this.invalidations === before) this.keysBySecret.set(secret, key);
    } else if (key.expiresAt !== null && key.expiresAt <= new Date()) {
      this.keysBySecret.delete(secret);
      throw new DomainError("unauthenticated", "api_key_expired", "the API key has expired");
    }
    const user = await this.user(key.userId);
    this.touch(key.keyId);
    return {
      userId: user.userId,
      username: user.username,
      admin: user.admin,
      credential: "api_key",
      keyId: key.keyId,
      issuedAt: Math.floor(key.createdAt.getTime() / 1000),
      expiresAt: key.expiresAt === null ? 0 : Math.floor(key.expiresAt.getTime() / 1000),
    };
  }

  private async user(userId: string): Promise<users.UserRecord> {
    const cached = this.usersById.get(userId);
    if (cached) return cached;
    const user = await users.findUserById(this.db, userId);
    if (!user) throw new DomainError("unauthenticated", "user_not_found", "the user of this credential no longer exists");
    this.usersById.set(userId, user);
    return user;
  }

  private touch(keyId: string): void {
    const now = Date.now();
    if (now - (this.lastTouched.get(keyId) ?? 0) < TOUCH_EVERY_MS) return;
    this.lastTouched.set(keyId, now);
    apiKeys.touchApiKey(this.db, keyId).catch(() => this.lastTouched.delete(keyId));
  }
}

/** What a gateway publishes when a credential stops being valid. */
export function parseBearer(authorization: string | null): string {
  if (authorization === null || authorization.trim() === "") {
    throw new DomainError(
      "unauthenticated",
      "missing_credentials",
      "this call needs credentials: send 'authorization: Bearer <token or API key>'",
    );
  }
  const match = /^bearer\s+(\S+)\s*$/i.exec(authorization.trim());
  if (!match?.[1]) {
    throw new DomainError("unauthenticated", "malformed_credentials", "the authorization header must be 'Bearer <token or API key>'");
  }
  return match[1];
}

export function requireAdmin(caller: Principal, action: string): void {
  if (!caller.admin) throw new DomainError("permission_denied", "admin_required", `only admins may ${action}`);
}

function invalidCredentials(): DomainError {
  return new DomainError("unauthenticated", "invalid_credentials", "wrong username or password");
}
