"""Streamed answers: the writer's numbering and refusal after the end, the collector's reassembly of parts in any
order, and streams both ways between two agents on a live server (Actor.stream, Thread.stream, msg.stream())."""
from __future__ import annotations

import itertools
from typing import Any

import pytest

import agentnet
from agentnet import AssembledStream, StreamCollector, StreamWriter
from agentnet.client import struct
from agentnet.v1 import messaging_pb2
from support import until

counter = itertools.count()


def part(payload: dict[str, Any], kind: int = messaging_pb2.MESSAGE_KIND_STREAM) -> agentnet.Message:
    return agentnet.Message(messaging_pb2.Envelope(message_id=f"m_{next(counter)}", kind=kind, payload=struct(payload)))


async def test_writer_numbers_parts_and_refuses_after_the_end():
    sent: list[dict[str, Any]] = []

    async def send_part(payload: dict[str, Any]) -> messaging_pb2.SendResponse:
        sent.append(payload)
        return messaging_pb2.SendResponse(message_id=f"m_{len(sent)}")

    writer = StreamWriter(send_part)
    assert writer.stream_id.startswith("s_")
    await writer.start({"model": "words"})
    await writer.delta("a ")
    await writer.delta({"text": "b", "tokens": 1})
    await writer.end()
    assert [(p["type"], p["seq"]) for p in sent] == [("stream_start", 0), ("stream_delta", 1), ("stream_delta", 2),
                                                     ("stream_end", 3)]
    assert {p["stream_id"] for p in sent} == {writer.stream_id}
    assert sent[0]["model"] == "words" and sent[2]["tokens"] == 1
    with pytest.raises(RuntimeError, match="already ended"):
        await writer.delta("late")
    with pytest.raises(RuntimeError):
        await writer.error("late", "")
    assert len(sent) == 4

    failed = StreamWriter(send_part, "s_fixed")
    await failed.error("quota", "out of tokens")
    assert sent[-1] == {"type": "stream_error", "code": "quota", "detail": "out of tokens", "stream_id": "s_fixed", "seq": 0}
    with pytest.raises(RuntimeError):
        await failed.end()


def test_collector_counts_only_the_contiguous_prefix():
    collector = StreamCollector()
    sid = "s_out_of_order"
    # Parts arrive out of order (a redelivery after a reconnect): nothing past the gap at seq 1 counts yet.
    state = collector.add(part({"type": "stream_delta", "text": "world", "stream_id": sid, "seq": 2}))
    assert state == AssembledStream(sid, text="", done=False)
    collector.add(part({"type": "stream_end", "stream_id": sid, "seq": 3}))
    state = collector.add(part({"type": "stream_start", "stream_id": sid, "seq": 0, "lang": "en"}))
    assert (state.text, state.done, state.start["lang"]) == ("", False, "en")
    state = collector.add(part({"type": "stream_delta", "text": "hello ", "stream_id": sid, "seq": 1}))
    assert (state.text, state.done, state.error) == ("hello world", True, None)
    assert collector.state(sid) == state
    # A repeated part (delivered twice) changes nothing.
    assert collector.add(part({"type": "stream_delta", "text": "hello ", "stream_id": sid, "seq": 1})) == state


def test_collector_reports_errors_and_ignores_what_is_not_a_stream_part():
    collector = StreamCollector()
    collector.add(part({"type": "stream_start", "stream_id": "s_e", "seq": 0}))
    collector.add(part({"type": "stream_delta", "text": "half", "stream_id": "s_e", "seq": 1}))
    state = collector.add(part({"type": "stream_error", "code": "quota", "detail": "out of tokens", "stream_id": "s_e", "seq": 2}))
    assert (state.text, state.done, state.error) == ("half", True, {"code": "quota", "detail": "out of tokens"})
    assert collector.add(part({"text": "hi"}, kind=messaging_pb2.MESSAGE_KIND_DIRECT)) is None
    assert collector.add(part({"type": "stream_delta", "stream_id": "s_x", "seq": 0}, kind=messaging_pb2.MESSAGE_KIND_DIRECT)) is None
    assert collector.add(part({"type": "stream_delta", "stream_id": "s_x"})) is None
    assert collector.add(part({"type": "stream_delta", "stream_id": "s_x", "seq": 0.5})) is None
    assert collector.state("s_x") is None


