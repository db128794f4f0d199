package agentnet

// Presence watching (RegistryService.WatchPresence): accounts coming online, changing and going offline, live.

import (
	"context"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"

	"google.golang.org/grpc"
)

// WatchPresenceOptions filter WatchPresence.
type WatchPresenceOptions struct {
	// AccountIDs keeps only these accounts; empty: every account the caller may see.
	AccountIDs []string
	// Capability keeps only accounts offering it; "": any.
	Capability string
	// IncludeSnapshot first sends one ONLINE event (Snapshot true) per matching account online now.
	IncludeSnapshot bool
}

// WatchPresence calls fn for each presence event until ctx ends (nil) or fn returns false (nil); onSynced
// (optional) runs once, when the stream is live (after the snapshot). A dropped stream is reopened with backoff.
// Presence has no cursor to resume from, so the reopened watch asks for a snapshot: the accounts online then
// arrive again as snapshot entries, which makes the caller's view whole again (changes during the gap show up as
// that difference, not as events). A refusal (e.g. Unauthenticated) is returned as *Error.
func (a *Actor) WatchPresence(ctx context.Context, o WatchPresenceOptions, onSynced func(), fn func(*pb.PresenceEvent) bool) error {
	synced, opened := false, false
	return watch(ctx, func(sctx context.Context) (grpc.ServerStreamingClient[pb.WatchPresenceResponse], error) {
		req := &pb.WatchPresenceRequest{AccountIds: o.AccountIDs, Capability: o.Capability, IncludeSnapshot: o.IncludeSnapshot || opened}
		opened = true
		return a.client.Registry.WatchPresence(sctx, req)
	}, func(item *pb.WatchPresenceResponse) bool {
		if item.GetSynced() != nil && !synced {
			synced = true
			if onSynced != nil {
				onSynced()
			}
		}
		if e := item.GetPresence(); e != nil {
			return fn(e)
		}
		return true
	})
}
