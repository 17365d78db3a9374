// Package shequ holds the vocabulary every part of the platform shares:
// the error codes and the checks of input that produce them, the clock and paging.
package shequ

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Error codes. They are stable: clients and tests rely on them, and the
// HTTP layer maps each one to a status in a single table.
const (
	ECONFLICT     = "conflict"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	EFORBIDDEN    = "forbidden"
	EUNAUTHORIZED = "unauthorized"
	ETOOMANY      = "too_many_requests"
	ENOTIMPL      = "not_implemented"
)

// Error is an error a user can act on: a code from the list above and a
// message written for the person who reads it.
type Error struct {
	Code    string
	Message string
	// Fields names the input fields at fault, with a message each, when the
	// error is about input.
	Fields map[string]string
}

func (e *Error) Error() string { return fmt.Sprintf("shequ: code=%s message=%s", e.Code, e.Message) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error that names the fields at fault.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: EINVALID, Message: "the input is not valid", Fields: fields}
}

// ErrorCode returns the code of err when it wraps an *Error, EINTERNAL
// otherwise and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err. Internal errors get
// a generic message so that nothing internal leaks to a client.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// Clock gives the current time. Everything timed takes one so tests can
// move time by hand.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current UTC time.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// Every calls fn every d until ctx ends, the first time after d: the loop
// of the background chores (a checkpoint, reloading a directory).
func Every(ctx context.Context, d time.Duration, fn func(context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// Page asks for one page of a list.
type Page struct {
	Limit  int
	Offset int
}

// Paging defaults: a page a phone shows without strain, and a ceiling that
// keeps one request cheap.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Normalize returns p with its limit and offset brought into range.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultLimit
	}
	if p.Limit > MaxLimit {
		p.Limit = MaxLimit
	}
	if p.Offset < 0 {
		p.Offset = 0
	}
	return p
}

// List is one page of items and the number of items in all pages.
type List[T any] struct {
	Items []T `json:"items"`
	Total int `json:"total"`
	// TotalIsEstimate says Total is a lower bound: the list was counted
	// only up to a cap (MaxExactTotal), because counting further cost more
	// than the page itself.
	TotalIsEstimate bool `json:"total_is_estimate,omitempty"`
}

// MaxExactTotal is how far a capped count counts: a list with more items
// reports MaxExactTotal+1 with TotalIsEstimate set.
const MaxExactTotal = 1000
