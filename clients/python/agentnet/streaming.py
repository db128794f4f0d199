"""Streamed answers (the same wire protocol in every agentnet client): a sequence of messages of kind STREAM sharing
payload.stream_id (`s_<uuid>`), numbered by payload.seq from 0, whose payload.type is stream_start, stream_delta (a
piece of text in payload.text, or any fields), stream_end or stream_error (payload.code, payload.detail).
`StreamWriter` sends one; `StreamCollector` reassembles them on the receiving side in seq order, whatever order the
parts arrive in (a redelivery after a reconnect may reorder them)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Union

from .v1 import messaging_pb2

if TYPE_CHECKING:
    from .message import Message

#: Sends one part's payload; supplied by whoever opens the stream (bound to recipient, thread and parent).
SendPart = Callable[[dict[str, Any]], Awaitable[messaging_pb2.SendResponse]]

START, DELTA, END, ERROR = "stream_start", "stream_delta", "stream_end", "stream_error"


def new_stream_id() -> str:
    return f"s_{uuid.uuid4()}"


class StreamWriter:
    """One outgoing stream. Each call sends one part (awaiting the send's answer) and numbers it; after `end` or
    `error` the writer refuses further parts with RuntimeError, so a receiver never sees parts past the last."""

    def __init__(self, send_part: SendPart, stream_id: Optional[str] = None) -> None:
        self._send_part = send_part
        self.stream_id: str = stream_id or new_stream_id()
        self._seq = 0
        self._ended = False

    @property
    def ended(self) -> bool:
        """True once `end` or `error` was called."""
        return self._ended

    async def start(self, extra: Optional[dict[str, Any]] = None) -> messaging_pb2.SendResponse:
        """Opens the stream; `extra` fields travel in the stream_start payload (the collector's `start`)."""
        return await self._part(START, extra or {})

    async def delta(self, piece: Union[str, dict[str, Any]]) -> messaging_pb2.SendResponse:
        """A piece of the answer: text (sent as payload.text) or any fields."""
        return await self._part(DELTA, {"text": piece} if isinstance(piece, str) else piece)

    async def end(self, extra: Optional[dict[str, Any]] = None) -> messaging_pb2.SendResponse:
        """Closes the stream normally."""
        return await self._part(END, extra or {}, last=True)

    async def error(self, code: str, detail: str = "") -> messaging_pb2.SendResponse:
        """Closes the stream with a failure the collector reports as `error`."""
        return await self._part(ERROR, {"code": code, "detail": detail}, last=True)

    async def _part(self, type_: str, extra: dict[str, Any], last: bool = False) -> messaging_pb2.SendResponse:
        if self._ended:
            raise RuntimeError(f"stream {self.stream_id} already ended")
        if last:
            self._ended = True
        # Numbered before the first await: parts written concurrently still get distinct, ordered seqs.
        seq, self._seq = self._seq, self._seq + 1
        return await self._send_part({**extra, "type": type_, "stream_id": self.stream_id, "seq": seq})


@dataclass
class AssembledStream:
    """A stream's state as far as its parts arrived without a gap."""

    stream_id: str
    #: The stream_delta texts joined in seq order so far.
    text: str = ""
    #: The stream_end or stream_error part is within the contiguous prefix: nothing more will come.
    done: bool = False
    #: {"code", "detail"} when the stream ended with stream_error.
    error: Optional[dict[str, str]] = None
    #: The stream_start payload, once seen.
    start: Optional[dict[str, Any]] = None


def _seq_of(value: Any) -> Optional[int]:
    # Payloads are protobuf Structs, whose numbers come back as floats (0.0, 1.0, …).
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or value < 0:
        return None
    return int(value)


class StreamCollector:
    """Reassembles streams from received STREAM messages by stream_id; feed it every message of the inbox."""

    def __init__(self) -> None:
        self._parts: dict[str, dict[int, dict[str, Any]]] = {}
        self._end_seq: dict[str, int] = {}

    def add(self, message: "Message") -> Optional[AssembledStream]:
        """Adds one part and returns its stream's state; None when the message is not a stream part."""
        payload = message.payload
        stream_id, seq = payload.get("stream_id"), _seq_of(payload.get("seq"))
        if message.kind != "stream" or not isinstance(stream_id, str) or seq is None:
            return None
        self._parts.setdefault(stream_id, {})[seq] = payload
        if payload.get("type") in (END, ERROR):
            self._end_seq[stream_id] = seq
        return self.state(stream_id)

    def state(self, stream_id: str) -> Optional[AssembledStream]:
        """The stream's state so far; None for a stream never seen."""
        parts = self._parts.get(stream_id)
        if parts is None:
            return None
        out = AssembledStream(stream_id)
        texts: list[str] = []
        seq = 0
        # Only the contiguous prefix counts: a gap means a part is still on its way.
        while seq in parts:
            p = parts[seq]
            kind = p.get("type")
            if kind == START:
                out.start = p
            elif kind == DELTA and isinstance(p.get("text"), str):
                texts.append(p["text"])
            elif kind == ERROR:
                out.error = {"code": str(p.get("code", "")), "detail": str(p.get("detail", ""))}
            if seq == self._end_seq.get(stream_id):
                out.done = True
            seq += 1
        out.text = "".join(texts)
        return out
