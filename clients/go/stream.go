package agentnet

// Streamed answers (the seed's streaming protocol, the same in every agentnet client): a sequence of STREAM
// messages sharing payload.stream_id ("s_<uuid>"), numbered by payload.seq from 0, whose payload.type is
// stream_start, stream_delta (payload.text, or any fields), stream_end, or stream_error (payload.code,
// payload.detail). The receiver reassembles them in seq order with a StreamCollector: redelivery may reorder parts.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	pb "agentnet.dev/clients/go/gen/agentnet/v1"
)

// Stream part types (payload.type).
const (
	StreamPartStart = "stream_start"
	StreamPartDelta = "stream_delta"
	StreamPartEnd   = "stream_end"
	StreamPartError = "stream_error"
)

// ErrStreamEnded is returned by a StreamWriter after its End or Error was sent.
var ErrStreamEnded = errors.New("agentnet: the stream already ended")

// SendPart sends one stream part (its payload complete with type, stream_id and seq) under the given message id.
type SendPart func(ctx context.Context, messageID string, payload map[string]any) (*pb.SendResponse, error)

// StreamWriter sends the parts of one stream. Safe for concurrent use: parts go out one at a time, in seq order.
type StreamWriter struct {
	send     SendPart
	streamID string

	mu        sync.Mutex
	seq       int
	pendingID string // message id of the part at seq whose send failed: sent again under it, so never twice
	ended     bool
}

// NewStreamWriter returns a writer that sends its parts with send; streamID "" picks a fresh "s_<uuid>". Most
// code gets one from Actor.Stream or Actor.StreamReply instead.
func NewStreamWriter(send SendPart, streamID string) *StreamWriter {
	if streamID == "" {
		streamID = newStreamID()
	}
	return &StreamWriter{send: send, streamID: streamID}
}

func newStreamID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80 // a version 4 UUID, as the other clients send
	return fmt.Sprintf("s_%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// StreamID is the stream's payload.stream_id.
func (w *StreamWriter) StreamID() string { return w.streamID }

// Start sends stream_start with extra's fields (nil for none).
func (w *StreamWriter) Start(ctx context.Context, extra map[string]any) (*pb.SendResponse, error) {
	return w.part(ctx, StreamPartStart, extra, false)
}

// Delta sends one piece of the answer's text.
func (w *StreamWriter) Delta(ctx context.Context, text string) (*pb.SendResponse, error) {
	return w.part(ctx, StreamPartDelta, map[string]any{"text": text}, false)
}

// DeltaFields sends a stream_delta carrying any fields instead of text.
func (w *StreamWriter) DeltaFields(ctx context.Context, fields map[string]any) (*pb.SendResponse, error) {
	return w.part(ctx, StreamPartDelta, fields, false)
}

// End sends stream_end with extra's fields; the writer sends nothing after it.
func (w *StreamWriter) End(ctx context.Context, extra map[string]any) (*pb.SendResponse, error) {
	return w.part(ctx, StreamPartEnd, extra, true)
}

// Error ends the stream with stream_error {code, detail}; the writer sends nothing after it.
func (w *StreamWriter) Error(ctx context.Context, code, detail string) (*pb.SendResponse, error) {
	return w.part(ctx, StreamPartError, map[string]any{"code": code, "detail": detail}, true)
}

// part sends one part. A part whose send failed (after the send's own retries) keeps its seq and message id: the
// next call takes its place, so the receiver sees no gap, and should the failed attempt have been stored after
// all, the server answers the repeat with it (a duplicate) instead of storing a second part at that seq.
func (w *StreamWriter) part(ctx context.Context, kind string, extra map[string]any, last bool) (*pb.SendResponse, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return nil, fmt.Errorf("%w: %s", ErrStreamEnded, w.streamID)
	}
	payload := make(map[string]any, len(extra)+3)
	for k, v := range extra {
		payload[k] = v
	}
	payload["type"], payload["stream_id"], payload["seq"] = kind, w.streamID, float64(w.seq)
	if w.pendingID == "" {
		w.pendingID = newMessageID()
	}
	res, err := w.send(ctx, w.pendingID, payload)
	if err != nil {
		return nil, err
	}
	w.seq++
	w.pendingID = ""
	w.ended = last
	return res, nil
}

// StreamOptions are Actor.Stream's optional fields.
type StreamOptions struct {
	ThreadID string
	// ParentMessageID names the message the stream answers.
	ParentMessageID string
	TraceID         string
	// TTL of each part (0: the server's default).
	TTL time.Duration
	// StreamID: "" picks a fresh "s_<uuid>".
	StreamID string
}

