import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { createUser, loginAdmin, type TestUser } from "../support/agents.js";
import { client } from "../support/clients.js";
import { expectError } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// The contract: RevokeApiKey revokes "at once". Each gateway caches keys for a few seconds, so this checks the
// very next call after the answer — never a poll, which would hide a lag of up to the cache's TTL.

async function newKey(user: TestUser, name: string): Promise<{ keyId: string; secret: string }> {
  const { key, secret } = await user.auth.createApiKey({ name });
  return { keyId: key!.keyId, secret };
}

/** One authenticated call with `secret` on `url` (ListApiKeys: authenticated and not rate-limited). */
function useKey(url: string, secret: string) {
  return client(AuthService, url, secret).listApiKeys({});
}

describe("API key revocation across two gateways on PostgreSQL + NATS", () => {
  let backend: TestBackend;
  let gw1: TestGateway;
  let gw2: TestGateway;
  let alice: TestUser;

  beforeAll(async () => {
    backend = await createBackend("postgres+nats");
    gw1 = await startTestGateway(backend);
    gw2 = await startTestGateway(backend);
    alice = await createUser(gw1.url, await loginAdmin(gw1.url), "alice");
  }, 60_000);
  afterAll(async () => {
    await gw1?.close();
    await gw2?.close();
    await backend?.dispose();
  });

  it("a key cached on gateway 2 and revoked through gateway 1 is refused on gateway 2 by the very next call", async () => {
    // Several rounds: one lucky ordering must not make the test pass.
    for (let round = 0; round < 5; round++) {
      const key = await newKey(alice, `bot ${round}`);
      const other = await newKey(alice, `other ${round}`);
      // Used (so cached) on both gateways.
      await useKey(gw2.url, key.secret);
      await useKey(gw2.url, key.secret);
      await useKey(gw1.url, key.secret);
      await useKey(gw2.url, other.secret);

      const { key: revoked } = await alice.auth.revokeApiKey({ keyId: key.keyId });
      expect(revoked?.revokedAt).toBeDefined();

      await expectError(useKey(gw2.url, key.secret), Code.Unauthenticated, "api_key_revoked");
      await expectError(useKey(gw1.url, key.secret), Code.Unauthenticated, "api_key_revoked");
      // Only that key: the other one stays valid everywhere.
      await expect(useKey(gw2.url, other.secret)).resolves.toBeDefined();
      await expect(useKey(gw1.url, other.secret)).resolves.toBeDefined();
    }
  });

  it("a key revoked through gateway 2 with itself is refused on gateway 1, where it was cached", async () => {
    const key = await newKey(alice, "self-revoking");
    await useKey(gw1.url, key.secret);
    await client(AuthService, gw2.url, key.secret).revokeApiKey({ keyId: key.keyId });
    await expectError(useKey(gw1.url, key.secret), Code.Unauthenticated, "api_key_revoked");
    await expectError(useKey(gw2.url, key.secret), Code.Unauthenticated, "api_key_revoked");
  });

  it("Verify with the revoked key as `token` answers valid = false on the other gateway at once", async () => {
    const key = await newKey(alice, "verified");
    const onGw2 = client(AuthService, gw2.url, alice.token);
    expect((await onGw2.verify({ token: key.secret })).valid).toBe(true);
    await alice.auth.revokeApiKey({ keyId: key.keyId });
    expect((await onGw2.verify({ token: key.secret })).valid).toBe(false);
  });
});

describe.each(MODES)("API key revocation on the revoking gateway (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let alice: TestUser;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    alice = await createUser(gw.url, await loginAdmin(gw.url), "alice");
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("refuses the key on the very next call, and keeps the owner's other keys working", async () => {
    const key = await newKey(alice, "bot");
    const other = await newKey(alice, "other");
    await useKey(gw.url, key.secret);
    await useKey(gw.url, other.secret);
    await alice.auth.revokeApiKey({ keyId: key.keyId });
    await expectError(useKey(gw.url, key.secret), Code.Unauthenticated, "api_key_revoked");
    await expect(useKey(gw.url, other.secret)).resolves.toBeDefined();
  });

  it("an admin revoking someone else's key ends it at once too", async () => {
    const key = await newKey(alice, "admin-revoked");
    await useKey(gw.url, key.secret);
    const admin = await loginAdmin(gw.url);
    await admin.auth.revokeApiKey({ keyId: key.keyId });
    await expectError(useKey(gw.url, key.secret), Code.Unauthenticated, "api_key_revoked");
  });
});
