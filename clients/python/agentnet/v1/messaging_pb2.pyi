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

class MessageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_KIND_UNSPECIFIED: _ClassVar[MessageKind]
    MESSAGE_KIND_DIRECT: _ClassVar[MessageKind]
    MESSAGE_KIND_REQUEST: _ClassVar[MessageKind]
    MESSAGE_KIND_REPLY: _ClassVar[MessageKind]
    MESSAGE_KIND_ERROR: _ClassVar[MessageKind]
    MESSAGE_KIND_SYSTEM: _ClassVar[MessageKind]
    MESSAGE_KIND_STREAM: _ClassVar[MessageKind]

class DeliveryStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_STATUS_UNSPECIFIED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_ACCEPTED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_DELIVERED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_PROCESSED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_REJECTED: _ClassVar[DeliveryStatus]
    DELIVERY_STATUS_EXPIRED: _ClassVar[DeliveryStatus]

class WaitFor(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WAIT_FOR_UNSPECIFIED: _ClassVar[WaitFor]
    WAIT_FOR_DELIVERED: _ClassVar[WaitFor]
    WAIT_FOR_PROCESSED: _ClassVar[WaitFor]

class SubscribeMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSCRIBE_MODE_UNSPECIFIED: _ClassVar[SubscribeMode]
    SUBSCRIBE_MODE_CONSUME: _ClassVar[SubscribeMode]
    SUBSCRIBE_MODE_OBSERVE: _ClassVar[SubscribeMode]

class AckOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACK_OUTCOME_UNSPECIFIED: _ClassVar[AckOutcome]
    ACK_OUTCOME_PROCESSED: _ClassVar[AckOutcome]
    ACK_OUTCOME_REJECTED: _ClassVar[AckOutcome]
MESSAGE_KIND_UNSPECIFIED: MessageKind
MESSAGE_KIND_DIRECT: MessageKind
MESSAGE_KIND_REQUEST: MessageKind
MESSAGE_KIND_REPLY: MessageKind
MESSAGE_KIND_ERROR: MessageKind
MESSAGE_KIND_SYSTEM: MessageKind
MESSAGE_KIND_STREAM: MessageKind
DELIVERY_STATUS_UNSPECIFIED: DeliveryStatus
DELIVERY_STATUS_ACCEPTED: DeliveryStatus
DELIVERY_STATUS_DELIVERED: DeliveryStatus
DELIVERY_STATUS_PROCESSED: DeliveryStatus
DELIVERY_STATUS_REJECTED: DeliveryStatus
DELIVERY_STATUS_EXPIRED: DeliveryStatus
WAIT_FOR_UNSPECIFIED: WaitFor
WAIT_FOR_DELIVERED: WaitFor
WAIT_FOR_PROCESSED: WaitFor
SUBSCRIBE_MODE_UNSPECIFIED: SubscribeMode
SUBSCRIBE_MODE_CONSUME: SubscribeMode
SUBSCRIBE_MODE_OBSERVE: SubscribeMode
ACK_OUTCOME_UNSPECIFIED: AckOutcome
ACK_OUTCOME_PROCESSED: AckOutcome
ACK_OUTCOME_REJECTED: AckOutcome

class Recipient(_message.Message):
    __slots__ = ("account_id", "username", "capability")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    capability: str
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ..., capability: _Optional[str] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("scheme", "public_key", "signature")
    SCHEME_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    scheme: str
    public_key: bytes
    signature: bytes
    def __init__(self, scheme: _Optional[str] = ..., public_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class BlobInfo(_message.Message):
    __slots__ = ("blob_id", "sha256", "size_bytes", "mime_type", "filename", "owner_account_id", "created_at")
    BLOB_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    blob_id: str
    sha256: str
    size_bytes: int
    mime_type: str
    filename: str
    owner_account_id: str
    created_at: _timestamp_pb2.Timestamp
    def __init__(self, blob_id: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., mime_type: _Optional[str] = ..., filename: _Optional[str] = ..., owner_account_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Envelope(_message.Message):
    __slots__ = ("message_id", "thread_id", "parent_message_id", "trace_id", "kind", "from_account_id", "from_username", "from_agent_id", "from_session_tag", "to", "to_account_id", "to_username", "payload", "payload_bytes", "sent_at", "ttl_ms", "expires_at", "schema_version", "idempotency_key", "signature", "blobs", "delivery_attempt", "status", "traceparent")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    FROM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_USERNAME_FIELD_NUMBER: _ClassVar[int]
    FROM_AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_USERNAME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_BYTES_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BLOBS_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    thread_id: str
    parent_message_id: str
    trace_id: str
    kind: MessageKind
    from_account_id: str
    from_username: str
    from_agent_id: str
    from_session_tag: str
    to: Recipient
    to_account_id: str
    to_username: str
    payload: _struct_pb2.Struct
    payload_bytes: int
    sent_at: _timestamp_pb2.Timestamp
    ttl_ms: int
    expires_at: _timestamp_pb2.Timestamp
    schema_version: str
    idempotency_key: str
    signature: Signature
    blobs: _containers.RepeatedCompositeFieldContainer[BlobInfo]
    delivery_attempt: int
    status: DeliveryStatus
    traceparent: str
    def __init__(self, message_id: _Optional[str] = ..., thread_id: _Optional[str] = ..., parent_message_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., from_account_id: _Optional[str] = ..., from_username: _Optional[str] = ..., from_agent_id: _Optional[str] = ..., from_session_tag: _Optional[str] = ..., to: _Optional[_Union[Recipient, _Mapping]] = ..., to_account_id: _Optional[str] = ..., to_username: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., payload_bytes: _Optional[int] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ttl_ms: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., schema_version: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., blobs: _Optional[_Iterable[_Union[BlobInfo, _Mapping]]] = ..., delivery_attempt: _Optional[int] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., traceparent: _Optional[str] = ...) -> None: ...

class SendRequest(_message.Message):
    __slots__ = ("to", "payload", "kind", "thread_id", "parent_message_id", "trace_id", "idempotency_key", "ttl_ms", "expires_at", "schema_version", "signature", "blob_ids", "wait_for", "wait_timeout_ms", "as_account_id", "session_tag", "message_id", "traceparent")
    TO_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    WAIT_FOR_FIELD_NUMBER: _ClassVar[int]
    WAIT_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    AS_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    to: Recipient
    payload: _struct_pb2.Struct
    kind: MessageKind
    thread_id: str
    parent_message_id: str
    trace_id: str
    idempotency_key: str
    ttl_ms: int
    expires_at: _timestamp_pb2.Timestamp
    schema_version: str
    signature: Signature
    blob_ids: _containers.RepeatedScalarFieldContainer[str]
    wait_for: WaitFor
    wait_timeout_ms: int
    as_account_id: str
    session_tag: str
    message_id: str
    traceparent: str
    def __init__(self, to: _Optional[_Union[Recipient, _Mapping]] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., thread_id: _Optional[str] = ..., parent_message_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., ttl_ms: _Optional[int] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., schema_version: _Optional[str] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., blob_ids: _Optional[_Iterable[str]] = ..., wait_for: _Optional[_Union[WaitFor, str]] = ..., wait_timeout_ms: _Optional[int] = ..., as_account_id: _Optional[str] = ..., session_tag: _Optional[str] = ..., message_id: _Optional[str] = ..., traceparent: _Optional[str] = ...) -> None: ...

class SendResponse(_message.Message):
    __slots__ = ("message_id", "thread_id", "trace_id", "status", "to_account_id", "expires_at", "duplicate", "wait_timed_out", "receipt")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    WAIT_TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    thread_id: str
    trace_id: str
    status: DeliveryStatus
    to_account_id: str
    expires_at: _timestamp_pb2.Timestamp
    duplicate: bool
    wait_timed_out: bool
    receipt: Receipt
    def __init__(self, message_id: _Optional[str] = ..., thread_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., to_account_id: _Optional[str] = ..., expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., duplicate: _Optional[bool] = ..., wait_timed_out: _Optional[bool] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ...) -> None: ...

class SendBatchRequest(_message.Message):
    __slots__ = ("messages",)
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[SendRequest]
    def __init__(self, messages: _Optional[_Iterable[_Union[SendRequest, _Mapping]]] = ...) -> None: ...

class SendBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SendBatchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SendBatchResult, _Mapping]]] = ...) -> None: ...

