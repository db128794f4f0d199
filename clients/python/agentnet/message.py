"""Received messages: a read-only view of an Envelope, plus ways to answer it when it came to an agent's inbox."""
from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional

from google.protobuf import json_format

from .v1 import messaging_pb2

if TYPE_CHECKING:
    from .agent import Agent
    from .streaming import StreamWriter

KINDS: dict[int, str] = {
    messaging_pb2.MESSAGE_KIND_DIRECT: "direct",
    messaging_pb2.MESSAGE_KIND_REQUEST: "request",
    messaging_pb2.MESSAGE_KIND_REPLY: "reply",
    messaging_pb2.MESSAGE_KIND_ERROR: "error",
    messaging_pb2.MESSAGE_KIND_SYSTEM: "system",
    messaging_pb2.MESSAGE_KIND_STREAM: "stream",
}
KIND_VALUES: dict[str, Any] = {name: value for value, name in KINDS.items()}
STATUSES: dict[int, str] = {
    messaging_pb2.DELIVERY_STATUS_ACCEPTED: "accepted",
    messaging_pb2.DELIVERY_STATUS_DELIVERED: "delivered",
    messaging_pb2.DELIVERY_STATUS_PROCESSED: "processed",
    messaging_pb2.DELIVERY_STATUS_REJECTED: "rejected",
    messaging_pb2.DELIVERY_STATUS_EXPIRED: "expired",
}


def status_name(status: int) -> str:
    return STATUSES.get(status, "")


class Message:
    def __init__(self, envelope: messaging_pb2.Envelope, agent: Optional["Agent"] = None) -> None:
        self.envelope = envelope
        self._agent = agent
        self.payload: dict[str, Any] = json_format.MessageToDict(envelope.payload) if envelope.HasField("payload") else {}
        # The trace context answers and the ack continue: the handler's span while one runs, else the envelope's.
        self.trace_context: str = envelope.traceparent

    message_id = property(lambda self: self.envelope.message_id)
    thread_id = property(lambda self: self.envelope.thread_id)
    trace_id = property(lambda self: self.envelope.trace_id)
    # W3C trace context the message arrived in (its delivery's span); "" when sent outside any trace.
    traceparent = property(lambda self: self.envelope.traceparent)
    parent_message_id = property(lambda self: self.envelope.parent_message_id)
    from_account_id = property(lambda self: self.envelope.from_account_id)
    from_username = property(lambda self: self.envelope.from_username)
    to_account_id = property(lambda self: self.envelope.to_account_id)
    idempotency_key = property(lambda self: self.envelope.idempotency_key)
    delivery_attempt = property(lambda self: self.envelope.delivery_attempt)

    @property
    def kind(self) -> str:
        return KINDS.get(self.envelope.kind, "")

    @property
    def is_request(self) -> bool:
        return self.envelope.kind == messaging_pb2.MESSAGE_KIND_REQUEST

    @property
    def text(self) -> Optional[str]:
        value = self.payload.get("text")
        return value if isinstance(value, str) else None

    @property
    def expires_at(self) -> Optional[datetime]:
        if not self.envelope.HasField("expires_at"):
            return None
        return self.envelope.expires_at.ToDatetime(tzinfo=timezone.utc)

    def is_expired(self) -> bool:
        at = self.expires_at
        return at is not None and at.timestamp() <= time.time()

    # Answers (messages received by an agent)

    async def reply(self, payload: dict[str, Any], **kw: Any) -> Any:
        return await self._bound().reply(self, payload, **kw)

    async def reply_text(self, text: str, **kw: Any) -> Any:
        return await self._bound().reply(self, {"text": text}, **kw)

    async def reply_error(self, code: str, detail: str = "", **kw: Any) -> Any:
        return await self._bound().reply(self, {"code": code, "detail": detail}, kind="error", **kw)

    def stream(self, *, ttl_ms: int = 0) -> "StreamWriter":
        """A streamed answer to this message: parts go to its sender, in its thread, with it as parent."""
        return self._bound().stream_reply(self, ttl_ms=ttl_ms)

    def _bound(self) -> "Agent":
        if self._agent is None:
            raise RuntimeError("this message was not received by an agent: answer it with an agent's reply()")
        return self._agent

    def __repr__(self) -> str:
        return f"Message({self.message_id!r}, kind={self.kind!r}, from=@{self.from_username}, payload={self.payload!r})"
