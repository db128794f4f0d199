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
"""
from .agent import Agent
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

__all__ = [
    "AccountActor", "Actor", "Agent", "AgentnetError", "AlreadyExistsError", "Client", "ErrorReply", "ExpiredError",
    "FailedPreconditionError", "Guardrails", "InvalidArgumentError", "Message", "NoRespondersError", "NotFoundError",
    "Outcome", "PermissionDeniedError", "RateLimitedError", "Reject", "RejectedError", "Thread", "TimeoutError",
    "UnauthenticatedError", "UnavailableError", "connect", "status_name", "to_recipient",
]
