"""Typed errors built from the server's google.rpc.ErrorInfo reasons (the same classes as the TypeScript SDK)."""
from __future__ import annotations

from typing import Iterable, cast

import grpc
from google.rpc import error_details_pb2, status_pb2

from .v1 import messaging_pb2


class AgentnetError(Exception):
    """A failed call: `code` (grpc.StatusCode), `reason` (e.g. "rate_limited"), `info` (ErrorInfo metadata)."""

    def __init__(self, code: grpc.StatusCode, message: str, reason: str = "", info: dict[str, str] | None = None,
                 field: str | None = None, retry_after_ms: int | None = None) -> None:
        self.code = code
        self.message = message
        self.reason = reason or code.name.lower()
        self.info = dict(info or {})
        self.field = field
        self.retry_after_ms = retry_after_ms
        super().__init__(f"{message} ({self.reason})")


class InvalidArgumentError(AgentnetError): ...
class NotFoundError(AgentnetError): ...
class AlreadyExistsError(AgentnetError): ...
class PermissionDeniedError(AgentnetError): ...
class UnauthenticatedError(AgentnetError): ...
class RateLimitedError(AgentnetError):
    """RESOURCE_EXHAUSTED: wait `retry_after_ms` before trying again."""
class TimeoutError(AgentnetError):  # noqa: A001 - the SDKs share their error names
    """DEADLINE_EXCEEDED: no answer in time."""
class ExpiredError(AgentnetError): ...
class RejectedError(AgentnetError):
    """The recipient rejected the request; `rejection_code` and `rejection_detail` say why."""

    @property
    def rejection_code(self) -> str:
        return self.info.get("code", "")

    @property
    def rejection_detail(self) -> str:
        return self.info.get("detail", "")
class FailedPreconditionError(AgentnetError): ...
class NoRespondersError(AgentnetError): ...
class UnavailableError(AgentnetError): ...


class ErrorReply(Exception):
    """A request answered with a reply of kind ERROR (payload conventionally {code, detail})."""

    def __init__(self, reply: "object") -> None:
        self.reply = reply
        payload = getattr(reply, "payload", {}) or {}
        self.code = str(payload.get("code", "error"))
        super().__init__(f"{self.code}: {payload.get('detail', '')}")


_BY_REASON = {
    "rate_limited": RateLimitedError,
    "timeout": TimeoutError,
    "expired": ExpiredError,
    "rejected": RejectedError,
    "no_responders": NoRespondersError,
}
_BY_CODE = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExistsError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: RateLimitedError,
    grpc.StatusCode.DEADLINE_EXCEEDED: TimeoutError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
}


def from_rpc_error(err: grpc.aio.AioRpcError) -> AgentnetError:
    """Reads the google.rpc.Status the server puts in the `grpc-status-details-bin` trailer."""
    reason, info, field, retry = "", {}, None, None
    # grpc.aio yields (key, value) pairs; grpc-stubs types them as an opaque object.
    trailers = cast("Iterable[tuple[str, str | bytes]]", err.trailing_metadata() or ())
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for any_detail in status.details:
            if any_detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                ei = error_details_pb2.ErrorInfo()
                any_detail.Unpack(ei)
                reason, info = ei.reason, dict(ei.metadata)
            elif any_detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                ri = error_details_pb2.RetryInfo()
                any_detail.Unpack(ri)
                retry = ri.retry_delay.seconds * 1000 + ri.retry_delay.nanos // 1_000_000
            elif any_detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                br = error_details_pb2.BadRequest()
                any_detail.Unpack(br)
                if br.field_violations:
                    field = br.field_violations[0].field
    code = err.code()
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code, AgentnetError)
    return cls(code, err.details() or code.name.lower(), reason, info, field or info.get("field"), retry)


def from_send_error(err: messaging_pb2.SendError) -> AgentnetError:
    """The error of one refused SendBatch item (agentnet.v1.SendError), as the same class with the same code, reason,
    message, field, ErrorInfo metadata (`info`) and retry delay that from_rpc_error gives for the Send call it
    stands for."""
    code = grpc.StatusCode.__members__.get(err.code, grpc.StatusCode.UNKNOWN)
    reason, field = err.reason, err.field or None
    cls = _BY_REASON.get(reason) or _BY_CODE.get(code, AgentnetError)
    info = dict(err.metadata)
    if field:
        info["field"] = field
    return cls(code, err.message or code.name.lower(), reason, info, field, err.retry_after_ms or None)


def is_retryable(err: AgentnetError) -> bool:
    """Transient failures worth retrying with the same message id (the call may not have reached the server)."""
    if err.code == grpc.StatusCode.UNAVAILABLE:
        return err.reason != "no_responders"
    return err.code in (grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL) or (
        err.code == grpc.StatusCode.UNKNOWN and err.reason == "unknown")
