import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, type Client } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/agentnet/v1/auth_pb.js";
import { MessagingService } from "../../gen/agentnet/v1/messaging_pb.js";
import { DomainError } from "../../src/errors.js";
import { blobInfos, checkBlobsForSend, grantBlobs } from "../../src/blobs/blobs.js";
import { client } from "../support/clients.js";
import { expectError, fieldOf, retryDelayMs } from "../support/errors.js";
import { ADMIN_PASSWORD, MODES, type TestBackend, type TestGateway, createBackend, startTestGateway } from "../support/gateway.js";
import { unary } from "../support/grpc-js.js";
import { type TestAccount, type TestUser, createTestUser, insertAccount, insertMessage } from "../support/messages.js";

const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");
const MiB = 1024 * 1024;
const BLOB_RATE_PER_MINUTE = 25;

/** A grpc-js MessagingService client with message limits raised for large blobs (its default is 4 MiB). */
function bigMessageClient(address: string): grpc.Client {
  const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
  const definition = protoLoader.loadSync("agentnet/v1/messaging.proto", {
    includeDirs: [protoDir],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    agentnet: { v1: { MessagingService: grpc.ServiceClientConstructor } };
  };
  return new pkg.agentnet.v1.MessagingService(address, grpc.credentials.createInsecure(), {
    "grpc.max_send_message_length": 32 * MiB,
    "grpc.max_receive_message_length": 32 * MiB,
  });
}

describe.each(MODES)("blobs (%s)", (mode) => {
  let backend: TestBackend;
  let gw: TestGateway;
  let adminToken: string;
  let alice: TestUser;
  let bob: TestUser;
  let carol: TestUser;
  let aliceBot: TestAccount;
  let aliceOther: TestAccount;
  let bobBot: TestAccount;
  const messaging = (token: string): Client<typeof MessagingService> => client(MessagingService, gw.url, token);

  beforeAll(async () => {
    backend = await createBackend(mode);
    gw = await startTestGateway(backend, { AGENTNET_BLOB_RATE_PER_MINUTE: String(BLOB_RATE_PER_MINUTE) });
    adminToken = (await client(AuthService, gw.url).login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    alice = await createTestUser(gw.url, adminToken, "alice");
    bob = await createTestUser(gw.url, adminToken, "bob");
    carol = await createTestUser(gw.url, adminToken, "carol");
    aliceBot = await insertAccount(gw.store.db, alice, "alice_bot");
    bobBot = await insertAccount(gw.store.db, bob, "bob_bot");
  });
  afterAll(async () => {
    await gw?.close();
    await backend?.dispose();
  });

  it("stores a blob and gives it back to its owner", async () => {
    const data = new TextEncoder().encode("hello, blob");
    const put = await messaging(alice.token).putBlob({
      data,
      mimeType: "text/plain",
      filename: "hello.txt",
      sha256: sha256(data).toUpperCase(),
    });
    const blob = put.blob!;
    expect(blob.blobId).toMatch(/^blob_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(blob).toMatchObject({
      sha256: sha256(data),
      sizeBytes: BigInt(data.length),
      mimeType: "text/plain",
      filename: "hello.txt",
      ownerAccountId: aliceBot.accountId,
    });
    expect(Math.abs(timestampDate(blob.createdAt!).getTime() - Date.now())).toBeLessThan(60_000);

    const got = await messaging(alice.token).getBlob({ blobId: blob.blobId });
    expect(Buffer.from(got.data).toString()).toBe("hello, blob");
    expect(got.blob).toEqual(blob);
    expect((await messaging(alice.token).headBlob({ blobId: blob.blobId })).blob).toEqual(blob);
    expect((await messaging(adminToken).headBlob({ blobId: blob.blobId })).blob).toEqual(blob);

    // Same bytes again: a new id, the same hash. No MIME type: octet-stream.
    const again = (await messaging(alice.token).putBlob({ data })).blob!;
    expect(again.blobId).not.toBe(blob.blobId);
    expect(again).toMatchObject({ sha256: blob.sha256, mimeType: "application/octet-stream", filename: "" });
  });

  it("lets the owners of recipients read a blob sent to them, and nobody else", async () => {
    const data = randomBytes(2048);
    const { blobId } = (await messaging(alice.token).putBlob({ data, mimeType: "image/png", filename: "chart.png" })).blob!;
    for (const user of [bob, carol]) {
      await expectError(messaging(user.token).getBlob({ blobId }), Code.NotFound, "blob_not_found");
      await expectError(messaging(user.token).headBlob({ blobId }), Code.NotFound, "blob_not_found");
    }

    await insertMessage(gw.store.db, {
      from: aliceBot,
      to: bobBot,
      threadId: "media_1",
      blobIds: [blobId],
      payload: {
        type: "blob_ref",
        blob_id: blobId,
        sha256: sha256(data),
        size_bytes: data.length,
        mime_type: "image/png",
        filename: "chart.png",
      },
    });
    expect(Buffer.from((await messaging(bob.token).getBlob({ blobId })).data)).toEqual(data);
    expect((await messaging(bob.token).headBlob({ blobId })).blob?.filename).toBe("chart.png");
    await expectError(messaging(carol.token).getBlob({ blobId }), Code.NotFound, "blob_not_found");

    // History shows the referenced blob's metadata in the envelope.
    const [envelope] = (await messaging(bob.token).getThreadMessages({ threadId: "media_1" })).messages;
    expect(envelope?.blobs.map((b) => [b.blobId, b.sizeBytes, b.mimeType])).toEqual([[blobId, 2048n, "image/png"]]);

    // Only the owner deletes: the recipient is refused, an outsider learns nothing.
    await expectError(messaging(bob.token).deleteBlob({ blobId }), Code.PermissionDenied, "not_account_owner");
    expect((await messaging(carol.token).deleteBlob({ blobId })).deleted).toBe(false);
    expect((await messaging(alice.token).deleteBlob({ blobId })).deleted).toBe(true);
    expect((await messaging(alice.token).deleteBlob({ blobId })).deleted).toBe(false);
    await expectError(messaging(bob.token).getBlob({ blobId }), Code.NotFound, "blob_not_found");
    await expectError(messaging(alice.token).headBlob({ blobId }), Code.NotFound, "blob_not_found");
    // The message keeps its reference; the envelope keeps the id.
    const [after] = (await messaging(bob.token).getThreadMessages({ threadId: "media_1" })).messages;
    expect(after?.blobs.map((b) => [b.blobId, b.sha256])).toEqual([[blobId, ""]]);
  });

  it("lets admins delete any blob, and answers false for unknown ones", async () => {
    const { blobId } = (await messaging(alice.token).putBlob({ data: new Uint8Array([1, 2, 3]) })).blob!;
    expect((await messaging(adminToken).deleteBlob({ blobId })).deleted).toBe(true);
    expect((await messaging(alice.token).deleteBlob({ blobId: "blob_01J00000000000000000000000" })).deleted).toBe(false);
    await expectError(messaging(alice.token).getBlob({ blobId: "" }), Code.InvalidArgument);
  });

  it("refuses a blob over the size cap and one whose hash does not match", async () => {
    const tooBig = new Uint8Array(gw.config.maxBlobBytes + 1);
    const err = await expectError(messaging(alice.token).putBlob({ data: tooBig }), Code.InvalidArgument, "blob_too_large");
    expect(fieldOf(err)).toBe("data");
    const data = new TextEncoder().encode("abc");
    const mismatch = await expectError(
      messaging(alice.token).putBlob({ data, sha256: sha256(new Uint8Array([1])) }),
      Code.InvalidArgument,
      "sha256_mismatch",
    );
    expect(fieldOf(mismatch)).toBe("sha256");
    await expectError(messaging(alice.token).putBlob({ data, mimeType: "not a type" }), Code.InvalidArgument);
    await expectError(messaging(alice.token).putBlob({ data, filename: "x".repeat(256) }), Code.InvalidArgument);
  });

  it("stores blobs only for accounts the caller owns", async () => {
    const data = new Uint8Array([7]);
    await expectError(messaging(alice.token).putBlob({ data, asAccountId: bobBot.accountId }), Code.PermissionDenied, "not_account_owner");
    // Carol owns no account; the admin owns none either and must say which.
    await expectError(messaging(carol.token).putBlob({ data }), Code.InvalidArgument);
    expect((await messaging(adminToken).putBlob({ data, asAccountId: bobBot.accountId })).blob?.ownerAccountId).toBe(bobBot.accountId);
  });

  it("carries a blob larger than gRPC's default 4 MiB message size", async () => {
    const data = randomBytes(5 * MiB);
    const grpcClient = bigMessageClient(`127.0.0.1:${gw.port}`);
    try {
      const auth = { authorization: `Bearer ${alice.token}` };
      const put = await unary<{ blob: { blobId: string; sizeBytes: string; sha256: string } }>(
        grpcClient,
        "putBlob",
        { data, sha256: sha256(data) },
        auth,
      );
      expect(put.blob.sizeBytes).toBe(String(5 * MiB));
      const got = await unary<{ data: Buffer }>(grpcClient, "getBlob", { blobId: put.blob.blobId }, auth);
      expect(sha256(got.data)).toBe(sha256(data));
    } finally {
      grpcClient.close();
    }
  });

  it("limits blob uploads per account", async () => {
    aliceOther = await insertAccount(gw.store.db, alice, "alice_uploader");
    const put = () => messaging(alice.token).putBlob({ data: new Uint8Array([1]), asAccountId: aliceOther.accountId });
    for (let i = 0; i < BLOB_RATE_PER_MINUTE; i++) await put();
    const err = await expectError(put(), Code.ResourceExhausted, "rate_limited");
    expect(retryDelayMs(err)).toBeGreaterThan(0);
  });

  describe("for Send", () => {
    it("checks that every blob exists and belongs to the sender", async () => {
      const db = gw.store.db;
      const mine = (await messaging(alice.token).putBlob({ data: new Uint8Array([1]), asAccountId: aliceBot.accountId })).blob!.blobId;
      const theirs = (await messaging(bob.token).putBlob({ data: new Uint8Array([2]) })).blob!.blobId;
      await checkBlobsForSend(db, aliceBot.accountId, []);
      await checkBlobsForSend(db, aliceBot.accountId, [mine, mine]);
      for (const ids of [[mine, theirs], ["blob_unknown"], [""]]) {
        const err = await checkBlobsForSend(db, aliceBot.accountId, ids).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DomainError);
        expect(err).toMatchObject({ kind: "invalid_argument", reason: "blob_not_found", field: "blob_ids" });
      }
      const tooMany = await checkBlobsForSend(db, aliceBot.accountId, Array(33).fill(mine)).catch((e: unknown) => e);
      expect(tooMany).toMatchObject({ kind: "invalid_argument", field: "blob_ids" });
    });

    it("grants idempotently, skipping blobs deleted meanwhile, and describes blobs for envelopes", async () => {
      const db = gw.store.db;
      const { blobId } = (
        await messaging(alice.token).putBlob({ data: new Uint8Array([3]), filename: "a.bin", asAccountId: aliceBot.accountId })
      ).blob!;
      const grant = [{ blobId, accountId: bobBot.accountId }];
      await grantBlobs(db, [...grant, ...grant]);
      await db.transaction().execute((trx) => grantBlobs(trx, grant));
      await grantBlobs(db, [{ blobId: "blob_gone", accountId: bobBot.accountId }]);
      expect((await messaging(bob.token).headBlob({ blobId })).blob?.filename).toBe("a.bin");
      const infos = await blobInfos(db, [blobId, "blob_gone", blobId]);
      expect([...infos.keys()]).toEqual([blobId]);
      expect(infos.get(blobId)).toMatchObject({ blobId, sizeBytes: 1, filename: "a.bin", ownerAccountId: aliceBot.accountId });
    });
  });
});
