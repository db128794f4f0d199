"""A gRPC-level proxy for unary calls (grpc.aio server, bytes passed through unchanged, the caller's authorization
forwarded), with per-method hooks that may change an answer, fail a call after forwarding it, or refuse it: how
the tests make a gateway that lacks SendBatch, or one whose answers get lost, out of the real one."""
from __future__ import annotations

from typing import Awaitable, Callable, Optional

import grpc

# hook(request_bytes, forward, context) -> response bytes; forward(request_bytes=None) calls the gateway.
Hook = Callable[[bytes, Callable[..., Awaitable[bytes]], grpc.aio.ServicerContext], Awaitable[bytes]]


class GrpcProxy:
    def __init__(self, upstream: str, hooks: Optional[dict[str, Hook]] = None) -> None:
        self.upstream = upstream
        self.hooks = dict(hooks or {})
        self.calls: list[tuple[str, bytes]] = []  # (method name, request bytes), in arrival order
        self.url = ""

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    async def start(self) -> "GrpcProxy":
        self._channel = grpc.aio.insecure_channel(self.upstream)
        self._server = grpc.aio.server()
        self._server.add_generic_rpc_handlers([_Handler(self)])
        port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        await self._server.stop(0)
        await self._channel.close()

    async def _unary(self, method: str, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        name = method.rsplit("/", 1)[-1]
        self.calls.append((name, request))
        metadata = tuple((k, v) for k, v in context.invocation_metadata() or () if k == "authorization")

        async def forward(body: Optional[bytes] = None) -> bytes:
            return await self._channel.unary_unary(method)(request if body is None else body, metadata=metadata)

        hook = self.hooks.get(name)
        try:
            return await (hook(request, forward, context) if hook else forward())
        except grpc.aio.AioRpcError as e:
            await context.abort(e.code(), e.details() or "", tuple(e.trailing_metadata() or ()))
            raise AssertionError("unreachable")


class _Handler(grpc.GenericRpcHandler):
    def __init__(self, proxy: GrpcProxy) -> None:
        self.proxy = proxy

    def service(self, handler_call_details):  # type: ignore[override]
        method = handler_call_details.method

        async def behaviour(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return await self.proxy._unary(method, request, context)

        return grpc.unary_unary_rpc_method_handler(behaviour)
