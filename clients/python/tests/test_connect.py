"""Connecting and retrying against a live gateway, through a real TCP proxy that slows or cuts connections: a slow
handshake is waited for (bounded, with a typed error), many agents register at once, and a send retried after a
transient failure carries the message id it was first sent with, so the server stores it once."""
from __future__ import annotations

import asyncio
import itertools

import pytest

import agentnet
from agentnet import UnavailableError

from proxy import Proxy  # tests/ is on sys.path (pytest prepends it)

SDK_MESSAGE_ID = rb"m_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
counter = itertools.count()


@pytest.fixture(scope="module")
async def tokens(make_token, run_id):
    return await make_token(f"pyc{run_id}_a"), await make_token(f"pyc{run_id}_b")


async def until(check, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.025)


async def receiver(server, token, name):
    client = agentnet.connect(server.url, token=token)
    agent = await client.register(name)
    handled: list[str] = []

    @agent.on_message
    async def handle(msg):
        handled.append(msg.message_id)

    await agent.ready()
    return client, agent, handled


async def test_fifty_agents_register_at_once(server, tokens, run_id):
    # Each client its own connection (no shared subchannel), as 50 processes would be: 50 handshakes at once.
    clients = [agentnet.connect(server.url, token=tokens[0], channel_options=[("grpc.use_local_subchannel_pool", 1)])
               for _ in range(50)]
    try:
        agents = await asyncio.gather(*(c.register(f"pyc{run_id}_many_{i}") for i, c in enumerate(clients)))
        assert len({a.session_tag for a in agents}) == 50
        online = {a.username for a in await clients[0].search_agents(f"pyc{run_id}_many_", online_only=True, limit=100)}
        assert online == {f"pyc{run_id}_many_{i}" for i in range(50)}
    finally:
        await asyncio.gather(*(c.close() for c in clients))


async def test_a_slow_handshake_is_waited_for(server, tokens, run_id):
    # The gateway's SETTINGS frame comes 0.6 s late on every connection (a connect timeout of 200 ms failed here).
    proxy = await Proxy(server.url.split("://")[1], handshake_delay=0.6).start()
    client = agentnet.connect(proxy.url, token=tokens[0])
    try:
        agent = await client.register(f"pyc{run_id}_slow")
        assert agent.session_tag.startswith("sess_")
    finally:
        await client.close()
        await proxy.close()


async def test_no_connection_within_the_bound_is_a_typed_error(server, tokens):
    proxy = await Proxy(server.url.split("://")[1], handshake_delay=30).start()
    client = agentnet.connect(proxy.url, token=tokens[0], connect_timeout=0.5)
    try:
        with pytest.raises(UnavailableError) as failed:
            await client.register("never_registered")
        assert failed.value.reason == "connect_timeout"
    finally:
        await client.close()
        await proxy.close()


async def test_a_send_cut_before_the_server_is_retried_with_the_same_message_id(server, tokens, run_id):
    n = next(counter)
    r_client, r_agent, handled = await receiver(server, tokens[1], f"pyc{run_id}_r{n}")
    proxy = await Proxy(server.url.split("://")[1]).start()
    sender = agentnet.connect(proxy.url, token=tokens[0])
    try:
        agent = await sender.register(f"pyc{run_id}_s{n}")
        proxy.cut_request(SDK_MESSAGE_ID)
        sent = await agent.send_text(r_agent.username, "through a cut connection")
        assert proxy.cut_ids == [sent.message_id]  # the first attempt carried the id, and never arrived
        assert sent.duplicate is False
        assert proxy.connections >= 2
        assert sent.message_id in proxy.ids_sent(SDK_MESSAGE_ID)[-1]  # the retry, on a new connection
        await until(lambda: sent.message_id in handled, 30, "the message to be handled")
        await asyncio.sleep(0.3)
        assert handled.count(sent.message_id) == 1
    finally:
        await sender.close()
        await proxy.close()
        await r_client.close()


async def test_a_send_whose_answer_is_lost_is_retried_and_stored_once(server, tokens, run_id):
    n = next(counter)
    r_client, r_agent, handled = await receiver(server, tokens[1], f"pyc{run_id}_r{n}")
    proxy = await Proxy(server.url.split("://")[1]).start()
    sender = agentnet.connect(proxy.url, token=tokens[0])
    try:
        agent = await sender.register(f"pyc{run_id}_s{n}")
        proxy.cut_answer(SDK_MESSAGE_ID)
        sent = await agent.send_text(r_agent.username, "answer lost")
        assert proxy.cut_ids == [sent.message_id]
        # The server had stored the first attempt: the retry is recognised as the same message, not a second one.
        assert sent.duplicate is True
        await until(lambda: sent.message_id in handled, 30, "the message to be handled")
        await asyncio.sleep(0.3)
        assert handled == [sent.message_id]
    finally:
        await sender.close()
        await proxy.close()
        await r_client.close()
