import { sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  type SigningFields,
  ed25519PrivateKey,
  ed25519RawPublicKey,
  generateSigningKeyPair,
  payloadSha256,
  signEnvelope,
  signingBytes,
  signingText,
  verifySignature,
} from "../../src/messaging/signature.js";

// RFC 8032 §7.1 test 1: proves the raw-key wrapping (PKCS#8 / SPKI) is right before we trust our own vectors.
const RFC8032_SEED = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
const RFC8032_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const RFC8032_EMPTY_SIG =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

const fields: SigningFields = {
  messageId: "msg_01J9ZX6Q3V0000000000000000",
  fromAccountId: "acct_01J9ZX6Q3V0000000000000001",
  to: { username: "@Weather Bot" },
  threadId: "thread_msg_01J9ZX6Q3V0000000000000000",
  parentMessageId: "",
  traceId: "msg_01J9ZX6Q3V0000000000000000",
  kind: "request",
  ttlMs: 30000,
  schemaVersion: "1.1",
  idempotencyKey: "",
  blobIds: ["blob_01J9ZX6Q3V0000000000000002"],
  payload: { text: "héllo", n: 1.5, z: null, a: [true, { b: 2, a: 1 }] },
};

// Generated once with this module and checked by hand: the payload hash independently (Python hashlib over the
// JCS text {"a":[true,{"a":1,"b":2}],"n":1.5,"text":"héllo","z":null}), the signature by RFC 8032 determinism.
const VECTOR_TEXT =
  '{"blob_ids":["blob_01J9ZX6Q3V0000000000000002"],"from_account_id":"acct_01J9ZX6Q3V0000000000000001",' +
  '"idempotency_key":"","kind":"request","message_id":"msg_01J9ZX6Q3V0000000000000000","parent_message_id":"",' +
  '"payload_sha256":"33b1a8be31d8f321a96e44f028a008dc45745283aea513e93ab34a0771ce2fd6","schema_version":"1.1",' +
  '"scheme":"ed25519-v1","thread_id":"thread_msg_01J9ZX6Q3V0000000000000000","to":"username:@Weather Bot",' +
  '"trace_id":"msg_01J9ZX6Q3V0000000000000000","ttl_ms":30000}';
const VECTOR_SIG =
  "a1c961dd5f2bdf807fb79d2c38eecd0734463467757e3af00b32c570e2e24bfb848fb9254fce6b21e388432acf886939c45cd6703cf57c0c75dd84369dafa60a";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("message signatures (ed25519-v1 over JCS)", () => {
  it("wraps raw RFC 8032 keys correctly", () => {
    expect(hex(ed25519RawPublicKey(RFC8032_SEED))).toBe(RFC8032_PUBLIC);
    expect(sign(null, Buffer.alloc(0), ed25519PrivateKey(RFC8032_SEED)).toString("hex")).toBe(RFC8032_EMPTY_SIG);
  });

  it("builds the canonical form the contract specifies", () => {
    expect(signingText(fields)).toBe(VECTOR_TEXT);
    expect(Buffer.from(signingBytes(fields)).toString("utf8")).toBe(VECTOR_TEXT);
    expect(payloadSha256(fields.payload)).toBe("33b1a8be31d8f321a96e44f028a008dc45745283aea513e93ab34a0771ce2fd6");
    // Key order of the payload does not matter; bigint and number TTLs agree.
    expect(signingText({ ...fields, ttlMs: 30000n, payload: { a: [true, { a: 1, b: 2 }], z: null, n: 1.5, text: "héllo" } })).toBe(
      VECTOR_TEXT,
    );
  });

  it("renders each kind of address, and none as an empty string", () => {
    const to = (t: SigningFields["to"]) => (JSON.parse(signingText({ ...fields, to: t })) as { to: string }).to;
    expect(to({ accountId: "acct_1" })).toBe("account:acct_1");
    expect(to({ username: "bob" })).toBe("username:bob");
    expect(to({ capability: "weather" })).toBe("capability:weather");
    expect(to({})).toBe("");
  });

  it("signs the known vector deterministically, and it verifies", () => {
    const signature = signEnvelope(RFC8032_SEED, fields);
    expect(hex(signature)).toBe(VECTOR_SIG);
    expect(verifySignature(Buffer.from(RFC8032_PUBLIC, "hex"), Buffer.from(VECTOR_SIG, "hex"), fields)).toBe(true);
  });

  it("fails verification when any signed field changes", () => {
    const publicKey = Buffer.from(RFC8032_PUBLIC, "hex");
    const signature = Buffer.from(VECTOR_SIG, "hex");
    const changes: Partial<SigningFields>[] = [
      { messageId: "msg_other" },
      { fromAccountId: "acct_other" },
      { to: { accountId: "acct_01J9ZX6Q3V0000000000000001" } },
      { to: { username: "weather_bot" } },
      { threadId: "thread_other" },
      { parentMessageId: "msg_parent" },
      { traceId: "trace_other" },
      { kind: "direct" },
      { ttlMs: 30001 },
      { schemaVersion: "1.2" },
      { idempotencyKey: "k1" },
      { blobIds: [] },
      { blobIds: ["blob_01J9ZX6Q3V0000000000000002", "blob_x"] },
      { payload: { ...fields.payload, text: "hello" } },
      { payload: { ...fields.payload, extra: 1 } },
    ];
    for (const change of changes) {
      expect(verifySignature(publicKey, signature, { ...fields, ...change }), JSON.stringify(change)).toBe(false);
    }
  });

  it("fails verification with the wrong key or a malformed key or signature", () => {
    const other = generateSigningKeyPair();
    const signature = signEnvelope(RFC8032_SEED, fields);
    expect(verifySignature(other.publicKey, signature, fields)).toBe(false);
    expect(verifySignature(new Uint8Array(31), signature, fields)).toBe(false);
    expect(verifySignature(Buffer.from(RFC8032_PUBLIC, "hex"), signature.subarray(0, 63), fields)).toBe(false);
    const flipped = Uint8Array.from(signature);
    flipped[10] = flipped[10]! ^ 1;
    expect(verifySignature(Buffer.from(RFC8032_PUBLIC, "hex"), flipped, fields)).toBe(false);
  });

  it("round-trips fresh key pairs", () => {
    const { privateKey, publicKey } = generateSigningKeyPair();
    expect(privateKey).toHaveLength(32);
    expect(publicKey).toHaveLength(32);
    expect(verifySignature(publicKey, signEnvelope(privateKey, fields), fields)).toBe(true);
  });
});
