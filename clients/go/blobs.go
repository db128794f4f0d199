package agentnet

// Blobs: bytes stored once and referenced from messages. A message carrying a blob's id in blob_ids (SendBlobRef
// does this) lets its recipient's owner read the blob; the payload is the seed's `blob_ref` shape.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// PutBlobOptions describe a blob to store.
type PutBlobOptions struct {
	// MimeType, e.g. "image/png"; "" stores "application/octet-stream".
	MimeType string
	// Filename, e.g. "chart.png"; may be "".
	Filename string
}

// PutBlob stores data owned by the actor's account and returns its metadata. The client sends the bytes' SHA-256,
// so bytes damaged on the way are refused (INVALID_ARGUMENT `sha256_mismatch`) instead of stored. Larger than the
// server's limit (16 MiB by default) is INVALID_ARGUMENT `blob_too_large`. A retry after a lost answer stores the
// bytes again under a second id (the server cannot tell it from a new upload); the first stays unreferenced.
func (a *Actor) PutBlob(ctx context.Context, data []byte, o PutBlobOptions) (*pb.BlobInfo, error) {
	sum := sha256.Sum256(data)
	req := &pb.PutBlobRequest{Data: data, MimeType: o.MimeType, Filename: o.Filename, Sha256: hex.EncodeToString(sum[:]), AsAccountId: a.accountID()}
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.PutBlobResponse, error) {
		return a.client.Messaging.PutBlob(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return res.GetBlob(), nil
}

// GetBlob returns a blob's metadata and bytes. A blob the caller may not read is NOT_FOUND `blob_not_found`, like
// an unknown or deleted one.
func (a *Actor) GetBlob(ctx context.Context, blobID string) (*pb.BlobInfo, []byte, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.GetBlobResponse, error) {
		return a.client.Messaging.GetBlob(ctx, &pb.GetBlobRequest{BlobId: blobID})
	})
	if err != nil {
		return nil, nil, err
	}
	return res.GetBlob(), res.GetData(), nil
}

// GetBlobText returns a blob's bytes as a string.
func (a *Actor) GetBlobText(ctx context.Context, blobID string) (string, error) {
	_, data, err := a.GetBlob(ctx, blobID)
	return string(data), err
}

// HeadBlob returns a blob's metadata without its bytes (same access rules and errors as GetBlob).
func (a *Actor) HeadBlob(ctx context.Context, blobID string) (*pb.BlobInfo, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.HeadBlobResponse, error) {
		return a.client.Messaging.HeadBlob(ctx, &pb.HeadBlobRequest{BlobId: blobID})
	})
	if err != nil {
		return nil, err
	}
	return res.GetBlob(), nil
}

// DeleteBlob deletes a blob the caller owns: true when this call deleted it, false when it was already gone.
// Messages keep their references; reading through them is NOT_FOUND afterwards. A blob the caller can read but
// does not own is PERMISSION_DENIED `not_account_owner`.
func (a *Actor) DeleteBlob(ctx context.Context, blobID string) (bool, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.DeleteBlobResponse, error) {
		return a.client.Messaging.DeleteBlob(ctx, &pb.DeleteBlobRequest{BlobId: blobID})
	})
	if err != nil {
		return false, err
	}
	return res.GetDeleted(), nil
}

// BlobRefPayload is the seed's `blob_ref` payload for a stored blob: extra's fields plus type, blob_id, sha256,
// size_bytes, mime_type and filename.
func BlobRefPayload(blob *pb.BlobInfo, extra map[string]any) map[string]any {
	p := make(map[string]any, len(extra)+6)
	for k, v := range extra {
		p[k] = v
	}
	p["type"] = "blob_ref"
	p["blob_id"] = blob.GetBlobId()
	p["sha256"] = blob.GetSha256()
	p["size_bytes"] = float64(blob.GetSizeBytes())
	p["mime_type"] = blob.GetMimeType()
	p["filename"] = blob.GetFilename()
	return p
}

// BlobRefID returns the blob id of a `blob_ref` payload; ok is false for any other payload.
func BlobRefID(payload map[string]any) (id string, ok bool) {
	if payload["type"] != "blob_ref" {
		return "", false
	}
	id, ok = payload["blob_id"].(string)
	return id, ok && id != ""
}

// SendBlobRef sends the `blob_ref` payload of a stored blob (extra's fields added) with the blob's id in
// blob_ids, which grants the recipient read access.
func (a *Actor) SendBlobRef(ctx context.Context, to string, blob *pb.BlobInfo, extra map[string]any, o SendOptions) (*pb.SendResponse, error) {
	o.BlobIDs = append(append([]string(nil), o.BlobIDs...), blob.GetBlobId())
	return a.Send(ctx, to, BlobRefPayload(blob, extra), o)
}
