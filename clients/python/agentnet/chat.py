"""Chat sessions (SessionService): a user's conversations with agents agentnet hosts (LLM providers, or the built-in
`echo`), and agent-with-agent conversations it runs. A session belongs to the user, not to an agent account, so
these verbs are the Client's (mixed into it)."""
from __future__ import annotations

from contextlib import aclosing
from typing import TYPE_CHECKING, Any, AsyncIterator, Mapping, Optional, Sequence, Union

from google.protobuf import json_format

from .reopening import reopening
from .v1 import session_pb2, session_pb2_grpc

SESSION_TYPES = {"human_agent": session_pb2.SESSION_TYPE_HUMAN_AGENT, "agent_agent": session_pb2.SESSION_TYPE_AGENT_AGENT}
SESSION_STATUSES = {
    "initializing": session_pb2.SESSION_STATUS_INITIALIZING,
    "active": session_pb2.SESSION_STATUS_ACTIVE,
    "stopped": session_pb2.SESSION_STATUS_STOPPED,
    "expired": session_pb2.SESSION_STATUS_EXPIRED,
}
AgentConfigLike = Union[session_pb2.AgentConfig, Mapping[str, Any]]


def session_event_type_name(event_type: int) -> str:
    """"text", "response", "delta", "system", … ("" for an unknown value)."""
    name = session_pb2.SessionEventType.Name(event_type) if event_type in session_pb2.SessionEventType.values() else ""
    return name.removeprefix("SESSION_EVENT_TYPE_").lower()


def session_status_name(status: int) -> str:
    """"initializing", "active", "stopped" or "expired" ("" for an unknown value)."""
    return next((name for name, value in SESSION_STATUSES.items() if value == status), "")


def _agent_config(config: AgentConfigLike) -> session_pb2.AgentConfig:
    if isinstance(config, session_pb2.AgentConfig):
        return config
    # ParseDict takes the proto's snake_case names and fills metadata (a Struct) from a plain dict.
    return json_format.ParseDict(dict(config), session_pb2.AgentConfig())


def _enum(value: Union[str, int], names: Mapping[str, int], what: str) -> Any:  # the stubs type enums apart from int
    if isinstance(value, int):
        return value
    if not value:
        return 0  # unspecified: no filter, or the server's default
    if value not in names:
        raise ValueError(f"unknown {what} {value!r}: one of {', '.join(names)}")
    return names[value]


