"""Send coalescing: sends that answer once stored (wait_for unset or "accepted") issued while a SendBatch call is in
flight, or within `linger` seconds of the first, go out together as one SendBatch call (at most 1,000 messages and
about 4 MiB per call). Each caller still gets what a unary Send would have given it: the SendResponse, or the
exception the client raises for a refused Send (same class, code, reason, message, field and retry delay).

One call is in flight per client at a time and the queue is first in, first out, so messages sent through one
client keep the order they were issued in, across batches too (the server stores and delivers the items of one call
to the same recipient in request order).

Retries, as for unary Send (every item carries the message id chosen before its first attempt, so a repeat is
recognised by the server and answered with `duplicate = true`):
- a retryable failure of the whole call (UNAVAILABLE other than no_responders, ABORTED, INTERNAL) sends the batch
  again, item by item within each send's own `retries` budget;
- a retryable refusal of one item (UNAVAILABLE `database_unavailable`) sends that item again;
- a whole-call INVALID_ARGUMENT naming one item (`messages[3].thread_id`: a rule every request obeys) takes that
  item out and sends it alone as a unary Send, so its caller gets Send's own error; the rest go again as a batch;
- a server without SendBatch (UNIMPLEMENTED) switches the client to unary Send for good, these messages included.
"""
from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import TYPE_CHECKING, Optional

import grpc

from .backoff import backoff_delays
from .errors import AgentnetError, UnavailableError, from_rpc_error, from_send_error, is_retryable
from .v1 import messaging_pb2

if TYPE_CHECKING:
    from .client import Client

MAX_BATCH_ITEMS = 1000
# Bytes of SendRequests per call: well under the channel's 32 MiB message limit, and a size the gateway decodes
# and stores without holding much else up; a single larger message goes alone.
MAX_BATCH_BYTES = 4 * 1024 * 1024
DEFAULT_LINGER_SECONDS = 0.001
_ITEM_FIELD = re.compile(r"^messages\[(\d+)\](?:\.(.*))?$")


class _Item:
    __slots__ = ("request", "future", "retries", "attempts", "size")

    def __init__(self, request: messaging_pb2.SendRequest, future: asyncio.Future, retries: int) -> None:
        self.request = request
        self.future = future
        self.retries = retries
        self.attempts = 0
        self.size = request.ByteSize() + 8  # + the repeated field's tag and length


