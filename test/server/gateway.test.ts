import { Code, ConnectError } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import { status as grpcStatus } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { RegistryService } from "../../gen/agentnet/v1/registry_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { client } from "../support/clients.js";
import { expectError, fieldOf, retryDelayMs } from "../support/errors.js";
import { ADMIN_PASSWORD, MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { grpcJsClient, rawUnary, unary } from "../support/grpc-js.js";

describe.each(MODES)("gateway (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let adminToken: string;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    const res = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    adminToken = res.accessToken;
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("answers health checks with SERVING", async () => {
    const res = await client(Health, gw.url).check({ service: "" });
    expect(res.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    const named = await client(Health, gw.url).check({ service: "agentnet.v1.MessagingService" });
    expect(named.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("logs the bootstrap admin in with a bearer JWT, which Verify accepts", async () => {
    const login = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    expect(login.tokenType).toBe("bearer");
    expect(login.expiresIn).toBe(3600n);
    expect(login.accessToken.split(".")).toHaveLength(3);
    const verified = await client(AuthService, gw.url, login.accessToken).verify({});
    expect(verified).toMatchObject({ valid: true, user: "admin", type: "access" });
    expect(Number(verified.exp - verified.iat)).toBe(3600);
    expect(verified.timestamp).toBeDefined();
  });

  it("refuses a wrong password and an unknown user alike", async () => {
    const auth = client(AuthService, gw.url);
    await expectError(auth.login({ username: "admin", password: "not-the-password" }), Code.Unauthenticated, "invalid_credentials");
    await expectError(auth.login({ username: "nobody", password: "whatever-password" }), Code.Unauthenticated, "invalid_credentials");
  });

  it("refuses a malformed request with INVALID_ARGUMENT naming the field", async () => {
    const err = await expectError(client(AuthService, gw.url).login({ username: "", password: "x" }), Code.InvalidArgument);
    expect(fieldOf(err)).toBe("username");
    expect(err.rawMessage).toContain("username");
    // A body that does not even decode (Connect JSON with a number where a string belongs).
    const res = await fetch(`${gw.url}/agentnet.v1.AuthService/Login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: 5, password: "x" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toContain("username");
  });

  it("refuses calls without credentials or with bad ones", async () => {
    await expectError(client(AuthService, gw.url).verify({}), Code.Unauthenticated, "missing_credentials");
    await expectError(client(AuthService, gw.url, "not-a-jwt").verify({}), Code.Unauthenticated, "invalid_token");
    await expectError(client(RegistryService, gw.url).listOnline({}), Code.Unauthenticated);
  });

  it("Verify with an explicit token reports valid=false instead of failing", async () => {
    const res = await client(AuthService, gw.url, adminToken).verify({ token: "garbage" });
    expect(res.valid).toBe(false);
  });

  it("answers UNIMPLEMENTED for unknown methods", async () => {
    const grpcClient = grpcJsClient(`127.0.0.1:${gw.port}`, "agentnet/v1/auth.proto", "agentnet.v1.AuthService");
    try {
      const err = (await rawUnary(grpcClient, "/agentnet.v1.AuthService/DoesNotExist").catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code, err.details).toBe(grpcStatus.UNIMPLEMENTED);
    } finally {
      grpcClient.close();
    }
    const res = await fetch(`${gw.url}/agentnet.v1.Nope/Nothing`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe("unimplemented");
  });

  it("serves the same RPC to grpc-js, Connect over HTTP/1.1, gRPC-Web and plain JSON over HTTP", async () => {
    const grpcClient = grpcJsClient(`127.0.0.1:${gw.port}`, "agentnet/v1/auth.proto", "agentnet.v1.AuthService");
    try {
      const viaGrpcJs = await unary<{ valid: boolean; user: string }>(grpcClient, "verify", {}, { authorization: `Bearer ${adminToken}` });
      expect(viaGrpcJs).toMatchObject({ valid: true, user: "admin" });
    } finally {
      grpcClient.close();
    }
    for (const protocol of ["connect", "grpc-web"] as const) {
      const res = await client(AuthService, gw.url, adminToken, protocol).verify({});
      expect(res, protocol).toMatchObject({ valid: true, user: "admin" });
    }
    const res = await fetch(`${gw.url}/agentnet.v1.AuthService/Verify`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
      body: "{}",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ valid: true, user: "admin", type: "access" });
  });

  it("answers CORS preflight requests from browsers", async () => {
    const res = await fetch(`${gw.url}/agentnet.v1.AuthService/Login`, {
      method: "OPTIONS",
      headers: {
        origin: "http://localhost:3000",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  it("issues API keys that authenticate, list with paging and stop working once revoked", async () => {
    const auth = client(AuthService, gw.url, adminToken);
    const created = await Promise.all(["one", "two", "three"].map((name) => auth.createApiKey({ name })));
    const first = created[0]!;
    expect(first.secret).toMatch(/^agk_/);
    expect(first.key?.prefix).toBe(first.secret.slice(0, 12));
    const viaKey = await client(AuthService, gw.url, first.secret).verify({});
    expect(viaKey).toMatchObject({ valid: true, user: "admin", type: "api_key" });

    const page1 = await auth.listApiKeys({ pageSize: 2 });
    expect(page1.keys).toHaveLength(2);
    expect(page1.nextPageToken).not.toBe("");
    const page2 = await auth.listApiKeys({ pageSize: 2, pageToken: page1.nextPageToken });
    const listed = [...page1.keys, ...page2.keys].map((k) => k.keyId);
    for (const c of created) expect(listed).toContain(c.key?.keyId);
    expect(JSON.stringify(page1.keys, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain(first.secret);
    await expectError(auth.listApiKeys({ pageToken: "bm9wZQ" }), Code.InvalidArgument, "invalid_page_token");

    const revoked = await auth.revokeApiKey({ keyId: first.key!.keyId });
    expect(revoked.key?.revokedAt).toBeDefined();
    await expectError(client(AuthService, gw.url, first.secret).verify({}), Code.Unauthenticated, "api_key_revoked");
    await expectError(auth.revokeApiKey({ keyId: "key_unknown" }), Code.NotFound, "api_key_not_found");
  });

  it("lets only admins create users, and refuses taken names", async () => {
    const admin = client(AuthService, gw.url, adminToken);
    const { user } = await admin.createUser({ username: "Alice", password: "alice-password", admin: false });
    expect(user).toMatchObject({ username: "alice", admin: false });
    await expectError(admin.createUser({ username: "alice", password: "another-password" }), Code.AlreadyExists, "username_taken");
    await expectError(admin.createUser({ username: "bob", password: "short" }), Code.InvalidArgument);

    const alice = await client(AuthService, gw.url).login({ username: "alice", password: "alice-password" });
    const asAlice = client(AuthService, gw.url, alice.accessToken);
    await expectError(asAlice.createUser({ username: "mallory", password: "mallory-password" }), Code.PermissionDenied, "admin_required");
    // Alice sees only her own keys.
    await asAlice.createApiKey({ name: "alice-key" });
    const keys = await asAlice.listApiKeys({});
    expect(keys.keys.map((k) => k.owner)).toEqual(["alice"]);
    // Admins list every user's keys.
    const all = await admin.listApiKeys({ pageSize: 500 });
    expect(all.keys.map((k) => k.owner)).toContain("alice");
  });

  it("limits logins to 10 a minute per client and user, with a retry delay", async () => {
    const auth = client(AuthService, gw.url);
    await client(AuthService, gw.url, adminToken).createUser({ username: "ratelimited", password: "ratelimited-pw" });
    for (let i = 0; i < 10; i++) await auth.login({ username: "ratelimited", password: "ratelimited-pw" });
    const err = await expectError(
      auth.login({ username: "ratelimited", password: "ratelimited-pw" }),
      Code.ResourceExhausted,
      "rate_limited",
    );
    const delay = retryDelayMs(err);
    expect(delay).toBeGreaterThan(0);
    expect(delay).toBeLessThanOrEqual(60_000);
    // Another user from the same client is not locked out.
    await auth.login({ username: "admin", password: ADMIN_PASSWORD });
  });
});

describe.each(MODES)("restarts (%s)", (mode) => {
  let backend: TestBackend;
  beforeAll(async () => {
    backend = await createBackend(mode);
  });
  afterAll(async () => backend?.dispose());

  it("keeps users, and tokens issued before a restart stay valid", async () => {
    let gw = await startTestGateway(backend);
    const admin = await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD });
    await client(AuthService, gw.url, admin.accessToken).createUser({ username: "carol", password: "carol-password" });
    const key = await client(AuthService, gw.url, admin.accessToken).createApiKey({ name: "survivor" });
    await gw.close();

    gw = await startTestGateway(backend);
    try {
      expect(await client(AuthService, gw.url, admin.accessToken).verify({})).toMatchObject({ valid: true, user: "admin" });
      expect(await client(AuthService, gw.url, key.secret).verify({})).toMatchObject({ valid: true, type: "api_key" });
      const carol = await client(AuthService, gw.url).login({ username: "carol", password: "carol-password" });
      expect(carol.accessToken).not.toBe("");
    } finally {
      await gw.close();
    }
  });

  it("ends live streams on shutdown instead of waiting out the grace period", async () => {
    // A grace period far beyond the test's timeout: a close that waited for the stream to be cut would fail the
    // test, without a stopwatch that would also measure the machine.
    const gw = await startTestGateway(backend, { AGENTNET_SHUTDOWN_GRACE_SECONDS: "300" });
    const watch = client(Health, gw.url).watch({ service: "" });
    const seen: HealthCheckResponse_ServingStatus[] = [];
    const consumed = (async () => {
      try {
        for await (const res of watch) seen.push(res.status);
      } catch (err) {
        if (!(err instanceof ConnectError)) throw err;
      }
    })();
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    await gw.close();
    await consumed;
    expect(seen[0]).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
