package agentnet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"

	"google.golang.org/grpc"
)

// Actor holds the verbs that act as an account: a registered Agent, or Client.As.
type Actor struct {
	client     *Client
	accountID  func() string
	sessionTag func() string
}

// SendOptions are Send's optional fields (zero values mean the server's defaults).
type SendOptions struct {
	ThreadID        string
	ParentMessageID string
	TraceID         string
	IdempotencyKey  string
	TTL             time.Duration
	Kind            pb.MessageKind
	WaitFor         pb.WaitFor
	WaitTimeout     time.Duration
	BlobIDs         []string
	MessageID       string
	Retries         *int
}

// Recipient parses the seed's address forms: "acct_…" / "account:acct_…", "@name" / "name", "capability:chat".
func Recipient(target string) *pb.Recipient {
	t := strings.TrimSpace(target)
	switch {
	case strings.HasPrefix(t, "account:"):
		return &pb.Recipient{Target: &pb.Recipient_AccountId{AccountId: strings.TrimPrefix(t, "account:")}}
	case strings.HasPrefix(t, "capability:"):
		return &pb.Recipient{Target: &pb.Recipient_Capability{Capability: strings.TrimPrefix(t, "capability:")}}
	case strings.HasPrefix(t, "acct_"):
		return &pb.Recipient{Target: &pb.Recipient_AccountId{AccountId: t}}
	default:
		return &pb.Recipient{Target: &pb.Recipient_Username{Username: t}}
	}
}

// accountID returns the id of an "acct_…" or "account:acct_…" target; ok is false for a username.
func accountID(target string) (string, bool) {
	t := strings.TrimPrefix(strings.TrimSpace(target), "account:")
	return t, strings.HasPrefix(t, "acct_")
}

func newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "m_" + hex.EncodeToString(b)
}

func retries(r *int) int {
	if r == nil {
		return 2
	}
	return *r
}

// Send stores one message for `to` (and waits for delivery or processing with WaitFor).
func (a *Actor) Send(ctx context.Context, to string, payload map[string]any, o SendOptions) (*pb.SendResponse, error) {
	body, err := structpb.NewStruct(payload)
	if err != nil {
		return nil, fmt.Errorf("agentnet: payload is not JSON: %w", err)
	}
	req := &pb.SendRequest{
		To: Recipient(to), Payload: body, Kind: o.Kind, ThreadId: o.ThreadID, ParentMessageId: o.ParentMessageID,
		TraceId: o.TraceID, IdempotencyKey: o.IdempotencyKey, BlobIds: o.BlobIDs, WaitFor: o.WaitFor,
		AsAccountId: a.accountID(), SessionTag: a.sessionTag(), MessageId: o.MessageID,
	}
	if req.MessageId == "" {
		req.MessageId = newMessageID()
	}
	if o.TTL > 0 {
		req.Expiry = &pb.SendRequest_TtlMs{TtlMs: o.TTL.Milliseconds()}
	}
	if o.WaitTimeout > 0 {
		ms := o.WaitTimeout.Milliseconds()
		req.WaitTimeoutMs = &ms
	}
	return retry(ctx, retries(o.Retries), func(ctx context.Context) (*pb.SendResponse, error) {
		return a.client.Messaging.Send(ctx, req)
	})
}

// SendText sends {"text": text}.
func (a *Actor) SendText(ctx context.Context, to, text string, o SendOptions) (*pb.SendResponse, error) {
	return a.Send(ctx, to, map[string]any{"text": text}, o)
}

// RequestOptions are Request's optional fields.
type RequestOptions struct {
	ThreadID       string
	TraceID        string
	IdempotencyKey string
	Timeout        time.Duration // default 30 s
	MessageID      string
}

