import datetime

from agentnet.v1 import common_pb2 as _common_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PresenceEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRESENCE_EVENT_TYPE_UNSPECIFIED: _ClassVar[PresenceEventType]
    PRESENCE_EVENT_TYPE_ONLINE: _ClassVar[PresenceEventType]
    PRESENCE_EVENT_TYPE_OFFLINE: _ClassVar[PresenceEventType]
    PRESENCE_EVENT_TYPE_UPDATED: _ClassVar[PresenceEventType]

class AgentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_TYPE_UNSPECIFIED: _ClassVar[AgentType]
    AGENT_TYPE_EXTERNAL: _ClassVar[AgentType]
    AGENT_TYPE_HOSTED: _ClassVar[AgentType]
PRESENCE_EVENT_TYPE_UNSPECIFIED: PresenceEventType
PRESENCE_EVENT_TYPE_ONLINE: PresenceEventType
PRESENCE_EVENT_TYPE_OFFLINE: PresenceEventType
PRESENCE_EVENT_TYPE_UPDATED: PresenceEventType
AGENT_TYPE_UNSPECIFIED: AgentType
AGENT_TYPE_EXTERNAL: AgentType
AGENT_TYPE_HOSTED: AgentType

class RegisterRequest(_message.Message):
    __slots__ = ("agent_id", "display_name", "username", "capabilities", "metadata", "bio", "visibility", "public_key", "session_metadata")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    BIO_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SESSION_METADATA_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    display_name: str
    username: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    metadata: _struct_pb2.Struct
    bio: str
    visibility: _common_pb2.Visibility
    public_key: bytes
    session_metadata: _struct_pb2.Struct
    def __init__(self, agent_id: _Optional[str] = ..., display_name: _Optional[str] = ..., username: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., bio: _Optional[str] = ..., visibility: _Optional[_Union[_common_pb2.Visibility, str]] = ..., public_key: _Optional[bytes] = ..., session_metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("account_id", "username", "session_tag", "heartbeat_interval", "ttl_seconds", "profile", "created")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    session_tag: str
    heartbeat_interval: float
    ttl_seconds: float
    profile: _common_pb2.Profile
    created: bool
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ..., session_tag: _Optional[str] = ..., heartbeat_interval: _Optional[float] = ..., ttl_seconds: _Optional[float] = ..., profile: _Optional[_Union[_common_pb2.Profile, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("session_tag",)
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    session_tag: str
    def __init__(self, session_tag: _Optional[str] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("account_id", "session_tag", "expires_at", "heartbeat_interval")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_tag: str
    expires_at: _timestamp_pb2.Timestamp
    heartbeat_interval: float
    def __init__(self, account_id: _Optional[str] = ..., session_tag: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., heartbeat_interval: _Optional[float] = ...) -> None: ...

class DeregisterRequest(_message.Message):
    __slots__ = ("session_tag",)
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    session_tag: str
    def __init__(self, session_tag: _Optional[str] = ...) -> None: ...

class DeregisterResponse(_message.Message):
    __slots__ = ("account_online",)
    ACCOUNT_ONLINE_FIELD_NUMBER: _ClassVar[int]
    account_online: bool
    def __init__(self, account_online: _Optional[bool] = ...) -> None: ...

class ListOnlineRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "capability")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    capability: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., capability: _Optional[str] = ...) -> None: ...

class ListOnlineResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[_common_pb2.Profile]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[_common_pb2.Profile, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchAgentsRequest(_message.Message):
    __slots__ = ("query", "capability", "online_only", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    ONLINE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    capability: str
    online_only: bool
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., capability: _Optional[str] = ..., online_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[_common_pb2.Profile]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[_common_pb2.Profile, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("account_id", "username")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class GetProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.Profile
    def __init__(self, profile: _Optional[_Union[_common_pb2.Profile, _Mapping]] = ...) -> None: ...

class UpdateProfileRequest(_message.Message):
    __slots__ = ("account_id", "display_name", "bio", "capabilities", "metadata", "visibility", "public_key", "update_mask")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    BIO_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    VISIBILITY_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    display_name: str
    bio: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    metadata: _struct_pb2.Struct
    visibility: _common_pb2.Visibility
    public_key: bytes
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, account_id: _Optional[str] = ..., display_name: _Optional[str] = ..., bio: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., visibility: _Optional[_Union[_common_pb2.Visibility, str]] = ..., public_key: _Optional[bytes] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateProfileResponse(_message.Message):
    __slots__ = ("profile",)
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _common_pb2.Profile
    def __init__(self, profile: _Optional[_Union[_common_pb2.Profile, _Mapping]] = ...) -> None: ...

class ResolveAccountRequest(_message.Message):
    __slots__ = ("username",)
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    username: str
    def __init__(self, username: _Optional[str] = ...) -> None: ...

class ResolveAccountResponse(_message.Message):
    __slots__ = ("account_id", "username")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class GetAgentStatusRequest(_message.Message):
    __slots__ = ("account_id", "username")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class GetAgentStatusResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: AgentStatus
    def __init__(self, agent: _Optional[_Union[AgentStatus, _Mapping]] = ...) -> None: ...

class ListAgentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "owned_only", "state", "agent_type")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    OWNED_ONLY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    owned_only: bool
    state: _common_pb2.AgentState
    agent_type: AgentType
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., owned_only: _Optional[bool] = ..., state: _Optional[_Union[_common_pb2.AgentState, str]] = ..., agent_type: _Optional[_Union[AgentType, str]] = ...) -> None: ...

class ListAgentsResponse(_message.Message):
    __slots__ = ("agents", "timestamp", "total_count", "user_owned_count", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    USER_OWNED_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[AgentStatus]
    timestamp: _timestamp_pb2.Timestamp
    total_count: int
    user_owned_count: int
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[AgentStatus, _Mapping]]] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., total_count: _Optional[int] = ..., user_owned_count: _Optional[int] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WatchPresenceRequest(_message.Message):
    __slots__ = ("account_ids", "capability", "include_snapshot")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    capability: str
    include_snapshot: bool
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., capability: _Optional[str] = ..., include_snapshot: _Optional[bool] = ...) -> None: ...

class WatchPresenceResponse(_message.Message):
    __slots__ = ("presence", "synced", "keepalive")
    PRESENCE_FIELD_NUMBER: _ClassVar[int]
    SYNCED_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_FIELD_NUMBER: _ClassVar[int]
    presence: PresenceEvent
    synced: PresenceSynced
    keepalive: _common_pb2.Keepalive
    def __init__(self, presence: _Optional[_Union[PresenceEvent, _Mapping]] = ..., synced: _Optional[_Union[PresenceSynced, _Mapping]] = ..., keepalive: _Optional[_Union[_common_pb2.Keepalive, _Mapping]] = ...) -> None: ...

class PresenceEvent(_message.Message):
    __slots__ = ("type", "account", "session", "event_at", "reason", "snapshot")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    EVENT_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    type: PresenceEventType
    account: _common_pb2.Profile
    session: _common_pb2.PresenceSession
    event_at: _timestamp_pb2.Timestamp
    reason: str
    snapshot: bool
    def __init__(self, type: _Optional[_Union[PresenceEventType, str]] = ..., account: _Optional[_Union[_common_pb2.Profile, _Mapping]] = ..., session: _Optional[_Union[_common_pb2.PresenceSession, _Mapping]] = ..., event_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., snapshot: _Optional[bool] = ...) -> None: ...

class PresenceSynced(_message.Message):
    __slots__ = ("online_count",)
    ONLINE_COUNT_FIELD_NUMBER: _ClassVar[int]
    online_count: int
    def __init__(self, online_count: _Optional[int] = ...) -> None: ...

class AgentStatus(_message.Message):
    __slots__ = ("account_id", "username", "agent_id", "agent_type", "name", "status", "last_active", "capabilities", "interaction_modes", "owner_id", "owner", "is_running", "message_count", "metadata", "extra")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_MODES_FIELD_NUMBER: _ClassVar[int]
    OWNER_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    IS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    EXTRA_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    agent_id: str
    agent_type: AgentType
    name: str
    status: _common_pb2.AgentState
    last_active: _timestamp_pb2.Timestamp
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    interaction_modes: _containers.RepeatedScalarFieldContainer[str]
    owner_id: str
    owner: str
    is_running: bool
    message_count: int
    metadata: AgentStatusMetadata
    extra: _struct_pb2.Struct
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ..., agent_id: _Optional[str] = ..., agent_type: _Optional[_Union[AgentType, str]] = ..., name: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.AgentState, str]] = ..., last_active: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., capabilities: _Optional[_Iterable[str]] = ..., interaction_modes: _Optional[_Iterable[str]] = ..., owner_id: _Optional[str] = ..., owner: _Optional[str] = ..., is_running: _Optional[bool] = ..., message_count: _Optional[int] = ..., metadata: _Optional[_Union[AgentStatusMetadata, _Mapping]] = ..., extra: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AgentStatusMetadata(_message.Message):
    __slots__ = ("provider", "model", "cooldown_until", "active_conversations")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_UNTIL_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    cooldown_until: _timestamp_pb2.Timestamp
    active_conversations: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., cooldown_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active_conversations: _Optional[int] = ...) -> None: ...
