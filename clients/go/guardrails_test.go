package agentnet_test

// The handler's guardrails through a live gateway, seen as the sender sees them (the receipt a Send waiting for
// PROCESSED returns): the queue bound (busy), a handler's own refusal, the work timeout, handler errors and the
// circuit breaker that opens after them and closes again after its reset.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// guardedPair registers a receiver running h inside limits, and a sender on another user.
func guardedPair(t *testing.T, ctx context.Context, run string, limits agentnet.Guardrails, h func(*agentnet.Agent) agentnet.Handler) (sender, receiver *agentnet.Agent) {
	t.Helper()
	s := sharedServer(t)
	receiver, err := user(t, ctx, s, run+"_r").Register(ctx, agentnet.RegisterOptions{Username: run + "_receiver", Guardrails: &limits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = receiver.Close(context.Background()) })
	receiver.OnMessage(h(receiver))
	if err := receiver.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	sender, err = user(t, ctx, s, run+"_s").Register(ctx, agentnet.RegisterOptions{Username: run + "_sender"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sender.Close(context.Background()) })
	return sender, receiver
}

// outcome is what the sender learns: "processed", or the rejection's code.
func outcome(t *testing.T, res *pb.SendResponse, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if res.GetWaitTimedOut() {
		t.Fatalf("%s: no final status in time (%s)", res.GetMessageId(), statusName(res.GetStatus()))
	}
	switch res.GetStatus() {
	case pb.DeliveryStatus_DELIVERY_STATUS_PROCESSED:
		return "processed"
	case pb.DeliveryStatus_DELIVERY_STATUS_REJECTED:
		return res.GetReceipt().GetCode()
	}
	t.Fatalf("%s: status %s", res.GetMessageId(), statusName(res.GetStatus()))
	return ""
}

func sendAndWait(t *testing.T, ctx context.Context, sender, receiver *agentnet.Agent, payload map[string]any) string {
	t.Helper()
	res, err := sender.Send(ctx, receiver.Username(), payload, agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED, WaitTimeout: 30 * time.Second})
	return outcome(t, res, err)
}

func TestGuardrailsThroughAGateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	run := fmt.Sprintf("ggr%d", time.Now().UnixNano()%1_000_000)

	t.Run("beyond the queue the handler is busy, and the queued work runs once it frees up", func(t *testing.T) {
		gate := make(chan struct{})
		var mu sync.Mutex
		var handled []string
		sender, receiver := guardedPair(t, ctx, run+"b", agentnet.Guardrails{MaxConcurrency: 1, MaxPending: 1, WorkTimeout: time.Minute,
			CircuitBreakerFailures: 5, CircuitBreakerReset: time.Second, DedupeTTL: time.Minute},
			func(*agentnet.Agent) agentnet.Handler {
				return func(ctx context.Context, m *agentnet.Message) error {
					<-gate
					mu.Lock()
					handled = append(handled, m.Text())
					mu.Unlock()
					return nil
				}
			})
		results := make(chan string, 4)
		for i := range 4 {
			go func() {
				res, err := sender.SendText(ctx, receiver.Username(), fmt.Sprintf("job %d", i),
					agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED, WaitTimeout: 60 * time.Second})
				if err != nil {
					results <- "error: " + err.Error()
					return
				}
				if res.GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_REJECTED {
					results <- res.GetReceipt().GetCode()
				} else {
					results <- statusName(res.GetStatus())
				}
			}()
		}
		// One is running and one waits: the other two are turned away at once, while the gate is still shut.
		for range 2 {
			select {
			case r := <-results:
				if r != "busy" {
					t.Fatalf("while the handler is blocked: %s", r)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("no busy rejection")
			}
		}
		mu.Lock()
		if len(handled) != 0 {
			t.Fatalf("handled before the gate opened: %v", handled)
		}
		mu.Unlock()
		close(gate)
		for range 2 {
			select {
			case r := <-results:
				if r != "processed" {
					t.Fatalf("after the gate opened: %s", r)
				}
			case <-time.After(90 * time.Second):
				t.Fatal("the queued messages were not processed")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(handled) != 2 {
			t.Fatalf("handled %v", handled)
		}
	})

	t.Run("refusal, timeout, error and the circuit breaker", func(t *testing.T) {
		// The reset is long enough that the message right after the opening failure surely finds the circuit open
		// on a busy machine; after it the test waits for the trial instead of timing it.
		sender, receiver := guardedPair(t, ctx, run+"c", agentnet.Guardrails{MaxConcurrency: 4, MaxPending: 10, WorkTimeout: 200 * time.Millisecond,
			CircuitBreakerFailures: 2, CircuitBreakerReset: 2 * time.Second, DedupeTTL: time.Minute},
			func(*agentnet.Agent) agentnet.Handler {
				return func(ctx context.Context, m *agentnet.Message) error {
					switch {
					case m.Payload["slow"] == true:
						time.Sleep(2 * time.Second) // ignores ctx on purpose: the guardrail must still answer
					case m.Payload["fail"] == true:
						return errors.New("provider down")
					case m.Payload["refuse"] == true:
						return &agentnet.Reject{Code: "not_my_job", Detail: "ask someone else"}
					}
					return nil
				}
			})
		for _, step := range []struct {
			payload map[string]any
			want    string
		}{
			{map[string]any{"refuse": true}, "not_my_job"},  // a handler's own code is not a failure
			{map[string]any{"slow": true}, "timeout"},       // failure 1
			{map[string]any{"fail": true}, "handler_error"}, // failure 2: the circuit opens
			{map[string]any{}, "circuit_open"},
		} {
			if got := sendAndWait(t, ctx, sender, receiver, step.payload); got != step.want {
				t.Fatalf("%v: got %s, want %s", step.payload, got, step.want)
			}
		}
		// After the reset one trial message is let through; it succeeds and closes the circuit.
		deadline := time.Now().Add(60 * time.Second)
		for got := ""; got != "processed"; {
			if time.Now().After(deadline) {
				t.Fatal("the circuit did not close again")
			}
			if got = sendAndWait(t, ctx, sender, receiver, map[string]any{}); got != "processed" && got != "circuit_open" {
				t.Fatalf("while waiting for the reset: %s", got)
			}
			if got == "circuit_open" {
				time.Sleep(250 * time.Millisecond)
			}
		}
		if got := sendAndWait(t, ctx, sender, receiver, map[string]any{}); got != "processed" {
			t.Fatalf("after the circuit closed: %s", got)
		}
	})
}

// A message redelivered while its handler still runs (the inbox reconnected and the message's delivery lease ran
// out: the server cannot tell a slow handler from a lost one) is not handled a second time, and has one outcome.
func TestARedeliveredMessageIsHandledOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := newServer(t, "AGENTNET_DELIVERY_LEASE_MS=1000", "AGENTNET_REDELIVERY_INTERVAL_MS=100")
	run := fmt.Sprintf("gdd%d", time.Now().UnixNano()%1_000_000)
	gate := make(chan struct{})
	var mu sync.Mutex
	handled := 0
	receiver, err := user(t, ctx, s, run+"_r").Register(ctx, agentnet.RegisterOptions{Username: run + "_receiver"})
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.Close(ctx)
	receiver.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
		mu.Lock()
		handled++
		mu.Unlock()
		<-gate
		return nil
	})
	if err := receiver.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	sender, err := user(t, ctx, s, run+"_s").Register(ctx, agentnet.RegisterOptions{Username: run + "_sender"})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close(ctx)

	var receipts []*pb.Receipt
	synced := make(chan struct{})
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- sender.WatchReceipts(wctx, &pb.WatchReceiptsRequest{AccountIds: []string{sender.AccountID()}}, func() { close(synced) },
			func(r *pb.Receipt) bool { mu.Lock(); receipts = append(receipts, r); mu.Unlock(); return true })
	}()
	select {
	case <-synced:
	case <-time.After(30 * time.Second):
		t.Fatal("the receipt watch did not go live")
	}
	sent, err := sender.SendText(ctx, receiver.Username(), "once", agentnet.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	redelivered := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range receipts {
			if r.GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED && r.GetDeliveryAttempt() >= 2 {
				return true
			}
		}
		return false
	}
	until(t, 30*time.Second, "the handler to start", func() bool { mu.Lock(); defer mu.Unlock(); return handled == 1 })
	// The server offers a message it leased to a stream again only on another stream: a restart makes the inbox
	// open a new one while the handler still runs.
	s.stop()
	s.start(t)
	until(t, 60*time.Second, "the server to deliver the message again", redelivered)
	close(gate)
	until(t, 60*time.Second, "the message to be processed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range receipts {
			if r.GetMessageId() == sent.GetMessageId() && r.GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_PROCESSED {
				return true
			}
		}
		return false
	})
	// Time for a wrong second run to show: the handler returns at once now the gate is open.
	time.Sleep(500 * time.Millisecond)
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if handled != 1 {
		t.Fatalf("handled %d times", handled)
	}
	final := 0
	for _, r := range receipts {
		if r.GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_PROCESSED || r.GetStatus() == pb.DeliveryStatus_DELIVERY_STATUS_REJECTED {
			final++
		}
	}
	if final != 1 {
		t.Fatalf("%d final receipts: %v", final, receipts)
	}
}
