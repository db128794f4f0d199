"""The Python client's verbs and guardrails against a live server."""
from __future__ import annotations

import asyncio
import itertools

import pytest

import agentnet
from agentnet import Guardrails, Reject, status_name
from agentnet.guardrails import CircuitBreaker

counter = itertools.count()


@pytest.fixture(scope="module")
async def clients(make_user, run_id):
    return await make_user(f"py{run_id}_alice"), await make_user(f"py{run_id}_bob")


async def pair(clients, run_id, guardrails: Guardrails, handler):
    alice, bob = clients
    n = next(counter)
    sender = await alice.register(f"py{run_id}_s{n}")
    receiver = await bob.register(f"py{run_id}_r{n}", guardrails=guardrails)
    receiver.on_message(handler)
    await receiver.ready()
    return sender, receiver


async def send_and_wait(sender, receiver, payload):
    res = await sender.send(receiver.username, payload, wait_for="processed", wait_timeout_ms=20000)
    return res.receipt.code or status_name(res.status)


async def test_busy_beyond_max_pending(clients, run_id):
    gate = asyncio.Event()

    async def slow(msg):
        await gate.wait()

    sender, receiver = await pair(clients, run_id, Guardrails(max_concurrency=1, max_pending=1), slow)
    for i in range(4):
        await sender.send_text(receiver.username, f"job {i}")
    for _ in range(200):
        if len(receiver.outcomes) >= 2:
            break
        await asyncio.sleep(0.025)
    assert [o.code for _, o in receiver.outcomes] == ["busy", "busy"]
    assert receiver.load["running"] == 1 and receiver.load["pending"] == 1
    gate.set()
    for _ in range(200):
        if len(receiver.outcomes) == 4:
            break
        await asyncio.sleep(0.025)
    assert sorted(o.code or "processed" for _, o in receiver.outcomes) == ["busy", "busy", "processed", "processed"]


async def test_timeout_and_circuit_breaker(clients, run_id):
    async def handler(msg):
        if msg.payload.get("slow"):
            await asyncio.sleep(2)
        if msg.payload.get("fail"):
            raise RuntimeError("provider down")
        if msg.payload.get("refuse"):
            raise Reject("not_my_job", "ask someone else")

    sender, receiver = await pair(clients, run_id, Guardrails(work_timeout_seconds=0.2, circuit_breaker_failures=2,
                                                              circuit_breaker_reset_seconds=0.6), handler)
    assert await send_and_wait(sender, receiver, {"refuse": True}) == "not_my_job"
    assert await send_and_wait(sender, receiver, {"slow": True}) == "timeout"
    assert await send_and_wait(sender, receiver, {"fail": True}) == "handler_error"
    assert await send_and_wait(sender, receiver, {}) == "circuit_open"
    await asyncio.sleep(0.7)
    assert await send_and_wait(sender, receiver, {}) == "processed"
    assert receiver.load["circuit"] == "closed"


async def test_threads_blobs_and_typed_errors(clients, run_id):
    async def echo(msg):
        if msg.payload.get("type") == "blob_ref":
            return
        if msg.text == "fail please":
            await msg.reply_error("no_can_do", "asked to fail")
        elif msg.is_request:
            await msg.reply_text(f"echo: {msg.text}")

    sender, receiver = await pair(clients, run_id, Guardrails(), echo)
    ops = sender.thread(f"py{run_id}_ops")
    answer = await ops.ask_text(receiver.username, "status?")
    assert answer.text == "echo: status?" and answer.thread_id == ops.thread_id
    messages, _ = await ops.messages()
    assert [m.text for m in messages] == ["echo: status?", "status?"]
    assert (await ops.status()).message_count == 2

    blob = await sender.put_blob("chart data", filename="chart.txt")
    await sender.send_blob_ref(receiver.username, blob, wait_for="processed")
    assert await receiver.get_blob_text(blob.blob_id) == "chart data"
    head = await receiver.head_blob(blob.blob_id)
    assert (head.size_bytes, head.filename, head.sha256) == (10, "chart.txt", blob.sha256)
    with pytest.raises(agentnet.PermissionDeniedError) as not_owner:
        await receiver.delete_blob(blob.blob_id)
    assert not_owner.value.reason == "not_account_owner"
    assert await sender.delete_blob(blob.blob_id) is True
    assert await sender.delete_blob(blob.blob_id) is False
    with pytest.raises(agentnet.NotFoundError):
        await receiver.head_blob(blob.blob_id)

    with pytest.raises(agentnet.ErrorReply) as failed:
        await sender.ask_text(receiver.username, "fail please")
    assert failed.value.code == "no_can_do"
    with pytest.raises(agentnet.NotFoundError) as missing:
        await sender.get_profile("@nobody_here")
    assert missing.value.reason == "account_not_found"
    assert await sender.resolve_account(f"@{receiver.username}") == receiver.account_id
    assert await sender.resolve_account(receiver.username) == receiver.account_id
    assert await sender.resolve_account(f"account:{receiver.account_id}") == receiver.account_id
    with pytest.raises(agentnet.NotFoundError) as unresolved:
        await sender.resolve_account("@nobody_here")
    assert unresolved.value.reason == "account_not_found"
    alice, _ = clients
    with pytest.raises(agentnet.PermissionDeniedError) as spoof:
        await (await alice.as_account(receiver.account_id)).send_text(sender.username, "spoof")
    assert spoof.value.reason == "not_account_owner"
    gone = await alice.register(f"py{run_id}_gone")
    await gone.close()
    with pytest.raises(agentnet.NoRespondersError):
        await sender.ask_text(f"@py{run_id}_gone", "anyone?")


def test_circuit_breaker_half_open_trial():
    now = [0.0]
    breaker = CircuitBreaker(5, 15, lambda: now[0])
    for _ in range(5):
        breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 15
    assert breaker.allow() and not breaker.allow()
    breaker.success()
    assert breaker.state == "closed"
