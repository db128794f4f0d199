package agentnet

// Traces across agents: a handler runs in a "process <kind>" span continuing the trace its message came in (the
// envelope's traceparent, the gateway's delivery span), its ctx carries that span, and every call made with a ctx
// that carries a span sends it as `traceparent` metadata, so one request across agents and gateways is one trace.
// The spans are recorded by the application's OpenTelemetry SDK when it registered one (otel.SetTracerProvider);
// without it nothing is recorded, but the context still travels: a handler's Reply and Ack continue the delivery's
// span.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$`)

// ParseTraceparent returns the span context of a W3C traceparent ("00-<trace id>-<span id>-<flags>"); ok is false
// for an empty or invalid one.
func ParseTraceparent(tp string) (sc trace.SpanContext, ok bool) {
	m := traceparentRE.FindStringSubmatch(tp)
	if m == nil {
		return sc, false
	}
	traceID, err1 := trace.TraceIDFromHex(m[1])
	spanID, err2 := trace.SpanIDFromHex(m[2])
	flags, err3 := strconv.ParseUint(m[3], 16, 8)
	if err1 != nil || err2 != nil || err3 != nil {
		return sc, false
	}
	sc = trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: spanID, TraceFlags: trace.TraceFlags(flags) & trace.FlagsSampled, Remote: true,
	})
	return sc, sc.IsValid()
}

// FormatTraceparent writes a span context as a W3C traceparent.
func FormatTraceparent(sc trace.SpanContext) string {
	return fmt.Sprintf("00-%s-%s-%02x", sc.TraceID(), sc.SpanID(), byte(sc.TraceFlags()))
}

// TraceparentFrom is the trace context a call made with ctx sends: its span's, or "" when it carries none.
func TraceparentFrom(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return ""
	}
	return FormatTraceparent(sc)
}

// startHandling starts the CONSUMER span of handling m under its envelope's traceparent; the returned ctx carries it
// (or, when nothing records, the delivery's context itself).
func startHandling(ctx context.Context, m *Message) (context.Context, trace.Span) {
	e := m.Envelope
	if parent, ok := ParseTraceparent(e.GetTraceparent()); ok {
		ctx = trace.ContextWithRemoteSpanContext(ctx, parent)
	}
	return otel.Tracer("agentnet.dev/clients/go").Start(ctx, "process "+m.Kind(),
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "agentnet"),
			attribute.String("messaging.operation.type", "process"),
			attribute.String("messaging.message.id", e.GetMessageId()),
			attribute.String("messaging.message.conversation_id", e.GetThreadId()),
			attribute.String("agentnet.trace_id", e.GetTraceId()),
		))
}

func endHandling(span trace.Span, failure string) {
	if failure != "" {
		span.SetStatus(codes.Error, failure)
	}
	span.End()
}

// propagateTrace sends the span of a call's ctx as `traceparent` metadata.
func propagateTrace(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	if tp := TraceparentFrom(ctx); tp != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", tp)
	}
	return invoker(ctx, method, req, reply, cc, opts...)
}
