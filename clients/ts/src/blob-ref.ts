// The seed's blob reference payload: blobs travel as ordinary messages whose payload points at stored bytes.
import type { JsonObject } from "@bufbuild/protobuf";
import type { BlobInfo } from "@agentnet/gen/agentnet/v1/messaging_pb.js";

export function blobRefPayload(blob: BlobInfo, extra: JsonObject = {}): JsonObject {
  return {
    ...extra,
    type: "blob_ref",
    blob_id: blob.blobId,
    sha256: blob.sha256,
    size_bytes: Number(blob.sizeBytes),
    mime_type: blob.mimeType,
    filename: blob.filename,
  };
}

/** The blob id of a `blob_ref` payload, or undefined when the payload is something else. */
export function blobRefId(payload: JsonObject): string | undefined {
  return payload["type"] === "blob_ref" && typeof payload["blob_id"] === "string" ? payload["blob_id"] : undefined;
}
