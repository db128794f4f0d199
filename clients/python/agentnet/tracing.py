"""W3C trace context for agents, so that one request across agents and gateways is one trace.

A handler runs in a ``process <kind>`` span continuing the trace its message came in (the envelope's
``traceparent``: the gateway's delivery span), and every call the client makes carries the current trace context as
``traceparent`` metadata: the handler's span inside a handler, else the application's active OpenTelemetry span.
OpenTelemetry is optional: with ``opentelemetry-api`` installed (and an SDK configured by the application) the spans
are recorded; without it, the context still travels, so the handler's Reply and Ack continue the delivery's span.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterator, Optional

if TYPE_CHECKING:
    from .message import Message

_otel: Optional[ModuleType]
try:  # optional: the context travels without it
    from opentelemetry import trace as _otel
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
except ImportError:  # pragma: no cover - exercised where opentelemetry is not installed
    _otel = None

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_handling: ContextVar[str] = ContextVar("agentnet_traceparent", default="")


def valid_traceparent(value: str) -> bool:
    m = _TRACEPARENT.match(value.strip())
    return m is not None and m.group(1) != "0" * 32 and m.group(2) != "0" * 16


def current_traceparent() -> str:
    """The trace context a call made now carries: the active OpenTelemetry span's, else the running handler's."""
    if _otel is not None:
        ctx = _otel.get_current_span().get_span_context()
        if ctx.is_valid:
            return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"
    return _handling.get()


class Handling:
    """The handling of one message: the ``traceparent`` its answers carry, and how the span ends."""

    def __init__(self, traceparent: str, span: Any = None) -> None:
        self.traceparent = traceparent
        self._span = span

    def fail(self, description: str) -> None:
        if self._span is not None:
            self._span.set_status(Status(StatusCode.ERROR, description))


@contextmanager
def handling(message: "Message") -> Iterator[Handling]:
    """Runs a message's handler in its span (a child of the envelope's ``traceparent``)."""
    parent = message.traceparent if valid_traceparent(message.traceparent) else ""
    if _otel is None:
        token = _handling.set(parent)
        try:
            yield Handling(parent)
        finally:
            _handling.reset(token)
        return
    context = None
    if parent:
        m = _TRACEPARENT.match(parent)
        assert m is not None
        remote = SpanContext(int(m.group(1), 16), int(m.group(2), 16), is_remote=True,
                             trace_flags=TraceFlags(int(m.group(3), 16) & 1))
        context = _otel.set_span_in_context(NonRecordingSpan(remote))
    tracer = _otel.get_tracer("agentnet")
    attributes = {
        "messaging.system": "agentnet",
        "messaging.operation.type": "process",
        "messaging.message.id": message.message_id,
        "messaging.message.conversation_id": message.thread_id,
        "agentnet.trace_id": message.trace_id,
    }
    with tracer.start_as_current_span(f"process {message.kind or 'message'}", context=context, kind=SpanKind.CONSUMER,
                                      attributes=attributes) as span:
        own = span.get_span_context()
        tp = f"00-{own.trace_id:032x}-{own.span_id:016x}-{int(own.trace_flags):02x}" if own.is_valid else parent
        token = _handling.set(tp)
        try:
            yield Handling(tp, span)
        finally:
            _handling.reset(token)


def with_traceparent(metadata: tuple, explicit: Optional[str] = None) -> tuple:
    """Call metadata with the current trace context added (``explicit`` first), unchanged when there is none."""
    tp = explicit or current_traceparent()
    return (*metadata, ("traceparent", tp)) if tp else metadata
