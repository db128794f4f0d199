"""Load through the Python client, for `npm run bench -- --only python-client` (bench/sections/python-client.ts), or
by hand: `.venv/bin/python bench/load.py --url http://127.0.0.1:8000 --api-key agk_… [--no-batch]`.

Messaging: N sender agents -> N receiver agents (round robin), each sender a closed loop of `--in-flight` sends
(`send`, answered once stored) at a time; receivers handle on `on_message` (the guardrails, acks batched by the
agent). Delivered msg/s counts first deliveries received in the measured window; send->deliver latency is the
receiver's clock minus the sender's (one process, one clock). Request/reply: one requester, one responder replying
from its handler, sequential `request` calls. Prints one JSON object on stdout; progress on stderr."""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

import agentnet
from agentnet import Guardrails


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    return round(s[min(len(s) - 1, int(q * len(s)))], 2)


def summary(values: list[float]) -> dict:
    return {"count": len(values), "p50": percentile(values, 0.5), "p90": percentile(values, 0.9),
            "p99": percentile(values, 0.99), "max": round(max(values), 2) if values else None}


class Receivers:
    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.duplicates = 0
        self.window: tuple[float, float] = (float("inf"), float("inf"))
        self.in_window = 0
        self.latency: list[float] = []
        self.received = 0

    def handler(self):
        async def handle(msg: agentnet.Message) -> None:
            now = time.perf_counter()
            if msg.message_id in self.seen:
                self.duplicates += 1
                return
            self.seen.add(msg.message_id)
            self.received += 1
            start, end = self.window
            if start <= now < end:
                self.in_window += 1
                self.latency.append((now - msg.payload["t"]) * 1000)
        return handle


async def messaging_step(senders, receivers, rx: Receivers, *, in_flight: int, payload_bytes: int, warmup: float,
                         seconds: float, drain: float) -> dict:
    pad = "x" * max(0, payload_bytes - 33)  # the compact JSON {"t":<float>,"pad":"…"} is about payload_bytes
    stop = False
    sent = 0
    sent_in_window = 0
    errors = 0
    samples: list[str] = []
    send_ms: list[float] = []
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    window = (t0 + warmup, t0 + warmup + seconds)
    rx.window, rx.in_window, rx.latency = window, 0, []
    received_before = rx.received

    async def slot(i: int, j: int) -> None:
        nonlocal sent, sent_in_window, errors
        sender = senders[i]
        k = i + j
        while not stop:
            to = receivers[k % len(receivers)].account_id
            k += 1
            t = time.perf_counter()
            try:
                await sender.send(to, {"t": t, "pad": pad})
            except agentnet.AgentnetError as e:
                errors += 1
                if len(samples) < 5:
                    samples.append(str(e))
                continue
            sent += 1
            if window[0] <= t < window[1]:
                sent_in_window += 1
                send_ms.append((time.perf_counter() - t) * 1000)

    tasks = [asyncio.ensure_future(slot(i, j)) for i in range(len(senders)) for j in range(in_flight)]
    await asyncio.sleep(window[1] - time.perf_counter())
    stop = True
    await asyncio.gather(*tasks)
    deadline = loop.time() + drain
    while rx.received - received_before < sent and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return {
        "inFlightPerSender": in_flight,
        "windowSeconds": seconds,
        "sentPerSecond": round(sent_in_window / seconds, 1),
        "deliveredPerSecond": round(rx.in_window / seconds, 1),
        "latencyMs": summary(rx.latency),
        "sendMs": summary(send_ms),
        "sendErrors": errors,
        "errorSamples": samples,
        "missing": max(0, sent - (rx.received - received_before)),
        "duplicates": rx.duplicates,
    }


async def request_reply(client: agentnet.Client, prefix: str, seconds: float, warmup: float) -> dict:
    requester = await client.register(f"{prefix}_req")
    responder = await client.register(f"{prefix}_resp")

    @responder.on_message
    async def answer(msg: agentnet.Message) -> None:
        if msg.is_request:
            await msg.reply({"ok": True})

    await responder.ready()
    rtt: list[float] = []
    errors = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warmup + seconds:
        t = time.perf_counter()
        try:
            await requester.request(responder.account_id, {"text": "ping", "pad": "x" * 64}, timeout=3)
        except agentnet.AgentnetError:
            errors += 1
            continue
        if t - t0 >= warmup:
            rtt.append((time.perf_counter() - t) * 1000)
    return {"roundTripMs": summary(rtt), "roundTripsPerSecond": round(len(rtt) / seconds, 1), "errors": errors}


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--senders", type=int, default=8)
    ap.add_argument("--receivers", type=int, default=8)
    ap.add_argument("--payload-bytes", type=int, default=128)
    ap.add_argument("--in-flight", default="1,32", help="comma-separated sends in flight per sender, one step each")
    ap.add_argument("--warmup", type=float, default=0.5)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--drain", type=float, default=5.0)
    ap.add_argument("--rr-seconds", type=float, default=3.0, help="0 skips request/reply")
    ap.add_argument("--no-batch", action="store_true", help="every send a unary Send (batch_sends=False)")
    ap.add_argument("--batch-linger", type=float, default=None, help="seconds a first send waits for others (client default 0.001)")
    ap.add_argument("--prefix", default="")
    a = ap.parse_args()
    prefix = a.prefix or f"py_{uuid.uuid4().hex[:6]}"
    batch = not a.no_batch
    # Senders and receivers on connections of their own, as the raw gRPC load does.
    linger = {} if a.batch_linger is None else {"batch_linger": a.batch_linger}
    send_client = agentnet.connect(a.url, api_key=a.api_key, batch_sends=batch, **linger)
    recv_client = agentnet.connect(a.url, api_key=a.api_key, batch_sends=batch)
    rr_client = agentnet.connect(a.url, api_key=a.api_key, batch_sends=batch)
    out: dict = {"batchSends": batch, "senders": a.senders, "receivers": a.receivers, "payloadBytes": a.payload_bytes,
                 "steps": []}
    try:
        senders = await asyncio.gather(*(send_client.register(f"{prefix}_s{i}") for i in range(a.senders)))
        receivers = await asyncio.gather(*(recv_client.register(
            f"{prefix}_r{i}", guardrails=Guardrails(max_concurrency=64, max_pending=100_000)) for i in range(a.receivers)))
        rx = Receivers()
        for r in receivers:
            r.on_message(rx.handler())
        await asyncio.gather(*(r.ready() for r in receivers))
        for n in [int(x) for x in a.in_flight.split(",") if x.strip()]:
            b = send_client.send_batcher
            calls, items = (b.calls, b.items) if b else (0, 0)
            step = await messaging_step(senders, receivers, rx, in_flight=n, payload_bytes=a.payload_bytes,
                                        warmup=a.warmup, seconds=a.seconds, drain=a.drain)
            step["sendBatchCalls"] = (b.calls - calls) if b else 0
            step["meanBatch"] = round((b.items - items) / (b.calls - calls), 1) if b and b.calls > calls else None
            out["steps"].append(step)
            print(f"python-client: {n} in flight per sender: delivered {step['deliveredPerSecond']}/s, "
                  f"p50 {step['latencyMs']['p50']} ms", file=sys.stderr)
        if a.rr_seconds > 0:
            out["requestReply"] = await request_reply(rr_client, prefix, a.rr_seconds, a.warmup)
            print(f"python-client: request/reply p50 {out['requestReply']['roundTripMs']['p50']} ms", file=sys.stderr)
    finally:
        await asyncio.gather(send_client.close(), recv_client.close(), rr_client.close(), return_exceptions=True)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