@pytest.fixture(scope="module")
async def clients(make_user, run_id):
    return await make_user(f"py{run_id}_streamer"), await make_user(f"py{run_id}_listener")


async def test_streams_both_ways_between_agents(clients, run_id):
    alice, bob = clients
    writer = await alice.register(f"py{run_id}_writer")
    reader = await bob.register(f"py{run_id}_reader")
    got_by_reader, got_by_writer = StreamCollector(), StreamCollector()
    reader_parts: list[agentnet.Message] = []
    writer_parts: list[agentnet.Message] = []

    @reader.on_message
    async def on_reader(msg: agentnet.Message) -> None:
        if msg.kind == "stream":
            reader_parts.append(msg)
            got_by_reader.add(msg)
        elif msg.payload.get("ask_stream"):
            answer = msg.stream()
            await answer.start({"model": "words"})
            await answer.delta("half an ")
            await answer.delta("answer")
            await answer.error("quota", "out of tokens")

    @writer.on_message
    async def on_writer(msg: agentnet.Message) -> None:
        writer_parts.append(msg)
        got_by_writer.add(msg)

    await reader.ready()
    await writer.ready()

    # Written by the caller: Actor.stream with its own stream id and trace id.
    out = writer.stream(reader.username, thread_id=f"py{run_id}_st", trace_id=f"tr_{run_id}", stream_id=f"s_py{run_id}")
    await out.start()
    for word in ("one ", "two ", "three"):
        await out.delta(word)
    await out.end()
    with pytest.raises(RuntimeError):
        await out.delta("after the end")
    await until(lambda: (s := got_by_reader.state(out.stream_id)) is not None and s.done, 30, "the reader's stream")
    assert got_by_reader.state(out.stream_id).text == "one two three"
    assert len(reader_parts) == 5  # the refused delta never left
    assert {(m.thread_id, m.trace_id, m.from_account_id) for m in reader_parts} == {(f"py{run_id}_st", f"tr_{run_id}", writer.account_id)}

    # Through the thread helper: the thread is filled in.
    in_thread = writer.thread(f"py{run_id}_st2").stream(reader.username)
    await in_thread.start()
    await in_thread.delta("threaded")
    await in_thread.end()
    await until(lambda: (s := got_by_reader.state(in_thread.stream_id)) is not None and s.done, 30, "the thread's stream")
    assert got_by_reader.state(in_thread.stream_id).text == "threaded"
    assert {m.thread_id for m in reader_parts if m.payload["stream_id"] == in_thread.stream_id} == {f"py{run_id}_st2"}

    # Answered by a handler: msg.stream() goes back to the sender, in its thread, with the message as parent and
    # the same trace id, and ends with the handler's error.
    asked = await writer.send(reader.username, {"ask_stream": True}, thread_id=f"py{run_id}_ask")
    await until(lambda: any((s := got_by_writer.state(m.payload["stream_id"])) and s.done for m in writer_parts), 30,
                "the streamed answer")
    answer = got_by_writer.state(writer_parts[0].payload["stream_id"])
    assert (answer.text, answer.error, answer.start["model"]) == ("half an answer", {"code": "quota", "detail": "out of tokens"}, "words")
    assert len(writer_parts) == 4
    assert {(m.kind, m.thread_id, m.parent_message_id, m.trace_id, m.from_account_id) for m in writer_parts} == {
        ("stream", f"py{run_id}_ask", asked.message_id, asked.trace_id, reader.account_id)}
