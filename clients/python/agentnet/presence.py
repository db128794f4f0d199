"""Presence watching (RegistryService.WatchPresence): accounts coming online, changing and going offline, live."""
from __future__ import annotations

from contextlib import aclosing
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Optional, Sequence

from .reopening import reopening
from .v1 import registry_pb2

if TYPE_CHECKING:
    from .client import Client

PRESENCE_EVENT_TYPES: dict[int, str] = {
    registry_pb2.PRESENCE_EVENT_TYPE_ONLINE: "online",
    registry_pb2.PRESENCE_EVENT_TYPE_OFFLINE: "offline",
    registry_pb2.PRESENCE_EVENT_TYPE_UPDATED: "updated",
}


def presence_event_type_name(event_type: int) -> str:
    """"online", "offline" or "updated" ("" for an unknown value)."""
    return PRESENCE_EVENT_TYPES.get(event_type, "")


async def watch_presence(client: "Client", *, account_ids: Sequence[str] = (), capability: str = "",
                         include_snapshot: bool = False,
                         on_synced: Optional[Callable[[int], None]] = None) -> AsyncIterator[registry_pb2.PresenceEvent]:
    """Presence events until the caller stops iterating (break, or cancel the task). Presence has no cursor to
    resume from, so after a dropped stream the watch reopens with a snapshot: the accounts online then arrive again
    as snapshot entries (snapshot=True), and the caller's view is whole again (changes during the gap show up as
    that difference, not as events). `on_synced(online_count)` is called once, when the first stream is live."""
    synced, opened = False, False

    def open_call() -> Any:
        nonlocal opened
        req = registry_pb2.WatchPresenceRequest(account_ids=list(account_ids), capability=capability,
                                                include_snapshot=include_snapshot or opened)
        opened = True
        return client.registry.WatchPresence(req, metadata=client._metadata)

    async with aclosing(reopening(open_call)) as items:
        async for item in items:
            if item.HasField("synced") and not synced:
                synced = True
                if on_synced:
                    on_synced(item.synced.online_count)
            elif item.HasField("presence"):
                yield item.presence
