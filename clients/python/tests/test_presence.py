"""Presence watching (watch_presence) on a live server: an agent registered and closed during the watch comes online
then goes offline (deregistered); the snapshot and the account filter; and a watch that reopens after a gateway
restart with a snapshot of who is online (on a gateway of its own, so the restart disturbs no other module)."""
from __future__ import annotations

import asyncio
from typing import Any

import agentnet
from agentnet import presence_event_type_name
from agentnet.v1 import registry_pb2

from conftest import new_user_token
from support import until


class Watch:
    """watch_presence running in a task, collecting what it yields."""

    def __init__(self, actor: agentnet.Actor, **kw: Any) -> None:
        self.events: list[registry_pb2.PresenceEvent] = []
        self.synced: list[int] = []
        self._task = asyncio.ensure_future(self._run(actor, kw))

    async def _run(self, actor: agentnet.Actor, kw: dict[str, Any]) -> None:
        async for event in actor.watch_presence(on_synced=self.synced.append, **kw):
            self.events.append(event)

    def seen(self, account_id: str) -> list[tuple[str, bool, str]]:
        return [(presence_event_type_name(e.type), e.snapshot, e.reason) for e in self.events if e.account.account_id == account_id]

    async def live(self) -> "Watch":
        await until(lambda: bool(self.synced) or self._task.done(), 30, "the watch to be live")
        if self._task.done():
            self._task.result()  # raises what ended it
        return self

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def test_an_agent_registered_and_closed_during_the_watch_comes_and_goes(make_user, run_id):
    watcher = await make_user(f"py{run_id}_pres_w")
    owner = await make_user(f"py{run_id}_pres_o")
    capability = f"py{run_id}.presence"
    watch = await Watch(watcher, capability=capability).live()
    try:
        assert watch.synced == [0]
        agent = await owner.register(f"py{run_id}_pres_a", capabilities=[capability])
        await until(lambda: watch.seen(agent.account_id), 30, "the agent to come online")
        await agent.close()
        await until(lambda: len(watch.seen(agent.account_id)) >= 2, 30, "the agent to go offline")
    finally:
        await watch.stop()
    assert watch.seen(agent.account_id) == [("online", False, ""), ("offline", False, "deregistered")]
    assert watch.events[0].account.username == agent.username


async def test_snapshot_and_account_filter(make_user, run_id):
    watcher = await make_user(f"py{run_id}_pres_w2")
    owner = await make_user(f"py{run_id}_pres_o2")
    capability = f"py{run_id}.presence2"
    watched = await owner.register(f"py{run_id}_pres_b", capabilities=[capability])
    other = await owner.register(f"py{run_id}_pres_c", capabilities=[capability])
    watch = await Watch(watcher, account_ids=[watched.account_id], include_snapshot=True).live()
    try:
        # Already online: one snapshot entry, before the stream is live.
        assert watch.synced == [1]
        assert watch.seen(watched.account_id) == [("online", True, "")]
        await other.close()
        await watched.close()
        await until(lambda: len(watch.seen(watched.account_id)) >= 2, 30, "the watched agent to go offline")
    finally:
        await watch.stop()
    assert watch.seen(watched.account_id)[-1] == ("offline", False, "deregistered")
    # The other agent is not one of the watched accounts: nothing about it.
    assert watch.seen(other.account_id) == []


async def test_watch_reopens_after_a_gateway_restart_with_a_snapshot(own_server, run_id):
    gateway = own_server()
    watcher = agentnet.connect(gateway.url, token=await new_user_token(gateway, f"py{run_id}_pres_r1"))
    owner = agentnet.connect(gateway.url, token=await new_user_token(gateway, f"py{run_id}_pres_r2"))
    try:
        watch = await Watch(watcher, capability="presence.py").live()
        try:
            agent = await owner.register(f"py{run_id}_pres_target", capabilities=["presence.py"])
            await until(lambda: watch.seen(agent.account_id), 30, "the live online event")
            await asyncio.get_running_loop().run_in_executor(None, gateway.restart)
            # No snapshot was asked for; only the reopened watch sends one: who is online after the gap (the agent
            # re-registers its session after the restart).
            await until(lambda: any(e.snapshot for e in watch.events), 60, "the watch to reopen with a snapshot")
        finally:
            await watch.stop()
        assert watch.seen(agent.account_id)[0] == ("online", False, "")
        assert [(presence_event_type_name(e.type), e.account.username) for e in watch.events if e.snapshot] == [
            ("online", agent.username)]
        assert watch.synced == [0]  # on_synced once, for the first stream only
    finally:
        await owner.close()
        await watcher.close()
