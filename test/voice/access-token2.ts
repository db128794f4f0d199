import { createHmac, timingSafeEqual } from "node:crypto";
import { inflateSync } from "node:zlib";

// An independent reader of Agora AccessToken2 ("007" + base64(zlib(signature ‖ signing info))), so token tests
// check what the bytes say rather than trusting the library that wrote them. Layout (little-endian):
//   content      = string(signature) ‖ signingInfo
//   signingInfo  = string(appId) u32(issueTs) u32(expire) u32(salt) u16(n) service×n
//   service      = u16(type) u16(k) [u16(privilege) u32(expire)]×k ‖ type-specific fields
//   RTC (1)      = string(channel) string(uid)      RTM (2) = string(userId)
//   signature    = HMAC-SHA256(key = HMAC(u32(salt), HMAC(u32(issueTs), certificate)), signingInfo)

export const SERVICE_RTC = 1;
export const SERVICE_RTM = 2;
export const PRIV_JOIN_CHANNEL = 1;
export const PRIV_PUBLISH_AUDIO = 2;
export const PRIV_PUBLISH_VIDEO = 3;
export const PRIV_PUBLISH_DATA = 4;
export const PRIV_RTM_LOGIN = 1;

export interface ParsedService {
  type: number;
  privileges: Map<number, number>;
  channel?: string;
  uid?: string;
  userId?: string;
}

export interface ParsedToken {
  appId: string;
  issueTs: number;
  expire: number;
  salt: number;
  services: ParsedService[];
  signature: Buffer;
  signingInfo: Buffer;
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}
  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(): Buffer {
    const len = this.u16();
    const out = this.buf.subarray(this.pos, this.pos + len);
    if (out.length !== len) throw new Error("truncated token");
    this.pos += len;
    return Buffer.from(out);
  }
  string(): string {
    return this.bytes().toString("utf8");
  }
  get offset(): number {
    return this.pos;
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

export function parseAccessToken2(token: string): ParsedToken {
  if (!token.startsWith("007")) throw new Error(`not an AccessToken2: ${token.slice(0, 3)}`);
  const content = inflateSync(Buffer.from(token.slice(3), "base64"));
  const outer = new Reader(content);
  const signature = outer.bytes();
  const signingInfo = content.subarray(outer.offset);
  const r = new Reader(Buffer.from(signingInfo));
  const appId = r.string();
  const issueTs = r.u32();
  const expire = r.u32();
  const salt = r.u32();
  const count = r.u16();
  const services: ParsedService[] = [];
  for (let i = 0; i < count; i++) {
    const type = r.u16();
    const privileges = new Map<number, number>();
    const n = r.u16();
    for (let j = 0; j < n; j++) privileges.set(r.u16(), r.u32());
    if (type === SERVICE_RTC) services.push({ type, privileges, channel: r.string(), uid: r.string() });
    else if (type === SERVICE_RTM) services.push({ type, privileges, userId: r.string() });
    else throw new Error(`unexpected service type ${type}`);
  }
  if (!r.done) throw new Error("trailing bytes after the services");
  return { appId, issueTs, expire, salt, services, signature, signingInfo: Buffer.from(signingInfo) };
}

/** Recomputes the signature with `certificate` and compares it with the token's. */
export function signatureValid(parsed: ParsedToken, certificate: string): boolean {
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n);
    return b;
  };
  const hmac = (key: Buffer, message: Buffer | string) => createHmac("sha256", key).update(message).digest();
  const signing = hmac(u32(parsed.salt), hmac(u32(parsed.issueTs), certificate));
  const expected = hmac(signing, parsed.signingInfo);
  return expected.length === parsed.signature.length && timingSafeEqual(expected, parsed.signature);
}
