package agentnet

// Threads and message history (the seed's thread_list, thread_messages, message_search and thread_status): reads,
// so every call is retried after a transient failure. Lists are paged: pass the returned token back as PageToken
// for the next page; "" means there is none.

import (
	"context"
	"strings"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// PageOptions select one page of a paged read.
type PageOptions struct {
	// PageSize is the most items per page; 0 means the server's default (its maximum clamps larger values).
	PageSize int32
	// PageToken is the token the previous page returned; "" for the first page.
	PageToken string
}

// ListThreadsOptions filter ListThreads.
type ListThreadsOptions struct {
	PageOptions
	// Participant keeps threads this account ("acct_…") or username ("@name") took part in; "" keeps any.
	Participant string
	// Query keeps threads whose id contains it (case-insensitive); "" keeps any.
	Query string
}

// ListThreads returns one page of the threads the caller may read, most recent activity first, and the token of
// the next page ("" when this is the last).
func (a *Actor) ListThreads(ctx context.Context, o ListThreadsOptions) ([]*pb.ThreadSummary, string, error) {
	req := &pb.ListThreadsRequest{PageSize: o.PageSize, PageToken: o.PageToken, Query: o.Query}
	if o.Participant != "" {
		if id, ok := accountID(o.Participant); ok {
			req.ParticipantAccountId = id
		} else {
			req.ParticipantUsername = strings.TrimPrefix(strings.TrimSpace(o.Participant), "@")
		}
	}
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.ListThreadsResponse, error) {
		return a.client.Messaging.ListThreads(ctx, req)
	})
	if err != nil {
		return nil, "", err
	}
	return res.GetThreads(), res.GetNextPageToken(), nil
}

// GetThreadMessages returns one page of a thread's messages, newest first, and the token of the next (older)
// page. A thread the caller may not read is NOT_FOUND `thread_not_found`, like an unknown one.
func (a *Actor) GetThreadMessages(ctx context.Context, threadID string, o PageOptions) ([]*pb.Envelope, string, error) {
	req := &pb.GetThreadMessagesRequest{ThreadId: threadID, PageSize: o.PageSize, PageToken: o.PageToken}
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.GetThreadMessagesResponse, error) {
		return a.client.Messaging.GetThreadMessages(ctx, req)
	})
	if err != nil {
		return nil, "", err
	}
	return res.GetMessages(), res.GetNextPageToken(), nil
}

// SearchMessages pages through messages the caller may read (newest first); every filter given must match.
func (a *Actor) SearchMessages(ctx context.Context, req *pb.SearchMessagesRequest) ([]*pb.Envelope, string, error) {
	res, err := retry(ctx, 2, func(ctx context.Context) (*pb.SearchMessagesResponse, error) {
		return a.client.Messaging.SearchMessages(ctx, req)
	})
	if err != nil {
		return nil, "", err
	}
	return res.GetMessages(), res.GetNextPageToken(), nil
}

// ThreadStatus returns a thread's counters (messages, pending, bytes, participants).
func (a *Actor) ThreadStatus(ctx context.Context, threadID string) (*pb.GetThreadStatusResponse, error) {
	return retry(ctx, 2, func(ctx context.Context) (*pb.GetThreadStatusResponse, error) {
		return a.client.Messaging.GetThreadStatus(ctx, &pb.GetThreadStatusRequest{ThreadId: threadID})
	})
}
