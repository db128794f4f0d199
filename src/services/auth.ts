import { create } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { type ApiKey, ApiKeySchema, AuthService, UserSchema } from "../../gen/agentnet/v1/auth_pb.js";
import type { ApiKeyRecord, Auth } from "../auth/index.js";
import { DomainError } from "../errors.js";
import { decodePageToken, encodePageToken, pageSize, positionString } from "../paging/index.js";
import { clientAddressOf, principalOf } from "../server/context.js";
import type { Limits } from "./limits.js";

/** AuthService: decode, rate-limit, call the auth domain, encode. */
export function registerAuthService(router: ConnectRouter, auth: Auth, limits: Pick<Limits, "login" | "verify">): void {
  router.service(AuthService, {
    async login(req, ctx) {
      // Keyed by client and username: one client cannot lock a user out for everyone, nor guess freely.
      await limits.login.consume(`${clientAddressOf(ctx)}|${req.username.trim().toLowerCase()}`);
      const result = await auth.login(req.username, req.password);
      return { accessToken: result.accessToken, tokenType: result.tokenType, expiresIn: BigInt(result.expiresIn) };
    },

    async verify(req, ctx) {
      await limits.verify.consume(clientAddressOf(ctx));
      const principal = req.token === undefined ? principalOf(ctx) : await tryPrincipal(auth, req.token);
      if (!principal) return { valid: false, timestamp: timestampNow() };
      return {
        valid: true,
        user: principal.username,
        type: principal.credential,
        exp: BigInt(principal.expiresAt),
        iat: BigInt(principal.issuedAt),
        timestamp: timestampNow(),
      };
    },

    async createApiKey(req, ctx) {
      const expiresInSeconds = req.expiresIn === undefined ? undefined : Number(req.expiresIn);
      const { key, secret } = await auth.createApiKey(principalOf(ctx), { name: req.name, expiresInSeconds });
      return { key: toApiKey(key), secret };
    },

    async listApiKeys(req, ctx) {
      const limit = pageSize(req.pageSize);
      const position = decodePageToken("api_keys", req.pageToken);
      const afterKeyId = position && positionString(position, "k");
      const keys = await auth.listApiKeys(principalOf(ctx), { limit: limit + 1, afterKeyId, includeRevoked: req.includeRevoked });
      const page = keys.slice(0, limit);
      const last = page.at(-1);
      return {
        keys: page.map(toApiKey),
        nextPageToken: keys.length > limit && last ? encodePageToken("api_keys", { k: last.keyId }) : "",
      };
    },

    async revokeApiKey(req, ctx) {
      return { key: toApiKey(await auth.revokeApiKey(principalOf(ctx), req.keyId)) };
    },

    async createUser(req, ctx: HandlerContext) {
      const user = await auth.createUser(principalOf(ctx), { username: req.username, password: req.password, admin: req.admin });
      return {
        user: create(UserSchema, {
          userId: user.userId,
          username: user.username,
          admin: user.admin,
          createdAt: timestampFromDate(user.createdAt),
        }),
      };
    },
  });
}

async function tryPrincipal(auth: Auth, token: string) {
  try {
    return await auth.principalFor(token);
  } catch (err) {
    if (err instanceof DomainError && err.kind === "unauthenticated") return undefined;
    throw err;
  }
}

function toApiKey(key: ApiKeyRecord): ApiKey {
  const ts = (d: Date | null) => (d === null ? undefined : timestampFromDate(d));
  return create(ApiKeySchema, {
    keyId: key.keyId,
    name: key.name,
    prefix: key.prefix,
    owner: key.owner,
    createdAt: timestampFromDate(key.createdAt),
    expiresAt: ts(key.expiresAt),
    lastUsedAt: ts(key.lastUsedAt),
    revokedAt: ts(key.revokedAt),
  });
}
