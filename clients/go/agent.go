package agentnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/structpb"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// Message is a received envelope with its payload decoded.
type Message struct {
	Envelope *pb.Envelope
	Payload  map[string]any
}

func newMessage(e *pb.Envelope) *Message {
	m := &Message{Envelope: e, Payload: map[string]any{}}
	if e.GetPayload() != nil {
		m.Payload = e.GetPayload().AsMap()
	}
	return m
}

// Text is payload.text when it is a string.
func (m *Message) Text() string {
	t, _ := m.Payload["text"].(string)
	return t
}

// Kind is the message kind's lower-case name ("direct", "request", …).
func (m *Message) Kind() string {
	return strings.ToLower(strings.TrimPrefix(m.Envelope.GetKind().String(), "MESSAGE_KIND_"))
}

// Traceparent is the W3C trace context the message arrived in (its delivery's span); "" when sent outside any trace.
// A handler's ctx already carries it (as the parent of the handler's span).
func (m *Message) Traceparent() string {
	return m.Envelope.GetTraceparent()
}

func (m *Message) IsRequest() bool {
	return m.Envelope.GetKind() == pb.MessageKind_MESSAGE_KIND_REQUEST
}

func (m *Message) expired(now time.Time) bool {
	at := m.Envelope.GetExpiresAt()
	return at != nil && !at.AsTime().After(now)
}

// Guardrails are the seed's handler limits (DefaultGuardrails has its defaults).
type Guardrails struct {
	MaxConcurrency         int
	MaxPending             int
	WorkTimeout            time.Duration
	CircuitBreakerFailures int
	CircuitBreakerReset    time.Duration
	DedupeTTL              time.Duration
	// DedupeMaxEntries caps the ids remembered (oldest forgotten first); 0 means 100,000.
	DedupeMaxEntries int
}

var DefaultGuardrails = Guardrails{MaxConcurrency: 4, MaxPending: 100, WorkTimeout: 30 * time.Second,
	CircuitBreakerFailures: 5, CircuitBreakerReset: 15 * time.Second, DedupeTTL: 10 * time.Minute}

// Reject is returned by a handler to reject a message with its own code (not counted as a failure).
type Reject struct{ Code, Detail string }

func (r *Reject) Error() string { return r.Code + ": " + r.Detail }

// Handler handles one message; nil means processed. ctx ends at the work timeout.
type Handler func(ctx context.Context, m *Message) error

// RegisterOptions describe the agent process.
type RegisterOptions struct {
	Username     string
	AgentID      string
	DisplayName  string
	Capabilities []string
	Metadata     map[string]any
	Bio          string
	Guardrails   *Guardrails
}

// Agent is a registered process: heartbeats, and after OnMessage an inbox with reconnect, guardrails and acks.
type Agent struct {
	Actor
	client  *Client
	request *pb.RegisterRequest
	limits  Guardrails

	mu       sync.Mutex
	reg      *pb.RegisterResponse
	seen     *dedupe
	pending  []*Message
	running  int
	failures int
	openedAt time.Time
	open     bool
	trial    bool
	acks     []*pb.AckItem
	handler  Handler

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	ready   chan struct{}
	started sync.Once
	ackKick chan struct{}
	// reregistering serialises re-registration: the heartbeats and the inbox may both find the session gone.
	reregistering sync.Mutex
}

// Register registers this process (Register RPC) and starts heartbeats.
func (c *Client) Register(ctx context.Context, o RegisterOptions) (*Agent, error) {
	agentID := o.AgentID
	if agentID == "" {
		agentID = o.Username
	}
	req := &pb.RegisterRequest{AgentId: agentID, DisplayName: o.DisplayName, Capabilities: o.Capabilities, Bio: o.Bio}
	if o.Username != "" {
		req.Username = &o.Username
	}
	if o.Metadata != nil {
		md, err := structpb.NewStruct(o.Metadata)
		if err != nil {
			return nil, fmt.Errorf("agentnet: metadata is not JSON: %w", err)
		}
		req.Metadata = md
	}
	// Transient failures (a busy or restarting gateway) are retried. When only the answer was lost, the retry opens a
	// second session on the same account; nothing heartbeats it, so the server evicts it after ttl_seconds.
	if err := c.WaitReady(ctx); err != nil {
		return nil, err
	}
	res, err := retry(ctx, registerRetries, func(ctx context.Context) (*pb.RegisterResponse, error) {
		return c.Registry.Register(ctx, req)
	})
	if err != nil {
		return nil, err
	}
	limits := DefaultGuardrails
	if o.Guardrails != nil {
		limits = *o.Guardrails
	}
	a := &Agent{client: c, request: req, reg: res, limits: limits, seen: newDedupe(limits.DedupeTTL, limits.DedupeMaxEntries, nil), ready: make(chan struct{}), ackKick: make(chan struct{}, 1)}
	a.Actor = Actor{client: c, accountID: a.AccountID, sessionTag: a.SessionTag}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.wg.Add(1)
	go a.heartbeats()
	c.mu.Lock()
	c.agents[a] = struct{}{}
	c.mu.Unlock()
	return a, nil
}

