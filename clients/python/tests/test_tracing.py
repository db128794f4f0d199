"""Traces across agents: the Python client continues a message's trace in its handler and sends it on its Reply and
Ack; its calls carry the application's active OpenTelemetry span. Checked against the gateway's own spans, received by
a real OTLP/HTTP endpoint."""
from __future__ import annotations

import asyncio
import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import agentnet
from conftest import Server


class Receiver:
    """An OTLP/HTTP traces endpoint (JSON bodies) that keeps the spans it is sent."""

    def __init__(self) -> None:
        self.spans: list[dict] = []
        spans = self.spans

        class Handler(BaseHTTPRequestHandler):
            def body(self) -> bytes:
                if self.headers.get("content-length") is not None:
                    return self.rfile.read(int(self.headers["content-length"]))
                chunks = []  # Transfer-Encoding: chunked, as Node's exporter sends it
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.body())
                for rs in body.get("resourceSpans", []):
                    for ss in rs.get("scopeSpans", []):
                        spans.extend(ss.get("spans", []))
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"

    async def wait(self, trace_id: str, ok, what: str) -> list[dict]:
        for _ in range(300):
            found = [s for s in self.spans if s["traceId"] == trace_id]
            if ok(found):
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"trace {trace_id} never showed {what}: {[s['name'] for s in found]}")


@pytest.fixture(scope="module")
def traced():
    receiver = Receiver()
    server = Server({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}, own=True)
    server.start()
    yield server, receiver
    server.stop()
    receiver.http.shutdown()
    shutil.rmtree(server.data_dir, ignore_errors=True)


async def user(server: Server, name: str) -> agentnet.Client:
    import grpc

    from agentnet.v1 import auth_pb2, auth_pb2_grpc

    async with grpc.aio.insecure_channel(server.url.split("://", 1)[1]) as channel:
        auth = auth_pb2_grpc.AuthServiceStub(channel)
        admin = await auth.Login(auth_pb2.LoginRequest(username="admin", password=server.admin_password))
        await auth.CreateUser(auth_pb2.CreateUserRequest(username=name, password=f"{name}-password"),
                              metadata=(("authorization", f"Bearer {admin.access_token}"),))
        token = (await auth.Login(auth_pb2.LoginRequest(username=name, password=f"{name}-password"))).access_token
    return agentnet.connect(server.url, token=token)


async def test_handler_span_continues_the_delivery_and_parents_reply_and_ack(traced, run_id):
    server, receiver = traced
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test-app")
    trace.set_tracer_provider(provider)

    alice, bob = await user(server, f"tr{run_id}a"), await user(server, f"tr{run_id}b")
    try:
        seen: list[str] = []
        echo = await bob.register(f"tr{run_id}_echo")

        async def handler(msg):
            seen.append(msg.traceparent)
            if msg.is_request:
                await msg.reply_text(f"echo: {msg.text}")

        echo.on_message(handler)
        await echo.ready()
        caller = await alice.register(f"tr{run_id}_caller")

        with tracer.start_as_current_span("ask echo") as root:
            answer = await caller.ask_text(echo.username, "hello")
        assert answer.text == "echo: hello"
        trace_id = f"{root.get_span_context().trace_id:032x}"
        caller_span = f"{root.get_span_context().span_id:016x}"
        spans = await receiver.wait(trace_id, lambda s: any(x["name"].endswith("/Reply") for x in s), "the Reply")
        by_name = {s["name"]: s for s in spans}
        request = by_name["agentnet.v1.MessagingService/Request"]
        assert request["parentSpanId"] == caller_span
        deliver = by_name["agentnet.deliver"]
        assert deliver["parentSpanId"] == request["spanId"]
        assert seen[-1].split("-")[1:3] == [trace_id, deliver["spanId"]]

        handling = [s for s in exporter.get_finished_spans() if s.name == "process request"]
        assert len(handling) == 1
        assert f"{handling[0].parent.span_id:016x}" == deliver["spanId"]
        assert by_name["agentnet.v1.MessagingService/Reply"]["parentSpanId"] == f"{handling[0].context.span_id:016x}"

        # A message that is not a request is acked: its outcome's span is under the handler's.
        with tracer.start_as_current_span("tell echo") as told:
            await caller.send_text(echo.username, "fyi")
        told_trace = f"{told.get_span_context().trace_id:032x}"
        settled = await receiver.wait(told_trace, lambda s: any(x["name"] == "agentnet.settle" for x in s), "the ack")
        direct = [s for s in exporter.get_finished_spans() if s.name == "process direct"]
        assert len(direct) == 1
        settle = next(s for s in settled if s["name"] == "agentnet.settle")
        assert settle["parentSpanId"] == f"{direct[0].context.span_id:016x}"
    finally:
        await alice.close()
        await bob.close()
