package agentnet

// Chat sessions (SessionService): a user's conversations with agents agentnet hosts itself (LLM providers, or the
// built-in `echo`), and agent-with-agent conversations it runs. A session belongs to the user, not to an agent
// account, so these verbs are on the Client. The server limits them per user (by default CreateSession 5/min,
// GetSession, ListSessions and StreamSession 10/min together, SendSessionMessage 60/min): beyond, RESOURCE_EXHAUSTED
// `rate_limited` with RetryAfter.

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/structpb"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"

	"google.golang.org/grpc"
)

// CreateChatSessionOptions describe a session to create; only Agents is required.
type CreateChatSessionOptions struct {
	// Type: SESSION_TYPE_HUMAN_AGENT (the default, the caller talks to one agent) or SESSION_TYPE_AGENT_AGENT (two
	// agents converse, the caller watches and may steer).
	Type pb.SessionType
	// Agents by name (1..64 of a-z0-9_-), e.g. {"helper": {Provider: "echo"}}: one for HUMAN_AGENT, two for
	// AGENT_AGENT.
	Agents map[string]*pb.AgentConfig
	// Goal given to the agents; an AGENT_AGENT session stops when an agent declares it reached.
	Goal string
	// InteractionModes are free-form labels the agents are told about ("chat", "debate").
	InteractionModes []string
	// Metadata is kept with the session (JSON values).
	Metadata map[string]any
	// MaxTurns bounds an AGENT_AGENT conversation (1..200); 0: the server's default (20).
	MaxTurns int32
	// OpeningMessage, FirstSpeaker and StopWord steer an AGENT_AGENT session ("" / nil: the server's defaults).
	OpeningMessage string
	FirstSpeaker   string
	StopWord       *string
	// TokensPerMinute is each agent's budget before it cools down; nil: the server's default, 0: no budget.
	TokensPerMinute *int32
}

