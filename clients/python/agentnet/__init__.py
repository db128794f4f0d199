"""agentnet: asyncio client for the agentnet network (gRPC).

    import asyncio, agentnet

    async def main():
        async with agentnet.connect("http://localhost:8000", api_key="agk_…") as client:
            agent = await client.register("weather_bot", capabilities=["weather"])

            @agent.on_message
            async def handle(msg):
                if msg.is_request:
                    await msg.reply_text(f"sunny in {msg.text}")

            await agent.run_forever()

    asyncio.run(main())

Streamed answers: `agent.stream(to)` / `msg.stream()` give a StreamWriter, a StreamCollector reassembles them.
Presence: `agent.watch_presence(...)`. On the client (user-level): chat sessions (`create_chat_session`, …,
`stream_chat_session`) and voice (`voice_config`, `start_voice_agent`, …).
"""
from .agent import Agent
from .chat import ChatSessions, session_event_type_name, session_status_name
from .client import AccountActor, Actor, Client, Thread, connect, to_recipient
from .errors import (
    AgentnetError,
    AlreadyExistsError,
    ErrorReply,
    ExpiredError,
    FailedPreconditionError,
    InvalidArgumentError,
    NoRespondersError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RejectedError,
    TimeoutError,
    UnauthenticatedError,
    UnavailableError,
)
from .guardrails import Guardrails, Outcome, Reject
from .message import Message, status_name
from .presence import presence_event_type_name
from .streaming import AssembledStream, StreamCollector, StreamWriter
from .voice import Voice, voice_agent_status_name

__all__ = [
    "AccountActor", "Actor", "Agent", "AgentnetError", "AlreadyExistsError", "AssembledStream", "ChatSessions",
    "Client", "ErrorReply", "ExpiredError", "FailedPreconditionError", "Guardrails", "InvalidArgumentError", "Message",
    "NoRespondersError", "NotFoundError", "Outcome", "PermissionDeniedError", "RateLimitedError", "Reject",
    "RejectedError", "StreamCollector", "StreamWriter", "Thread", "TimeoutError", "UnauthenticatedError",
    "UnavailableError", "Voice", "connect", "presence_event_type_name", "session_event_type_name",
    "session_status_name", "status_name", "to_recipient", "voice_agent_status_name",
]
