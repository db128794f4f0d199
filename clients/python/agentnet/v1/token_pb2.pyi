import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RtcRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RTC_ROLE_UNSPECIFIED: _ClassVar[RtcRole]
    RTC_ROLE_PUBLISHER: _ClassVar[RtcRole]
    RTC_ROLE_SUBSCRIBER: _ClassVar[RtcRole]
RTC_ROLE_UNSPECIFIED: RtcRole
RTC_ROLE_PUBLISHER: RtcRole
RTC_ROLE_SUBSCRIBER: RtcRole

class GetConfigRequest(_message.Message):
    __slots__ = ("channel_name", "expires_in")
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    channel_name: str
    expires_in: int
    def __init__(self, channel_name: _Optional[str] = ..., expires_in: _Optional[int] = ...) -> None: ...

class GetConfigResponse(_message.Message):
    __slots__ = ("app_id", "token", "uid", "channel_name", "agent_uid", "expires_at")
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_UID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    app_id: str
    token: str
    uid: str
    channel_name: str
    agent_uid: str
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, app_id: _Optional[str] = ..., token: _Optional[str] = ..., uid: _Optional[str] = ..., channel_name: _Optional[str] = ..., agent_uid: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IssueRtcTokenRequest(_message.Message):
    __slots__ = ("channel_name", "uid", "account", "role", "expires_in", "with_rtm")
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    WITH_RTM_FIELD_NUMBER: _ClassVar[int]
    channel_name: str
    uid: int
    account: str
    role: RtcRole
    expires_in: int
    with_rtm: bool
    def __init__(self, channel_name: _Optional[str] = ..., uid: _Optional[int] = ..., account: _Optional[str] = ..., role: _Optional[_Union[RtcRole, str]] = ..., expires_in: _Optional[int] = ..., with_rtm: _Optional[bool] = ...) -> None: ...

class IssueRtcTokenResponse(_message.Message):
    __slots__ = ("token", "app_id", "channel_name", "uid", "role", "expires_in", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    app_id: str
    channel_name: str
    uid: str
    role: RtcRole
    expires_in: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., app_id: _Optional[str] = ..., channel_name: _Optional[str] = ..., uid: _Optional[str] = ..., role: _Optional[_Union[RtcRole, str]] = ..., expires_in: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IssueRtmTokenRequest(_message.Message):
    __slots__ = ("user_id", "expires_in")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    expires_in: int
    def __init__(self, user_id: _Optional[str] = ..., expires_in: _Optional[int] = ...) -> None: ...

class IssueRtmTokenResponse(_message.Message):
    __slots__ = ("token", "app_id", "user_id", "expires_in", "expires_at")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    APP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    token: str
    app_id: str
    user_id: str
    expires_in: int
    expires_at: _timestamp_pb2.Timestamp
    def __init__(self, token: _Optional[str] = ..., app_id: _Optional[str] = ..., user_id: _Optional[str] = ..., expires_in: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
