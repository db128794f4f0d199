import datetime

from agentnet.v1 import common_pb2 as _common_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SessionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_TYPE_UNSPECIFIED: _ClassVar[SessionType]
    SESSION_TYPE_HUMAN_AGENT: _ClassVar[SessionType]
    SESSION_TYPE_AGENT_AGENT: _ClassVar[SessionType]

class SessionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_STATUS_UNSPECIFIED: _ClassVar[SessionStatus]
    SESSION_STATUS_INITIALIZING: _ClassVar[SessionStatus]
    SESSION_STATUS_ACTIVE: _ClassVar[SessionStatus]
    SESSION_STATUS_STOPPED: _ClassVar[SessionStatus]
    SESSION_STATUS_EXPIRED: _ClassVar[SessionStatus]

class SessionEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_EVENT_TYPE_UNSPECIFIED: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_TEXT: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_RESPONSE: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_DELTA: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_INFO: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_SYSTEM: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_ERROR: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_COOLDOWN: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_STOP: _ClassVar[SessionEventType]
    SESSION_EVENT_TYPE_PING: _ClassVar[SessionEventType]

class SessionRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SESSION_ROLE_UNSPECIFIED: _ClassVar[SessionRole]
    SESSION_ROLE_USER: _ClassVar[SessionRole]
    SESSION_ROLE_ASSISTANT: _ClassVar[SessionRole]
    SESSION_ROLE_SYSTEM: _ClassVar[SessionRole]

class ProviderKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PROVIDER_KIND_UNSPECIFIED: _ClassVar[ProviderKind]
    PROVIDER_KIND_ECHO: _ClassVar[ProviderKind]
    PROVIDER_KIND_OPENAI_COMPATIBLE: _ClassVar[ProviderKind]
    PROVIDER_KIND_ANTHROPIC: _ClassVar[ProviderKind]
SESSION_TYPE_UNSPECIFIED: SessionType
SESSION_TYPE_HUMAN_AGENT: SessionType
SESSION_TYPE_AGENT_AGENT: SessionType
SESSION_STATUS_UNSPECIFIED: SessionStatus
SESSION_STATUS_INITIALIZING: SessionStatus
SESSION_STATUS_ACTIVE: SessionStatus
SESSION_STATUS_STOPPED: SessionStatus
SESSION_STATUS_EXPIRED: SessionStatus
SESSION_EVENT_TYPE_UNSPECIFIED: SessionEventType
SESSION_EVENT_TYPE_TEXT: SessionEventType
SESSION_EVENT_TYPE_RESPONSE: SessionEventType
SESSION_EVENT_TYPE_DELTA: SessionEventType
SESSION_EVENT_TYPE_INFO: SessionEventType
SESSION_EVENT_TYPE_SYSTEM: SessionEventType
SESSION_EVENT_TYPE_ERROR: SessionEventType
SESSION_EVENT_TYPE_COOLDOWN: SessionEventType
SESSION_EVENT_TYPE_STOP: SessionEventType
SESSION_EVENT_TYPE_PING: SessionEventType
SESSION_ROLE_UNSPECIFIED: SessionRole
SESSION_ROLE_USER: SessionRole
SESSION_ROLE_ASSISTANT: SessionRole
SESSION_ROLE_SYSTEM: SessionRole
PROVIDER_KIND_UNSPECIFIED: ProviderKind
PROVIDER_KIND_ECHO: ProviderKind
PROVIDER_KIND_OPENAI_COMPATIBLE: ProviderKind
PROVIDER_KIND_ANTHROPIC: ProviderKind