class SendBatchResult(_message.Message):
    __slots__ = ("sent", "error")
    SENT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    sent: SendResponse
    error: SendError
    def __init__(self, sent: _Optional[_Union[SendResponse, _Mapping]] = ..., error: _Optional[_Union[SendError, _Mapping]] = ...) -> None: ...

class SendError(_message.Message):
    __slots__ = ("code", "reason", "message", "field", "retry_after_ms", "metadata")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_MS_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    code: str
    reason: str
    message: str
    field: str
    retry_after_ms: int
    metadata: _containers.ScalarMap[str, str]
    def __init__(self, code: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., field: _Optional[str] = ..., retry_after_ms: _Optional[int] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class RequestRequest(_message.Message):
    __slots__ = ("to", "payload", "thread_id", "parent_message_id", "trace_id", "idempotency_key", "ttl_ms", "schema_version", "signature", "blob_ids", "timeout_ms", "as_account_id", "session_tag", "message_id")
    TO_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    AS_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    to: Recipient
    payload: _struct_pb2.Struct
    thread_id: str
    parent_message_id: str
    trace_id: str
    idempotency_key: str
    ttl_ms: int
    schema_version: str
    signature: Signature
    blob_ids: _containers.RepeatedScalarFieldContainer[str]
    timeout_ms: int
    as_account_id: str
    session_tag: str
    message_id: str
    def __init__(self, to: _Optional[_Union[Recipient, _Mapping]] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., thread_id: _Optional[str] = ..., parent_message_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., ttl_ms: _Optional[int] = ..., schema_version: _Optional[str] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., blob_ids: _Optional[_Iterable[str]] = ..., timeout_ms: _Optional[int] = ..., as_account_id: _Optional[str] = ..., session_tag: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class RequestResponse(_message.Message):
    __slots__ = ("request_message_id", "thread_id", "reply")
    REQUEST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    request_message_id: str
    thread_id: str
    reply: Envelope
    def __init__(self, request_message_id: _Optional[str] = ..., thread_id: _Optional[str] = ..., reply: _Optional[_Union[Envelope, _Mapping]] = ...) -> None: ...

class ReplyRequest(_message.Message):
    __slots__ = ("request_message_id", "payload", "kind", "idempotency_key", "ttl_ms", "schema_version", "signature", "blob_ids", "session_tag", "message_id")
    REQUEST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    TTL_MS_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    BLOB_IDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    request_message_id: str
    payload: _struct_pb2.Struct
    kind: MessageKind
    idempotency_key: str
    ttl_ms: int
    schema_version: str
    signature: Signature
    blob_ids: _containers.RepeatedScalarFieldContainer[str]
    session_tag: str
    message_id: str
    def __init__(self, request_message_id: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., idempotency_key: _Optional[str] = ..., ttl_ms: _Optional[int] = ..., schema_version: _Optional[str] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ..., blob_ids: _Optional[_Iterable[str]] = ..., session_tag: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class ReplyResponse(_message.Message):
    __slots__ = ("message_id", "thread_id", "trace_id", "status")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    thread_id: str
    trace_id: str
    status: DeliveryStatus
    def __init__(self, message_id: _Optional[str] = ..., thread_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ...) -> None: ...

class SubscribeRequest(_message.Message):
    __slots__ = ("as_account_id", "session_tag", "mode", "account_ids", "max_in_flight")
    AS_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    MAX_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    as_account_id: str
    session_tag: str
    mode: SubscribeMode
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    max_in_flight: int
    def __init__(self, as_account_id: _Optional[str] = ..., session_tag: _Optional[str] = ..., mode: _Optional[_Union[SubscribeMode, str]] = ..., account_ids: _Optional[_Iterable[str]] = ..., max_in_flight: _Optional[int] = ...) -> None: ...

class SubscribeResponse(_message.Message):
    __slots__ = ("message", "started", "keepalive")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STARTED_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_FIELD_NUMBER: _ClassVar[int]
    message: Envelope
    started: SubscribeStarted
    keepalive: _common_pb2.Keepalive
    def __init__(self, message: _Optional[_Union[Envelope, _Mapping]] = ..., started: _Optional[_Union[SubscribeStarted, _Mapping]] = ..., keepalive: _Optional[_Union[_common_pb2.Keepalive, _Mapping]] = ...) -> None: ...

class SubscribeStarted(_message.Message):
    __slots__ = ("account_id", "session_tag", "mode", "pending_count")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    PENDING_COUNT_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    session_tag: str
    mode: SubscribeMode
    pending_count: int
    def __init__(self, account_id: _Optional[str] = ..., session_tag: _Optional[str] = ..., mode: _Optional[_Union[SubscribeMode, str]] = ..., pending_count: _Optional[int] = ...) -> None: ...

class AckRequest(_message.Message):
    __slots__ = ("acks", "session_tag")
    ACKS_FIELD_NUMBER: _ClassVar[int]
    SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    acks: _containers.RepeatedCompositeFieldContainer[AckItem]
    session_tag: str
    def __init__(self, acks: _Optional[_Iterable[_Union[AckItem, _Mapping]]] = ..., session_tag: _Optional[str] = ...) -> None: ...

class AckItem(_message.Message):
    __slots__ = ("message_id", "outcome", "code", "detail", "traceparent")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    outcome: AckOutcome
    code: str
    detail: str
    traceparent: str
    def __init__(self, message_id: _Optional[str] = ..., outcome: _Optional[_Union[AckOutcome, str]] = ..., code: _Optional[str] = ..., detail: _Optional[str] = ..., traceparent: _Optional[str] = ...) -> None: ...

class AckResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[AckResult]
    def __init__(self, results: _Optional[_Iterable[_Union[AckResult, _Mapping]]] = ...) -> None: ...

class AckResult(_message.Message):
    __slots__ = ("message_id", "ok", "status", "error")
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    message_id: str
    ok: bool
    status: DeliveryStatus
    error: str
    def __init__(self, message_id: _Optional[str] = ..., ok: _Optional[bool] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., error: _Optional[str] = ...) -> None: ...

class WatchReceiptsRequest(_message.Message):
    __slots__ = ("account_ids", "after_cursor", "since", "message_ids")
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_IDS_FIELD_NUMBER: _ClassVar[int]
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    after_cursor: str
    since: _timestamp_pb2.Timestamp
    message_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, account_ids: _Optional[_Iterable[str]] = ..., after_cursor: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class WatchReceiptsResponse(_message.Message):
    __slots__ = ("receipt", "keepalive", "synced")
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    KEEPALIVE_FIELD_NUMBER: _ClassVar[int]
    SYNCED_FIELD_NUMBER: _ClassVar[int]
    receipt: Receipt
    keepalive: _common_pb2.Keepalive
    synced: ReceiptsSynced
    def __init__(self, receipt: _Optional[_Union[Receipt, _Mapping]] = ..., keepalive: _Optional[_Union[_common_pb2.Keepalive, _Mapping]] = ..., synced: _Optional[_Union[ReceiptsSynced, _Mapping]] = ...) -> None: ...

class ReceiptsSynced(_message.Message):
    __slots__ = ("replayed_count",)
    REPLAYED_COUNT_FIELD_NUMBER: _ClassVar[int]
    replayed_count: int
    def __init__(self, replayed_count: _Optional[int] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("cursor", "message_id", "status", "event_at", "sender_account_id", "recipient_account_id", "recipient_session_tag", "thread_id", "trace_id", "code", "detail", "delivery_attempt")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    EVENT_AT_FIELD_NUMBER: _ClassVar[int]
    SENDER_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_SESSION_TAG_FIELD_NUMBER: _ClassVar[int]
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    DELIVERY_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    message_id: str
    status: DeliveryStatus
    event_at: _timestamp_pb2.Timestamp
    sender_account_id: str
    recipient_account_id: str
    recipient_session_tag: str
    thread_id: str
    trace_id: str
    code: str
    detail: str
    delivery_attempt: int
    def __init__(self, cursor: _Optional[str] = ..., message_id: _Optional[str] = ..., status: _Optional[_Union[DeliveryStatus, str]] = ..., event_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., sender_account_id: _Optional[str] = ..., recipient_account_id: _Optional[str] = ..., recipient_session_tag: _Optional[str] = ..., thread_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., code: _Optional[str] = ..., detail: _Optional[str] = ..., delivery_attempt: _Optional[int] = ...) -> None: ...

class ListThreadsRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "participant_account_id", "participant_username", "query")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANT_USERNAME_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    participant_account_id: str
    participant_username: str
    query: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., participant_account_id: _Optional[str] = ..., participant_username: _Optional[str] = ..., query: _Optional[str] = ...) -> None: ...

class ListThreadsResponse(_message.Message):
    __slots__ = ("threads", "next_page_token")
    THREADS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    threads: _containers.RepeatedCompositeFieldContainer[ThreadSummary]
    next_page_token: str
    def __init__(self, threads: _Optional[_Iterable[_Union[ThreadSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class Participant(_message.Message):
    __slots__ = ("account_id", "username")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    username: str
    def __init__(self, account_id: _Optional[str] = ..., username: _Optional[str] = ...) -> None: ...

class ThreadSummary(_message.Message):
    __slots__ = ("thread_id", "participants", "message_count", "byte_count", "approx_tokens", "created_at", "last_message_at", "last_message_id", "chat_session_id")
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    BYTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    APPROX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    CHAT_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    thread_id: str
    participants: _containers.RepeatedCompositeFieldContainer[Participant]
    message_count: int
    byte_count: int
    approx_tokens: int
    created_at: _timestamp_pb2.Timestamp
    last_message_at: _timestamp_pb2.Timestamp
    last_message_id: str
    chat_session_id: str
    def __init__(self, thread_id: _Optional[str] = ..., participants: _Optional[_Iterable[_Union[Participant, _Mapping]]] = ..., message_count: _Optional[int] = ..., byte_count: _Optional[int] = ..., approx_tokens: _Optional[int] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_message_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_message_id: _Optional[str] = ..., chat_session_id: _Optional[str] = ...) -> None: ...

class GetThreadMessagesRequest(_message.Message):
    __slots__ = ("thread_id", "page_size", "page_token")
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    thread_id: str
    page_size: int
    page_token: str
    def __init__(self, thread_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetThreadMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Envelope]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Envelope, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class SearchMessagesRequest(_message.Message):
    __slots__ = ("thread_id", "from_account_id", "from_username", "to_account_id", "to_username", "kind", "since", "until", "trace_id", "page_size", "page_token")
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_USERNAME_FIELD_NUMBER: _ClassVar[int]
    TO_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_USERNAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    thread_id: str
    from_account_id: str
    from_username: str
    to_account_id: str
    to_username: str
    kind: MessageKind
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    trace_id: str
    page_size: int
    page_token: str
    def __init__(self, thread_id: _Optional[str] = ..., from_account_id: _Optional[str] = ..., from_username: _Optional[str] = ..., to_account_id: _Optional[str] = ..., to_username: _Optional[str] = ..., kind: _Optional[_Union[MessageKind, str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trace_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchMessagesResponse(_message.Message):
    __slots__ = ("messages", "next_page_token")
    MESSAGES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    messages: _containers.RepeatedCompositeFieldContainer[Envelope]
    next_page_token: str
    def __init__(self, messages: _Optional[_Iterable[_Union[Envelope, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetThreadStatusRequest(_message.Message):
    __slots__ = ("thread_id",)
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    thread_id: str
    def __init__(self, thread_id: _Optional[str] = ...) -> None: ...

class GetThreadStatusResponse(_message.Message):
    __slots__ = ("thread_id", "message_count", "pending_messages", "byte_count", "approx_tokens", "latest_checkpoint_end", "last_message_at", "created_at", "participants", "status")
    THREAD_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PENDING_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    BYTE_COUNT_FIELD_NUMBER: _ClassVar[int]
    APPROX_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LATEST_CHECKPOINT_END_FIELD_NUMBER: _ClassVar[int]
    LAST_MESSAGE_AT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    thread_id: str
    message_count: int
    pending_messages: int
    byte_count: int
    approx_tokens: int
    latest_checkpoint_end: str
    last_message_at: _timestamp_pb2.Timestamp
    created_at: _timestamp_pb2.Timestamp
    participants: _containers.RepeatedCompositeFieldContainer[Participant]
    status: str
    def __init__(self, thread_id: _Optional[str] = ..., message_count: _Optional[int] = ..., pending_messages: _Optional[int] = ..., byte_count: _Optional[int] = ..., approx_tokens: _Optional[int] = ..., latest_checkpoint_end: _Optional[str] = ..., last_message_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., participants: _Optional[_Iterable[_Union[Participant, _Mapping]]] = ..., status: _Optional[str] = ...) -> None: ...

class PutBlobRequest(_message.Message):
    __slots__ = ("data", "mime_type", "filename", "sha256", "as_account_id")
    DATA_FIELD_NUMBER: _ClassVar[int]
    MIME_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    AS_ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    mime_type: str
    filename: str
    sha256: str
    as_account_id: str
    def __init__(self, data: _Optional[bytes] = ..., mime_type: _Optional[str] = ..., filename: _Optional[str] = ..., sha256: _Optional[str] = ..., as_account_id: _Optional[str] = ...) -> None: ...

class PutBlobResponse(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: BlobInfo
    def __init__(self, blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class GetBlobRequest(_message.Message):
    __slots__ = ("blob_id",)
    BLOB_ID_FIELD_NUMBER: _ClassVar[int]
    blob_id: str
    def __init__(self, blob_id: _Optional[str] = ...) -> None: ...

class GetBlobResponse(_message.Message):
    __slots__ = ("blob", "data")
    BLOB_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    blob: BlobInfo
    data: bytes
    def __init__(self, blob: _Optional[_Union[BlobInfo, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class HeadBlobRequest(_message.Message):
    __slots__ = ("blob_id",)
    BLOB_ID_FIELD_NUMBER: _ClassVar[int]
    blob_id: str
    def __init__(self, blob_id: _Optional[str] = ...) -> None: ...

class HeadBlobResponse(_message.Message):
    __slots__ = ("blob",)
    BLOB_FIELD_NUMBER: _ClassVar[int]
    blob: BlobInfo
    def __init__(self, blob: _Optional[_Union[BlobInfo, _Mapping]] = ...) -> None: ...

class DeleteBlobRequest(_message.Message):
    __slots__ = ("blob_id",)
    BLOB_ID_FIELD_NUMBER: _ClassVar[int]
    blob_id: str
    def __init__(self, blob_id: _Optional[str] = ...) -> None: ...

class DeleteBlobResponse(_message.Message):
    __slots__ = ("deleted",)
    DELETED_FIELD_NUMBER: _ClassVar[int]
    deleted: bool
    def __init__(self, deleted: _Optional[bool] = ...) -> None: ...