class ChatSessions:
    """The SessionService verbs of a Client."""

    if TYPE_CHECKING:
        sessions: session_pb2_grpc.SessionServiceStub
        _metadata: tuple[tuple[str, str], ...]

        async def _call(self, method: Any, request: Any, *, timeout: Optional[float] = None, retries: int = 2) -> Any: ...

    async def create_chat_session(self, agents: Mapping[str, AgentConfigLike], *,
                                  session_type: Union[str, int] = "human_agent", goal: str = "",
                                  opening_message: str = "", first_speaker: str = "",
                                  interaction_modes: Sequence[str] = (), metadata: Optional[Mapping[str, Any]] = None,
                                  max_turns: Optional[int] = None, stop_word: Optional[str] = None,
                                  tokens_per_minute: Optional[int] = None) -> session_pb2.ChatSession:
        """Opens a session with hosted agents by name, e.g. `{"helper": {"provider": "echo"}}` (AgentConfig fields:
        provider, model, personality, capabilities, metadata, temperature, max_output_tokens). `session_type`:
        "human_agent" (the caller talks to the agents) or "agent_agent". An unknown provider is refused with
        InvalidArgumentError reason unknown_provider."""
        req = session_pb2.CreateSessionRequest(
            session_type=_enum(session_type, SESSION_TYPES, "session type"),
            agents={name: _agent_config(config) for name, config in agents.items()},
            interaction_modes=list(interaction_modes), goal=goal, opening_message=opening_message,
            first_speaker=first_speaker)
        if metadata is not None:
            req.metadata.update(dict(metadata))
        if max_turns is not None:
            req.max_turns = max_turns
        if stop_word is not None:
            req.stop_word = stop_word
        if tokens_per_minute is not None:
            req.tokens_per_minute = tokens_per_minute
        # Not retried: a retry after a lost answer would open a second session.
        res = await self._call(self.sessions.CreateSession, req, retries=0)
        return res.session

    async def get_chat_session(self, session_id: str) -> session_pb2.ChatSession:
        """The session; NotFoundError reason session_not_found when it is unknown, deleted or another user's."""
        res = await self._call(self.sessions.GetSession, session_pb2.GetSessionRequest(session_id=session_id))
        return res.session

    async def list_chat_sessions(self, *, all: bool = False, status: Union[str, int] = 0,  # noqa: A002 - the proto's name
                                 session_type: Union[str, int] = 0) -> list[session_pb2.ChatSession]:
        """The caller's sessions (every user's with `all`, for admins), optionally of one status ("active", …) or
        type ("human_agent", "agent_agent"); every page."""
        out: list[session_pb2.ChatSession] = []
        token = ""
        while True:
            res = await self._call(self.sessions.ListSessions, session_pb2.ListSessionsRequest(
                page_size=100, page_token=token, all=all, status=_enum(status, SESSION_STATUSES, "session status"),
                session_type=_enum(session_type, SESSION_TYPES, "session type")))
            out.extend(res.sessions)
            token = res.next_page_token
            if not token:
                return out

    async def delete_chat_session(self, session_id: str) -> None:
        """Deletes the session (stopping its agents); afterwards it is NOT_FOUND session_not_found."""
        await self._call(self.sessions.DeleteSession, session_pb2.DeleteSessionRequest(session_id=session_id))

    async def send_chat_message(self, session_id: str, content: str, *, wait_for_response: bool = False,
                                as_agent: str = "", to_agent: str = "", idempotency_key: str = "",
                                metadata: Optional[Mapping[str, Any]] = None,
                                timeout: Optional[float] = None) -> session_pb2.SendSessionMessageResponse:
        """Says `content` in the session. With `wait_for_response` the agent's complete answer comes back as
        `response`. `as_agent` (agent-agent sessions: speak as this agent), `to_agent` (address one agent);
        sending again with the same `idempotency_key` returns the first send's result."""
        req = session_pb2.SendSessionMessageRequest(session_id=session_id, content=content, as_agent=as_agent,
                                                    to_agent=to_agent, idempotency_key=idempotency_key,
                                                    wait_for_response=wait_for_response)
        if metadata is not None:
            req.metadata.update(dict(metadata))
        # Retried only with an idempotency key: without one the server cannot tell a retry from a second message.
        return await self._call(self.sessions.SendSessionMessage, req, timeout=timeout,
                                retries=2 if idempotency_key else 0)

    async def stream_chat_session(self, session_id: str, *, after_seq: int = 0) -> AsyncIterator[session_pb2.SessionEvent]:
        """The session's events in seq order: the stored ones after `after_seq` (0: from the start), then live ones
        (an answer arrives as DELTA pieces while it is generated, then one RESPONSE with the whole text). Keepalives
        (PING) are left out. A dropped stream is reopened after the last seq seen, so nothing is missed or repeated.
        Ends after the session's STOP event, when the caller stops iterating, or raises when the session is gone."""
        def open_call() -> Any:
            return self.sessions.StreamSession(session_pb2.StreamSessionRequest(session_id=session_id, after_seq=after_seq),
                                               metadata=self._metadata)

        async with aclosing(reopening(open_call)) as items:
            async for item in items:
                event = item.event
                if not item.HasField("event") or event.type == session_pb2.SESSION_EVENT_TYPE_PING:
                    continue
                after_seq = max(after_seq, event.seq)
                yield event
                if event.type == session_pb2.SESSION_EVENT_TYPE_STOP:
                    return

    async def list_chat_providers(self) -> list[session_pb2.ProviderInfo]:
        """The providers hosted agents can use (`configured` says whether their keys are set; echo needs none)."""
        out: list[session_pb2.ProviderInfo] = []
        token = ""
        while True:
            res = await self._call(self.sessions.ListProviders, session_pb2.ListProvidersRequest(page_token=token))
            out.extend(res.providers)
            token = res.next_page_token
            if not token:
                return out
