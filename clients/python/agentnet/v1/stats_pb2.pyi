import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatsScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STATS_SCOPE_UNSPECIFIED: _ClassVar[StatsScope]
    STATS_SCOPE_NETWORK: _ClassVar[StatsScope]
    STATS_SCOPE_OWN_ACCOUNTS: _ClassVar[StatsScope]
STATS_SCOPE_UNSPECIFIED: StatsScope
STATS_SCOPE_NETWORK: StatsScope
STATS_SCOPE_OWN_ACCOUNTS: StatsScope

class GetNetworkStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetNetworkStatsResponse(_message.Message):
    __slots__ = ("scope", "agents_online", "sessions_online", "messages_per_second", "rate_window_seconds", "messages_pending", "read_at")
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    AGENTS_ONLINE_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_ONLINE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    RATE_WINDOW_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_PENDING_FIELD_NUMBER: _ClassVar[int]
    READ_AT_FIELD_NUMBER: _ClassVar[int]
    scope: StatsScope
    agents_online: int
    sessions_online: int
    messages_per_second: float
    rate_window_seconds: float
    messages_pending: int
    read_at: _timestamp_pb2.Timestamp
    def __init__(self, scope: _Optional[_Union[StatsScope, str]] = ..., agents_online: _Optional[int] = ..., sessions_online: _Optional[int] = ..., messages_per_second: _Optional[float] = ..., rate_window_seconds: _Optional[float] = ..., messages_pending: _Optional[int] = ..., read_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
