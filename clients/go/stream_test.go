package agentnet_test

// The streaming protocol without a server (the writer's numbering and refusals, the collector's reassembly in any
// arrival order, from concurrent handlers), then both ways through a live gateway: a stream opened with
// Actor.Stream in a thread, collected by the recipient's inbox, and one that ends with stream_error.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	agentnet "agentnet.dev/clients/go"
	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// part is a received STREAM message with payload p.
func part(t *testing.T, p map[string]any) *agentnet.Message {
	t.Helper()
	body, err := structpb.NewStruct(p)
	if err != nil {
		t.Fatal(err)
	}
	return &agentnet.Message{Envelope: &pb.Envelope{Kind: pb.MessageKind_MESSAGE_KIND_STREAM, Payload: body}, Payload: body.AsMap()}
}

type sentPart struct {
	messageID string
	payload   map[string]any
}

// recorder is a SendPart that keeps what it was asked to send and fails the calls fail() says to.
type recorder struct {
	mu   sync.Mutex
	sent []sentPart
	fail func(n int) bool
}

func (r *recorder) send(_ context.Context, messageID string, payload map[string]any) (*pb.SendResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, sentPart{messageID, payload})
	if r.fail != nil && r.fail(len(r.sent)) {
		return nil, &agentnet.Error{Reason: "unavailable", Message: "cut"}
	}
	return &pb.SendResponse{MessageId: messageID}, nil
}

