"""A real TCP proxy in front of the test gateway, to make the network misbehave the way a busy or flaky one does:
hold back the server's first bytes (a slow HTTP/2 handshake), or cut the connection at a chosen point of a call.
It speaks no gRPC; it only watches the bytes go by (gRPC messages are not compressed, so ids show up as is)."""
from __future__ import annotations

import asyncio
import re
from typing import Optional


class Proxy:
    def __init__(self, upstream: str, *, handshake_delay: float = 0.0) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream_host, self.upstream_port = host, int(port)
        self.handshake_delay = handshake_delay
        self.connections = 0
        self.sent: list[bytearray] = []  # client → server bytes, per connection
        self._cut_request: Optional[re.Pattern[bytes]] = None
        self._cut_answer: Optional[re.Pattern[bytes]] = None
        self.cut_ids: list[str] = []
        self._server: Optional[asyncio.base_events.Server] = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "Proxy":
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut_request(self, pattern: bytes) -> None:
        """The next request whose bytes match `pattern` never reaches the server: the connection is cut instead."""
        self._cut_request = re.compile(pattern)

    def cut_answer(self, pattern: bytes) -> None:
        """The next request matching `pattern` reaches the server, but the connection is cut when the answer
        (server bytes carrying the matched id) comes back: the call succeeded and the client never hears of it."""
        self._cut_answer = re.compile(pattern)

    def ids_sent(self, pattern: bytes) -> list[list[str]]:
        """The matches of `pattern` in what the client sent, per connection."""
        return [[m.decode() for m in re.findall(pattern, bytes(b))] for b in self.sent]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        sent = bytearray()
        self.sent.append(sent)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            writer.close()
            return
        answer_id: list[Optional[bytes]] = [None]

        def cut() -> None:
            writer.transport.abort()
            up_writer.transport.abort()

        async def client_to_server() -> None:
            while data := await reader.read(65536):
                sent.extend(data)
                recent = bytes(sent[-(len(data) + 256):])  # an id split across two reads is still seen
                if self._cut_request and (m := self._cut_request.search(recent)):
                    self._cut_request = None
                    self.cut_ids.append(m.group(0).decode())
                    return cut()
                if self._cut_answer and (m := self._cut_answer.search(recent)):
                    self._cut_answer = None
                    answer_id[0] = m.group(0)
                up_writer.write(data)
                await up_writer.drain()
            up_writer.close()

        async def server_to_client() -> None:
            first = True
            while data := await up_reader.read(65536):
                if first and self.handshake_delay:
                    await asyncio.sleep(self.handshake_delay)  # the SETTINGS frame arrives late, as from a busy gateway
                first = False
                if answer_id[0] is not None and answer_id[0] in data:
                    self.cut_ids.append(answer_id[0].decode())
                    return cut()
                writer.write(data)
                await writer.drain()
            writer.close()

        tasks = [asyncio.ensure_future(client_to_server()), asyncio.ensure_future(server_to_client())]
        self._tasks.update(tasks)
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._tasks.difference_update(tasks)
            cut()
