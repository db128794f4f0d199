"""Sessions and receipts on a gateway of its own (heartbeat 1 s, session TTL 3 s, so eviction rules play out quickly,
and restartable without disturbing other modules): heartbeats keep a session past its TTL, an agent whose session
the server forgot registers again and keeps receiving, and watch_receipts resumes after a cursor and across a
gateway restart without repeating or losing a receipt."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

import agentnet
from agentnet import status_name
from agentnet.v1 import registry_pb2

from conftest import new_user_token
from support import until

FAST = {"AGENTNET_HEARTBEAT_INTERVAL_SECONDS": "1", "AGENTNET_SESSION_TTL_SECONDS": "3"}


@pytest.fixture(scope="module")
async def gateway(own_server):
    return own_server(FAST)


@pytest.fixture(scope="module")
async def users(gateway, run_id):
    clients = [agentnet.connect(gateway.url, token=await new_user_token(gateway, f"py{run_id}_sess_{n}"))
               for n in ("alice", "bob")]
    yield clients
    for c in clients:
        await c.close()


async def test_heartbeats_keep_the_session_and_a_forgotten_one_is_registered_again(users, run_id):
    alice, bob = users
    agent = await alice.register(f"py{run_id}_hb")
    assert agent.heartbeat_interval == 1
    first = agent.session_tag
    # Past the 3 s TTL: only the heartbeats keep it.
    await asyncio.sleep(4)
    assert agent.session_tag == first
    assert (await bob.get_profile(agent.account_id)).online is True

    # The server forgets the session behind the agent's back: its next heartbeat is refused session_not_found,
    # and it registers again (same account, new session).
    await alice._call(alice.registry.Deregister, registry_pb2.DeregisterRequest(session_tag=first))
    await until(lambda: agent.session_tag != first, 30, "the agent to register again")
    assert agent.account_id == (await bob.get_profile(f"@{agent.username}")).account_id
    assert (await bob.get_profile(agent.account_id)).online is True
    await agent.close()


async def test_an_agent_whose_session_was_forgotten_keeps_receiving(users, run_id):
    alice, bob = users
    handled: list[str] = []
    receiver = await alice.register(f"py{run_id}_hb_inbox")

    @receiver.on_message
    async def handle(msg: agentnet.Message) -> None:
        handled.append(msg.text or "")

    await receiver.ready()
    sender = await bob.register(f"py{run_id}_hb_sender")
    first = receiver.session_tag
    await alice._call(alice.registry.Deregister, registry_pb2.DeregisterRequest(session_tag=first))
    await until(lambda: receiver.session_tag != first, 30, "the receiver to register again")
    sent = await sender.send_text(receiver.username, "still there?", wait_for="processed", wait_timeout_ms=20000)
    assert status_name(sent.status) == "processed"
    assert handled == ["still there?"]
    await sender.close()
    await receiver.close()


async def test_watch_receipts_resumes_after_a_cursor_and_across_a_restart(gateway, users, run_id):
    alice, bob = users
    receiver = await bob.register(f"py{run_id}_rc_r")

    @receiver.on_message
    async def handle(msg: agentnet.Message) -> None:
        return None

    await receiver.ready()
    sender = await alice.register(f"py{run_id}_rc_s")
    started = datetime.now(timezone.utc) - timedelta(seconds=5)
    one = await sender.send_text(receiver.username, "one", wait_for="processed", wait_timeout_ms=20000)

    # The stored receipts (replayed from `since`); then a new watch from the cursor of the first replays only what
    # came after it.
    stored: list = []

    async def replay_since() -> None:
        async for r in sender.watch_receipts(message_ids=(one.message_id,), since=started):
            stored.append(r)
            if len(stored) == 3:
                return

    await asyncio.wait_for(replay_since(), 30)
    assert [status_name(r.status) for r in stored] == ["accepted", "delivered", "processed"]
    replayed: list[str] = []
    synced: list[int] = []

    async def after_first() -> None:
        async for r in sender.watch_receipts(message_ids=(one.message_id,), after_cursor=stored[0].cursor,
                                             on_synced=synced.append):
            replayed.append(status_name(r.status))

    task = asyncio.ensure_future(after_first())
    try:
        await until(lambda: bool(synced), 30, "the resumed watch to be live")
        assert replayed == ["delivered", "processed"] and synced == [2]
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    # A live watch across gateway restarts: before its first receipt (it resumes from when it opened) and after one
    # (it resumes after that receipt's cursor). The messages sent after each restart show up whole, nothing twice.
    seen: list[tuple[str, str]] = []
    live: list[int] = []

    async def watch() -> None:
        async for r in sender.watch_receipts(account_ids=(sender.account_id,), on_synced=live.append):
            seen.append((r.message_id, status_name(r.status)))

    task = asyncio.ensure_future(watch())
    sent = []
    try:
        await until(lambda: bool(live), 30, "the watch to be live")
        for text in ("two", "three"):
            await asyncio.get_running_loop().run_in_executor(None, gateway.restart)
            sent.append(await sender.send_text(receiver.username, text, wait_for="processed", wait_timeout_ms=20000))
            await until(lambda: (sent[-1].message_id, "processed") in seen, 60, f"the receipts of {text!r} after the restart")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    statuses = ["accepted", "delivered", "processed"]
    assert seen == [(m.message_id, st) for m in sent for st in statuses]
    assert live == [0]
    await sender.close()
    await receiver.close()
