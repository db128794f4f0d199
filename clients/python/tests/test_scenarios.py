"""Runs ../scenarios.json with the Python client against a live server (the same list the TypeScript SDK runs)."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import agentnet
from agentnet import status_name

SPEC_TEXT = (Path(__file__).resolve().parents[2] / "scenarios.json").read_text()


class World:
    spec: dict
    sender_client: agentnet.Client
    receiver_client: agentnet.Client
    sender: agentnet.Agent
    receiver: agentnet.Agent
    handled: dict[str, int]
    payloads: dict[str, dict]


world = World()


async def until(check, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (await check() if asyncio.iscoroutinefunction(check) else check()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.025)


@pytest.fixture(scope="module", autouse=True)
async def setup(make_user, run_id):
    world.spec = json.loads(SPEC_TEXT.replace("{run}", f"py{run_id}"))
    world.sender_client = await make_user(f"scn_py{run_id}_s")
    world.receiver_client = await make_user(f"scn_py{run_id}_r")
    world.handled, world.payloads = {}, {}


def scenario(sid: str) -> dict:
    return next(s for s in world.spec["scenarios"] if s["id"] == sid)


IMPLEMENTED = ["register", "discover", "send_with_receipts", "request_reply", "send_to_capability", "resume_after_reconnect",
               "idempotent_retry", "expiry", "rate_limit"]


def test_every_scenario_is_implemented():
    assert sorted(s["id"] for s in world.spec["scenarios"]) == sorted(IMPLEMENTED)


async def test_register():
    e = scenario("register")["expect"]
    s, r = world.spec["agents"]["sender"], world.spec["agents"]["receiver"]
    world.sender = await world.sender_client.register(s["username"], capabilities=s["capabilities"], metadata=s["metadata"])
    world.receiver = await world.receiver_client.register(r["username"], capabilities=r["capabilities"], metadata=r["metadata"], bio=r["bio"])
    for agent in (world.sender, world.receiver):
        assert agent.account_id.startswith(e["account_id_prefix"])
        assert agent.session_tag.startswith(e["session_tag_prefix"])
        assert agent.heartbeat_interval == e["heartbeat_interval_seconds"]
    assert world.sender.username == e["sender_username"]

    @world.receiver.on_message
    async def handle(msg: agentnet.Message) -> None:
        world.handled[msg.message_id] = world.handled.get(msg.message_id, 0) + 1
        world.payloads[msg.message_id] = msg.payload
        if (msg.text or "").startswith("resume-"):
            await asyncio.sleep(0.15)
        if msg.is_request:
            await msg.reply_text(f"pong: {msg.text or ''}")

    await world.receiver.ready()


async def test_discover():
    sc = scenario("discover")
    p, e = sc["params"], sc["expect"]
    online = await world.sender.list_online()
    assert world.receiver.username in [a.username for a in online]
    assert [a.account_id for a in await world.sender.search_agents(p["query"])] == [world.receiver.account_id]
    assert world.receiver.account_id in [a.account_id for a in await world.sender.search_agents(capability=p["capability"], online_only=True)]
    profile = await world.sender.get_profile(p["profile"])
    assert profile.account_id == world.receiver.account_id
    assert profile.online is e["online"]
    assert list(profile.capabilities) == e["capabilities"]
    assert dict(profile.metadata) == e["metadata"]
    assert profile.bio == e["bio"]
    assert profile.session_count >= e["min_sessions"]


async def test_send_with_receipts(run_id):
    sc = scenario("send_with_receipts")
    p, e = sc["params"], sc["expect"]
    message_id = f"scn_py{run_id}_receipts"
    seen: list[str] = []
    live = asyncio.Event()

    async def watch() -> None:
        async for receipt in world.sender.watch_receipts(account_ids=(world.sender.account_id,), on_synced=lambda _: live.set()):
            if receipt.message_id == message_id:
                seen.append(status_name(receipt.status))
                if len(seen) == 3:
                    return

    watching = asyncio.ensure_future(watch())
    await asyncio.wait_for(live.wait(), 30)
    sent = await world.sender.send(p["to"], p["payload"], wait_for=p["wait_for"], message_id=message_id)
    assert status_name(sent.status) == e["status"]
    await asyncio.wait_for(watching, 30)
    assert seen == e["receipts"]
    assert world.payloads[sent.message_id] == e["received_payload"]


async def test_request_reply():
    sc = scenario("request_reply")
    p, e = sc["params"], sc["expect"]
    reply = await world.sender.request(p["to"], p["payload"], thread_id=p["thread_id"], timeout=p["timeout_ms"] / 1000)
    assert reply.kind == e["kind"]
    assert reply.payload == e["payload"]
    assert reply.thread_id == e["thread_id"]
    requests, _ = await world.sender.search_messages(thread_id=reply.thread_id, kind="request")
    assert (reply.parent_message_id == requests[0].message_id) is e["parent_is_request"]


async def test_send_to_capability():
    sc = scenario("send_to_capability")
    p, e = sc["params"], sc["expect"]
    sent = await world.sender.send(p["to"], p["payload"], wait_for=p["wait_for"])
    assert status_name(sent.status) == e["status"]
    assert (sent.to_account_id == world.receiver.account_id) is e["to_receiver"]
    assert world.payloads[sent.message_id] == e["received_payload"]
    with pytest.raises(agentnet.NoRespondersError) as nobody:
        await world.sender.send(p["nobody"], p["payload"])
    assert nobody.value.code.name == e["nobody_code"]
    assert nobody.value.reason == e["nobody_reason"]


async def test_resume_after_reconnect(server):
    sc = scenario("resume_after_reconnect")
    p, e = sc["params"], sc["expect"]
    ids = [(await world.sender.send_text(world.receiver.username, f"{p['payload_prefix']}{i}")).message_id for i in range(p["count"])]
    await until(lambda: any(i in world.handled for i in ids), 30, "the first message to be handled")
    # The gateway goes away mid-work: the inbox stream ends, acks in the air may be lost.
    await asyncio.get_running_loop().run_in_executor(None, server.restart)
    await until(lambda: all(i in world.handled for i in ids), 30, "every message to be handled after the reconnect")
    assert sum(1 for i in ids if world.handled[i] == 1) == e["handled"]
    assert sum(1 for i in ids if world.handled[i] > 1) == e["handled_twice"]

    async def all_processed() -> bool:
        messages, _ = await world.sender.search_messages(from_account_id=world.sender.account_id,
                                                         to_account_id=world.receiver.account_id, limit=100)
        status = {m.message_id: m.envelope.status for m in messages}
        return all(status_name(status.get(i, 0)) == "processed" for i in ids)

    await until(all_processed, 10, "every message to be processed")


async def test_idempotent_retry():
    sc = scenario("idempotent_retry")
    p, e = sc["params"], sc["expect"]
    first = await world.sender.send(p["to"], p["payload"], idempotency_key=p["idempotency_key"])
    again = await world.sender.send(p["to"], p["payload"], idempotency_key=p["idempotency_key"])
    assert (again.message_id == first.message_id) is e["same_message_id"]
    assert again.duplicate is e["second_duplicate"]
    await until(lambda: first.message_id in world.handled, 30, "the message to be handled")
    await asyncio.sleep(0.3)
    assert world.handled[first.message_id] == e["handled"]


async def test_expiry():
    sc = scenario("expiry")
    p, e = sc["params"], sc["expect"]
    offline = await world.receiver_client.register(p["to_username"])
    await offline.close()
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    sent = await world.sender.send_text(f"@{p['to_username']}", "too late", ttl_ms=p["ttl_ms"])
    last = None

    async def watch() -> None:
        nonlocal last
        async for r in world.sender.watch_receipts(message_ids=(sent.message_id,), since=since):
            last = (status_name(r.status), r.code)
            if last[0] == e["final_status"]:
                return

    await asyncio.wait_for(watch(), 30)
    assert last == (e["final_status"], e["code"])


async def test_rate_limit():
    # Counts are ranges (see scenarios.json): the sends reach the server spread over time and each 200 ms refills a token.
    sc = scenario("rate_limit")
    p, e = sc["params"], sc["expect"]
    await asyncio.sleep(p["quiet_ms"] / 1000)
    results = await asyncio.gather(*(world.sender.send_text(p["to"], f"burst {i}", retries=0) for i in range(p["sends"])),
                                   return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    accepted = len(results) - len(refused)
    assert accepted >= e["accepted_min"], f"{accepted} of {len(results)} accepted"
    assert len(refused) >= e["refused_min"], f"{len(refused)} of {len(results)} refused"
    assert accepted + len(refused) == p["sends"]
    for err in refused:
        assert isinstance(err, agentnet.RateLimitedError), repr(err)
        assert err.reason == e["reason"]
        assert err.code.name == e["code"]
        assert 0 < err.retry_after_ms <= e["retry_after_ms_max"], err.retry_after_ms
