/** Who is calling, as their credentials say. Never taken from a request body. */
export interface Principal {
  userId: string;
  username: string;
  admin: boolean;
  /** `access` for a Login JWT, `api_key` for an API key. */
  credential: "access" | "api_key";
  /** The API key used, when `credential` is `api_key`. */
  keyId?: string;
  /** Unix seconds; 0 when unknown. */
  issuedAt: number;
  /** Unix seconds; 0 when the credential never expires. */
  expiresAt: number;
}
