import { SignJWT, errors as joseErrors, jwtVerify } from "jose";
import { DomainError } from "../errors.js";

const ISSUER = "agentnet";
const ALGORITHM = "HS256";

export interface AccessClaims {
  userId: string;
  username: string;
  issuedAt: number;
  expiresAt: number;
}

/** Signs and checks Login access tokens (HS256 JWTs) with one server-wide secret. */
export class TokenSigner {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(userId: string, username: string, now = Date.now()): Promise<{ token: string; claims: AccessClaims }> {
    const issuedAt = Math.floor(now / 1000);
    const expiresAt = issuedAt + this.ttlSeconds;
    const token = await new SignJWT({ name: username, typ: "access" })
      .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
      .setIssuer(ISSUER)
      .setSubject(userId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expiresAt)
      .sign(this.key);
    return { token, claims: { userId, username, issuedAt, expiresAt } };
  }

  /** The claims of a valid token; DomainError `unauthenticated` with reason `token_expired` or `invalid_token`. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: [ALGORITHM] });
      if (payload["typ"] !== "access" || typeof payload.sub !== "string" || typeof payload["name"] !== "string") {
        throw new DomainError("unauthenticated", "invalid_token", "the token is not an agentnet access token");
      }
      return {
        userId: payload.sub,
        username: payload["name"],
        issuedAt: payload.iat ?? 0,
        expiresAt: payload.exp ?? 0,
      };
    } catch (err) {
      if (err instanceof DomainError) throw err;
      if (err instanceof joseErrors.JWTExpired) {
        throw new DomainError("unauthenticated", "token_expired", "the access token has expired; log in again");
      }
      throw new DomainError("unauthenticated", "invalid_token", "the access token is invalid");
    }
  }
}
