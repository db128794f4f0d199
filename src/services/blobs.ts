import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type BlobInfo, BlobInfoSchema } from "../../gen/agentnet/v1/messaging_pb.js";
import { type BlobMeta, deleteBlob, getBlob, headBlob, putBlob } from "../blobs/blobs.js";
import { RateLimit } from "../rate-limit.js";
import { principalOf } from "../server/context.js";
import type { ServiceDeps } from "./index.js";
import type { MessagingHandlers } from "./messaging.js";

/** MessagingService's blob RPCs: PutBlob, GetBlob, HeadBlob, DeleteBlob. */
export function blobHandlers(deps: ServiceDeps): Pick<MessagingHandlers, "putBlob" | "getBlob" | "headBlob" | "deleteBlob"> {
  const db = deps.store.db;
  // Per owning account: blobs are large, so one busy account must not fill the store or the gateway's memory.
  const putLimit = new RateLimit("blob uploads", deps.config.blobRatePerMinute, 60);

  return {
    async putBlob(req, ctx) {
      const blob = await putBlob(
        db,
        principalOf(ctx),
        { data: req.data, mimeType: req.mimeType, filename: req.filename, sha256: req.sha256, asAccountId: req.asAccountId },
        { maxBlobBytes: deps.config.maxBlobBytes, beforeStore: (owner) => putLimit.consume(owner) },
      );
      return { blob: toBlobInfo(blob) };
    },

    async getBlob(req, ctx) {
      const { blob, data } = await getBlob(db, principalOf(ctx), req.blobId);
      return { blob: toBlobInfo(blob), data };
    },

    async headBlob(req, ctx) {
      return { blob: toBlobInfo(await headBlob(db, principalOf(ctx), req.blobId)) };
    },

    async deleteBlob(req, ctx) {
      return { deleted: await deleteBlob(db, principalOf(ctx), req.blobId) };
    },
  };
}

export function toBlobInfo(blob: BlobMeta): BlobInfo {
  return create(BlobInfoSchema, {
    blobId: blob.blobId,
    sha256: blob.sha256,
    sizeBytes: BigInt(blob.sizeBytes),
    mimeType: blob.mimeType,
    filename: blob.filename,
    ownerAccountId: blob.ownerAccountId,
    createdAt: timestampFromDate(blob.createdAt),
  });
}

/**
 * The `blobs` of an envelope, in the message's order. A blob deleted since keeps its place with only its id:
 * the message still references it, and GetBlob answers NOT_FOUND.
 */
export function envelopeBlobs(blobIds: readonly string[], infos: Map<string, BlobMeta>): BlobInfo[] {
  return blobIds.map((id) => {
    const meta = infos.get(id);
    return meta ? toBlobInfo(meta) : create(BlobInfoSchema, { blobId: id });
  });
}