func TestStreamWriterNumbersPartsAndRefusesAfterTheEnd(t *testing.T) {
	ctx := context.Background()
	r := &recorder{}
	w := agentnet.NewStreamWriter(r.send, "")
	if !regexp.MustCompile(`^s_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(w.StreamID()) {
		t.Fatalf("stream id %q", w.StreamID())
	}
	mustSend := func(_ *pb.SendResponse, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustSend(w.Start(ctx, map[string]any{"model": "m1"}))
	mustSend(w.Delta(ctx, "hello "))
	mustSend(w.DeltaFields(ctx, map[string]any{"tokens": 3.0}))
	mustSend(w.End(ctx, nil))
	want := []string{"stream_start", "stream_delta", "stream_delta", "stream_end"}
	for i, s := range r.sent {
		if s.payload["type"] != want[i] || s.payload["seq"] != float64(i) || s.payload["stream_id"] != w.StreamID() {
			t.Fatalf("part %d: %v", i, s.payload)
		}
	}
	if r.sent[0].payload["model"] != "m1" || r.sent[1].payload["text"] != "hello " || r.sent[2].payload["tokens"] != 3.0 {
		t.Fatalf("fields lost: %v", r.sent)
	}
	for _, call := range []func() (*pb.SendResponse, error){
		func() (*pb.SendResponse, error) { return w.Delta(ctx, "late") },
		func() (*pb.SendResponse, error) { return w.End(ctx, nil) },
		func() (*pb.SendResponse, error) { return w.Error(ctx, "x", "y") },
	} {
		if _, err := call(); !errors.Is(err, agentnet.ErrStreamEnded) {
			t.Fatalf("after the end: %v", err)
		}
	}
	if len(r.sent) != 4 {
		t.Fatalf("%d parts went out after the end", len(r.sent)-4)
	}

	errored := agentnet.NewStreamWriter(r.send, "s_given")
	mustSend(errored.Error(ctx, "quota", "out of tokens"))
	if last := r.sent[len(r.sent)-1].payload; last["type"] != "stream_error" || last["code"] != "quota" || last["detail"] != "out of tokens" || last["seq"] != 0.0 || last["stream_id"] != "s_given" {
		t.Fatalf("error part %v", last)
	}
	if _, err := errored.Delta(ctx, "x"); !errors.Is(err, agentnet.ErrStreamEnded) {
		t.Fatalf("after stream_error: %v", err)
	}
}

func TestStreamWriterSendsAFailedPartAgainInItsPlace(t *testing.T) {
	ctx := context.Background()
	r := &recorder{fail: func(n int) bool { return n == 2 || n == 4 }} // the first delta fails, then the first end
	w := agentnet.NewStreamWriter(r.send, "")
	if _, err := w.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Delta(ctx, "a"); err == nil {
		t.Fatal("the failed send reported success")
	}
	if _, err := w.Delta(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.End(ctx, nil); err == nil {
		t.Fatal("the failed end reported success")
	}
	if _, err := w.End(ctx, nil); err != nil { // a failed end leaves the stream open
		t.Fatal(err)
	}
	seqs := []float64{}
	for _, s := range r.sent {
		seqs = append(seqs, s.payload["seq"].(float64))
	}
	// The repeat takes the failed part's place and message id (so the server stores it once); nothing is skipped.
	if fmt.Sprint(seqs) != "[0 1 1 2 2]" || r.sent[1].messageID != r.sent[2].messageID || r.sent[3].messageID != r.sent[4].messageID ||
		r.sent[0].messageID == r.sent[1].messageID || r.sent[2].messageID == r.sent[3].messageID {
		t.Fatalf("sent %v", r.sent)
	}
}

func TestStreamCollectorCountsOnlyTheContiguousPrefix(t *testing.T) {
	var c agentnet.StreamCollector
	p := func(seq int, typ string, extra map[string]any) *agentnet.Message {
		m := map[string]any{"stream_id": "s_1", "seq": float64(seq), "type": typ}
		for k, v := range extra {
			m[k] = v
		}
		return part(t, m)
	}
	if _, ok := c.State("s_1"); ok {
		t.Fatal("state of an unseen stream")
	}
	st, ok := c.Add(p(2, "stream_delta", map[string]any{"text": "world"}))
	if !ok || st.Parts != 0 || st.Text != "" || st.Done {
		t.Fatalf("a part after a gap counted: %+v", st)
	}
	st, _ = c.Add(p(3, "stream_end", nil))
	if st.Done {
		t.Fatal("done with parts 0 and 1 missing")
	}
	st, _ = c.Add(p(0, "stream_start", map[string]any{"model": "m"}))
	if st.Parts != 1 || st.Start["model"] != "m" || st.Done {
		t.Fatalf("after the start: %+v", st)
	}
	st, _ = c.Add(p(0, "stream_start", map[string]any{"model": "again"})) // a redelivery changes nothing
	if st.Parts != 1 || st.Start["model"] != "m" {
		t.Fatalf("a repeated part counted: %+v", st)
	}
	st, _ = c.Add(p(1, "stream_delta", map[string]any{"text": "hello "}))
	if st.Text != "hello world" || !st.Done || st.Parts != 4 || st.Error != nil {
		t.Fatalf("assembled %+v", st)
	}
	if again, ok := c.State("s_1"); !ok || again.Text != "hello world" || !again.Done {
		t.Fatalf("state %+v", again)
	}

	c.Add(p(0, "stream_start", nil))
	c.Add(part(t, map[string]any{"stream_id": "s_2", "seq": 1.0, "type": "stream_error", "code": "quota", "detail": "out"}))
	st, _ = c.Add(part(t, map[string]any{"stream_id": "s_2", "seq": 0.0, "type": "stream_delta", "text": "par"}))
	if !st.Done || st.Error == nil || st.Error.Code != "quota" || st.Error.Detail != "out" || st.Text != "par" {
		t.Fatalf("errored stream %+v", st)
	}

	direct := part(t, map[string]any{"stream_id": "s_3", "seq": 0.0, "type": "stream_start"})
	direct.Envelope.Kind = pb.MessageKind_MESSAGE_KIND_DIRECT
	for _, m := range []*agentnet.Message{
		direct, // not of kind STREAM
		part(t, map[string]any{"text": "no stream id"}),
		part(t, map[string]any{"stream_id": "s_4", "seq": 1.5, "type": "stream_delta"}),
		part(t, map[string]any{"stream_id": "s_4", "seq": -1.0, "type": "stream_delta"}),
		part(t, map[string]any{"stream_id": "s_4", "seq": "0", "type": "stream_delta"}),
	} {
		if st, ok := c.Add(m); ok {
			t.Fatalf("%v taken as a stream part: %+v", m.Payload, st)
		}
	}
	c.Forget("s_1")
	if _, ok := c.State("s_1"); ok {
		t.Fatal("a forgotten stream is still there")
	}
}

func TestStreamCollectorReassemblesPartsAddedConcurrentlyInAnyOrder(t *testing.T) {
	const streams, deltas = 8, 50
	var msgs []*agentnet.Message
	want := map[string]string{}
	for s := 0; s < streams; s++ {
		id := fmt.Sprintf("s_%d", s)
		msgs = append(msgs, part(t, map[string]any{"stream_id": id, "seq": 0.0, "type": "stream_start"}))
		for i := 1; i <= deltas; i++ {
			text := fmt.Sprintf("%d.%d ", s, i)
			want[id] += text
			msgs = append(msgs, part(t, map[string]any{"stream_id": id, "seq": float64(i), "type": "stream_delta", "text": text}))
		}
		msgs = append(msgs, part(t, map[string]any{"stream_id": id, "seq": float64(deltas + 1), "type": "stream_end"}))
	}
	rand.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	var c agentnet.StreamCollector
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ { // like an inbox running four handlers at once
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(msgs); i += 4 {
				c.Add(msgs[i])
			}
		}(w)
	}
	wg.Wait()
	for id, text := range want {
		st, ok := c.State(id)
		if !ok || !st.Done || st.Text != text || st.Parts != deltas+2 {
			t.Fatalf("%s: %+v", id, st)
		}
	}
}

func TestStreamsThroughAGateway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := sharedServer(t)
	run := fmt.Sprintf("gst%d", time.Now().UnixNano()%1_000_000)
	writer, err := user(t, ctx, s, run+"_w").Register(ctx, agentnet.RegisterOptions{Username: run + "_writer"})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := user(t, ctx, s, run+"_r").Register(ctx, agentnet.RegisterOptions{Username: run + "_reader"})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(ctx)
	defer reader.Close(ctx)
	var collector agentnet.StreamCollector
	var mu sync.Mutex
	envelopes := map[string][]*pb.Envelope{}
	reader.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
		if _, ok := collector.Add(m); ok {
			mu.Lock()
			id, _ := m.Payload["stream_id"].(string)
			envelopes[id] = append(envelopes[id], m.Envelope)
			mu.Unlock()
		}
		return nil
	})
	if err := reader.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	done := func(id string) func() bool {
		return func() bool { st, ok := collector.State(id); return ok && st.Done }
	}

	t.Run("a stream opened in a thread arrives whole, in the thread, naming its parent", func(t *testing.T) {
		thread := writer.Thread(run + "_thread")
		opening, err := thread.SendText(ctx, "@"+reader.Username(), "question", agentnet.SendOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w := thread.Stream("@"+reader.Username(), agentnet.StreamOptions{ParentMessageID: opening.GetMessageId(), TraceID: "trace_" + run, TTL: time.Minute})
		if err := streamWords(ctx, w, "one two three"); err != nil {
			t.Fatal(err)
		}
		until(t, 30*time.Second, "the stream to complete", done(w.StreamID()))
		st, _ := collector.State(w.StreamID())
		if st.Text != "one two three" || st.Parts != 5 || st.Error != nil {
			t.Fatalf("assembled %+v", st)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, e := range envelopes[w.StreamID()] {
			if e.GetThreadId() != thread.ID || e.GetParentMessageId() != opening.GetMessageId() || e.GetTraceId() != "trace_"+run || e.GetFromAccountId() != writer.AccountID() {
				t.Fatalf("part %v", e)
			}
		}
	})

	t.Run("a stream that fails arrives as an error", func(t *testing.T) {
		w := writer.Stream(reader.AccountID(), agentnet.StreamOptions{})
		if _, err := w.Delta(ctx, "partial"); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Error(ctx, "upstream_failed", "the model went away"); err != nil {
			t.Fatal(err)
		}
		until(t, 30*time.Second, "the stream to end", done(w.StreamID()))
		st, _ := collector.State(w.StreamID())
		if st.Error == nil || st.Error.Code != "upstream_failed" || st.Error.Detail != "the model went away" || st.Text != "partial" {
			t.Fatalf("assembled %+v", st)
		}
		if _, err := w.Delta(ctx, "more"); !errors.Is(err, agentnet.ErrStreamEnded) {
			t.Fatalf("after the error: %v", err)
		}
	})

	t.Run("a stream to nobody online is refused", func(t *testing.T) {
		w := writer.Stream("capability:"+run+"_nobody", agentnet.StreamOptions{})
		if _, err := w.Start(ctx, nil); !agentnet.IsNoResponders(err) {
			t.Fatalf("want no_responders, got %v", err)
		}
	})
}
