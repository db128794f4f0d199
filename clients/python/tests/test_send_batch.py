"""Sends coalesced into SendBatch calls (agentnet/batch.py), against a live gateway of their own (rate limit raised, so
hundreds of sends from one account are not refused), and through a gRPC proxy (tests/grpc_proxy.py) that stands for a
gateway without SendBatch or one whose answers are lost or partly failed."""
from __future__ import annotations

import asyncio
import itertools
import shutil

import grpc
import pytest

import agentnet
from agentnet import status_name
from agentnet.v1 import auth_pb2, auth_pb2_grpc, messaging_pb2

from conftest import Server  # tests/ is on sys.path (pytest prepends it)
from grpc_proxy import GrpcProxy

counter = itertools.count()


class CountCalls(grpc.aio.UnaryUnaryClientInterceptor):
    """Records the method name of every unary call the client makes."""

    def __init__(self) -> None:
        self.names: list[str] = []

    async def intercept_unary_unary(self, continuation, client_call_details, request):
        method = client_call_details.method
        self.names.append((method.decode() if isinstance(method, bytes) else method).rsplit("/", 1)[-1])
        return await continuation(client_call_details, request)

    def count(self, name: str) -> int:
        return self.names.count(name)


@pytest.fixture(scope="module")
def fast_server():
    s = Server({"AGENTNET_SEND_RATE_PER_SECOND": "100000", "AGENTNET_SEND_RATE_BURST": "100000"}, own=True)
    s.start()
    yield s
    s.stop()
    shutil.rmtree(s.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
async def tokens(fast_server, run_id):
    async with grpc.aio.insecure_channel(fast_server.url.split("://", 1)[1]) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        admin = (await auth.Login(auth_pb2.LoginRequest(username="admin", password=fast_server.admin_password))).access_token
        out = []
        for name in (f"pyb{run_id}_a", f"pyb{run_id}_b"):
            await auth.CreateUser(auth_pb2.CreateUserRequest(username=name, password=f"{name}-password"),
                                  metadata=(("authorization", f"Bearer {admin}"),))
            out.append((await auth.Login(auth_pb2.LoginRequest(username=name, password=f"{name}-password"))).access_token)
        return out


async def until(check, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.025)


async def receiver(url, token, name):
    client = agentnet.connect(url, token=token)
    # Hundreds arrive at once: room for all of them (the default 100 waiting would refuse the rest as `busy`).
    agent = await client.register(name, guardrails=agentnet.Guardrails(max_pending=100_000))
    handled: list = []
    seen: set[str] = set()

    @agent.on_message
    async def handle(msg):
        if msg.message_id not in seen:  # recorded before any await: the order the inbox offered them in
            seen.add(msg.message_id)
            handled.append(msg)

    await agent.ready()
    return client, agent, handled


async def test_concurrent_sends_go_out_as_one_batch(fast_server, tokens, run_id):
    n = next(counter)
    r_client, r_agent, handled = await receiver(fast_server.url, tokens[1], f"pyb{run_id}_r{n}")
    calls = CountCalls()
    client = agentnet.connect(fast_server.url, token=tokens[0], interceptors=[calls])
    try:
        agent = await client.register(f"pyb{run_id}_s{n}")
        results = await asyncio.gather(*(agent.send(r_agent.username, {"i": i}) for i in range(200)))
        assert calls.count("SendBatch") == 1 and calls.count("Send") == 0
        assert client.send_batcher.calls == 1 and client.send_batcher.items == 200
        assert all(isinstance(r, messaging_pb2.SendResponse) for r in results)
        assert {status_name(r.status) for r in results} == {"accepted"}
        assert {r.to_account_id for r in results} == {r_agent.account_id}
        assert not any(r.duplicate for r in results)
        assert len({r.message_id for r in results}) == 200
        await until(lambda: len(handled) == 200, 30, "200 messages to be handled")
        assert [m.message_id for m in handled] == [r.message_id for r in results]  # and in the order sent

        # Sends that wait for delivery or processing stay on unary Send.
        waited = await agent.send(r_agent.username, {"w": 1}, wait_for="delivered", wait_timeout_ms=20000)
        assert status_name(waited.status) in ("delivered", "processed")
        assert calls.count("Send") == 1 and calls.count("SendBatch") == 1
    finally:
        await client.close()
        await r_client.close()


async def test_refused_items_raise_sends_own_errors_in_their_callers(fast_server, tokens, run_id):
    n = next(counter)
    r_client, r_agent, handled = await receiver(fast_server.url, tokens[1], f"pyb{run_id}_r{n}")
    calls = CountCalls()
    batched = agentnet.connect(fast_server.url, token=tokens[0], interceptors=[calls])
    unary = agentnet.connect(fast_server.url, token=tokens[0], batch_sends=False)
    try:
        agent = await batched.register(f"pyb{run_id}_s{n}")
        same = agentnet.AccountActor(unary, agent.account_id)
        not_mine = r_agent.account_id  # bob's account: alice may not send as it
        to = r_agent.username
        cases = {
            "ok_1": lambda a: a.send_text(to, "first"),
            "no_recipient": lambda a: a.send_text("acct_does_not_exist", "x"),
            "bad_ttl": lambda a: a.send_text(to, "x", ttl_ms=0),
            "ok_2": lambda a: a.send_text(to, "second"),
            "bad_id": lambda a: a.send_text(to, "x", message_id="not a valid id!"),
            "nul_in_thread": lambda a: a.send_text(to, "x", thread_id="nul\u0000inside"),  # refuses a whole batch
            "not_owner": lambda a: agentnet.AccountActor(a._client, not_mine).send_text(to, "x"),
            "too_big": lambda a: a.send_text(to, "x" * 300_000),  # its error's metadata says by how much
            "ok_3": lambda a: a.send_text(to, "third"),
        }
        got = dict(zip(cases, await asyncio.gather(*(f(agent) for f in cases.values()), return_exceptions=True)))
        want = dict(zip(cases, await asyncio.gather(*(f(same) for f in cases.values()), return_exceptions=True)))
        # One batch for all; refused as a whole for the NUL item, which then went alone as a Send, the others again.
        assert calls.names[1:] == ["SendBatch", "Send", "SendBatch"] or calls.names[1:] == ["SendBatch", "SendBatch", "Send"]
        for name in cases:
            if name.startswith("ok_"):
                assert isinstance(got[name], messaging_pb2.SendResponse), (name, got[name])
                assert status_name(got[name].status) == "accepted"
                continue
            g, w = got[name], want[name]
            assert isinstance(w, agentnet.AgentnetError), (name, w)
            assert type(g) is type(w), (name, g, w)
            assert (g.code, g.reason, g.message, g.field, g.retry_after_ms, g.info) == \
                   (w.code, w.reason, w.message, w.field, w.retry_after_ms, w.info), name
            assert str(g) == str(w)
        assert got["no_recipient"].reason == "recipient_not_found" and isinstance(got["no_recipient"], agentnet.NotFoundError)
        assert got["bad_ttl"].field == "ttl_ms" and isinstance(got["bad_ttl"], agentnet.InvalidArgumentError)
        assert isinstance(got["not_owner"], agentnet.PermissionDeniedError)
        assert got["too_big"].reason == "payload_too_large" and "limit_bytes" in got["too_big"].info
        assert got["nul_in_thread"].field == "thread_id"  # Send's own answer, not the batch's messages[5].thread_id
        # Only the good ones reached the recipient (three from each client).
        await until(lambda: len(handled) == 6, 30, "the six good messages to be handled")
        await asyncio.sleep(0.3)
        assert sorted(m.text for m in handled) == sorted(["first", "second", "third"] * 2)
    finally:
        await batched.close()
        await unary.close()
        await r_client.close()


async def test_order_for_one_recipient_is_kept_across_batches(fast_server, tokens, run_id):
    n = next(counter)
    r_client, r_agent, handled = await receiver(fast_server.url, tokens[1], f"pyb{run_id}_r{n}")
    client = agentnet.connect(fast_server.url, token=tokens[0])
    try:
        agent = await client.register(f"pyb{run_id}_s{n}")
        tasks = []
        for i in range(600):  # issued over several batches: some while one is in flight
            tasks.append(asyncio.ensure_future(agent.send(r_agent.username, {"i": i})))
            if i % 50 == 49:
                await asyncio.sleep(0.002)
        results = await asyncio.gather(*tasks)
        assert client.send_batcher.calls > 1
        await until(lambda: len(handled) == 600, 30, "600 messages to be handled")
        order = [m.payload["i"] for m in handled]
        first = next((k for k, i in enumerate(order) if i != k), None)
        assert first is None, f"out of order from {first}: {order[max(0, first - 3):first + 5]}"
        assert [m.message_id for m in handled] == [r.message_id for r in results]
    finally:
        await client.close()
        await r_client.close()


async def test_a_gateway_without_send_batch_gets_unary_sends(fast_server, tokens, run_id):
    async def unimplemented(request, forward, context):
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, "Method not found: agentnet.v1.MessagingService/SendBatch")

    n = next(counter)
    r_client, r_agent, handled = await receiver(fast_server.url, tokens[1], f"pyb{run_id}_r{n}")
    proxy = await GrpcProxy(fast_server.url.split("://")[1], {"SendBatch": unimplemented}).start()
    client = agentnet.connect(proxy.url, token=tokens[0])
    try:
        agent = await client.register(f"pyb{run_id}_s{n}")
        first = await asyncio.gather(*(agent.send_text(r_agent.username, f"a{i}") for i in range(5)))
        assert client.send_batcher.supported is False
        later = await asyncio.gather(*(agent.send_text(r_agent.username, f"b{i}") for i in range(3)))
        assert [x for x in proxy.names() if x in ("Send", "SendBatch")] == ["SendBatch"] + ["Send"] * 8
        for r in (*first, *later):
            assert isinstance(r, messaging_pb2.SendResponse) and status_name(r.status) == "accepted"
        await until(lambda: len(handled) == 8, 30, "the eight messages to be handled")
        # Refusals on the fallback are Send's own, as always.
        with pytest.raises(agentnet.NotFoundError):
            await agent.send_text("acct_does_not_exist", "x")
    finally:
        await client.close()
        await proxy.close()
        await r_client.close()


