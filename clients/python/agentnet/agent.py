"""A registered agent process: account and session, heartbeats at the server's interval, and an inbox whose messages
go through the guardrails to an `on_message` handler and come back as batched acks. The inbox stream reconnects with
backoff and resumes without loss (the server pushes unacked messages again; dedupe absorbs repeats)."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Optional

import grpc

from .client import Actor, Client, backoff_delays, struct
from .errors import AgentnetError, from_rpc_error
from .guardrails import GuardedHandler, Guardrails, Outcome
from .message import Message
from .v1 import common_pb2, messaging_pb2, registry_pb2

Handler = Callable[[Message], Awaitable[Any]]
# Attempts after the first for Register: enough to ride out a gateway busy with many handshakes or restarting.
REGISTER_RETRIES = 4
FATAL = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT}


class Agent(Actor):
    def __init__(self, client: Client, request: registry_pb2.RegisterRequest, registration: registry_pb2.RegisterResponse,
                 guardrails: Guardrails) -> None:
        super().__init__(client)
        self._request = request
        self._registration = registration
        self.guardrails = guardrails
        self._guard: Optional[GuardedHandler] = None
        self._tasks: list[asyncio.Task] = []
        self._acks: list[messaging_pb2.AckItem] = []
        self._ack_wakeup = asyncio.Event()
        self._started = asyncio.Event()
        self._closed = asyncio.Event()
        self._reregistering: Optional[asyncio.Task] = None
        self.outcomes: list[tuple[str, Outcome]] = []  # recent decisions, for tests and introspection
        self.reconnects = 0
        self._tasks.append(asyncio.ensure_future(self._heartbeats()))

    @classmethod
    async def register(cls, client: Client, *, username: str = "", agent_id: str = "", display_name: str = "",
                       capabilities: tuple = (), metadata: Optional[dict] = None, bio: str = "", visibility: str = "",
                       public_key: Optional[bytes] = None, guardrails: Optional[Guardrails] = None,
                       retries: int = REGISTER_RETRIES) -> "Agent":
        agent_id = agent_id or username
        if not agent_id:
            raise ValueError("register needs a username or an agent_id")
        req = registry_pb2.RegisterRequest(agent_id=agent_id, display_name=display_name, capabilities=list(capabilities),
                                           bio=bio, visibility={"public": common_pb2.VISIBILITY_PUBLIC,
                                                                "private": common_pb2.VISIBILITY_PRIVATE}.get(visibility, common_pb2.VISIBILITY_UNSPECIFIED))
        if username:
            req.username = username
        if metadata is not None:
            req.metadata.CopyFrom(struct(metadata))
        if public_key is not None:
            req.public_key = public_key
        # Transient failures (a busy or restarting gateway) are retried. When only the answer was lost, the retry opens
        # a second session on the same account; nothing heartbeats it, so the server evicts it after ttl_seconds.
        res = await client._call(client.registry.Register, req, retries=retries)
        return cls(client, req, res, guardrails or Guardrails())

    @property
    def account_id(self) -> str:  # type: ignore[override]
        return self._registration.account_id

    @property
    def session_tag(self) -> str:  # type: ignore[override]
        return self._registration.session_tag

    @property
    def username(self) -> str:
        return self._registration.username

    @property
    def heartbeat_interval(self) -> float:
        return self._registration.heartbeat_interval

    @property
    def profile(self) -> common_pb2.Profile:
        return self._registration.profile

    def on_message(self, handler: Handler) -> Handler:
        """Decorator (the seed's `@node.on_message`): handle the inbox inside the guardrails. Returning means processed,
        raising Reject rejects with its code, any other exception rejects `handler_error`."""
        if self._guard is not None:
            raise RuntimeError("on_message was already set: one handler per agent")
        self._guard = GuardedHandler(handler, self.guardrails, self._decided)
        self._tasks.append(asyncio.ensure_future(self._inbox()))
        self._tasks.append(asyncio.ensure_future(self._ack_loop()))
        return handler

    async def ready(self, timeout: float = 10.0) -> None:
        """Waits until the inbox stream is open (after on_message)."""
        await asyncio.wait_for(self._started.wait(), timeout)

    async def run_forever(self) -> None:
        """The seed's start_forever: runs until close()."""
        await self._closed.wait()

    @property
    def load(self) -> dict[str, Any]:
        g = self._guard
        return {"running": g.running if g else 0, "pending": g.pending if g else 0, "circuit": g.breaker.state if g else "closed"}

    async def close(self) -> None:
        """Stops the inbox, lets running handlers finish, sends the last acks and ends the session."""
        if self._closed.is_set():
            return
        self._closed.set()
        if self._guard:
            await self._guard.close()
        await self._flush_acks()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._client._call(self._client.registry.Deregister, registry_pb2.DeregisterRequest(session_tag=self.session_tag), timeout=5)
        except AgentnetError:
            pass
        self._client._agents.discard(self)

    # internals

    def _decided(self, message: Message, outcome: Outcome, repeat: bool) -> None:
        self.outcomes.append((message.message_id, outcome))
        self._acks.append(messaging_pb2.AckItem(
            message_id=message.message_id,
            outcome=messaging_pb2.ACK_OUTCOME_PROCESSED if outcome.processed else messaging_pb2.ACK_OUTCOME_REJECTED,
            code=outcome.code, detail=outcome.detail, traceparent=getattr(message, "trace_context", "")))
        self._ack_wakeup.set()

    async def _ack_loop(self) -> None:
        while True:
            await self._ack_wakeup.wait()
            await asyncio.sleep(0.01)  # gather what the next few milliseconds decide into one Ack call
            self._ack_wakeup.clear()
            await self._flush_acks()

    async def _flush_acks(self) -> None:
        while self._acks:
            batch, self._acks = self._acks[:1000], self._acks[1000:]
            try:
                await self._client._call(self.messaging.Ack, messaging_pb2.AckRequest(acks=batch, session_tag=self.session_tag),
                                         timeout=10, retries=4)
            except AgentnetError:
                pass  # left unacked: pushed again after the next reconnect and acked from the dedupe cache

    async def _inbox(self) -> None:
        delays = backoff_delays()
        opened = 0
        while not self._closed.is_set():
            call = self.messaging.Subscribe(messaging_pb2.SubscribeRequest(as_account_id=self.account_id, session_tag=self.session_tag),
                                            metadata=self._client._metadata)
            failure: Optional[AgentnetError] = None
            try:
                async for item in call:
                    if item.HasField("started"):
                        delays = backoff_delays()
                        if opened:
                            self.reconnects += 1
                        opened += 1
                        self._started.set()
                    elif item.HasField("message") and self._guard:
                        self._guard.offer(Message(item.message, self))
            except grpc.aio.AioRpcError as e:
                failure = from_rpc_error(e)
            finally:
                call.cancel()
            if self._closed.is_set():
                return
            if failure is not None and failure.reason == "session_not_found":
                await self._reregister()
                continue
            if failure is not None and failure.code in FATAL:
                raise failure
            await asyncio.sleep(next(delays))

    async def _heartbeats(self) -> None:
        while not self._closed.is_set():
            await asyncio.sleep(max(self.heartbeat_interval, 0.5))
            try:
                res = await self._client._call(self._client.registry.Heartbeat,
                                               registry_pb2.HeartbeatRequest(session_tag=self.session_tag), timeout=10)
                self._registration.heartbeat_interval = res.heartbeat_interval or self._registration.heartbeat_interval
            except AgentnetError as e:
                if e.reason == "session_not_found":
                    await self._reregister()

    async def _reregister(self) -> None:
        """The server evicted the session: register again (same account, new session); one at a time."""
        if self._reregistering is None or self._reregistering.done():
            async def again() -> None:
                self._registration = await self._client._call(self._client.registry.Register, self._request,
                                                              retries=REGISTER_RETRIES)
            self._reregistering = asyncio.ensure_future(again())
        await self._reregistering
