import datetime

from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VoiceAgentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOICE_AGENT_STATUS_UNSPECIFIED: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_IDLE: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_STARTING: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_RUNNING: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_STOPPING: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_STOPPED: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_RECOVERING: _ClassVar[VoiceAgentStatus]
    VOICE_AGENT_STATUS_FAILED: _ClassVar[VoiceAgentStatus]

class SpeakPriority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SPEAK_PRIORITY_UNSPECIFIED: _ClassVar[SpeakPriority]
    SPEAK_PRIORITY_INTERRUPT: _ClassVar[SpeakPriority]
    SPEAK_PRIORITY_APPEND: _ClassVar[SpeakPriority]
    SPEAK_PRIORITY_IGNORE: _ClassVar[SpeakPriority]
VOICE_AGENT_STATUS_UNSPECIFIED: VoiceAgentStatus
VOICE_AGENT_STATUS_IDLE: VoiceAgentStatus
VOICE_AGENT_STATUS_STARTING: VoiceAgentStatus
VOICE_AGENT_STATUS_RUNNING: VoiceAgentStatus
VOICE_AGENT_STATUS_STOPPING: VoiceAgentStatus
VOICE_AGENT_STATUS_STOPPED: VoiceAgentStatus
VOICE_AGENT_STATUS_RECOVERING: VoiceAgentStatus
VOICE_AGENT_STATUS_FAILED: VoiceAgentStatus
SPEAK_PRIORITY_UNSPECIFIED: SpeakPriority
SPEAK_PRIORITY_INTERRUPT: SpeakPriority
SPEAK_PRIORITY_APPEND: SpeakPriority
SPEAK_PRIORITY_IGNORE: SpeakPriority

