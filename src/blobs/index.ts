import type { Kysely } from "kysely";
import type { Principal } from "../auth/index.js";
import { RateLimit } from "../rate-limit.js";
import type { Database } from "../store/schema.js";
import { type BlobMeta, type PutBlobInput, blobInfos, deleteBlob, getBlob, headBlob, putBlob } from "./blobs.js";

export { type BlobMeta, type PutBlobInput, checkBlobsForSend, grantBlobs } from "./blobs.js";

export interface BlobsOptions {
  maxBlobBytes: number;
  /** Uploads per owning account per minute. */
  uploadsPerMinute: number;
}

/** The blob store of one gateway: what MessagingService's blob RPCs and envelopes read and write. */
export class Blobs {
  // Per owning account: blobs are large, so one busy account must not fill the store or the gateway's memory.
  private readonly putLimit: RateLimit;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly options: BlobsOptions,
  ) {
    this.putLimit = new RateLimit("blob uploads", options.uploadsPerMinute, 60);
  }

  put(principal: Principal, input: PutBlobInput): Promise<BlobMeta> {
    return putBlob(this.db, principal, input, {
      maxBlobBytes: this.options.maxBlobBytes,
      beforeStore: (owner) => this.putLimit.consume(owner),
    });
  }

  get(principal: Principal, blobId: string): Promise<{ blob: BlobMeta; data: Uint8Array }> {
    return getBlob(this.db, principal, blobId);
  }

  head(principal: Principal, blobId: string): Promise<BlobMeta> {
    return headBlob(this.db, principal, blobId);
  }

  delete(principal: Principal, blobId: string): Promise<boolean> {
    return deleteBlob(this.db, principal, blobId);
  }

  /** Metadata of blobs by id, for envelopes; no access check (the caller already may read the message). */
  infos(blobIds: readonly string[]): Promise<Map<string, BlobMeta>> {
    return blobInfos(this.db, blobIds);
  }
}
