package agentnet_test

// Chat sessions through a live gateway with the built-in echo provider: an answer streams in as deltas while it is
// generated and then as the whole response, a repeat with the same idempotency key posts once, deleting a session
// ends its streams, and every refusal arrives as a typed error.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestChatSessions(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sharedServer(t)
	run := fmt.Sprintf("gch%d", time.Now().UnixNano()%1_000_000)
	alice := user(t, ctx, s, run+"_alice")
	bob := user(t, ctx, s, run+"_bob")

	providers, err := alice.ListChatProviders(ctx)
	if err != nil {
		t.Fatal(err)
	}
	echo := slices.IndexFunc(providers, func(p *pb.ProviderInfo) bool { return p.GetName() == "echo" })
	if echo < 0 || !providers[echo].GetConfigured() || providers[echo].GetKind() != pb.ProviderKind_PROVIDER_KIND_ECHO {
		t.Fatalf("providers %v", providers)
	}
	session, err := alice.CreateChatSession(ctx, agentnet.CreateChatSessionOptions{
		Agents: map[string]*pb.AgentConfig{"helper": {Provider: "echo", Personality: "terse"}},
		Goal:   "test", Metadata: map[string]any{"run": run},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := session.GetSessionId()
	if session.GetSessionType() != pb.SessionType_SESSION_TYPE_HUMAN_AGENT || session.GetAgents()["helper"].GetProvider() != "echo" ||
		session.GetMetadata().AsMap()["run"] != run || session.GetOwner() != run+"_alice" {
		t.Fatalf("session %v", session)
	}

	t.Run("listed and read by its owner only", func(t *testing.T) {
		listed, err := alice.ListChatSessions(ctx, agentnet.ListChatSessionsOptions{Type: pb.SessionType_SESSION_TYPE_HUMAN_AGENT})
		if err != nil || len(listed) != 1 || listed[0].GetSessionId() != id {
			t.Fatalf("listed %v %v", listed, err)
		}
		got, err := alice.GetChatSession(ctx, id)
		if err != nil || got.GetGoal() != "test" || got.GetAgents()["helper"].GetPersonality() != "terse" {
			t.Fatalf("got %v %v", got, err)
		}
		if _, err := bob.GetChatSession(ctx, id); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "session_not_found" {
			t.Fatalf("another user: %v", err)
		}
	})

	t.Run("the answer streams in as deltas, then the whole response", func(t *testing.T) {
		var mu sync.Mutex
		var seen []*pb.SessionEvent
		done := make(chan error, 1)
		sctx, stop := context.WithTimeout(ctx, 30*time.Second)
		defer stop()
		go func() {
			done <- alice.StreamChatSession(sctx, id, 0, func(ev *pb.SessionEvent) bool {
				mu.Lock()
				defer mu.Unlock()
				seen = append(seen, ev)
				return ev.GetType() != pb.SessionEventType_SESSION_EVENT_TYPE_RESPONSE
			})
		}()
		// Watch live first, then speak: the pieces arrive before the response that joins them.
		until(t, 20*time.Second, "the session's opening event", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) > 0 })
		sent, err := alice.SendChatMessage(ctx, id, "one two three four", agentnet.SendChatMessageOptions{})
		if err != nil || sent.GetSeq() <= 0 || sent.GetResponse() != nil {
			t.Fatalf("sent %v %v", sent, err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		var types, deltas []string
		for i, ev := range seen {
			if i > 0 && ev.GetSeq() <= seen[i-1].GetSeq() {
				t.Fatalf("seq %d after %d", ev.GetSeq(), seen[i-1].GetSeq())
			}
			if ev.GetType() == pb.SessionEventType_SESSION_EVENT_TYPE_DELTA {
				deltas = append(deltas, ev.GetContent())
			} else {
				types = append(types, eventTypeName(ev.GetType()))
			}
		}
		last := seen[len(seen)-1]
		if fmt.Sprint(types) != "[system text response]" || len(deltas) < 2 || strings.Join(deltas, "") != last.GetContent() ||
			!strings.Contains(last.GetContent(), "one two three four") || last.GetSender() != "helper" {
			t.Fatalf("types %v, deltas %q, response %q", types, deltas, last.GetContent())
		}
	})

	t.Run("a repeat with the same idempotency key posts once", func(t *testing.T) {
		o := agentnet.SendChatMessageOptions{IdempotencyKey: run + "_once", WaitForResponse: true}
		first, err := alice.SendChatMessage(ctx, id, "only once", o)
		if err != nil || !strings.Contains(first.GetResponse().GetContent(), "only once") {
			t.Fatalf("first %v %v", first, err)
		}
		again, err := alice.SendChatMessage(ctx, id, "only once", o)
		if err != nil || again.GetSeq() != first.GetSeq() || again.GetMessageId() != first.GetMessageId() {
			t.Fatalf("again %v (first seq %d): %v", again, first.GetSeq(), err)
		}
	})

	t.Run("refusals are typed", func(t *testing.T) {
		if _, err := alice.CreateChatSession(ctx, agentnet.CreateChatSessionOptions{Agents: map[string]*pb.AgentConfig{"helper": {Provider: "nope"}}}); !agentnet.IsInvalidArgument(err) || agentnet.ReasonOf(err) != "unknown_provider" {
			t.Fatalf("unknown provider: %v", err)
		}
		if _, err := alice.SendChatMessage(ctx, id, "", agentnet.SendChatMessageOptions{}); agentnet.ReasonOf(err) != "empty_content" {
			t.Fatalf("empty content: %v", err)
		}
		if _, err := alice.SendChatMessage(ctx, id, "hi", agentnet.SendChatMessageOptions{ToAgent: "nobody"}); !agentnet.IsInvalidArgument(err) || agentnet.ReasonOf(err) != "unknown_agent" {
			t.Fatalf("unknown agent: %v", err)
		}
		unknown := "chat_01J0000000000000000000000"
		if _, err := alice.SendChatMessage(ctx, unknown, "hi", agentnet.SendChatMessageOptions{}); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "session_not_found" {
			t.Fatalf("send to unknown: %v", err)
		}
		err := alice.StreamChatSession(ctx, unknown, 0, func(*pb.SessionEvent) bool { return true })
		if !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "session_not_found" {
			t.Fatalf("stream unknown: %v", err)
		}
		if err := bob.DeleteChatSession(ctx, id); agentnet.ReasonOf(err) != "session_not_found" {
			t.Fatalf("another user's delete: %v", err)
		}
	})

	t.Run("deleting ends the session's streams and the session", func(t *testing.T) {
		current, err := alice.GetChatSession(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var last *pb.SessionEvent
		done := make(chan error, 1)
		go func() {
			// From the latest event on: only what happens from now, ending with the stop.
			done <- alice.StreamChatSession(ctx, id, current.GetLastSeq(), func(ev *pb.SessionEvent) bool {
				mu.Lock()
				defer mu.Unlock()
				last = ev
				return true
			})
		}()
		if _, err := alice.SendChatMessage(ctx, id, "last words", agentnet.SendChatMessageOptions{}); err != nil {
			t.Fatal(err)
		}
		// An event arriving shows the stream is open: deleted before that, it would open on a gone session.
		until(t, 20*time.Second, "the stream to be live", func() bool { mu.Lock(); defer mu.Unlock(); return last != nil })
		if err := alice.DeleteChatSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			mu.Lock()
			defer mu.Unlock()
			if err != nil || last.GetType() != pb.SessionEventType_SESSION_EVENT_TYPE_STOP {
				t.Fatalf("the stream ended with %v: %v", last, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the stream did not end after the delete")
		}
		if _, err := alice.GetChatSession(ctx, id); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "session_not_found" {
			t.Fatalf("after delete: %v", err)
		}
	})
}