// Request sends a REQUEST and waits for the reply (NoResponders at once when the recipient is offline).
func (a *Actor) Request(ctx context.Context, to string, payload map[string]any, o RequestOptions) (*Message, error) {
	body, err := structpb.NewStruct(payload)
	if err != nil {
		return nil, fmt.Errorf("agentnet: payload is not JSON: %w", err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ms := timeout.Milliseconds()
	req := &pb.RequestRequest{
		To: Recipient(to), Payload: body, ThreadId: o.ThreadID, TraceId: o.TraceID, IdempotencyKey: o.IdempotencyKey,
		TimeoutMs: &ms, AsAccountId: a.accountID(), SessionTag: a.sessionTag(), MessageId: o.MessageID,
	}
	if req.MessageId == "" {
		req.MessageId = newMessageID()
	}
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.RequestResponse, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout+5*time.Second)
		defer cancel()
		return a.client.Messaging.Request(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return newMessage(res.GetReply()), nil
}

// AskText sends {"text": text} as a request and returns the reply's text; an ERROR reply is an error.
func (a *Actor) AskText(ctx context.Context, to, text string, o RequestOptions) (string, *Message, error) {
	reply, err := a.Request(ctx, to, map[string]any{"text": text}, o)
	if err != nil {
		return "", nil, err
	}
	if reply.Envelope.GetKind() == pb.MessageKind_MESSAGE_KIND_ERROR {
		return "", reply, fmt.Errorf("agentnet: error reply: %v", reply.Payload)
	}
	return reply.Text(), reply, nil
}

// Reply answers a request (marking it processed), or sends a direct message back in the thread of any other message.
func (a *Actor) Reply(ctx context.Context, to *Message, payload map[string]any) (string, error) {
	if !to.IsRequest() {
		res, err := a.Send(ctx, to.Envelope.GetFromAccountId(), payload, SendOptions{
			ThreadID: to.Envelope.GetThreadId(), ParentMessageID: to.Envelope.GetMessageId(), TraceID: to.Envelope.GetTraceId(),
		})
		if err != nil {
			return "", err
		}
		return res.GetMessageId(), nil
	}
	body, err := structpb.NewStruct(payload)
	if err != nil {
		return "", fmt.Errorf("agentnet: payload is not JSON: %w", err)
	}
	req := &pb.ReplyRequest{RequestMessageId: to.Envelope.GetMessageId(), Payload: body, SessionTag: a.sessionTag(), MessageId: newMessageID()}
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ReplyResponse, error) { return a.client.Messaging.Reply(ctx, req) })
	if err != nil {
		return "", err
	}
	return res.GetMessageId(), nil
}

// ReplyText replies {"text": text}.
func (a *Actor) ReplyText(ctx context.Context, to *Message, text string) (string, error) {
	return a.Reply(ctx, to, map[string]any{"text": text})
}

// ListOnline returns online agents (first page of up to 1000).
func (a *Actor) ListOnline(ctx context.Context, capability string) ([]*pb.Profile, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ListOnlineResponse, error) {
		return a.client.Registry.ListOnline(ctx, &pb.ListOnlineRequest{PageSize: 1000, Capability: capability})
	})
	if err != nil {
		return nil, err
	}
	return res.GetAgents(), nil
}

// SearchAgents finds agents by a substring of username or display name and/or a capability.
func (a *Actor) SearchAgents(ctx context.Context, query, capability string, onlineOnly bool) ([]*pb.Profile, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.SearchAgentsResponse, error) {
		return a.client.Registry.SearchAgents(ctx, &pb.SearchAgentsRequest{Query: query, Capability: capability, OnlineOnly: onlineOnly})
	})
	if err != nil {
		return nil, err
	}
	return res.GetAgents(), nil
}

// GetProfile returns one agent by account id ("acct_…" / "account:acct_…") or username ("@name" / "name"), with its
// live sessions; an unknown one is NOT_FOUND `account_not_found`.
func (a *Actor) GetProfile(ctx context.Context, target string) (*pb.Profile, error) {
	req := &pb.GetProfileRequest{}
	if id, ok := accountID(target); ok {
		req.Account = &pb.GetProfileRequest_AccountId{AccountId: id}
	} else {
		req.Account = &pb.GetProfileRequest_Username{Username: strings.TrimPrefix(strings.TrimSpace(target), "@")}
	}
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.GetProfileResponse, error) {
		return a.client.Registry.GetProfile(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return res.GetProfile(), nil
}

// WatchReceipts calls fn for each receipt of messages the caller's accounts sent (req selects them, as in the
// WatchReceipts RPC; it is not modified) until ctx ends or fn returns false. onSynced (optional) runs once, when the
// first stream is live. A stream that drops is reopened after the last receipt seen or, when none was seen yet, from
// req.Since or else from when the watch opened, so a receipt made while the stream was down is not lost.
func (a *Actor) WatchReceipts(ctx context.Context, req *pb.WatchReceiptsRequest, onSynced func(), fn func(*pb.Receipt) bool) error {
	base := &pb.WatchReceiptsRequest{}
	if req != nil {
		base = proto.Clone(req).(*pb.WatchReceiptsRequest)
	}
	// Without this, a reopen before the first receipt would ask for live receipts only and miss the gap's.
	resumeSince := base.GetSince()
	if resumeSince == nil {
		resumeSince = timestamppb.Now()
	}
	cursor, first, synced := base.GetAfterCursor(), true, false
	return watch(ctx, func(sctx context.Context) (grpc.ServerStreamingClient[pb.WatchReceiptsResponse], error) {
		attempt := proto.Clone(base).(*pb.WatchReceiptsRequest)
		attempt.AfterCursor, attempt.Since = cursor, nil
		if cursor == "" && (base.GetSince() != nil || !first) {
			attempt.Since = resumeSince
		}
		first = false
		return a.client.Messaging.WatchReceipts(sctx, attempt)
	}, func(item *pb.WatchReceiptsResponse) bool {
		if item.GetSynced() != nil && !synced {
			synced = true
			if onSynced != nil {
				onSynced()
			}
		}
		if r := item.GetReceipt(); r != nil {
			cursor = r.GetCursor()
			return fn(r)
		}
		return true
	})
}

// Since is a helper for WatchReceiptsRequest.Since.
func Since(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
