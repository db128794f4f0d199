"""Runs ../scenarios.json with the Python client against a live server (the same list the TypeScript SDK runs)."""
from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import agentnet
from agentnet import presence_event_type_name, session_event_type_name, session_status_name, status_name
from agentnet.v1 import registry_pb2, session_pb2
from support import until

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


@pytest.fixture(scope="module", autouse=True)
async def setup(make_user, run_id):
    world.spec = json.loads(SPEC_TEXT.replace("{run}", f"py{run_id}"))
    world.sender_client = await make_user(f"scn_py{run_id}_s")
    world.receiver_client = await make_user(f"scn_py{run_id}_r")
    world.handled, world.payloads = {}, {}


def scenario(sid: str) -> dict:
    return next(s for s in world.spec["scenarios"] if s["id"] == sid)


IMPLEMENTED = ["register", "discover", "send_with_receipts", "request_reply", "send_to_capability", "resume_after_reconnect",
               "idempotent_retry", "expiry", "threads_paging", "request_to_capability", "streamed_answer", "blobs",
               "chat_session_echo", "presence_events", "rate_limit"]


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
        elif msg.payload.get("stream_back") is True:
            words = (msg.text or "").split(" ")
            answer = msg.stream()
            await answer.start()
            for i, word in enumerate(words):
                await answer.delta(f"{word} " if i < len(words) - 1 else word)
            await answer.end()

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


async def test_threads_paging():
    sc = scenario("threads_paging")
    p, e = sc["params"], sc["expect"]
    await asyncio.sleep(p["quiet_ms"] / 1000)
    for i in range(p["count"]):
        await world.sender.send(p["to"], {"text": f"{p['text_prefix']}{i}"}, thread_id=p["thread_id"], wait_for="processed")
    sizes, texts, cursor = [], [], ""
    while True:
        page, cursor = await world.sender.get_thread_messages(p["thread_id"], limit=p["page_size"], cursor=cursor)
        sizes.append(len(page))
        texts.extend(m.text for m in page)
        if not cursor:
            break
    assert sizes == e["page_sizes"]
    assert texts == e["texts"]
    status = await world.sender.thread_status(p["thread_id"])
    assert (status.message_count, status.pending_messages) == (e["message_count"], e["pending_messages"])
    threads = await world.sender.list_threads(limit=20)
    assert (threads.threads[0].thread_id == p["thread_id"]) is e["listed_first"]


async def test_request_to_capability():
    sc = scenario("request_to_capability")
    p, e = sc["params"], sc["expect"]
    reply = await world.sender.request(p["to"], p["payload"], timeout=p["timeout_ms"] / 1000)
    assert reply.kind == e["kind"]
    assert reply.payload == e["payload"]
    assert (reply.from_account_id == world.receiver.account_id) is e["from_receiver"]


async def test_streamed_answer():
    sc = scenario("streamed_answer")
    p, e = sc["params"], sc["expect"]
    collector = agentnet.StreamCollector()
    parts: list[agentnet.Message] = []
    assembled: list[agentnet.AssembledStream] = []

    @world.sender.on_message
    async def inbox(msg: agentnet.Message) -> None:
        parts.append(msg)
        state = collector.add(msg)
        if state is not None:
            assembled.append(state)

    await world.sender.ready()
    sent = await world.sender.send(p["to"], p["payload"], thread_id=p["thread_id"])
    await until(lambda: bool(assembled) and assembled[-1].done, 30, "the streamed answer to end")
    answer = assembled[-1]
    assert answer.text == e["text"]
    assert answer.error == e["error"]
    assert len(parts) == e["parts"]
    assert {m.kind for m in parts} == {e["kind"]}
    assert {m.thread_id for m in parts} == {e["thread_id"]}
    assert all(m.parent_message_id == sent.message_id for m in parts) is e["parent_is_message"]


