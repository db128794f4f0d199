"""Helpers shared by the test files."""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Union


async def until(check: Callable[[], Union[bool, Awaitable[bool]]], timeout: float = 30.0, what: str = "condition") -> None:
    """Polls `check` (sync or async) until true; AssertionError naming `what` after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.025)
