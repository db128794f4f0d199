package agentnet_test

// Presence watching through a live gateway: live events, a watch that reopens after a gateway restart with a
// snapshot of who is online (presence has no cursor to resume from), the filters, and a typed refusal.

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestWatchPresence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s := newServer(t)
	run := fmt.Sprintf("gpr%d", time.Now().UnixNano()%1_000_000)
	watcherClient := user(t, ctx, s, run+"_w")
	watcher, err := watcherClient.Register(ctx, agentnet.RegisterOptions{Username: run + "_watcher"})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close(ctx)
	targets := user(t, ctx, s, run+"_t")
	capability := run + ".presence"

	var mu sync.Mutex
	var events []*pb.PresenceEvent
	synced := 0
	seen := func(match func(*pb.PresenceEvent) bool) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range events {
				if match(e) {
					return true
				}
			}
			return false
		}
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- watcher.WatchPresence(wctx, agentnet.WatchPresenceOptions{Capability: capability},
			func() { mu.Lock(); synced++; mu.Unlock() },
			func(e *pb.PresenceEvent) bool { mu.Lock(); events = append(events, e); mu.Unlock(); return true })
	}()
	until(t, 20*time.Second, "the watch to be live", func() bool { mu.Lock(); defer mu.Unlock(); return synced == 1 })

	target, err := targets.Register(ctx, agentnet.RegisterOptions{Username: run + "_target", Capabilities: []string{capability}})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close(ctx)
	other, err := targets.Register(ctx, agentnet.RegisterOptions{Username: run + "_other", Capabilities: []string{"something.else"}})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	until(t, 20*time.Second, "the live online event", seen(func(e *pb.PresenceEvent) bool {
		return e.GetType() == pb.PresenceEventType_PRESENCE_EVENT_TYPE_ONLINE && !e.GetSnapshot() && e.GetAccount().GetUsername() == target.Username()
	}))

	s.stop()
	time.Sleep(300 * time.Millisecond)
	s.start(t)
	// No snapshot was asked for: only the reopened watch sends one, of who is online after the gap.
	until(t, 60*time.Second, "the watch to reopen with a snapshot", seen(func(e *pb.PresenceEvent) bool { return e.GetSnapshot() }))
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if synced != 1 {
		t.Fatalf("onSynced ran %d times", synced)
	}
	for _, e := range events {
		// The capability filter held throughout: the other account never showed up.
		if e.GetAccount().GetUsername() != target.Username() {
			t.Fatalf("event for %s", e.GetAccount().GetUsername())
		}
		if e.GetSnapshot() && e.GetType() != pb.PresenceEventType_PRESENCE_EVENT_TYPE_ONLINE {
			t.Fatalf("snapshot entry %v", e)
		}
	}

	t.Run("a watch without a valid credential is refused, not retried", func(t *testing.T) {
		anonymous, err := agentnet.Dial(s.url, agentnet.Credentials{Token: "not-a-token"})
		if err != nil {
			t.Fatal(err)
		}
		defer anonymous.Close()
		as, err := anonymous.As(ctx, watcher.AccountID())
		if err != nil {
			t.Fatal(err)
		}
		wctx, stop := context.WithTimeout(ctx, 30*time.Second)
		defer stop()
		err = as.WatchPresence(wctx, agentnet.WatchPresenceOptions{}, nil, func(*pb.PresenceEvent) bool { return true })
		if !agentnet.IsUnauthenticated(err) || wctx.Err() != nil {
			t.Fatalf("want UNAUTHENTICATED at once, got %v", err)
		}
	})
}
