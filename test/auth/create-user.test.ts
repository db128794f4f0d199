import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { loginAdmin, type TestUser } from "../support/agents.js";
import { client } from "../support/clients.js";
import { expectError, fieldOf } from "../support/errors.js";
import { MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";

// CreateUser's refusals, each with the reason auth.proto names: INVALID_ARGUMENT `invalid_username` (1..32
// characters of a-z0-9._-, lowercased) or `weak_password` (fewer than 8 characters), ALREADY_EXISTS
// `username_taken`, PERMISSION_DENIED `admin_required`.

const GOOD_PASSWORD = "a-good-password";

describe.each(MODES)("CreateUser (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let admin: TestUser;

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend);
    admin = await loginAdmin(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it.each([
    ["empty", ""],
    ["only spaces", "   "],
    ["33 characters", "a".repeat(33)],
    ["a space inside", "two words"],
    ["a slash", "bad/name"],
    ["an at sign", "a@b"],
    ["a plus", "a+b"],
    ["non-ASCII letters", "zoë"],
    ["a colon", "a:b"],
  ])("refuses a username with %s as invalid_username", async (_what, username) => {
    const err = await expectError(admin.auth.createUser({ username, password: GOOD_PASSWORD }), Code.InvalidArgument, "invalid_username");
    expect(fieldOf(err)).toBe("username");
  });

  it.each([
    ["a single letter", "a", "a"],
    ["a single digit", "7", "7"],
    ["32 characters", "b".repeat(32), "b".repeat(32)],
    ["every allowed kind of character, in capitals", "Mixed.Case_1-2", "mixed.case_1-2"],
    ["a leading underscore", "_service", "_service"],
  ])("accepts a username of %s", async (_what, username, stored) => {
    const { user } = await admin.auth.createUser({ username, password: GOOD_PASSWORD });
    expect(user?.username).toBe(stored);
    const login = await client(AuthService, gw.url).login({ username, password: GOOD_PASSWORD });
    expect(login.accessToken).not.toBe("");
  });

  it.each([
    ["empty", ""],
    ["one character", "x"],
    ["seven characters", "1234567"],
  ])("refuses a password that is %s as weak_password", async (_what, password) => {
    const err = await expectError(admin.auth.createUser({ username: "weak", password }), Code.InvalidArgument, "weak_password");
    expect(fieldOf(err)).toBe("password");
  });

  it("accepts a password of exactly 8 characters", async () => {
    await admin.auth.createUser({ username: "eight", password: "12345678" });
    await client(AuthService, gw.url).login({ username: "eight", password: "12345678" });
  });

  it("refuses an absurdly long password with password_too_long, not weak_password", async () => {
    const err = await expectError(
      admin.auth.createUser({ username: "long", password: "p".repeat(1025) }),
      Code.InvalidArgument,
      "password_too_long",
    );
    expect(fieldOf(err)).toBe("password");
  });

  it("checks the username before the password", async () => {
    await expectError(admin.auth.createUser({ username: "bad name", password: "x" }), Code.InvalidArgument, "invalid_username");
  });

  it("refuses a taken name (case-insensitively) with username_taken, and non-admins with admin_required", async () => {
    await admin.auth.createUser({ username: "carol", password: GOOD_PASSWORD });
    await expectError(admin.auth.createUser({ username: "Carol", password: GOOD_PASSWORD }), Code.AlreadyExists, "username_taken");
    const { accessToken } = await client(AuthService, gw.url).login({ username: "carol", password: GOOD_PASSWORD });
    const asCarol = client(AuthService, gw.url, accessToken);
    await expectError(asCarol.createUser({ username: "mallory", password: GOOD_PASSWORD }), Code.PermissionDenied, "admin_required");
    // A non-admin learns nothing about the input either: the permission check comes first.
    await expectError(asCarol.createUser({ username: "", password: "" }), Code.PermissionDenied, "admin_required");
  });
});
