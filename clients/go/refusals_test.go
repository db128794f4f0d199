package agentnet_test

// The client's own refusals: arguments it turns down before calling the server. The client is dialed to a port
// nothing listens on, so a refusal that reached the network would come back as Unavailable instead.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestClientRefusesBeforeCallingTheServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nowhere := freePort(t) // closed again by freePort: nothing listens there
	c, err := agentnet.Dial("http://127.0.0.1:"+strconv.Itoa(nowhere), agentnet.Credentials{Token: "unused"}, agentnet.WithConnectTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	as, err := c.As(ctx, "acct_refusals")
	if err != nil {
		t.Fatal(err)
	}
	notJSON := map[string]any{"callback": func() {}}
	request := &agentnet.Message{Envelope: &pb.Envelope{MessageId: "m_req", Kind: pb.MessageKind_MESSAGE_KIND_REQUEST, FromAccountId: "acct_other"}}
	direct := &agentnet.Message{Envelope: &pb.Envelope{MessageId: "m_dir", Kind: pb.MessageKind_MESSAGE_KIND_DIRECT, FromAccountId: "acct_other"}}

	for _, tc := range []struct {
		name, want string
		call       func() error
	}{
		{"send with a payload that is not JSON", "payload is not JSON", func() error {
			_, err := as.Send(ctx, "@someone", notJSON, agentnet.SendOptions{})
			return err
		}},
		{"request with a payload that is not JSON", "payload is not JSON", func() error {
			_, err := as.Request(ctx, "@someone", notJSON, agentnet.RequestOptions{})
			return err
		}},
		{"reply to a request with a payload that is not JSON", "payload is not JSON", func() error {
			_, err := as.Reply(ctx, request, notJSON)
			return err
		}},
		{"reply to a direct message with a payload that is not JSON", "payload is not JSON", func() error {
			_, err := as.Reply(ctx, direct, notJSON)
			return err
		}},
		{"a stream part with fields that are not JSON", "payload is not JSON", func() error {
			_, err := as.Stream("@someone", agentnet.StreamOptions{}).DeltaFields(ctx, notJSON)
			return err
		}},
		{"a blob_ref with extra fields that are not JSON", "payload is not JSON", func() error {
			_, err := as.SendBlobRef(ctx, "@someone", &pb.BlobInfo{BlobId: "b_1"}, notJSON, agentnet.SendOptions{})
			return err
		}},
		{"thread send with a payload that is not JSON", "payload is not JSON", func() error {
			_, err := as.Thread("t_refusals").Send(ctx, "@someone", notJSON, agentnet.SendOptions{})
			return err
		}},
		{"register with metadata that is not JSON", "metadata is not JSON", func() error {
			_, err := c.Register(ctx, agentnet.RegisterOptions{Username: "someone", Metadata: notJSON})
			return err
		}},
		{"a chat session with metadata that is not JSON", "metadata is not JSON", func() error {
			_, err := c.CreateChatSession(ctx, agentnet.CreateChatSessionOptions{Agents: map[string]*pb.AgentConfig{"helper": {Provider: "echo"}}, Metadata: notJSON})
			return err
		}},
		{"a chat message with metadata that is not JSON", "metadata is not JSON", func() error {
			_, err := c.SendChatMessage(ctx, "sess_1", "hi", agentnet.SendChatMessageOptions{Metadata: notJSON})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var server *agentnet.Error
			if err == nil || errors.As(err, &server) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want the client's own %q refusal, got %v", tc.want, err)
			}
		})
	}
}
