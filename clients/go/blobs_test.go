package agentnet_test

// Blobs through a live gateway beyond the scenario: any bytes round-trip, the defaults the server fills in, and
// who may read or delete: nobody without a reference, a recipient read-only through one.

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestBlobs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sharedServer(t)
	run := fmt.Sprintf("gbl%d", time.Now().UnixNano()%1_000_000)
	owner, err := user(t, ctx, s, run+"_o").Register(ctx, agentnet.RegisterOptions{Username: run + "_owner"})
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	readerClient := user(t, ctx, s, run+"_r")
	reader, err := readerClient.Register(ctx, agentnet.RegisterOptions{Username: run + "_reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)
	received := make(chan *agentnet.Message, 4)
	reader.OnMessage(func(ctx context.Context, m *agentnet.Message) error { received <- m; return nil })
	if err := reader.Ready(ctx); err != nil {
		t.Fatal(err)
	}

	data := make([]byte, 256*3)
	for i := range data {
		data[i] = byte(i)
	}
	blob, err := owner.PutBlob(ctx, data, agentnet.PutBlobOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if blob.GetSizeBytes() != int64(len(data)) || blob.GetMimeType() != "application/octet-stream" || blob.GetFilename() != "" ||
		blob.GetOwnerAccountId() != owner.AccountID() {
		t.Fatalf("blob %v", blob)
	}

	t.Run("the owner reads the bytes back unchanged", func(t *testing.T) {
		info, got, err := owner.GetBlob(ctx, blob.GetBlobId())
		if err != nil || !bytes.Equal(got, data) || info.GetSha256() != blob.GetSha256() {
			t.Fatalf("read %d bytes (%v): %v", len(got), info, err)
		}
	})

	t.Run("another user cannot read it without a reference", func(t *testing.T) {
		if _, _, err := reader.GetBlob(ctx, blob.GetBlobId()); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "blob_not_found" {
			t.Fatalf("want NOT_FOUND blob_not_found, got %v", err)
		}
		if _, err := reader.HeadBlob(ctx, blob.GetBlobId()); agentnet.ReasonOf(err) != "blob_not_found" {
			t.Fatalf("head: want blob_not_found, got %v", err)
		}
	})

	t.Run("a blob_ref grants the recipient reading, not deleting", func(t *testing.T) {
		sent, err := owner.SendBlobRef(ctx, "@"+reader.Username(), blob, map[string]any{"caption": "all bytes"}, agentnet.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var m *agentnet.Message
		select {
		case m = <-received:
		case <-time.After(30 * time.Second):
			t.Fatal("the reference did not arrive")
		}
		p := m.Payload
		if m.Envelope.GetMessageId() != sent.GetMessageId() || p["type"] != "blob_ref" || p["blob_id"] != blob.GetBlobId() || p["sha256"] != blob.GetSha256() ||
			p["size_bytes"] != float64(len(data)) || p["mime_type"] != "application/octet-stream" || p["caption"] != "all bytes" {
			t.Fatalf("payload %v", p)
		}
		if len(m.Envelope.GetBlobs()) != 1 || m.Envelope.GetBlobs()[0].GetBlobId() != blob.GetBlobId() {
			t.Fatalf("the envelope names blobs %v", m.Envelope.GetBlobs())
		}
		id, _ := agentnet.BlobRefID(p)
		info, got, err := reader.GetBlob(ctx, id)
		if err != nil || !bytes.Equal(got, data) || info.GetBlobId() != blob.GetBlobId() {
			t.Fatalf("the recipient read %d bytes: %v", len(got), err)
		}
		if _, err := reader.DeleteBlob(ctx, id); !agentnet.IsPermissionDenied(err) || agentnet.ReasonOf(err) != "not_account_owner" {
			t.Fatalf("want PERMISSION_DENIED not_account_owner, got %v", err)
		}
	})

	t.Run("an unknown blob is not found and deleting it is false", func(t *testing.T) {
		if _, err := owner.HeadBlob(ctx, "blob_01J0000000000000000000000"); !agentnet.IsNotFound(err) {
			t.Fatalf("want NOT_FOUND, got %v", err)
		}
		deleted, err := owner.DeleteBlob(ctx, "blob_01J0000000000000000000000")
		if err != nil || deleted {
			t.Fatalf("delete unknown: %v %v", deleted, err)
		}
	})

	t.Run("the same bytes again are a new blob with the same digest", func(t *testing.T) {
		again, err := owner.PutBlob(ctx, data, agentnet.PutBlobOptions{MimeType: "application/x-test", Filename: "bytes.bin"})
		if err != nil || again.GetBlobId() == blob.GetBlobId() || again.GetSha256() != blob.GetSha256() || again.GetFilename() != "bytes.bin" {
			t.Fatalf("again %v %v", again, err)
		}
	})

	t.Run("a payload that is not a blob_ref has no blob id", func(t *testing.T) {
		if _, ok := agentnet.BlobRefID(map[string]any{"type": "text", "blob_id": "blob_x"}); ok {
			t.Fatal("took a text payload for a blob_ref")
		}
		if p := agentnet.BlobRefPayload(&pb.BlobInfo{BlobId: "blob_x", SizeBytes: 3}, map[string]any{"type": "overridden"}); p["type"] != "blob_ref" || p["size_bytes"] != 3.0 {
			t.Fatalf("payload %v", p)
		}
	})
}
