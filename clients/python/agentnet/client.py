"""The entry object (`connect`): credentials on a gRPC channel, the sending and reading verbs, and `register` to become
an agent process. The same verbs as the TypeScript SDK, in snake_case."""
from __future__ import annotations

import asyncio
import uuid
from contextlib import aclosing
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterable, Optional, Sequence, Union
from urllib.parse import urlparse

import grpc
from google.protobuf import struct_pb2

from .backoff import backoff_delays
from .batch import DEFAULT_LINGER_SECONDS, SendBatcher
from .chat import ChatSessions
from .errors import ErrorReply, UnavailableError, from_rpc_error, is_retryable
from .message import KIND_VALUES, Message
from .presence import watch_presence
from .reopening import reopening
from .streaming import StreamWriter
from .tracing import current_traceparent, with_traceparent
from .v1 import (auth_pb2_grpc, common_pb2, messaging_pb2, messaging_pb2_grpc, registry_pb2, registry_pb2_grpc,
                 session_pb2_grpc, token_pb2_grpc, voice_pb2_grpc)
from .voice import Voice

if TYPE_CHECKING:
    from .agent import Agent

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
# How long a retried call waits for the channel to come back.
RECONNECT_WAIT_SECONDS = 10.0
# How long a call waits for the channel to connect (TCP + TLS + HTTP/2 SETTINGS) before failing with
# UnavailableError("connect_timeout"); gRPC's own default, long enough for a gateway busy with many handshakes.
CONNECT_TIMEOUT_SECONDS = 20.0
WAIT_FOR: dict[Optional[str], Any] = {None: 0, "accepted": 0, "delivered": messaging_pb2.WAIT_FOR_DELIVERED, "processed": messaging_pb2.WAIT_FOR_PROCESSED}

Target = Union[str, dict]


def to_recipient(target: Target) -> messaging_pb2.Recipient:
    """The seed's address forms: "acct_…" / "account:acct_…", "@name" / "name", "capability:chat"."""
    if isinstance(target, dict):
        return messaging_pb2.Recipient(**target)
    t = target.strip()
    if t.startswith("account:"):
        return messaging_pb2.Recipient(account_id=t[len("account:"):])
    if t.startswith("capability:"):
        return messaging_pb2.Recipient(capability=t[len("capability:"):])
    if t.startswith("acct_"):
        return messaging_pb2.Recipient(account_id=t)
    return messaging_pb2.Recipient(username=t)


