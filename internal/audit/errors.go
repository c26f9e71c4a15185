// SPDX-License-Identifier: Apache-2.0

package audit

import (
	"errors"
	"fmt"
)

// Code classifies an Error; the HTTP layer maps each code to one status.
type Code string

const (
	CodeInvalid       Code = "invalid_request"   // malformed input (bad JSON, bad parameter)
	CodeUnprocessable Code = "invalid_event"     // well-formed events that break the catalog
	CodeUnauthorized  Code = "unauthorized"      // missing, unknown, expired or revoked key
	CodeForbidden     Code = "forbidden"         // the key's scope does not allow the action
	CodeNotFound      Code = "not_found"         // absent, or outside the caller's org binding
	CodeConflict      Code = "conflict"          // an event id reused with different content
	CodeTooLarge      Code = "too_large"         // a body, batch or event over its bound
	CodeUnavailable   Code = "unavailable"       // the store cannot take writes now; retry
	CodeStoreFailed   Code = "store_failed"      // the store failed until Trail restarts (an fsync failed); no retry
	CodeInternal      Code = "internal"          // a bug or an unexpected store failure
	CodeUnsupported   Code = "unsupported_media" // an unknown Content-Type
	CodeRateLimited   Code = "rate_limited"      // over a request limit; retry after Retry-After
)

// Detail names one problem in one event of a batch.
type Detail struct {
	Index    int    `json:"index"`
	Field    string `json:"field"`
	Expected string `json:"expected"`
}

// Error is the one error type the domain returns to callers. Message is
// written for the user: it says what to fix and never carries a secret, a
// full IP address or an internal detail.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	Err     error // the cause, for logs; never shown to users
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the user-facing message of err; internal errors get
// a generic message so nothing internal leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrNotFound is returned by stores for a missing key or org.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "not found"}
