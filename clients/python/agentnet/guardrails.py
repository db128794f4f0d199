"""The seed's handler guardrails (AgentNode defaults), as in the TypeScript SDK: bounded concurrency and queue,
work timeout, circuit breaker and dedupe. Every outcome becomes an ack: processed, or rejected with busy | timeout |
duplicate | expired | circuit_open | handler_error | rate_limited, or the handler's own code via Reject."""
from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from .tracing import handling


@dataclass
class Guardrails:
    max_concurrency: int = 4
    max_pending: int = 100
    work_timeout_seconds: float = 30.0
    circuit_breaker_failures: int = 5
    circuit_breaker_reset_seconds: float = 15.0
    dedupe_ttl_seconds: float = 600.0
    # Most message ids remembered (oldest forgotten first beyond it), so a flood within the TTL stays bounded in memory.
    dedupe_max_entries: int = 100_000


class Reject(Exception):
    """Raise from a handler to reject the message with your own code (not counted as a failure)."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail}" if detail else code)


@dataclass
class Outcome:
    processed: bool
    code: str = ""
    detail: str = ""

    @staticmethod
    def rejected(code: str, detail: str) -> "Outcome":
        return Outcome(False, code, detail[:1000])


PROCESSED = Outcome(True)


class CircuitBreaker:
    def __init__(self, threshold: int, reset_seconds: float, now: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.reset_seconds, self.now = threshold, reset_seconds, now
        self.failures, self.opened_at, self.opened, self.trial = 0, 0.0, False, False

    @property
    def state(self) -> str:
        if not self.opened:
            return "closed"
        return "half_open" if self.now() - self.opened_at >= self.reset_seconds else "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self.trial:
            return False
        self.trial = True
        return True

    def success(self) -> None:
        self.failures, self.opened, self.trial = 0, False, False

    def neutral(self) -> None:
        self.trial = False

    def failure(self) -> None:
        self.trial = False
        self.failures += 1
        if self.opened or self.failures >= self.threshold:
            self.opened, self.opened_at = True, self.now()


class _Dedupe:
    """Message id → None while running, or its Outcome; forgotten after the TTL (running ones are kept) or, beyond
    `max_entries`, oldest first. An LRU in write order: every write moves its id to the new end, so the expired
    entries are all at the old end and pruning stops at the first live one. Each get/set is amortised O(1) however
    many ids are remembered (the old prune copied every entry on every call)."""

    def __init__(self, ttl: float, now: Callable[[], float], max_entries: int = 100_000) -> None:
        self.ttl, self.now, self.max_entries = ttl, now, max(1, max_entries)
        self.entries: "OrderedDict[str, tuple[float, Optional[Outcome]]]" = OrderedDict()

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: str) -> tuple[bool, Optional[Outcome]]:
        self._prune()
        entry = self.entries.get(key)
        return (False, None) if entry is None else (True, entry[1])

    def set(self, key: str, value: Optional[Outcome]) -> None:
        self.entries.pop(key, None)
        self.entries[key] = (self.now(), value)
        self._prune()

    def _prune(self) -> None:
        now = self.now()
        cutoff = now - self.ttl
        entries = self.entries
        # Bounded by the entries there are, so a map of running ids cannot loop forever.
        for _ in range(len(entries)):
            key = next(iter(entries))
            at, value = entries[key]
            if at > cutoff and len(entries) <= self.max_entries:
                return
            if value is None:
                # Still running: forgetting it would let a redelivery run it twice. Re-stamped at the new end, so it
                # does not stop pruning behind it (and is looked at again only a TTL later).
                entries.move_to_end(key)
                entries[key] = (now, None)
            else:
                del entries[key]


class GuardedHandler:
    def __init__(self, handler: Callable[[Any], Awaitable[Any]], limits: Guardrails,
                 on_outcome: Callable[[Any, Outcome, bool], None], now: Callable[[], float] = time.monotonic) -> None:
        self.handler, self.limits, self.on_outcome, self.now = handler, limits, on_outcome, now
        self.seen = _Dedupe(limits.dedupe_ttl_seconds, now, limits.dedupe_max_entries)
        self.keys = _Dedupe(limits.dedupe_ttl_seconds, now, limits.dedupe_max_entries)
        self.breaker = CircuitBreaker(limits.circuit_breaker_failures, limits.circuit_breaker_reset_seconds, now)
        self.queue: deque = deque()
        self.running = 0
        self.closed = False
        self.tasks: set[asyncio.Task] = set()

    @property
    def pending(self) -> int:
        return len(self.queue)

    def offer(self, message: Any) -> None:
        """`message` needs message_id, from_account_id, idempotency_key and is_expired()."""
        if self.closed:
            return  # stays unacked: pushed again to the next stream
        known, outcome = self.seen.get(message.message_id)
        if known:
            if outcome is not None:
                self.on_outcome(message, outcome, True)  # a redelivery after a lost ack: same answer again
            return
        if message.idempotency_key:
            scoped = f"{message.from_account_id}\0{message.idempotency_key}"
            known_key, first = self.keys.get(scoped)
            if known_key and first is not None and first.detail != message.message_id:
                return self._decide(message, Outcome.rejected("duplicate", f"idempotency key already used by message {first.detail}"))
            self.keys.set(scoped, Outcome(True, "", message.message_id))
        if message.is_expired():
            return self._decide(message, Outcome.rejected("expired", "the message's TTL passed before it was handled"))
        if self.running < self.limits.max_concurrency:
            return self._start(message)
        if len(self.queue) >= self.limits.max_pending:
            return self._decide(message, Outcome.rejected("busy", f"queue full: {self.limits.max_pending} messages waiting"))
        self.seen.set(message.message_id, None)
        self.queue.append(message)

    async def close(self, timeout: float = 5.0) -> None:
        self.closed = True
        self.queue.clear()
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=timeout)

    def _decide(self, message: Any, outcome: Outcome) -> None:
        self.seen.set(message.message_id, outcome)
        self.on_outcome(message, outcome, False)

    def _start(self, message: Any) -> None:
        if not self.breaker.allow():
            return self._decide(message, Outcome.rejected("circuit_open", "too many recent failures; circuit open"))
        if message.is_expired():
            return self._decide(message, Outcome.rejected("expired", "the message's TTL passed while it waited"))
        self.seen.set(message.message_id, None)
        self.running += 1
        task = asyncio.ensure_future(self._run(message))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self, message: Any) -> None:
        # The handler runs in a span continuing the message's trace; its answers and its ack carry that span.
        with handling(message) as span:
            message.trace_context = span.traceparent
            outcome = await self._outcome(message)
            if not outcome.processed:
                span.fail(outcome.code)
        self.running -= 1
        self.seen.set(message.message_id, outcome)
        self.on_outcome(message, outcome, False)
        while not self.closed and self.running < self.limits.max_concurrency and self.queue:
            self._start(self.queue.popleft())

    async def _outcome(self, message: Any) -> Outcome:
        try:
            await asyncio.wait_for(self.handler(message), timeout=self.limits.work_timeout_seconds)
            self.breaker.success()
            outcome = PROCESSED
        except asyncio.TimeoutError:
            self.breaker.failure()
            outcome = Outcome.rejected("timeout", f"handler did not finish within {self.limits.work_timeout_seconds:g} s")
        except Reject as r:
            self.breaker.neutral()
            outcome = Outcome.rejected(r.code, r.detail)
        except Exception as e:  # noqa: BLE001 - any handler failure is reported, not raised
            self.breaker.failure()
            outcome = Outcome.rejected("handler_error", str(e) or type(e).__name__)
        return outcome
