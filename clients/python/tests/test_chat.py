"""Chat sessions (SessionService) with the built-in echo provider on a live server: the answer streams in as deltas
and then the whole response, a stream resumes after its last seq, an idempotent send is answered once, and the
refusals are typed."""
from __future__ import annotations

import asyncio
import contextlib

import pytest

import agentnet
from agentnet import session_event_type_name, session_status_name
from agentnet.v1 import session_pb2
from support import until

DELTA, RESPONSE = session_pb2.SESSION_EVENT_TYPE_DELTA, session_pb2.SESSION_EVENT_TYPE_RESPONSE


@pytest.fixture(scope="module")
async def users(make_user, run_id):
    return await make_user(f"py{run_id}_chat_alice"), await make_user(f"py{run_id}_chat_bob")


async def test_echo_session_streams_deltas_then_the_response_and_resumes(users):
    alice, _ = users
    providers = {p.name: p for p in await alice.list_chat_providers()}
    assert providers["echo"].configured is True
    session = await alice.create_chat_session({"helper": {"provider": "echo", "personality": "terse"}}, goal="test")
    assert session_status_name(session.status) == "active"
    assert session.session_type == session_pb2.SESSION_TYPE_HUMAN_AGENT
    assert session.session_id in [s.session_id for s in await alice.list_chat_sessions()]
    assert session.session_id in [s.session_id for s in await alice.list_chat_sessions(status="active", session_type="human_agent")]
    assert session.session_id not in [s.session_id for s in await alice.list_chat_sessions(status="stopped")]
    assert (await alice.get_chat_session(session.session_id)).agents["helper"].provider == "echo"

    # Watch live first, then speak: the pieces arrive before the response that joins them.
    seen: list[session_pb2.SessionEvent] = []

    async def watch() -> None:
        async with contextlib.aclosing(alice.stream_chat_session(session.session_id)) as events:
            async for event in events:
                seen.append(event)
                if event.type == RESPONSE:
                    return

    watching = asyncio.ensure_future(watch())
    await until(lambda: len(seen) >= 1, 30, "the session's opening event")
    sent = await alice.send_chat_message(session.session_id, "one two three four")
    assert sent.seq > 0 and not sent.HasField("response")
    await asyncio.wait_for(watching, 30)
    assert [session_event_type_name(e.type) for e in seen if e.type != DELTA] == ["system", "text", "response"]
    deltas = [e.content for e in seen if e.type == DELTA]
    assert len(deltas) > 1
    assert "".join(deltas) == seen[-1].content
    assert "one two three four" in seen[-1].content
    seqs = [e.seq for e in seen]
    assert seqs == sorted(set(seqs))  # nothing repeated, in order

    # A resumed stream starts after the seq it was given: the next text, not the replay.
    async with contextlib.aclosing(alice.stream_chat_session(session.session_id, after_seq=seen[-1].seq)) as resumed:
        pending = asyncio.ensure_future(resumed.__anext__())
        await alice.send_chat_message(session.session_id, "later")
        first = await asyncio.wait_for(pending, 30)
    assert (session_event_type_name(first.type), first.content) == ("text", "later")

    # The same idempotency key is one message: the second send returns the first one's result.
    once = await alice.send_chat_message(session.session_id, "only once", wait_for_response=True, idempotency_key="k1")
    again = await alice.send_chat_message(session.session_id, "only once", wait_for_response=True, idempotency_key="k1")
    assert once.response.content.endswith("only once")
    assert (again.seq, again.message_id) == (once.seq, once.message_id)

    await alice.delete_chat_session(session.session_id)
    with pytest.raises(agentnet.NotFoundError) as gone:
        await alice.get_chat_session(session.session_id)
    assert gone.value.reason == "session_not_found"
    with pytest.raises(agentnet.NotFoundError) as stream_gone:
        async for _ in alice.stream_chat_session(session.session_id):
            pass
    assert stream_gone.value.reason == "session_not_found"


async def test_chat_refusals_are_typed(users):
    alice, bob = users
    session = await alice.create_chat_session({"helper": {"provider": "echo"}})
    # Another user's session does not exist for them.
    with pytest.raises(agentnet.NotFoundError) as not_theirs:
        await bob.get_chat_session(session.session_id)
    assert not_theirs.value.reason == "session_not_found"
    with pytest.raises(agentnet.NotFoundError) as not_theirs_to_send:
        await bob.send_chat_message(session.session_id, "hello?")
    assert not_theirs_to_send.value.reason == "session_not_found"
    with pytest.raises(agentnet.NotFoundError) as unknown:
        await alice.send_chat_message("sess_does_not_exist", "hello?")
    assert unknown.value.reason == "session_not_found"
    with pytest.raises(agentnet.InvalidArgumentError) as bad_provider:
        await alice.create_chat_session({"helper": {"provider": "nope"}})
    assert bad_provider.value.reason == "unknown_provider"
    # Refused before any call: a session type the client does not know.
    with pytest.raises(ValueError, match="session type"):
        await alice.create_chat_session({"helper": {"provider": "echo"}}, session_type="group")
    await alice.delete_chat_session(session.session_id)