class SendBatcher:
    """Coalesces one client's stored-only sends into SendBatch calls. `calls`, `items` and `unary_fallbacks` count
    what went out (for tests and introspection); `supported` turns False after the server answered UNIMPLEMENTED."""

    def __init__(self, client: "Client", *, linger: float = DEFAULT_LINGER_SECONDS, max_items: int = MAX_BATCH_ITEMS,
                 max_bytes: int = MAX_BATCH_BYTES) -> None:
        self._client = client
        self.linger = max(0.0, linger)
        self.max_items = max(1, min(max_items, MAX_BATCH_ITEMS))
        self.max_bytes = max_bytes
        self.supported = True
        self.calls = 0
        self.items = 0
        self.unary_fallbacks = 0
        self._queue: deque[_Item] = deque()
        self._queued_bytes = 0
        self._timer: Optional[asyncio.Handle] = None
        self._running: Optional[asyncio.Task] = None
        self._side_tasks: set[asyncio.Task] = set()

    async def send(self, request: messaging_pb2.SendRequest, retries: int) -> messaging_pb2.SendResponse:
        if not self.supported:
            return await self._unary(request, retries)
        loop = asyncio.get_running_loop()
        item = _Item(request, loop.create_future(), retries)
        self._queue.append(item)
        self._queued_bytes += item.size
        if self._running is None:
            if len(self._queue) >= self.max_items or self._queued_bytes >= self.max_bytes:
                self._flush()
            elif self._timer is None:
                self._timer = loop.call_later(self.linger, self._flush) if self.linger > 0 else loop.call_soon(self._flush)
        try:
            return await item.future
        except asyncio.CancelledError:
            if not item.future.done():
                item.future.cancel()
            self._forget(item)
            raise

    async def close(self, timeout: float = 5.0) -> None:
        """Sends what is queued and waits (up to `timeout`) for the call in flight; then fails what is left."""
        if self._running is None and self._queue:
            self._flush()
        tasks = [t for t in (self._running, *self._side_tasks) if t is not None]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.wait(pending)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._queue:
            item = self._queue.popleft()
            if not item.future.done():
                item.future.set_exception(UnavailableError(grpc.StatusCode.UNAVAILABLE, "the client was closed", "client_closed"))

    # internals

    def _forget(self, item: _Item) -> None:
        try:
            self._queue.remove(item)
            self._queued_bytes -= item.size
        except ValueError:
            pass  # already taken into a call: its answer is dropped

    def _take(self) -> list[_Item]:
        batch: list[_Item] = []
        size = 0
        while self._queue and len(batch) < self.max_items:
            item = self._queue[0]
            if batch and size + item.size > self.max_bytes:
                break
            self._queue.popleft()
            self._queued_bytes -= item.size
            if item.future.done():  # its caller was cancelled while it waited
                continue
            batch.append(item)
            size += item.size
        return batch

    def _flush(self) -> None:
        self._timer = None
        if self._running is not None:
            return
        if not self.supported:
            while self._queue:
                self._spawn_unary(self._queue.popleft())
            self._queued_bytes = 0
            return
        batch = self._take()
        if batch:
            self._running = asyncio.ensure_future(self._run(batch))
            self._running.add_done_callback(self._ran)

    def _ran(self, task: asyncio.Task) -> None:
        self._running = None
        if not task.cancelled() and task.exception() is not None:  # a bug: never leave a caller waiting
            for item in list(self._queue):
                if not item.future.done():
                    item.future.set_exception(task.exception())  # type: ignore[arg-type]
            self._queue.clear()
            self._queued_bytes = 0
            return
        if self._queue:
            self._flush()  # what queued up behind the call goes at once: it already waited

    async def _run(self, batch: list[_Item]) -> None:
        """One batch until every item is answered: retries (per item budget) and fallbacks included."""
        delays = None
        try:
            while batch:
                retry = False
                try:
                    response = await self._call(batch)
                except AgentnetError as err:
                    batch, retry = await self._call_failed(batch, err)
                else:
                    batch = self._answered(batch, response)
                    retry = bool(batch)
                if batch and retry:
                    if delays is None:
                        delays = backoff_delays(0.1, 2.0)
                    await asyncio.sleep(next(delays))
        except asyncio.CancelledError:
            for item in batch:
                if not item.future.done():
                    item.future.cancel()
            raise
        except Exception as err:  # not an RPC failure (a bug): hand it to every caller
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(err)

    async def _call(self, batch: list[_Item]) -> messaging_pb2.SendBatchResponse:
        client = self._client
        retry = any(item.attempts for item in batch)
        self.calls += 1
        self.items += len(batch)
        request = messaging_pb2.SendBatchRequest(messages=[item.request for item in batch])
        await client.wait_ready(client.connect_timeout)  # UnavailableError("connect_timeout"): not retried, as Send
        try:
            if not retry:
                return await client.messaging.SendBatch(request, metadata=client._metadata)
            from .client import RECONNECT_WAIT_SECONDS

            return await client.messaging.SendBatch(request, metadata=client._metadata, timeout=RECONNECT_WAIT_SECONDS,
                                                    wait_for_ready=True)
        except grpc.aio.AioRpcError as e:
            raise from_rpc_error(e) from None

    def _answered(self, batch: list[_Item], response: messaging_pb2.SendBatchResponse) -> list[_Item]:
        """Settles each item from its result; returns those to send again."""
        results = response.results
        if len(results) != len(batch):
            err = AgentnetError(grpc.StatusCode.INTERNAL, f"SendBatch answered {len(results)} results for {len(batch)} messages",
                                "bad_batch_response")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(err)
            return []
        again: list[_Item] = []
        for item, result in zip(batch, results):
            if item.future.done():
                continue
            if result.WhichOneof("result") == "sent":
                sent = messaging_pb2.SendResponse()
                sent.CopyFrom(result.sent)  # detached: the caller's answer does not keep the whole batch alive
                item.future.set_result(sent)
                continue
            err = from_send_error(result.error)
            if is_retryable(err) and item.attempts < item.retries:
                item.attempts += 1
                again.append(item)
            else:
                item.future.set_exception(err)
        return again

    async def _call_failed(self, batch: list[_Item], err: AgentnetError) -> tuple[list[_Item], bool]:
        """The whole call failed: returns the items to send again and whether to back off first."""
        if err.code == grpc.StatusCode.UNIMPLEMENTED:
            self.supported = False
            for item in batch:
                self._spawn_unary(item)
            while self._queue:
                self._spawn_unary(self._queue.popleft())
            self._queued_bytes = 0
            return [], False
        if err.code == grpc.StatusCode.INVALID_ARGUMENT:
            m = _ITEM_FIELD.match(err.field or "")
            if m and int(m.group(1)) < len(batch):
                # One item breaks a rule of every request: its own Send gives its caller Send's error (a refusal,
                # nothing stored); the others did nothing wrong and go again at once.
                bad = batch[int(m.group(1))]
                self._spawn_unary(bad, bad.retries - bad.attempts)
                return [item for item in batch if item is not bad and not item.future.done()], False
        if is_retryable(err):
            again: list[_Item] = []
            for item in batch:
                if item.future.done():
                    continue
                if item.attempts < item.retries:
                    item.attempts += 1
                    again.append(item)
                else:
                    item.future.set_exception(_copy(err))
            return again, True
        if err.code == grpc.StatusCode.INVALID_ARGUMENT:
            # Refused as a whole for a reason that names no item: let each message meet Send's own checks.
            for item in batch:
                self._spawn_unary(item, item.retries - item.attempts)
            return [], False
        for item in batch:  # UNAUTHENTICATED, DEADLINE_EXCEEDED, …: what Send would have raised for each
            if not item.future.done():
                item.future.set_exception(_copy(err))
        return [], False

    def _spawn_unary(self, item: _Item, retries: Optional[int] = None) -> None:
        if item.future.done():
            return
        self.unary_fallbacks += 1

        async def run() -> None:
            try:
                res = await self._unary(item.request, item.retries if retries is None else max(0, retries))
            except BaseException as err:  # noqa: BLE001 - handed to the caller
                if not item.future.done():
                    if isinstance(err, asyncio.CancelledError):
                        item.future.cancel()
                    else:
                        item.future.set_exception(err)
                if not isinstance(err, Exception):
                    raise
            else:
                if not item.future.done():
                    item.future.set_result(res)

        task = asyncio.ensure_future(run())
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _unary(self, request: messaging_pb2.SendRequest, retries: int) -> messaging_pb2.SendResponse:
        return await self._client._call(self._client.messaging.Send, request, retries=retries)


def _copy(err: AgentnetError) -> AgentnetError:
    """A fresh exception per caller (one raised in several tasks would collect all their tracebacks)."""
    return type(err)(err.code, err.message, err.reason, err.info, err.field, err.retry_after_ms)