class VoiceLlmConfig(_message.Message):
    __slots__ = ("url", "model", "api_key", "max_history", "params")
    URL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    MAX_HISTORY_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    url: str
    model: str
    api_key: str
    max_history: int
    params: _struct_pb2.Struct
    def __init__(self, url: _Optional[str] = ..., model: _Optional[str] = ..., api_key: _Optional[str] = ..., max_history: _Optional[int] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class VoiceTtsConfig(_message.Message):
    __slots__ = ("vendor", "model", "voice_id", "api_key", "params")
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    VOICE_ID_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    vendor: str
    model: str
    voice_id: str
    api_key: str
    params: _struct_pb2.Struct
    def __init__(self, vendor: _Optional[str] = ..., model: _Optional[str] = ..., voice_id: _Optional[str] = ..., api_key: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class VoiceAsrConfig(_message.Message):
    __slots__ = ("vendor", "model", "language", "api_key", "params")
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    vendor: str
    model: str
    language: str
    api_key: str
    params: _struct_pb2.Struct
    def __init__(self, vendor: _Optional[str] = ..., model: _Optional[str] = ..., language: _Optional[str] = ..., api_key: _Optional[str] = ..., params: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class StartVoiceAgentRequest(_message.Message):
    __slots__ = ("channel_name", "agent_uid", "remote_uids", "name", "instructions", "greeting", "llm", "tts", "asr", "idle_timeout_seconds", "max_duration_seconds", "enable_rtm")
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_UID_FIELD_NUMBER: _ClassVar[int]
    REMOTE_UIDS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    INSTRUCTIONS_FIELD_NUMBER: _ClassVar[int]
    GREETING_FIELD_NUMBER: _ClassVar[int]
    LLM_FIELD_NUMBER: _ClassVar[int]
    TTS_FIELD_NUMBER: _ClassVar[int]
    ASR_FIELD_NUMBER: _ClassVar[int]
    IDLE_TIMEOUT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    ENABLE_RTM_FIELD_NUMBER: _ClassVar[int]
    channel_name: str
    agent_uid: str
    remote_uids: _containers.RepeatedScalarFieldContainer[str]
    name: str
    instructions: str
    greeting: str
    llm: VoiceLlmConfig
    tts: VoiceTtsConfig
    asr: VoiceAsrConfig
    idle_timeout_seconds: int
    max_duration_seconds: int
    enable_rtm: bool
    def __init__(self, channel_name: _Optional[str] = ..., agent_uid: _Optional[str] = ..., remote_uids: _Optional[_Iterable[str]] = ..., name: _Optional[str] = ..., instructions: _Optional[str] = ..., greeting: _Optional[str] = ..., llm: _Optional[_Union[VoiceLlmConfig, _Mapping]] = ..., tts: _Optional[_Union[VoiceTtsConfig, _Mapping]] = ..., asr: _Optional[_Union[VoiceAsrConfig, _Mapping]] = ..., idle_timeout_seconds: _Optional[int] = ..., max_duration_seconds: _Optional[int] = ..., enable_rtm: _Optional[bool] = ...) -> None: ...

class StartVoiceAgentResponse(_message.Message):
    __slots__ = ("agent_id", "channel_name", "status", "agent")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    channel_name: str
    status: VoiceAgentStatus
    agent: VoiceAgent
    def __init__(self, agent_id: _Optional[str] = ..., channel_name: _Optional[str] = ..., status: _Optional[_Union[VoiceAgentStatus, str]] = ..., agent: _Optional[_Union[VoiceAgent, _Mapping]] = ...) -> None: ...

class StopVoiceAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class StopVoiceAgentResponse(_message.Message):
    __slots__ = ("agent_id", "status")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    status: VoiceAgentStatus
    def __init__(self, agent_id: _Optional[str] = ..., status: _Optional[_Union[VoiceAgentStatus, str]] = ...) -> None: ...

class GetVoiceAgentRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class GetVoiceAgentResponse(_message.Message):
    __slots__ = ("agent",)
    AGENT_FIELD_NUMBER: _ClassVar[int]
    agent: VoiceAgent
    def __init__(self, agent: _Optional[_Union[VoiceAgent, _Mapping]] = ...) -> None: ...

class ListVoiceAgentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "channel_name", "status", "all")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    channel_name: str
    status: VoiceAgentStatus
    all: bool
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., channel_name: _Optional[str] = ..., status: _Optional[_Union[VoiceAgentStatus, str]] = ..., all: _Optional[bool] = ...) -> None: ...

class ListVoiceAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[VoiceAgent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[VoiceAgent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SpeakRequest(_message.Message):
    __slots__ = ("agent_id", "text", "priority", "interruptable")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    INTERRUPTABLE_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    text: str
    priority: SpeakPriority
    interruptable: bool
    def __init__(self, agent_id: _Optional[str] = ..., text: _Optional[str] = ..., priority: _Optional[_Union[SpeakPriority, str]] = ..., interruptable: _Optional[bool] = ...) -> None: ...

class SpeakResponse(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class InterruptRequest(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class InterruptResponse(_message.Message):
    __slots__ = ("agent_id",)
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    def __init__(self, agent_id: _Optional[str] = ...) -> None: ...

class VoiceAgent(_message.Message):
    __slots__ = ("agent_id", "name", "channel_name", "agent_uid", "remote_uids", "status", "owner", "created_at", "stopped_at", "max_run_until", "llm_model", "tts_vendor", "asr_vendor", "last_error")
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAME_FIELD_NUMBER: _ClassVar[int]
    AGENT_UID_FIELD_NUMBER: _ClassVar[int]
    REMOTE_UIDS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    MAX_RUN_UNTIL_FIELD_NUMBER: _ClassVar[int]
    LLM_MODEL_FIELD_NUMBER: _ClassVar[int]
    TTS_VENDOR_FIELD_NUMBER: _ClassVar[int]
    ASR_VENDOR_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    agent_id: str
    name: str
    channel_name: str
    agent_uid: str
    remote_uids: _containers.RepeatedScalarFieldContainer[str]
    status: VoiceAgentStatus
    owner: str
    created_at: _timestamp_pb2.Timestamp
    stopped_at: _timestamp_pb2.Timestamp
    max_run_until: _timestamp_pb2.Timestamp
    llm_model: str
    tts_vendor: str
    asr_vendor: str
    last_error: str
    def __init__(self, agent_id: _Optional[str] = ..., name: _Optional[str] = ..., channel_name: _Optional[str] = ..., agent_uid: _Optional[str] = ..., remote_uids: _Optional[_Iterable[str]] = ..., status: _Optional[_Union[VoiceAgentStatus, str]] = ..., owner: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_run_until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., llm_model: _Optional[str] = ..., tts_vendor: _Optional[str] = ..., asr_vendor: _Optional[str] = ..., last_error: _Optional[str] = ...) -> None: ...
