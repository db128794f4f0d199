package agentnet_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/trace"

	agentnet "agentnet.dev/clients/go"
)

// otlpSpan is the part of an OTLP/JSON span the test reads.
type otlpSpan struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Name         string `json:"name"`
}

// receiver is a real OTLP/HTTP traces endpoint (JSON bodies) keeping the gateway's spans.
type receiver struct {
	mu    sync.Mutex
	spans []otlpSpan
	url   string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var export struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []otlpSpan `json:"spans"`
				} `json:"scopeSpans"`
			} `json:"resourceSpans"`
		}
		if err := json.Unmarshal(body, &export); err != nil {
			w.WriteHeader(http.StatusUnsupportedMediaType)
			return
		}
		r.mu.Lock()
		for _, rs := range export.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		w.Header().Set("content-type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + l.Addr().String()
	return r
}

// find waits for a span of the trace named `name` (a suffix).
func (r *receiver) find(t *testing.T, traceID, name string) otlpSpan {
	t.Helper()
	var found otlpSpan
	until(t, 30*time.Second, "span "+name, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, s := range r.spans {
			if s.TraceID == traceID && strings.HasSuffix(s.Name, name) {
				found = s
				return true
			}
		}
		return false
	})
	return found
}

// The Go client continues a message's trace: the handler's ctx carries the delivery's context (the application's
// OpenTelemetry spans started from it are its children), its Reply and Ack send it, and a caller's ctx span is the
// parent of its calls' spans on the gateway.
func TestTraceContextTravelsThroughTheGoClient(t *testing.T) {
	otlp := newReceiver(t)
	s := newServer(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+otlp.url, "OTEL_BSP_SCHEDULE_DELAY=50")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	run := time.Now().Format("150405")
	callerClient, echoClient := user(t, ctx, s, "gotr"+run+"a"), user(t, ctx, s, "gotr"+run+"b")
	echo, err := echoClient.Register(ctx, agentnet.RegisterOptions{Username: "gotr" + run + "_echo"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	echo.OnMessage(func(ctx context.Context, m *agentnet.Message) error {
		mu.Lock()
		seen = append(seen, m.Traceparent()+" "+agentnet.TraceparentFrom(ctx))
		mu.Unlock()
		if m.IsRequest() {
			_, err := echo.ReplyText(ctx, m, "echo: "+m.Text())
			return err
		}
		return nil
	})
	if err := echo.Ready(ctx); err != nil {
		t.Fatal(err)
	}
	caller, err := callerClient.Register(ctx, agentnet.RegisterOptions{Username: "gotr" + run + "_caller"})
	if err != nil {
		t.Fatal(err)
	}

	// The caller's own span, as an application with OpenTelemetry would have it in ctx.
	callerSpan, _ := agentnet.ParseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	traced := trace.ContextWithSpanContext(ctx, callerSpan)
	reply, err := caller.Request(traced, echo.Username(), map[string]any{"text": "hi"}, agentnet.RequestOptions{Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if reply.Text() != "echo: hi" {
		t.Fatalf("reply %q", reply.Text())
	}
	traceID := callerSpan.TraceID().String()
	request := otlp.find(t, traceID, "MessagingService/Request")
	if request.ParentSpanID != callerSpan.SpanID().String() {
		t.Fatalf("Request span's parent %q, want the caller's span %s", request.ParentSpanID, callerSpan.SpanID())
	}
	deliver := otlp.find(t, traceID, "agentnet.deliver")
	if deliver.ParentSpanID != request.SpanID {
		t.Fatalf("delivery's parent %q, want the Request span %s", deliver.ParentSpanID, request.SpanID)
	}
	mu.Lock()
	got := strings.Fields(seen[0])
	mu.Unlock()
	if want := "00-" + traceID + "-" + deliver.SpanID + "-01"; got[0] != want || got[1] != want {
		t.Fatalf("handler saw envelope %q and ctx %q, want both %s", got[0], got[1], want)
	}
	if replySpan := otlp.find(t, traceID, "MessagingService/Reply"); replySpan.ParentSpanID != deliver.SpanID {
		t.Fatalf("Reply's parent %q, want the delivery %s", replySpan.ParentSpanID, deliver.SpanID)
	}

	// A direct message is acked: the outcome's span is under the delivery too.
	sent, err := caller.SendText(ctx, echo.Username(), "fyi", agentnet.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	until(t, 20*time.Second, "the direct message handled", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 2 })
	mu.Lock()
	tp := strings.Fields(seen[1])[0]
	mu.Unlock()
	parts := strings.Split(tp, "-")
	if settle := otlp.find(t, parts[1], "agentnet.settle"); settle.ParentSpanID != parts[2] {
		t.Fatalf("settle's parent %q, want the delivery %s (message %s)", settle.ParentSpanID, parts[2], sent.GetMessageId())
	}
}
