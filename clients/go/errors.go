package agentnet

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a failed call with the server's machine-readable reason (google.rpc.ErrorInfo), e.g. "rate_limited",
// "account_not_found", "no_responders". Use errors.As to get it, or the Is* helpers.
type Error struct {
	Code       codes.Code
	Reason     string
	Message    string
	Info       map[string]string
	Field      string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%s)", e.Message, e.Reason) }

// FromError converts a gRPC error into *Error (nil stays nil; other errors are wrapped with code Unknown).
func FromError(err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	st, ok := status.FromError(err)
	if !ok {
		return &Error{Code: codes.Unknown, Reason: "unknown", Message: err.Error()}
	}
	e := &Error{Code: st.Code(), Message: st.Message(), Info: map[string]string{}}
	for _, d := range st.Details() {
		switch v := d.(type) {
		case *errdetails.ErrorInfo:
			e.Reason = v.GetReason()
			for k, val := range v.GetMetadata() {
				e.Info[k] = val
			}
		case *errdetails.RetryInfo:
			e.RetryAfter = v.GetRetryDelay().AsDuration()
		case *errdetails.BadRequest:
			if len(v.GetFieldViolations()) > 0 {
				e.Field = v.GetFieldViolations()[0].GetField()
			}
		}
	}
	if e.Reason == "" {
		e.Reason = codeReason(st.Code())
	}
	return e
}

// ReasonOf returns the reason of an agentnet error, or "" for anything else.
func ReasonOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// IsRateLimited: RESOURCE_EXHAUSTED `rate_limited`; Error.RetryAfter says when to try again.
func IsRateLimited(err error) bool { return ReasonOf(err) == "rate_limited" }

// IsNotFound: NOT_FOUND (unknown, or not visible to the caller).
func IsNotFound(err error) bool { return codeOf(err) == codes.NotFound }

// IsTimeout: DEADLINE_EXCEEDED (e.g. a request nobody answered in time).
func IsTimeout(err error) bool { return codeOf(err) == codes.DeadlineExceeded }

// IsNoResponders: UNAVAILABLE `no_responders`, a request or send to nobody online.
func IsNoResponders(err error) bool { return ReasonOf(err) == "no_responders" }

// IsPermissionDenied: PERMISSION_DENIED (e.g. `not_account_owner`).
func IsPermissionDenied(err error) bool { return codeOf(err) == codes.PermissionDenied }

// IsInvalidArgument: INVALID_ARGUMENT; Error.Field names the field when the server said which.
func IsInvalidArgument(err error) bool { return codeOf(err) == codes.InvalidArgument }

// IsFailedPrecondition: FAILED_PRECONDITION (e.g. `voice_not_configured`, `session_expired`).
func IsFailedPrecondition(err error) bool { return codeOf(err) == codes.FailedPrecondition }

// IsAlreadyExists: ALREADY_EXISTS (e.g. `agent_name_taken`).
func IsAlreadyExists(err error) bool { return codeOf(err) == codes.AlreadyExists }

// IsUnauthenticated: UNAUTHENTICATED (a missing, expired or revoked credential).
func IsUnauthenticated(err error) bool { return codeOf(err) == codes.Unauthenticated }

func codeOf(err error) codes.Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return codes.OK
}

// retryable: the call may not have reached the server, or the gateway is restarting.
func retryable(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case codes.Unavailable:
		return e.Reason != "no_responders"
	case codes.Aborted, codes.Internal:
		return true
	}
	return false
}

func codeReason(c codes.Code) string {
	names := map[codes.Code]string{
		codes.Canceled: "canceled", codes.Unknown: "unknown", codes.InvalidArgument: "invalid_argument",
		codes.DeadlineExceeded: "deadline_exceeded", codes.NotFound: "not_found", codes.AlreadyExists: "already_exists",
		codes.PermissionDenied: "permission_denied", codes.ResourceExhausted: "resource_exhausted",
		codes.FailedPrecondition: "failed_precondition", codes.Aborted: "aborted", codes.Unavailable: "unavailable",
		codes.Unauthenticated: "unauthenticated", codes.Internal: "internal",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return "unknown"
}
