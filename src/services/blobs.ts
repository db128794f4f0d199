import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type BlobInfo, BlobInfoSchema } from "../../gen/agentnet/v1/messaging_pb.js";
import type { BlobMeta, Blobs } from "../blobs/index.js";
import { principalOf } from "../server/context.js";
import type { MessagingHandlers } from "./messaging-handlers.js";

/** MessagingService's blob RPCs: PutBlob, GetBlob, HeadBlob, DeleteBlob. */
export function blobHandlers(blobs: Blobs): Pick<MessagingHandlers, "putBlob" | "getBlob" | "headBlob" | "deleteBlob"> {
  return {
    async putBlob(req, ctx) {
      const blob = await blobs.put(principalOf(ctx), {
        data: req.data,
        mimeType: req.mimeType,
        filename: req.filename,
        sha256: req.sha256,
        asAccountId: req.asAccountId,
      });
      return { blob: toBlobInfo(blob) };
    },

    async getBlob(req, ctx) {
      const { blob, data } = await blobs.get(principalOf(ctx), req.blobId);
      return { blob: toBlobInfo(blob), data };
    },

    async headBlob(req, ctx) {
      return { blob: toBlobInfo(await blobs.head(principalOf(ctx), req.blobId)) };
    },

    async deleteBlob(req, ctx) {
      return { deleted: await blobs.delete(principalOf(ctx), req.blobId) };
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
