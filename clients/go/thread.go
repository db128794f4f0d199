package agentnet

// The seed's `sdk.thread(id)`: the sending verbs with the thread filled in, plus the thread's history and status.

import (
	"context"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// Thread posts in, and reads, one thread as its Actor.
type Thread struct {
	actor *Actor
	// ID is the thread's id.
	ID string
}

// Thread returns the verbs posting in thread id (a new id starts a thread with the first message).
func (a *Actor) Thread(id string) *Thread { return &Thread{actor: a, ID: id} }

// Send is Actor.Send in this thread.
func (t *Thread) Send(ctx context.Context, to string, payload map[string]any, o SendOptions) (*pb.SendResponse, error) {
	o.ThreadID = t.ID
	return t.actor.Send(ctx, to, payload, o)
}

// SendText is Actor.SendText in this thread.
func (t *Thread) SendText(ctx context.Context, to, text string, o SendOptions) (*pb.SendResponse, error) {
	o.ThreadID = t.ID
	return t.actor.SendText(ctx, to, text, o)
}

// Request is Actor.Request in this thread.
func (t *Thread) Request(ctx context.Context, to string, payload map[string]any, o RequestOptions) (*Message, error) {
	o.ThreadID = t.ID
	return t.actor.Request(ctx, to, payload, o)
}

// AskText is Actor.AskText in this thread.
func (t *Thread) AskText(ctx context.Context, to, text string, o RequestOptions) (string, *Message, error) {
	o.ThreadID = t.ID
	return t.actor.AskText(ctx, to, text, o)
}

// Stream is Actor.Stream in this thread.
func (t *Thread) Stream(to string, o StreamOptions) *StreamWriter {
	o.ThreadID = t.ID
	return t.actor.Stream(to, o)
}

// Messages is one page of the thread's messages, newest first (Actor.GetThreadMessages).
func (t *Thread) Messages(ctx context.Context, o PageOptions) ([]*pb.Envelope, string, error) {
	return t.actor.GetThreadMessages(ctx, t.ID, o)
}

// Status is the thread's counters (Actor.ThreadStatus).
func (t *Thread) Status(ctx context.Context) (*pb.GetThreadStatusResponse, error) {
	return t.actor.ThreadStatus(ctx, t.ID)
}