async def test_blobs():
    sc = scenario("blobs")
    p, e = sc["params"], sc["expect"]
    blob = await world.sender.put_blob(p["content"], mime_type=p["mime_type"], filename=p["filename"])
    head = await world.sender.head_blob(blob.blob_id)
    assert (head.size_bytes, head.mime_type, head.filename, len(head.sha256)) == (
        e["size_bytes"], e["mime_type"], e["filename"], e["sha256_hex_length"])
    sent = await world.sender.send_blob_ref(p["to"], blob, wait_for="processed")
    ref = world.payloads[sent.message_id]
    assert ref["blob_id"] == blob.blob_id
    assert await world.receiver.get_blob_text(ref["blob_id"]) == e["received_text"]
    assert await world.sender.delete_blob(blob.blob_id) is e["deleted"]
    assert await world.sender.delete_blob(blob.blob_id) is e["deleted_again"]
    with pytest.raises(agentnet.AgentnetError) as gone:
        await world.receiver.get_blob(blob.blob_id)
    assert (gone.value.code.name, gone.value.reason) == (e["after_delete_code"], e["after_delete_reason"])


async def test_chat_session_echo():
    sc = scenario("chat_session_echo")
    p, e = sc["params"], sc["expect"]
    client = world.sender_client
    session = await client.create_chat_session({p["agent"]: {"provider": p["provider"]}})
    assert session_status_name(session.status) == e["status"]
    sent = await client.send_chat_message(session.session_id, p["content"], wait_for_response=True)
    assert sent.response.sender == e["response_sender"]
    assert e["response_contains"] in sent.response.content

    replayed: list[session_pb2.SessionEvent] = []
    async with contextlib.aclosing(client.stream_chat_session(session.session_id, after_seq=0)) as events:
        async for event in events:
            replayed.append(event)
            if event.type == session_pb2.SESSION_EVENT_TYPE_RESPONSE:
                break
    deltas = [ev for ev in replayed if ev.type == session_pb2.SESSION_EVENT_TYPE_DELTA]
    assert [session_event_type_name(ev.type) for ev in replayed if ev not in deltas] == e["replayed_types"]
    assert len(deltas) >= e["deltas_min"]
    assert ("".join(d.content for d in deltas) == replayed[-1].content) is e["deltas_join_to_response"]

    await client.send_chat_message(session.session_id, p["again"], wait_for_response=True)
    async with contextlib.aclosing(client.stream_chat_session(session.session_id, after_seq=replayed[-1].seq)) as resumed:
        first = await asyncio.wait_for(resumed.__anext__(), 30)
    assert (session_event_type_name(first.type), first.content) == (e["resumed_first_type"], e["resumed_first_content"])

    await client.delete_chat_session(session.session_id)
    with pytest.raises(agentnet.AgentnetError) as gone:
        await client.get_chat_session(session.session_id)
    assert (gone.value.code.name, gone.value.reason) == (e["after_delete_code"], e["after_delete_reason"])


async def test_presence_events():
    sc = scenario("presence_events")
    p, e = sc["params"], sc["expect"]
    events: list[registry_pb2.PresenceEvent] = []
    snapshot_count: list[int] = []

    async def watch() -> None:
        async for event in world.sender.watch_presence(capability=p["capability"], include_snapshot=True,
                                                       on_synced=snapshot_count.append):
            events.append(event)

    watching = asyncio.ensure_future(watch())
    try:
        await until(lambda: bool(snapshot_count), 30, "the presence watch to be live")
        assert snapshot_count == [e["snapshot_count"]]
        visitor = await world.receiver_client.register(p["visitor"], capabilities=[p["capability"]])
        online = registry_pb2.PRESENCE_EVENT_TYPE_ONLINE
        await until(lambda: any(ev.type == online for ev in events), 30, "the visitor to come online")
        await visitor.close()
        offline = registry_pb2.PRESENCE_EVENT_TYPE_OFFLINE
        await until(lambda: any(ev.type == offline for ev in events), 30, "the visitor to go offline")
    finally:
        watching.cancel()
        await asyncio.gather(watching, return_exceptions=True)
    mine = [ev for ev in events if ev.account.account_id == visitor.account_id]
    assert [presence_event_type_name(ev.type) for ev in mine] == e["events"]
    assert all(ev.snapshot is e["snapshot"] for ev in mine)
    assert mine[-1].reason == e["offline_reason"]


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
