"""The loop under every long-lived server stream of the client (receipts, presence, chat events)."""
from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, Callable

import grpc

from .backoff import backoff_delays
from .errors import from_rpc_error, is_retryable


async def reopening(open_call: Callable[[], Any]) -> AsyncGenerator[Any, None]:
    """Items of the stream `open_call()` starts; a stream that ends or fails transiently is opened again after a
    jittered backoff (reset by every item). `open_call` runs again for each attempt, so it can resume from what the
    caller saw. A refusal is raised as its typed error. Iterate it under `contextlib.aclosing`, so stopping early
    cancels the call at once."""
    delays = backoff_delays()
    while True:
        call = open_call()
        try:
            async for item in call:
                delays = backoff_delays()
                yield item
        except grpc.aio.AioRpcError as e:
            err = from_rpc_error(e)
            if not is_retryable(err):
                raise err from None
        finally:
            call.cancel()
        await asyncio.sleep(next(delays))
