import { describe, expect, it } from "vitest";
import { TokenSigner } from "../../src/auth/tokens.js";

describe("access tokens", () => {
  const signer = new TokenSigner("a-test-secret-that-is-long-enough-123456", 3600);

  it("round-trips the user and times", async () => {
    const { token, claims } = await signer.issue("usr_1", "alice", Date.UTC(2030, 0, 1));
    expect(claims.expiresAt - claims.issuedAt).toBe(3600);
    const later = new TokenSigner("a-test-secret-that-is-long-enough-123456", 3600);
    await expect(later.verify(token)).resolves.toMatchObject({ userId: "usr_1", username: "alice" });
  });

  it("refuses expired tokens with token_expired", async () => {
    const { token } = await signer.issue("usr_1", "alice", Date.now() - 7200_000);
    await expect(signer.verify(token)).rejects.toMatchObject({ kind: "unauthenticated", reason: "token_expired" });
  });

  it("refuses tokens signed with another secret", async () => {
    const other = new TokenSigner("another-secret-that-is-long-enough-98765", 3600);
    const { token } = await other.issue("usr_1", "alice");
    await expect(signer.verify(token)).rejects.toMatchObject({ kind: "unauthenticated", reason: "invalid_token" });
  });
});
