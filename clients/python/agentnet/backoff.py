"""Reconnect and retry delays shared by the client's calls and streams."""
from __future__ import annotations

import random
from typing import Iterator


def backoff_delays(initial: float = 0.25, maximum: float = 10.0) -> Iterator[float]:
    """Exponential backoff with full jitter: many clients reconnecting after one restart spread out."""
    attempt = 0
    while True:
        yield random.uniform(0, min(maximum, initial * 2 ** attempt))
        attempt = min(attempt + 1, 30)
