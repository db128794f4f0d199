package agentnet_test

// Sessions and receipts on a gateway of its own (heartbeat 1 s, session TTL 3 s, so eviction rules play out quickly,
// and restartable without disturbing other tests): heartbeats keep a session past its TTL, an agent whose session the
// server forgot registers again and keeps receiving, and WatchReceipts resumes after a cursor and across gateway
// restarts without repeating or losing a receipt.

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestSessionsAndReceipts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s := newServer(t, "AGENTNET_HEARTBEAT_INTERVAL_SECONDS=1", "AGENTNET_SESSION_TTL_SECONDS=3")
	run := fmt.Sprintf("gss%d", time.Now().UnixNano()%1_000_000)
	alice := user(t, ctx, s, run+"_alice")
	bob := user(t, ctx, s, run+"_bob")
	// Profiles are read as bob, who sees alice's agents only as any other user does.
	bobActor, err := bob.As(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	online := func(t *testing.T, target string) *pb.Profile {
		t.Helper()
		p, err := bobActor.GetProfile(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("heartbeats keep the session, and a forgotten one is registered again", func(t *testing.T) {
		agent, err := alice.Register(ctx, agentnet.RegisterOptions{Username: run + "_hb"})
		if err != nil {
			t.Fatal(err)
		}
		defer agent.Close(ctx)
		if agent.HeartbeatInterval() != time.Second {
			t.Fatalf("heartbeat interval %s", agent.HeartbeatInterval())
		}
		first := agent.SessionTag()
		// Past the 3 s TTL: only the heartbeats keep it.
		time.Sleep(4 * time.Second)
		if agent.SessionTag() != first || !online(t, agent.AccountID()).GetOnline() {
			t.Fatalf("session %s (was %s) lost within its heartbeats", agent.SessionTag(), first)
		}
		// The server forgets the session behind the agent's back: its next heartbeat is refused session_not_found
		// and it registers again (same account, new session).
		if _, err := alice.Registry.Deregister(ctx, &pb.DeregisterRequest{SessionTag: first}); err != nil {
			t.Fatal(err)
		}
		until(t, 30*time.Second, "the agent to register again", func() bool { return agent.SessionTag() != first })
		p := online(t, "@"+agent.Username())
		if p.GetAccountId() != agent.AccountID() || !p.GetOnline() {
			t.Fatalf("after registering again: %v", p)
		}
	})

	t.Run("an agent whose session was forgotten keeps receiving", func(t *testing.T) {
		var mu sync.Mutex
		var handled []string
		receiver, err := alice.Register(ctx, agentnet.RegisterOptions{Username: run + "_inbox"})
		if err != nil {
			t.Fatal(err)
		}
		defer receiver.Close(ctx)
		receiver.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
			mu.Lock()
			handled = append(handled, m.Text())
			mu.Unlock()
			return nil
		})
		if err := receiver.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		sender, err := bob.Register(ctx, agentnet.RegisterOptions{Username: run + "_hb_sender"})
		if err != nil {
			t.Fatal(err)
		}
		defer sender.Close(ctx)
		first := receiver.SessionTag()
		if _, err := alice.Registry.Deregister(ctx, &pb.DeregisterRequest{SessionTag: first}); err != nil {
			t.Fatal(err)
		}
		until(t, 30*time.Second, "the receiver to register again", func() bool { return receiver.SessionTag() != first })
		res, err := sender.SendText(ctx, receiver.Username(), "still there?", agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED, WaitTimeout: 20 * time.Second})
		if err != nil || res.GetStatus() != pb.DeliveryStatus_DELIVERY_STATUS_PROCESSED {
			t.Fatalf("send after re-registering: %v %v", res, err)
		}
		if got := res.GetReceipt().GetRecipientSessionTag(); got != receiver.SessionTag() {
			t.Fatalf("processed by session %s, the agent's is %s", got, receiver.SessionTag())
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(handled, []string{"still there?"}) {
			t.Fatalf("handled %v", handled)
		}
	})

	t.Run("watch receipts resumes after a cursor and across restarts", func(t *testing.T) {
		receiver, err := bob.Register(ctx, agentnet.RegisterOptions{Username: run + "_rc_r"})
		if err != nil {
			t.Fatal(err)
		}
		defer receiver.Close(ctx)
		receiver.OnMessage(func(context.Context, *agentnet.Message) error { return nil })
		if err := receiver.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		sender, err := alice.Register(ctx, agentnet.RegisterOptions{Username: run + "_rc_s"})
		if err != nil {
			t.Fatal(err)
		}
		defer sender.Close(ctx)
		send := func(text string) *pb.SendResponse {
			t.Helper()
			retries := 6 // the first send after a restart may find the connection still coming back
			res, err := sender.SendText(ctx, receiver.Username(), text, agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED, WaitTimeout: 20 * time.Second, Retries: &retries})
			if err != nil || res.GetStatus() != pb.DeliveryStatus_DELIVERY_STATUS_PROCESSED {
				t.Fatalf("send %q: %v %v", text, res, err)
			}
			return res
		}
		started := time.Now().Add(-5 * time.Second)
		one := send("one")
		statuses := []string{"accepted", "delivered", "processed"}

		// The stored receipts (replayed from `since`); then a watch from the cursor of the first replays only what
		// came after it.
		var stored []*pb.Receipt
		wctx, stop := context.WithTimeout(ctx, 30*time.Second)
		err = sender.WatchReceipts(wctx, &pb.WatchReceiptsRequest{MessageIds: []string{one.GetMessageId()}, Since: agentnet.Since(started)}, nil,
			func(r *pb.Receipt) bool { stored = append(stored, r); return len(stored) < 3 })
		stop()
		if err != nil || len(stored) != 3 {
			t.Fatalf("replay since: %v %v", stored, err)
		}
		if got := receiptStatuses(stored); !slices.Equal(got, statuses) {
			t.Fatalf("replayed %v", got)
		}
		var mu sync.Mutex
		var replayed []string
		synced := 0
		wctx, stop = context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			done <- sender.WatchReceipts(wctx, &pb.WatchReceiptsRequest{MessageIds: []string{one.GetMessageId()}, AfterCursor: stored[0].GetCursor()},
				func() { mu.Lock(); synced++; mu.Unlock() },
				func(r *pb.Receipt) bool {
					mu.Lock()
					replayed = append(replayed, statusName(r.GetStatus()))
					mu.Unlock()
					return true
				})
		}()
		until(t, 30*time.Second, "the resumed watch to be live", func() bool { mu.Lock(); defer mu.Unlock(); return synced > 0 })
		mu.Lock()
		if !slices.Equal(replayed, statuses[1:]) || synced != 1 {
			t.Fatalf("after the first cursor: %v (synced %d)", replayed, synced)
		}
		mu.Unlock()
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}

		// A live watch across gateway restarts: before its first receipt (it resumes from when it opened) and after
		// one (it resumes after that receipt's cursor). The messages sent after each restart show up whole, nothing
		// twice.
		type seenReceipt struct{ messageID, status string }
		var seen []seenReceipt
		live := 0
		wctx, stop = context.WithCancel(ctx)
		done = make(chan error, 1)
		req := &pb.WatchReceiptsRequest{AccountIds: []string{sender.AccountID()}}
		go func() {
			done <- sender.WatchReceipts(wctx, req, func() { mu.Lock(); live++; mu.Unlock() }, func(r *pb.Receipt) bool {
				mu.Lock()
				seen = append(seen, seenReceipt{r.GetMessageId(), statusName(r.GetStatus())})
				mu.Unlock()
				return true
			})
		}()
		until(t, 30*time.Second, "the watch to be live", func() bool { mu.Lock(); defer mu.Unlock(); return live > 0 })
		var sent []*pb.SendResponse
		for _, text := range []string{"two", "three"} {
			s.stop()
			s.start(t)
			sent = append(sent, send(text))
			last := sent[len(sent)-1].GetMessageId()
			until(t, 60*time.Second, "the receipts of "+text+" after the restart", func() bool {
				mu.Lock()
				defer mu.Unlock()
				return slices.Contains(seen, seenReceipt{last, "processed"})
			})
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var want []seenReceipt
		for _, m := range sent {
			for _, st := range statuses {
				want = append(want, seenReceipt{m.GetMessageId(), st})
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(seen, want) || live != 1 {
			t.Fatalf("across the restarts: %v, want %v (synced %d times)", seen, want, live)
		}
		// The caller's request is left as it was: the resume state is the watch's own.
		if req.GetAfterCursor() != "" || req.GetSince() != nil {
			t.Fatalf("the request was changed: %v", req)
		}
	})
}

func receiptStatuses(rs []*pb.Receipt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = statusName(r.GetStatus())
	}
	return out
}