// CreateChatSession creates a session and starts its agents. Refusals: INVALID_ARGUMENT (`unknown_provider`,
// `invalid_agent_count`, `invalid_agent_name`, …), FAILED_PRECONDITION `provider_not_configured`. Not retried:
// the server cannot recognise a repeat, and a retry after a lost answer would start a second session.
func (c *Client) CreateChatSession(ctx context.Context, o CreateChatSessionOptions) (*pb.ChatSession, error) {
	req := &pb.CreateSessionRequest{
		SessionType: o.Type, Agents: o.Agents, Goal: o.Goal, InteractionModes: o.InteractionModes,
		OpeningMessage: o.OpeningMessage, FirstSpeaker: o.FirstSpeaker, StopWord: o.StopWord, TokensPerMinute: o.TokensPerMinute,
	}
	if req.SessionType == pb.SessionType_SESSION_TYPE_UNSPECIFIED {
		req.SessionType = pb.SessionType_SESSION_TYPE_HUMAN_AGENT
	}
	if o.MaxTurns != 0 {
		req.MaxTurns = &o.MaxTurns
	}
	if o.Metadata != nil {
		md, err := structpb.NewStruct(o.Metadata)
		if err != nil {
			return nil, fmt.Errorf("agentnet: metadata is not JSON: %w", err)
		}
		req.Metadata = md
	}
	res, err := retry(ctx, 0, func(ctx context.Context) (*pb.CreateSessionResponse, error) {
		return c.Sessions.CreateSession(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	return res.GetSession(), nil
}

// GetChatSession returns a session's state; one that is unknown, deleted or another user's is NOT_FOUND
// `session_not_found`.
func (c *Client) GetChatSession(ctx context.Context, sessionID string) (*pb.ChatSession, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.GetSessionResponse, error) {
		return c.Sessions.GetSession(ctx, &pb.GetSessionRequest{SessionId: sessionID})
	})
	if err != nil {
		return nil, err
	}
	return res.GetSession(), nil
}

// ListChatSessionsOptions filter ListChatSessions (zero values: any).
type ListChatSessionsOptions struct {
	// All lists every user's sessions (admins only; ignored for others).
	All    bool
	Status pb.SessionStatus
	Type   pb.SessionType
}

// ListChatSessions returns the caller's sessions, newest first, following every page.
func (c *Client) ListChatSessions(ctx context.Context, o ListChatSessionsOptions) ([]*pb.ChatSession, error) {
	var out []*pb.ChatSession
	token := ""
	for {
		req := &pb.ListSessionsRequest{PageSize: 200, PageToken: token, All: o.All, Status: o.Status, SessionType: o.Type}
		res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ListSessionsResponse, error) {
			return c.Sessions.ListSessions(ctx, req)
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.GetSessions()...)
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// DeleteChatSession stops everything in a session and deletes it; afterwards it is NOT_FOUND `session_not_found`
// (so is deleting it again). Its thread messages stay readable until retention prunes them.
func (c *Client) DeleteChatSession(ctx context.Context, sessionID string) error {
	attempts := 0
	_, err := retry(ctx, 2, func(ctx context.Context) (*pb.DeleteSessionResponse, error) {
		attempts++
		res, err := c.Sessions.DeleteSession(ctx, &pb.DeleteSessionRequest{SessionId: sessionID})
		if attempts > 1 && ReasonOf(FromError(err)) == "session_not_found" {
			// A retry finding it gone: the attempt whose answer was lost deleted it.
			return &pb.DeleteSessionResponse{SessionId: sessionID}, nil
		}
		return res, err
	})
	return err
}

// SendChatMessageOptions are SendChatMessage's optional fields.
type SendChatMessageOptions struct {
	// WaitForResponse also waits for the addressed agent's whole answer and returns it as Response (bounded by
	// ctx; DEADLINE_EXCEEDED `timeout` when the server gives up first).
	WaitForResponse bool
	// AsAgent posts as one of an AGENT_AGENT session's agents (its counterpart answers).
	AsAgent string
	// ToAgent addresses one agent; "": the only one (HUMAN_AGENT), or the AGENT_AGENT default.
	ToAgent string
	// IdempotencyKey makes a repeat return the first send's result; "" picks a fresh one, so the client's own
	// retries never post twice.
	IdempotencyKey string
	// Metadata is attached to the message's event (JSON values).
	Metadata map[string]any
}

// SendChatMessage posts content into a session (as the user, or as AsAgent). The answers arrive as events on
// StreamChatSession, and with WaitForResponse also in the result. Refusals: NOT_FOUND `session_not_found`,
// FAILED_PRECONDITION `session_expired` / `session_stopped`, INVALID_ARGUMENT `unknown_agent`, `empty_content`,
// `content_too_long`.
func (c *Client) SendChatMessage(ctx context.Context, sessionID, content string, o SendChatMessageOptions) (*pb.SendSessionMessageResponse, error) {
	req := &pb.SendSessionMessageRequest{
		SessionId: sessionID, Content: content, AsAgent: o.AsAgent, ToAgent: o.ToAgent,
		IdempotencyKey: o.IdempotencyKey, WaitForResponse: o.WaitForResponse,
	}
	if req.IdempotencyKey == "" {
		req.IdempotencyKey = "k_" + newMessageID()[2:]
	}
	if o.Metadata != nil {
		md, err := structpb.NewStruct(o.Metadata)
		if err != nil {
			return nil, fmt.Errorf("agentnet: metadata is not JSON: %w", err)
		}
		req.Metadata = md
	}
	return retry(ctx, 2, func(ctx context.Context) (*pb.SendSessionMessageResponse, error) {
		return c.Sessions.SendSessionMessage(ctx, req)
	})
}

// StreamChatSession calls fn for a session's events in seq order: the stored ones after afterSeq (0: from the
// start; ChatSession.LastSeq: only new ones), then live ones. An answer arrives as DELTA pieces while it is
// generated, then one RESPONSE with the whole text. Keepalives (PING) are left out. A dropped stream is reopened
// after the last seq seen, so nothing is missed or repeated. Returns nil after the session's STOP event, when fn
// returns false or ctx ends; a refusal (NOT_FOUND `session_not_found`, FAILED_PRECONDITION `session_expired`,
// INVALID_ARGUMENT `invalid_seq`, RESOURCE_EXHAUSTED `rate_limited`) as *Error.
func (c *Client) StreamChatSession(ctx context.Context, sessionID string, afterSeq int64, fn func(*pb.SessionEvent) bool) error {
	return watch(ctx, func(sctx context.Context) (grpc.ServerStreamingClient[pb.StreamSessionResponse], error) {
		return c.Sessions.StreamSession(sctx, &pb.StreamSessionRequest{SessionId: sessionID, AfterSeq: afterSeq})
	}, func(item *pb.StreamSessionResponse) bool {
		e := item.GetEvent()
		if e == nil || e.GetType() == pb.SessionEventType_SESSION_EVENT_TYPE_PING {
			return true
		}
		afterSeq = max(afterSeq, e.GetSeq())
		return fn(e) && e.GetType() != pb.SessionEventType_SESSION_EVENT_TYPE_STOP
	})
}

// ListChatProviders returns the AI providers the server knows and whether each is configured (`echo` always is).
func (c *Client) ListChatProviders(ctx context.Context) ([]*pb.ProviderInfo, error) {
	var out []*pb.ProviderInfo
	token := ""
	for {
		res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ListProvidersResponse, error) {
			return c.Sessions.ListProviders(ctx, &pb.ListProvidersRequest{PageSize: 200, PageToken: token})
		})
		if err != nil {
			return nil, err
		}
		out = append(out, res.GetProviders()...)
		if token = res.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}