func (a *Agent) AccountID() string  { a.mu.Lock(); defer a.mu.Unlock(); return a.reg.GetAccountId() }
func (a *Agent) SessionTag() string { a.mu.Lock(); defer a.mu.Unlock(); return a.reg.GetSessionTag() }
func (a *Agent) Username() string   { a.mu.Lock(); defer a.mu.Unlock(); return a.reg.GetUsername() }
func (a *Agent) HeartbeatInterval() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Duration(a.reg.GetHeartbeatInterval() * float64(time.Second))
}

// OnMessage starts the inbox with `h` as the handler (call once).
func (a *Agent) OnMessage(h Handler) {
	a.mu.Lock()
	a.handler = h
	a.mu.Unlock()
	a.wg.Add(2)
	go a.inbox()
	go a.ackLoop()
}

// Ready waits until the inbox stream is open.
func (a *Agent) Ready(ctx context.Context) error {
	select {
	case <-a.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the inbox and heartbeats, sends the last acks and deregisters the session.
func (a *Agent) Close(ctx context.Context) error {
	a.cancel()
	a.wg.Wait()
	a.flushAcks(ctx)
	_, err := a.client.Registry.Deregister(ctx, &pb.DeregisterRequest{SessionTag: a.SessionTag()})
	a.client.mu.Lock()
	delete(a.client.agents, a)
	a.client.mu.Unlock()
	return FromError(err)
}

func (a *Agent) heartbeats() {
	defer a.wg.Done()
	for sleep(a.ctx, max(a.HeartbeatInterval(), 500*time.Millisecond)) {
		tag := a.SessionTag()
		res, err := a.client.Registry.Heartbeat(a.ctx, &pb.HeartbeatRequest{SessionTag: tag})
		if err != nil {
			// The server forgot the session (evicted after a stall, or deregistered): register again, same options.
			if ReasonOf(FromError(err)) == "session_not_found" {
				_ = a.reregister(tag)
			}
			continue
		}
		if res.GetHeartbeatInterval() > 0 {
			a.mu.Lock()
			a.reg.HeartbeatInterval = res.GetHeartbeatInterval()
			a.mu.Unlock()
		}
	}
}

// reregister replaces the session `gone` (the one a call found missing) with a new one, unless that was done already.
func (a *Agent) reregister(gone string) error {
	a.reregistering.Lock()
	defer a.reregistering.Unlock()
	if a.SessionTag() != gone {
		return nil
	}
	res, err := retry(a.ctx, registerRetries, func(ctx context.Context) (*pb.RegisterResponse, error) {
		return a.client.Registry.Register(ctx, a.request)
	})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.reg = res
	a.mu.Unlock()
	return nil
}

// inbox keeps one Subscribe stream open, reconnecting with backoff and jitter; unacked messages come again.
func (a *Agent) inbox() {
	defer a.wg.Done()
	b := newBackoff(250*time.Millisecond, 10*time.Second)
	for a.ctx.Err() == nil {
		tag := a.SessionTag()
		stream, err := a.client.Messaging.Subscribe(a.ctx, &pb.SubscribeRequest{AsAccountId: a.AccountID(), SessionTag: tag})
		for err == nil {
			var item *pb.SubscribeResponse
			item, err = stream.Recv()
			if err != nil {
				break
			}
			if item.GetStarted() != nil {
				b.reset()
				a.started.Do(func() { close(a.ready) })
			}
			if e := item.GetMessage(); e != nil {
				a.offer(newMessage(e))
			}
		}
		if a.ctx.Err() != nil {
			return
		}
		if !errors.Is(err, io.EOF) {
			ferr := FromError(err)
			if ReasonOf(ferr) == "session_not_found" && a.reregister(tag) == nil {
				continue
			}
			var e *Error
			if errors.As(ferr, &e) && (e.Code == codes.Unauthenticated || e.Code == codes.PermissionDenied) {
				return
			}
		}
		sleep(a.ctx, b.next())
	}
}

// offer applies the guardrails: dedupe, expiry, circuit breaker, concurrency and queue bounds.
func (a *Agent) offer(m *Message) {
	now := time.Now()
	id := m.Envelope.GetMessageId()
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.seen.get(id); ok {
		if e.done {
			a.acks = append(a.acks, e.outcome) // redelivered after a lost ack: the same answer again
			a.kick()
		}
		return
	}
	switch {
	case m.expired(now):
		a.decideLocked(id, reject("expired", "the message's TTL passed before it was handled"))
	case a.running < a.limits.MaxConcurrency:
		a.startLocked(m)
	case len(a.pending) >= a.limits.MaxPending:
		a.decideLocked(id, reject("busy", fmt.Sprintf("queue full: %d messages waiting", a.limits.MaxPending)))
	default:
		a.seen.set(id, nil)
		a.pending = append(a.pending, m)
	}
}

func reject(code, detail string) *pb.AckItem {
	return &pb.AckItem{Outcome: pb.AckOutcome_ACK_OUTCOME_REJECTED, Code: code, Detail: detail}
}

func (a *Agent) decideLocked(id string, outcome *pb.AckItem) {
	outcome.MessageId = id
	a.seen.set(id, outcome)
	a.acks = append(a.acks, outcome)
	a.kick()
}

func (a *Agent) kick() {
	select {
	case a.ackKick <- struct{}{}:
	default:
	}
}

func (a *Agent) allowLocked() bool {
	if !a.open {
		return true
	}
	if time.Since(a.openedAt) < a.limits.CircuitBreakerReset || a.trial {
		return false
	}
	a.trial = true
	return true
}

func (a *Agent) startLocked(m *Message) {
	id := m.Envelope.GetMessageId()
	if !a.allowLocked() {
		a.decideLocked(id, reject("circuit_open", "too many recent failures; circuit open"))
		return
	}
	a.seen.set(id, nil)
	a.running++
	h := a.handler
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(a.ctx, a.limits.WorkTimeout)
		// The handler runs in a span continuing the message's trace; its calls and its ack carry that span.
		ctx, span := startHandling(ctx, m)
		handling := TraceparentFrom(ctx)
		done := make(chan error, 1)
		go func() { done <- h(ctx, m) }()
		var outcome *pb.AckItem
		failed := false
		select {
		case err := <-done:
			var r *Reject
			switch {
			case err == nil:
				outcome = &pb.AckItem{Outcome: pb.AckOutcome_ACK_OUTCOME_PROCESSED}
			case errors.As(err, &r):
				outcome = reject(r.Code, r.Detail)
			default:
				outcome, failed = reject("handler_error", err.Error()), true
			}
		case <-ctx.Done():
			outcome, failed = reject("timeout", fmt.Sprintf("handler did not finish within %s", a.limits.WorkTimeout)), true
		}
		cancel()
		outcome.Traceparent = handling
		if outcome.Outcome == pb.AckOutcome_ACK_OUTCOME_REJECTED {
			endHandling(span, outcome.Code)
		} else {
			endHandling(span, "")
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		a.running--
		if failed && a.ctx.Err() != nil {
			// Cut short by Close: left unacked, so the server offers it again (to another process, or after restart).
			a.seen.delete(id)
			return
		}
		a.trial = false
		if failed {
			a.failures++
			if a.open || a.failures >= a.limits.CircuitBreakerFailures {
				a.open, a.openedAt = true, time.Now()
			}
		} else if outcome.Outcome == pb.AckOutcome_ACK_OUTCOME_PROCESSED {
			a.failures, a.open = 0, false
		}
		a.decideLocked(id, outcome)
		for a.ctx.Err() == nil && a.running < a.limits.MaxConcurrency && len(a.pending) > 0 {
			next := a.pending[0]
			a.pending = a.pending[1:]
			a.startLocked(next)
		}
	}()
}

func (a *Agent) ackLoop() {
	defer a.wg.Done()
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-a.ackKick:
			sleep(a.ctx, 10*time.Millisecond) // one Ack call for what the next few milliseconds decide
			a.flushAcks(a.ctx)
		}
	}
}

func (a *Agent) flushAcks(ctx context.Context) {
	a.mu.Lock()
	batch := a.acks
	a.acks = nil
	a.mu.Unlock()
	for len(batch) > 0 {
		n := min(len(batch), 1000)
		// Undeliverable acks are left: the message comes again after a reconnect and is acked from `seen`.
		_, _ = retry(ctx, 4, func(ctx context.Context) (*pb.AckResponse, error) {
			return a.client.Messaging.Ack(ctx, &pb.AckRequest{Acks: batch[:n], SessionTag: a.SessionTag()})
		})
		batch = batch[n:]
	}
}