async def test_a_batch_whose_answer_is_lost_is_sent_again_with_the_same_ids(fast_server, tokens, run_id):
    lost = []

    async def lose_first(request, forward, context):
        answer = await forward()
        if not lost:
            lost.append(request)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "connection reset (the test proxy)")
        return answer

    n = next(counter)
    r_client, r_agent, handled = await receiver(fast_server.url, tokens[1], f"pyb{run_id}_r{n}")
    proxy = await GrpcProxy(fast_server.url.split("://")[1], {"SendBatch": lose_first}).start()
    client = agentnet.connect(proxy.url, token=tokens[0])
    try:
        agent = await client.register(f"pyb{run_id}_s{n}")
        results = await asyncio.gather(*(agent.send_text(r_agent.username, f"m{i}") for i in range(10)))
        batches = [messaging_pb2.SendBatchRequest.FromString(body) for name, body in proxy.calls if name == "SendBatch"]
        assert len(batches) == 2
        assert [m.message_id for m in batches[0].messages] == [m.message_id for m in batches[1].messages] \
               == [r.message_id for r in results]
        assert all(r.duplicate for r in results)  # the first call had stored them
        await until(lambda: len(handled) == 10, 30, "the ten messages to be handled")
        await asyncio.sleep(0.3)
        assert len(handled) == 10
    finally:
        await client.close()
        await proxy.close()
        await r_client.close()