class AgentConfig(_message.Message):
    __slots__ = ("provider", "model", "capabilities", "personality", "metadata", "temperature", "max_output_tokens")
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    TEMPERATURE_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    provider: str
    model: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    personality: str
    metadata: _struct_pb2.Struct
    temperature: float
    max_output_tokens: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., personality: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., temperature: _Optional[float] = ..., max_output_tokens: _Optional[int] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("session_type", "agents", "interaction_modes", "metadata", "max_turns", "goal", "opening_message", "first_speaker", "stop_word", "tokens_per_minute")
    class AgentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: AgentConfig
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[AgentConfig, _Mapping]] = ...) -> None: ...
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_MODES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MAX_TURNS_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    OPENING_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIRST_SPEAKER_FIELD_NUMBER: _ClassVar[int]
    STOP_WORD_FIELD_NUMBER: _ClassVar[int]
    TOKENS_PER_MINUTE_FIELD_NUMBER: _ClassVar[int]
    session_type: SessionType
    agents: _containers.MessageMap[str, AgentConfig]
    interaction_modes: _containers.RepeatedScalarFieldContainer[str]
    metadata: _struct_pb2.Struct
    max_turns: int
    goal: str
    opening_message: str
    first_speaker: str
    stop_word: str
    tokens_per_minute: int
    def __init__(self, session_type: _Optional[_Union[SessionType, str]] = ..., agents: _Optional[_Mapping[str, AgentConfig]] = ..., interaction_modes: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., max_turns: _Optional[int] = ..., goal: _Optional[str] = ..., opening_message: _Optional[str] = ..., first_speaker: _Optional[str] = ..., stop_word: _Optional[str] = ..., tokens_per_minute: _Optional[int] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: ChatSession
    def __init__(self, session: _Optional[_Union[ChatSession, _Mapping]] = ...) -> None: ...

class ChatSession(_message.Message):
    __slots__ = ("session_id", "session_type", "status", "created_at", "updated_at", "expires_at", "agents", "interaction_modes", "metadata", "max_turns", "turn_count", "goal", "thread_id", "owner", "last_seq", "stop_reason", "last_activity_at")
    class AgentsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: SessionAgent
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[SessionAgent, _Mapping]] = ...) -> None: ...
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    INTERACTION_MODES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MAX_TURNS_FIELD_NUMBER: _ClassVar[int]
    TURN_COUNT_FIELD_NUMBER: _ClassVar[int]
    GOAL_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    LAST_SEQ_FIELD_NUMBER: _ClassVar[int]
    STOP_REASON_FIELD_NUMBER: _ClassVar[int]
    LAST_ACTIVITY_AT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    session_type: SessionType
    status: SessionStatus
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    expires_at: _timestamp_pb2.Timestamp
    agents: _containers.MessageMap[str, SessionAgent]
    interaction_modes: _containers.RepeatedScalarFieldContainer[str]
    metadata: _struct_pb2.Struct
    max_turns: int
    turn_count: int
    goal: str
    thread_id: str
    owner: str
    last_seq: int
    stop_reason: str
    last_activity_at: _timestamp_pb2.Timestamp
    def __init__(self, session_id: _Optional[str] = ..., session_type: _Optional[_Union[SessionType, str]] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agents: _Optional[_Mapping[str, SessionAgent]] = ..., interaction_modes: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., max_turns: _Optional[int] = ..., turn_count: _Optional[int] = ..., goal: _Optional[str] = ..., thread_id: _Optional[str] = ..., owner: _Optional[str] = ..., last_seq: _Optional[int] = ..., stop_reason: _Optional[str] = ..., last_activity_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SessionAgent(_message.Message):
    __slots__ = ("name", "account_id", "username", "provider", "model", "capabilities", "personality", "status", "cooldown_until", "metadata", "message_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    PERSONALITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_UNTIL_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    account_id: str
    username: str
    provider: str
    model: str
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    personality: str
    status: _common_pb2.AgentState
    cooldown_until: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    message_count: int
    def __init__(self, name: _Optional[str] = ..., account_id: _Optional[str] = ..., username: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., capabilities: _Optional[_Iterable[str]] = ..., personality: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.AgentState, str]] = ..., cooldown_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., message_count: _Optional[int] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetSessionResponse(_message.Message):
    __slots__ = ("session",)
    SESSION_FIELD_NUMBER: _ClassVar[int]
    session: ChatSession
    def __init__(self, session: _Optional[_Union[ChatSession, _Mapping]] = ...) -> None: ...

class ListSessionsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "all", "status", "session_type")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SESSION_TYPE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    all: bool
    status: SessionStatus
    session_type: SessionType
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., all: _Optional[bool] = ..., status: _Optional[_Union[SessionStatus, str]] = ..., session_type: _Optional[_Union[SessionType, str]] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "next_page_token")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[ChatSession]
    next_page_token: str
    def __init__(self, sessions: _Optional[_Iterable[_Union[ChatSession, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class DeleteSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DeleteSessionResponse(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class SendSessionMessageRequest(_message.Message):
    __slots__ = ("session_id", "content", "as_agent", "to_agent", "metadata", "idempotency_key", "wait_for_response")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    AS_AGENT_FIELD_NUMBER: _ClassVar[int]
    TO_AGENT_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    content: str
    as_agent: str
    to_agent: str
    metadata: _struct_pb2.Struct
    idempotency_key: str
    wait_for_response: bool
    def __init__(self, session_id: _Optional[str] = ..., content: _Optional[str] = ..., as_agent: _Optional[str] = ..., to_agent: _Optional[str] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., wait_for_response: _Optional[bool] = ...) -> None: ...

class SendSessionMessageResponse(_message.Message):
    __slots__ = ("seq", "message_id", "timestamp", "response")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    seq: int
    message_id: str
    timestamp: _timestamp_pb2.Timestamp
    response: SessionEvent
    def __init__(self, seq: _Optional[int] = ..., message_id: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., response: _Optional[_Union[SessionEvent, _Mapping]] = ...) -> None: ...

class StreamSessionRequest(_message.Message):
    __slots__ = ("session_id", "after_seq")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_SEQ_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    after_seq: int
    def __init__(self, session_id: _Optional[str] = ..., after_seq: _Optional[int] = ...) -> None: ...

class StreamSessionResponse(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: SessionEvent
    def __init__(self, event: _Optional[_Union[SessionEvent, _Mapping]] = ...) -> None: ...

class SessionEvent(_message.Message):
    __slots__ = ("seq", "type", "content", "sender", "receiver", "timestamp", "metadata", "session_id", "role", "response_id", "turn", "cooldown_until", "reason", "message_id")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_ID_FIELD_NUMBER: _ClassVar[int]
    TURN_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_UNTIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    seq: int
    type: SessionEventType
    content: str
    sender: str
    receiver: str
    timestamp: _timestamp_pb2.Timestamp
    metadata: _struct_pb2.Struct
    session_id: str
    role: SessionRole
    response_id: str
    turn: int
    cooldown_until: _timestamp_pb2.Timestamp
    reason: str
    message_id: str
    def __init__(self, seq: _Optional[int] = ..., type: _Optional[_Union[SessionEventType, str]] = ..., content: _Optional[str] = ..., sender: _Optional[str] = ..., receiver: _Optional[str] = ..., timestamp: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., session_id: _Optional[str] = ..., role: _Optional[_Union[SessionRole, str]] = ..., response_id: _Optional[str] = ..., turn: _Optional[int] = ..., cooldown_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reason: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class ListProvidersRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListProvidersResponse(_message.Message):
    __slots__ = ("providers", "next_page_token")
    PROVIDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    providers: _containers.RepeatedCompositeFieldContainer[ProviderInfo]
    next_page_token: str
    def __init__(self, providers: _Optional[_Iterable[_Union[ProviderInfo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ProviderInfo(_message.Message):
    __slots__ = ("name", "kind", "configured", "default_model", "models")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_MODEL_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: ProviderKind
    configured: bool
    default_model: str
    models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[_Union[ProviderKind, str]] = ..., configured: _Optional[bool] = ..., default_model: _Optional[str] = ..., models: _Optional[_Iterable[str]] = ...) -> None: ...