// Stream opens a streamed answer to `to` (any address Send takes): nothing is sent until Start, Delta or End.
func (a *Actor) Stream(to string, o StreamOptions) *StreamWriter {
	return NewStreamWriter(func(ctx context.Context, messageID string, payload map[string]any) (*pb.SendResponse, error) {
		return a.Send(ctx, to, payload, SendOptions{
			Kind: pb.MessageKind_MESSAGE_KIND_STREAM, ThreadID: o.ThreadID, ParentMessageID: o.ParentMessageID,
			TraceID: o.TraceID, TTL: o.TTL, MessageID: messageID,
		})
	}, o.StreamID)
}

// StreamReply opens a streamed answer to a received message: to its sender's account, in its thread, naming it
// as parent, with its trace id.
func (a *Actor) StreamReply(m *Message) *StreamWriter {
	e := m.Envelope
	return a.Stream("account:"+e.GetFromAccountId(), StreamOptions{
		ThreadID: e.GetThreadId(), ParentMessageID: e.GetMessageId(), TraceID: e.GetTraceId(),
	})
}

// StreamError is how a stream ended with stream_error.
type StreamError struct{ Code, Detail string }

func (e *StreamError) Error() string { return "stream error " + e.Code + ": " + e.Detail }

// AssembledStream is a stream as far as its parts arrived: only the contiguous prefix from seq 0 counts, since a
// gap means a part is still on its way.
type AssembledStream struct {
	StreamID string
	// Text is the stream_delta texts joined in seq order.
	Text string
	// Parts is the number of parts in the prefix (start and end included).
	Parts int
	// Done: the stream_end or stream_error part is in the prefix.
	Done bool
	// Error is set when the stream ended with stream_error.
	Error *StreamError
	// Start is the stream_start payload, once it is in the prefix.
	Start map[string]any
}

// StreamCollector reassembles streams from received STREAM messages, whatever order their parts arrive in. Safe
// for concurrent use (feed it from a handler the inbox runs concurrently). It remembers every stream it saw until
// Forget.
type StreamCollector struct {
	mu      sync.Mutex
	streams map[string]*collecting
}

type collecting struct {
	parts map[int]map[string]any // parts past the prefix, waiting for the gap before them to fill
	state AssembledStream
	text  strings.Builder
}

// Add takes one received message and returns its stream's state; ok is false when the message is not a stream
// part (not of kind STREAM, or without a string stream_id and a whole-number seq). A part seen before (a
// redelivery) changes nothing.
func (c *StreamCollector) Add(m *Message) (*AssembledStream, bool) {
	p := m.Payload
	id, _ := p["stream_id"].(string)
	seqf, isNum := p["seq"].(float64)
	if m.Envelope.GetKind() != pb.MessageKind_MESSAGE_KIND_STREAM || id == "" || !isNum || seqf < 0 || seqf != math.Trunc(seqf) || seqf > math.MaxInt32 {
		return nil, false
	}
	seq := int(seqf)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streams == nil {
		c.streams = map[string]*collecting{}
	}
	s := c.streams[id]
	if s == nil {
		s = &collecting{parts: map[int]map[string]any{}, state: AssembledStream{StreamID: id}}
		c.streams[id] = s
	}
	if _, waiting := s.parts[seq]; !waiting && seq >= s.state.Parts && !s.state.Done {
		s.parts[seq] = p
	}
	// Consume the prefix as it grows, so each part is looked at once however long the stream.
	for !s.state.Done {
		part, ok := s.parts[s.state.Parts]
		if !ok {
			break
		}
		delete(s.parts, s.state.Parts)
		s.state.Parts++
		switch part["type"] {
		case StreamPartStart:
			s.state.Start = part
		case StreamPartDelta:
			if t, ok := part["text"].(string); ok {
				s.text.WriteString(t)
			}
		case StreamPartEnd:
			s.state.Done = true
		case StreamPartError:
			code, _ := part["code"].(string)
			detail, _ := part["detail"].(string)
			s.state.Error, s.state.Done = &StreamError{Code: code, Detail: detail}, true
		}
	}
	if s.state.Done {
		s.parts = nil // parts after the end mean nothing
	}
	return s.snapshot(), true
}

// State returns a stream's state so far; ok is false for a stream never seen (or forgotten).
func (c *StreamCollector) State(streamID string) (*AssembledStream, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.streams[streamID]
	if !ok {
		return nil, false
	}
	return s.snapshot(), true
}

// Forget drops a stream (typically once it is done and read); a late part of it starts it afresh.
func (c *StreamCollector) Forget(streamID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.streams, streamID)
}

func (s *collecting) snapshot() *AssembledStream {
	out := s.state
	out.Text = s.text.String()
	if s.state.Error != nil {
		e := *s.state.Error
		out.Error = &e
	}
	return &out
}
