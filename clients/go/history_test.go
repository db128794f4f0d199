package agentnet_test

// The thread helper and the history reads through a live gateway: every verb of Thread posts into its thread,
// paging through threads and messages gives each item once, the filters filter, and refusals are typed.

import (
	"context"
	"fmt"
	"testing"
	"time"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

func TestThreadHelperAndHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sharedServer(t)
	run := fmt.Sprintf("gth%d", time.Now().UnixNano()%1_000_000)
	asker, err := user(t, ctx, s, run+"_a").Register(ctx, agentnet.RegisterOptions{Username: run + "_asker"})
	if err != nil {
		t.Fatal(err)
	}
	defer asker.Close(ctx)
	answerer, err := user(t, ctx, s, run+"_b").Register(ctx, agentnet.RegisterOptions{Username: run + "_answerer"})
	if err != nil {
		t.Fatal(err)
	}
	defer answerer.Close(ctx)
	answerer.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
		if m.IsRequest() {
			_, err := answerer.ReplyText(ctx, m, "re: "+m.Text())
			return err
		}
		return nil
	})
	if err := answerer.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	to := "@" + answerer.Username()
	thread := asker.Thread(run + "_main")

	t.Run("every thread verb posts in the thread", func(t *testing.T) {
		if _, err := thread.Send(ctx, to, map[string]any{"n": 1.0}, agentnet.SendOptions{ThreadID: "ignored"}); err != nil {
			t.Fatal(err)
		}
		if _, err := thread.SendText(ctx, to, "two", agentnet.SendOptions{WaitFor: pb.WaitFor_WAIT_FOR_PROCESSED}); err != nil {
			t.Fatal(err)
		}
		reply, err := thread.Request(ctx, to, map[string]any{"text": "three"}, agentnet.RequestOptions{Timeout: 10 * time.Second})
		if err != nil || reply.Text() != "re: three" || reply.Envelope.GetThreadId() != thread.ID {
			t.Fatalf("request: %v %v", reply, err)
		}
		text, reply, err := thread.AskText(ctx, to, "four", agentnet.RequestOptions{Timeout: 10 * time.Second})
		if err != nil || text != "re: four" || reply.Envelope.GetThreadId() != thread.ID {
			t.Fatalf("ask: %q %v", text, err)
		}
		if err := streamWords(ctx, thread.Stream(to, agentnet.StreamOptions{}), "five six"); err != nil {
			t.Fatal(err)
		}
		// 1 + 1 + (request + reply) * 2 + stream (start, 2 deltas, end) = 10 messages, all in the thread.
		until(t, 30*time.Second, "the thread's messages to be processed", func() bool {
			st, err := thread.Status(ctx)
			return err == nil && st.GetMessageCount() == 10 && st.GetPendingMessages() == 0
		})
		st, _ := thread.Status(ctx)
		if st.GetThreadId() != thread.ID || len(st.GetParticipants()) != 2 {
			t.Fatalf("status %v", st)
		}
		var all []*pb.Envelope
		for token, pages := "", 0; ; pages++ {
			page, next, err := thread.Messages(ctx, agentnet.PageOptions{PageSize: 3, PageToken: token})
			if err != nil || len(page) > 3 || pages > 5 {
				t.Fatalf("page %d: %d messages, %v", pages, len(page), err)
			}
			all = append(all, page...)
			if token = next; token == "" {
				break
			}
		}
		seen := map[string]bool{}
		for i, e := range all {
			if e.GetThreadId() != thread.ID || seen[e.GetMessageId()] {
				t.Fatalf("message %d: %v", i, e)
			}
			seen[e.GetMessageId()] = true
			if i > 0 && e.GetSentAt().AsTime().After(all[i-1].GetSentAt().AsTime()) {
				t.Fatalf("not newest first at %d", i)
			}
		}
		if len(all) != 10 {
			t.Fatalf("paged %d messages", len(all))
		}
	})

	t.Run("threads list newest activity first, page by page, filtered", func(t *testing.T) {
		for _, name := range []string{"_x1", "_x2"} {
			if _, err := asker.Thread(run+name).SendText(ctx, to, "hi", agentnet.SendOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		var ids []string
		for token, pages := "", 0; ; pages++ {
			page, next, err := asker.ListThreads(ctx, agentnet.ListThreadsOptions{Participant: "@" + asker.Username(), PageOptions: agentnet.PageOptions{PageSize: 1, PageToken: token}})
			if err != nil || len(page) > 1 || pages > 5 {
				t.Fatalf("page %d: %v %v", pages, page, err)
			}
			for _, th := range page {
				ids = append(ids, th.GetThreadId())
			}
			if token = next; token == "" {
				break
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint([]string{run + "_x2", run + "_x1", thread.ID}) {
			t.Fatalf("threads %v", ids)
		}
		found, _, err := asker.ListThreads(ctx, agentnet.ListThreadsOptions{Query: run + "_MAIN"})
		if err != nil || len(found) != 1 || found[0].GetThreadId() != thread.ID || found[0].GetMessageCount() != 10 {
			t.Fatalf("query: %v %v", found, err)
		}
	})

	t.Run("search finds messages by sender, kind and thread", func(t *testing.T) {
		found, _, err := asker.SearchMessages(ctx, &pb.SearchMessagesRequest{ThreadId: thread.ID, FromUsername: answerer.Username(), Kind: pb.MessageKind_MESSAGE_KIND_REPLY})
		if err != nil || len(found) != 2 {
			t.Fatalf("replies: %v %v", found, err)
		}
		for _, e := range found {
			if e.GetFromAccountId() != answerer.AccountID() || e.GetKind() != pb.MessageKind_MESSAGE_KIND_REPLY {
				t.Fatalf("found %v", e)
			}
		}
	})

	t.Run("refusals are typed", func(t *testing.T) {
		if _, _, err := asker.GetThreadMessages(ctx, run+"_never", agentnet.PageOptions{}); !agentnet.IsNotFound(err) || agentnet.ReasonOf(err) != "thread_not_found" {
			t.Fatalf("unknown thread: %v", err)
		}
		if _, err := asker.ThreadStatus(ctx, run+"_never"); agentnet.ReasonOf(err) != "thread_not_found" {
			t.Fatalf("unknown thread status: %v", err)
		}
		other, err := user(t, ctx, s, run+"_c").Register(ctx, agentnet.RegisterOptions{Username: run + "_outsider"})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close(ctx)
		if _, _, err := other.GetThreadMessages(ctx, thread.ID, agentnet.PageOptions{}); agentnet.ReasonOf(err) != "thread_not_found" {
			t.Fatalf("another user's thread: %v", err)
		}
		if _, _, err := asker.ListThreads(ctx, agentnet.ListThreadsOptions{PageOptions: agentnet.PageOptions{PageToken: "not-a-token"}}); !agentnet.IsInvalidArgument(err) || agentnet.ReasonOf(err) != "invalid_page_token" {
			t.Fatalf("bad page token: %v", err)
		}
		if _, _, err := thread.Messages(ctx, agentnet.PageOptions{PageSize: -1}); agentnet.ReasonOf(err) != "invalid_page_size" {
			t.Fatalf("bad page size: %v", err)
		}
	})
}