def struct(payload: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(payload)
    return s


def new_message_id() -> str:
    """A client-chosen message id (A-Za-z0-9._:-, 1..128): picked once before the first attempt, so a retried
    Send/Request/Reply is the same message to the server, which dedupes by (sender, message_id)."""
    return f"m_{uuid.uuid4()}"


class Actor:
    """Verbs shared by a client (acting as the caller's only account, or `as_account`) and a registered agent."""

    def __init__(self, client: "Client") -> None:
        self._client = client

    account_id: str = ""
    session_tag: str = ""

    @property
    def messaging(self) -> messaging_pb2_grpc.MessagingServiceStub:
        return self._client.messaging

    async def send(self, to: Target, payload: dict[str, Any], *, thread_id: str = "", parent_message_id: str = "",
                   trace_id: str = "", idempotency_key: str = "", ttl_ms: Optional[int] = None, kind: str = "direct",
                   wait_for: Optional[str] = None, wait_timeout_ms: Optional[int] = None, blob_ids: tuple = (),
                   message_id: Optional[str] = None, retries: int = 2) -> messaging_pb2.SendResponse:
        req = messaging_pb2.SendRequest(
            to=to_recipient(to), payload=struct(payload), kind=KIND_VALUES[kind], thread_id=thread_id,
            parent_message_id=parent_message_id, trace_id=trace_id, idempotency_key=idempotency_key,
            blob_ids=list(blob_ids), wait_for=WAIT_FOR[wait_for], as_account_id=self.account_id,
            session_tag=self.session_tag, message_id=message_id or new_message_id(),
            # In the message itself too: a batched send goes out later, from another task.
            traceparent=current_traceparent())
        if ttl_ms is not None:
            req.ttl_ms = ttl_ms
        if wait_timeout_ms is not None:
            req.wait_timeout_ms = wait_timeout_ms
        batcher = self._client._batcher
        if batcher is not None and req.wait_for == 0:
            # Answers once stored: coalesced with the client's other such sends into SendBatch calls (batch.py).
            return await batcher.send(req, retries)
        return await self._client._call(self.messaging.Send, req, retries=retries)

    async def send_text(self, to: Target, text: str, **kw: Any) -> messaging_pb2.SendResponse:
        return await self.send(to, {"text": text}, **kw)

    async def request(self, to: Target, payload: dict[str, Any], *, timeout: float = 30.0, thread_id: str = "",
                      parent_message_id: str = "", trace_id: str = "", idempotency_key: str = "",
                      message_id: Optional[str] = None, retries: int = 2) -> Message:
        """Sends a REQUEST and waits for the reply; NoRespondersError at once when the recipient is offline."""
        req = messaging_pb2.RequestRequest(
            to=to_recipient(to), payload=struct(payload), thread_id=thread_id, parent_message_id=parent_message_id,
            trace_id=trace_id, idempotency_key=idempotency_key, timeout_ms=int(timeout * 1000),
            as_account_id=self.account_id, session_tag=self.session_tag, message_id=message_id or new_message_id())
        res = await self._client._call(self.messaging.Request, req, timeout=timeout + 5, retries=retries)
        return Message(res.reply)

    async def ask_text(self, to: Target, text: str, **kw: Any) -> Message:
        """The seed's ask_text: the reply as a Message whose `.text` is the answer; an ERROR reply raises ErrorReply."""
        reply = await self.request(to, {"text": text}, **kw)
        if reply.kind == "error":
            raise ErrorReply(reply)
        return reply

    async def reply(self, to: Union[Message, str], payload: dict[str, Any], *, kind: str = "reply",
                    idempotency_key: str = "", message_id: Optional[str] = None, retries: int = 2) -> Any:
        """Answers a REQUEST with Reply; any other message with a message back to its sender in the same thread."""
        if isinstance(to, Message) and not to.is_request:
            return await self.send({"account_id": to.from_account_id}, payload, kind="error" if kind == "error" else "direct",
                                   thread_id=to.thread_id, parent_message_id=to.message_id, trace_id=to.trace_id,
                                   idempotency_key=idempotency_key, message_id=message_id, retries=retries)
        req = messaging_pb2.ReplyRequest(
            request_message_id=to if isinstance(to, str) else to.message_id, payload=struct(payload),
            kind=messaging_pb2.MESSAGE_KIND_ERROR if kind == "error" else messaging_pb2.MESSAGE_KIND_REPLY,
            idempotency_key=idempotency_key, session_tag=self.session_tag, message_id=message_id or new_message_id())
        return await self._client._call(self.messaging.Reply, req, retries=retries)

    def thread(self, thread_id: str) -> "Thread":
        """The seed's `sdk.thread(id)`: the same verbs, posting in one thread."""
        return Thread(self, thread_id)

    # Streamed answers (streaming.py)

    def stream(self, to: Target, *, thread_id: str = "", parent_message_id: str = "", trace_id: str = "",
               ttl_ms: int = 0, stream_id: Optional[str] = None) -> StreamWriter:
        """Opens a streamed answer to `to`: each StreamWriter call sends one STREAM message (sharing the stream id,
        numbered by seq). Nothing is sent until `start`. `ttl_ms` 0: the server's default time to live."""
        async def send_part(payload: dict[str, Any]) -> messaging_pb2.SendResponse:
            return await self.send(to, payload, kind="stream", thread_id=thread_id, parent_message_id=parent_message_id,
                                   trace_id=trace_id, ttl_ms=ttl_ms or None)

        return StreamWriter(send_part, stream_id)

    def stream_reply(self, message: Message, *, ttl_ms: int = 0) -> StreamWriter:
        """A streamed answer to a received message: to its sender's account, in its thread, with it as parent and
        the same trace id."""
        return self.stream({"account_id": message.from_account_id}, thread_id=message.thread_id,
                           parent_message_id=message.message_id, trace_id=message.trace_id, ttl_ms=ttl_ms)

    # Blobs

    async def put_blob(self, data: Union[bytes, str], *, mime_type: str = "", filename: str = "") -> messaging_pb2.BlobInfo:
        raw = data.encode() if isinstance(data, str) else data
        res = await self._client._call(self.messaging.PutBlob, messaging_pb2.PutBlobRequest(
            data=raw, mime_type=mime_type or ("text/plain; charset=utf-8" if isinstance(data, str) else ""),
            filename=filename, as_account_id=self.account_id))
        return res.blob

    async def get_blob(self, blob_id: str) -> tuple[messaging_pb2.BlobInfo, bytes]:
        res = await self._client._call(self.messaging.GetBlob, messaging_pb2.GetBlobRequest(blob_id=blob_id))
        return res.blob, res.data

    async def get_blob_text(self, blob_id: str) -> str:
        return (await self.get_blob(blob_id))[1].decode()

    async def head_blob(self, blob_id: str) -> messaging_pb2.BlobInfo:
        """A blob's metadata without its bytes (same access rules and errors as get_blob)."""
        res = await self._client._call(self.messaging.HeadBlob, messaging_pb2.HeadBlobRequest(blob_id=blob_id))
        return res.blob

    async def delete_blob(self, blob_id: str) -> bool:
        """Deletes a blob the account owns; False when it was unknown or already deleted."""
        res = await self._client._call(self.messaging.DeleteBlob, messaging_pb2.DeleteBlobRequest(blob_id=blob_id))
        return res.deleted

    async def send_blob_ref(self, to: Target, blob: messaging_pb2.BlobInfo, **kw: Any) -> messaging_pb2.SendResponse:
        payload = {"type": "blob_ref", "blob_id": blob.blob_id, "sha256": blob.sha256, "size_bytes": blob.size_bytes,
                   "mime_type": blob.mime_type, "filename": blob.filename}
        return await self.send(to, payload, blob_ids=(*kw.pop("blob_ids", ()), blob.blob_id), **kw)

    # Discovery and history

    async def list_online(self, *, capability: str = "", limit: int = 1000) -> list[common_pb2.Profile]:
        """Accounts online now (optionally offering `capability`), up to `limit`, every page."""
        out: list[common_pb2.Profile] = []
        token = ""
        while True:
            res = await self._client._call(self._client.registry.ListOnline, registry_pb2.ListOnlineRequest(
                page_size=min(limit - len(out), 1000), page_token=token, capability=capability))
            out.extend(res.agents)
            token = res.next_page_token
            if not token or len(out) >= limit:
                return out[:limit]

    async def search_agents(self, query: str = "", *, capability: str = "", online_only: bool = False,
                            limit: int = 50) -> list[common_pb2.Profile]:
        res = await self._client._call(self._client.registry.SearchAgents, registry_pb2.SearchAgentsRequest(
            query=query, capability=capability, online_only=online_only, page_size=limit))
        return list(res.agents)

    async def get_profile(self, target: str) -> common_pb2.Profile:
        """An account's profile by "acct_…" id or "@name"; NotFoundError reason account_not_found."""
        req = (registry_pb2.GetProfileRequest(account_id=target) if target.startswith("acct_")
               else registry_pb2.GetProfileRequest(username=target.lstrip("@")))
        return (await self._client._call(self._client.registry.GetProfile, req)).profile

    async def resolve_account(self, target: str) -> str:
        """The account id of "@name" or "name" (an "acct_…" / "account:acct_…" id is returned as is); NotFoundError
        reason account_not_found."""
        target = target.strip().removeprefix("account:")
        if target.startswith("acct_"):
            return target
        res = await self._client._call(self._client.registry.ResolveAccount,
                                       registry_pb2.ResolveAccountRequest(username=target.lstrip("@")))
        return res.account_id

    async def list_threads(self, *, participant: str = "", query: str = "", limit: int = 0,
                           cursor: str = "") -> messaging_pb2.ListThreadsResponse:
        """One page of the caller's threads, latest activity first (`threads`, `next_page_token` for `cursor`)."""
        req = messaging_pb2.ListThreadsRequest(page_size=limit, page_token=cursor, query=query)
        if participant.startswith("acct_"):
            req.participant_account_id = participant
        elif participant:
            req.participant_username = participant.lstrip("@")
        return await self._client._call(self.messaging.ListThreads, req)

    async def get_thread_messages(self, thread_id: str, *, limit: int = 0, cursor: str = "") -> tuple[list[Message], str]:
        """One page of a thread's messages, newest first, and the cursor of the next page ("" after the last)."""
        res = await self._client._call(self.messaging.GetThreadMessages, messaging_pb2.GetThreadMessagesRequest(
            thread_id=thread_id, page_size=limit, page_token=cursor))
        return [Message(m) for m in res.messages], res.next_page_token

    async def search_messages(self, *, thread_id: str = "", kind: str = "", from_account_id: str = "",
                              to_account_id: str = "", limit: int = 0, cursor: str = "") -> tuple[list[Message], str]:
        req = messaging_pb2.SearchMessagesRequest(thread_id=thread_id, from_account_id=from_account_id,
                                                  to_account_id=to_account_id, page_size=limit, page_token=cursor)
        if kind:
            req.kind = KIND_VALUES[kind]
        res = await self._client._call(self.messaging.SearchMessages, req)
        return [Message(m) for m in res.messages], res.next_page_token

    async def thread_status(self, thread_id: str) -> messaging_pb2.GetThreadStatusResponse:
        return await self._client._call(self.messaging.GetThreadStatus, messaging_pb2.GetThreadStatusRequest(thread_id=thread_id))

    def watch_presence(self, *, account_ids: Iterable[str] = (), capability: str = "", include_snapshot: bool = False,
                       on_synced: Optional[Callable[[int], None]] = None) -> AsyncIterator[registry_pb2.PresenceEvent]:
        """Accounts coming online, changing and going offline, live, until the caller stops iterating. Filters:
        `account_ids`, `capability`; `include_snapshot`: first one ONLINE event (snapshot=True) per account online
        now. `on_synced(snapshot_count)` once the stream is live. Reopens after a dropped stream (see presence.py)."""
        return watch_presence(self._client, account_ids=tuple(account_ids), capability=capability,
                              include_snapshot=include_snapshot, on_synced=on_synced)

    async def watch_receipts(self, *, account_ids: tuple = (), message_ids: tuple = (), since: Optional[datetime] = None,
                             after_cursor: str = "", on_synced: Optional[Callable[[int], None]] = None) -> AsyncIterator[messaging_pb2.Receipt]:
        """Receipts of messages your accounts sent: the stored ones after `after_cursor`, or from `since`, then live
        ones; `on_synced(replayed_count)` once the first stream is live. Reconnects and resumes after the last one
        seen, or, when none was seen yet, from `since` or else from when the watch first opened, so a receipt made
        while the stream was down is not lost. Stop by breaking out."""
        cursor, synced = after_cursor, False
        # Without this, a reconnect before the first receipt would ask for live receipts only and miss the gap's.
        resume_since = since if since is not None else datetime.now(timezone.utc)
        first = True

        def open_call() -> Any:
            nonlocal first
            req = messaging_pb2.WatchReceiptsRequest(account_ids=list(account_ids), message_ids=list(message_ids), after_cursor=cursor)
            if not cursor and (since is not None or not first):
                req.since.FromDatetime(resume_since)
            first = False
            return self.messaging.WatchReceipts(req, metadata=self._client._metadata)

        async with aclosing(reopening(open_call)) as items:
            async for item in items:
                if item.HasField("synced") and not synced:
                    synced = True
                    if on_synced:
                        on_synced(item.synced.replayed_count)
                elif item.HasField("receipt"):
                    cursor = item.receipt.cursor
                    yield item.receipt

class Thread:
    """The seed's `sdk.thread(id)`: the verbs with the thread filled in."""

    def __init__(self, actor: Actor, thread_id: str) -> None:
        self.actor, self.thread_id = actor, thread_id

    async def send_text(self, to: Target, text: str, **kw: Any) -> messaging_pb2.SendResponse:
        return await self.actor.send_text(to, text, thread_id=self.thread_id, **kw)

    async def send(self, to: Target, payload: dict[str, Any], **kw: Any) -> messaging_pb2.SendResponse:
        return await self.actor.send(to, payload, thread_id=self.thread_id, **kw)

    async def request(self, to: Target, payload: dict[str, Any], **kw: Any) -> Message:
        return await self.actor.request(to, payload, thread_id=self.thread_id, **kw)

    async def ask_text(self, to: Target, text: str, **kw: Any) -> Message:
        return await self.actor.ask_text(to, text, thread_id=self.thread_id, **kw)

    def stream(self, to: Target, *, parent_message_id: str = "", trace_id: str = "", ttl_ms: int = 0,
               stream_id: Optional[str] = None) -> StreamWriter:
        return self.actor.stream(to, thread_id=self.thread_id, parent_message_id=parent_message_id, trace_id=trace_id,
                                 ttl_ms=ttl_ms, stream_id=stream_id)

    async def messages(self, **kw: Any) -> tuple[list[Message], str]:
        return await self.actor.get_thread_messages(self.thread_id, **kw)

    async def status(self) -> messaging_pb2.GetThreadStatusResponse:
        return await self.actor.thread_status(self.thread_id)


class AccountActor(Actor):
    def __init__(self, client: "Client", account_id: str) -> None:
        super().__init__(client)
        self.account_id = account_id


class Client(Actor, ChatSessions, Voice):
    """A connection to a gateway, acting as the caller's account; also the user-level verbs: chat sessions
    (chat.py) and voice (voice.py). `batch_sends` (default on): sends that answer once stored are coalesced into SendBatch calls (batch.py), those
    issued within `batch_linger` seconds or while a call is in flight going together; off, every send is one Send.
    `interceptors`: grpc.aio client interceptors for the channel."""

    def __init__(self, url: str, *, token: Optional[str] = None, api_key: Optional[str] = None,
                 connect_timeout: float = CONNECT_TIMEOUT_SECONDS, channel_options: Sequence[tuple[str, Any]] = (),
                 batch_sends: bool = True, batch_linger: float = DEFAULT_LINGER_SECONDS,
                 interceptors: Sequence[Any] = ()) -> None:
        super().__init__(self)
        parsed = urlparse(url if "://" in url else f"http://{url}")
        target = parsed.netloc
        self.target = target
        self.connect_timeout = connect_timeout
        options = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            # Reconnect quickly after a gateway restart (gRPC's default first wait is a full second).
            ("grpc.initial_reconnect_backoff_ms", 200),
            ("grpc.max_reconnect_backoff_ms", 2000),
            # grpc-core takes min_reconnect_backoff_ms as the connect timeout (how long a handshake may take, up to the
            # server's SETTINGS frame), not as a backoff: a small value here made connections to a busy gateway fail.
            ("grpc.min_reconnect_backoff_ms", int(max(connect_timeout, 1.0) * 1000)),
            *channel_options,
        ]
        self.channel = (grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(), options=options,
                                                interceptors=list(interceptors) or None)
                        if parsed.scheme == "https" else
                        grpc.aio.insecure_channel(target, options=options, interceptors=list(interceptors) or None))
        credential = token or api_key
        self._metadata = (("authorization", f"Bearer {credential}"),) if credential else ()
        self.auth = auth_pb2_grpc.AuthServiceStub(self.channel)
        self.registry = registry_pb2_grpc.RegistryServiceStub(self.channel)
        self._messaging = messaging_pb2_grpc.MessagingServiceStub(self.channel)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.tokens = token_pb2_grpc.TokenServiceStub(self.channel)
        self.voice_agents = voice_pb2_grpc.VoiceAgentServiceStub(self.channel)
        self._agents: set = set()
        self._batcher: Optional[SendBatcher] = SendBatcher(self, linger=batch_linger) if batch_sends else None

    @property
    def send_batcher(self) -> Optional[SendBatcher]:
        """The coalescer of this client's sends (None with batch_sends=False); its counters say what went out."""
        return self._batcher

    @property
    def messaging(self) -> messaging_pb2_grpc.MessagingServiceStub:
        return self._messaging

    async def as_account(self, account: str) -> AccountActor:
        """The verbs acting as another of the caller's accounts ("acct_…" or "@name")."""
        return AccountActor(self, await self.resolve_account(account))

    async def wait_ready(self, timeout: Optional[float] = None) -> None:
        """Waits until the channel is connected, at most `timeout` (default connect_timeout) seconds; raises
        UnavailableError with reason "connect_timeout" when it is not."""
        if self.channel.get_state(try_to_connect=True) == grpc.ChannelConnectivity.READY:
            return
        limit = self.connect_timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(self.channel.channel_ready(), limit)
        except asyncio.TimeoutError:
            raise UnavailableError(grpc.StatusCode.UNAVAILABLE,
                                   f"could not connect to {self.target} within {limit:g} s", "connect_timeout") from None

    async def register(self, username: str = "", *, agent_id: str = "", **kw: Any) -> "Agent":
        from .agent import Agent  # agent.py imports this module

        agent = await Agent.register(self, username=username, agent_id=agent_id, **kw)
        self._agents.add(agent)
        return agent

    async def _call(self, method: Any, request: Any, *, timeout: Optional[float] = None, retries: int = 2) -> Any:
        """One unary call with credentials, after waiting (bounded) for the channel to connect; transient failures
        (is_retryable) are retried up to `retries` times with jittered backoff. Safe because sends carry a message id
        chosen before the first attempt, so a retry is recognised as the same message, and reads can be repeated.
        Retries wait for the channel to reconnect (wait_for_ready) instead of failing fast while gRPC backs off."""
        delays = backoff_delays(0.1, 2.0)
        for attempt in range(retries + 1):
            try:
                await self.wait_ready(self.connect_timeout if timeout is None else min(timeout, self.connect_timeout))
                metadata = with_traceparent(self._metadata)
                if attempt == 0:
                    return await method(request, metadata=metadata, timeout=timeout)
                return await method(request, metadata=metadata, timeout=timeout or RECONNECT_WAIT_SECONDS, wait_for_ready=True)
            except grpc.aio.AioRpcError as e:
                err = from_rpc_error(e)
            except UnavailableError as e:
                raise e from None  # connect_timeout: the bounded wait for the channel already was the retry
            if attempt >= retries or not is_retryable(err):
                raise err
            await asyncio.sleep(next(delays))
        raise AssertionError("unreachable")

    async def close(self) -> None:
        for agent in list(self._agents):
            await agent.close()
        if self._batcher is not None:
            await self._batcher.close()
        await self.channel.close(grace=None)

    async def __aenter__(self) -> "Client":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def connect(url: str = "http://localhost:8000", *, token: Optional[str] = None, api_key: Optional[str] = None,
            connect_timeout: float = CONNECT_TIMEOUT_SECONDS, channel_options: Sequence[tuple[str, Any]] = (),
            batch_sends: bool = True, batch_linger: float = DEFAULT_LINGER_SECONDS, interceptors: Sequence[Any] = ()) -> Client:
    return Client(url, token=token, api_key=api_key, connect_timeout=connect_timeout, channel_options=channel_options,
                  batch_sends=batch_sends, batch_linger=batch_linger, interceptors=interceptors)