async def test_an_item_answered_unavailable_is_sent_again_alone(fast_server, tokens, run_id):
    async def fail_second_item_once(request, forward, context):
        answer = messaging_pb2.SendBatchResponse.FromString(await forward())
        if len(answer.results) == 4:
            # Stored, but answered as if the database had failed after the commit: the client cannot tell.
            answer.results[1].error.CopyFrom(messaging_pb2.SendError(
                code="UNAVAILABLE", reason="database_unavailable", message="the database is unavailable right now; retry",
                retry_after_ms=1000))
        return answer.SerializeToString()

    n = next(counter)
    r_client, r_agent, handled = await receiver(fast_server.url, tokens[1], f"pyb{run_id}_r{n}")
    proxy = await GrpcProxy(fast_server.url.split("://")[1], {"SendBatch": fail_second_item_once}).start()
    client = agentnet.connect(proxy.url, token=tokens[0])
    try:
        agent = await client.register(f"pyb{run_id}_s{n}")
        results = await asyncio.gather(*(agent.send_text(r_agent.username, f"m{i}") for i in range(4)))
        batches = [messaging_pb2.SendBatchRequest.FromString(body) for name, body in proxy.calls if name == "SendBatch"]
        assert [len(b.messages) for b in batches] == [4, 1]
        assert batches[1].messages[0].message_id == results[1].message_id
        assert [r.duplicate for r in results] == [False, True, False, False]
        await until(lambda: len(handled) == 4, 30, "the four messages to be handled")
        await asyncio.sleep(0.3)
        assert len(handled) == 4

        # Without retries left, the caller gets the item's error as Send would raise it.
        async def always_fail(request, forward, context):
            answer = messaging_pb2.SendBatchResponse.FromString(await forward())
            for r in answer.results:
                r.error.CopyFrom(messaging_pb2.SendError(code="UNAVAILABLE", reason="database_unavailable",
                                                         message="down", retry_after_ms=1000))
            return answer.SerializeToString()

        proxy.hooks["SendBatch"] = always_fail
        with pytest.raises(agentnet.UnavailableError) as failed:
            await agent.send_text(r_agent.username, "never answered", retries=0)
        assert (failed.value.reason, failed.value.retry_after_ms) == ("database_unavailable", 1000)
    finally:
        await client.close()
        await proxy.close()
        await r_client.close()
