// Package jobs names the durable background work: one payload type per
// kind of job, shared by the code that queues it (in the transaction of
// the change that causes it) and the handler that does it after commit,
// and the loop that claims due jobs and runs the handler registered for
// each kind. The queue itself (the outbox table) is in sqlstore.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Payload is what a job carries; its Kind names the handler that does it.
// Kind must not depend on the value: a zero payload names its kind too.
type Payload interface {
	Kind() string
}

// Job is a claimed job as stored: its payload is still JSON, decoded by the
// handler registered for its kind.
type Job struct {
	ID       int64
	Key      string // idempotency key: the same work is never queued twice
	Kind     string
	Payload  []byte
	Attempts int
	// Claim numbers the claim the job was taken under: each claim of a
	// job gets the next number. The job's outcome is recorded only while
	// it is still this claim (ErrClaimLost).
	Claim int64
}

// ErrClaimLost is what a Queue returns when the outcome of a job comes
// under a claim that is no longer the job's: it ran out and another node
// claimed the job, or an operator put it back. Nothing was changed; the
// outcome is the present holder's to record. Retrying cannot help.
var ErrClaimLost = errors.New("the job's claim was lost")

// New is work to queue. A second New with the same Key queues nothing.
type New struct {
	Key     string
	Payload Payload
	RunAt   time.Time // zero: now
}

// Permanent marks an error retrying cannot fix (a payload that does not
// decode, a malformed number, a template that does not exist): the job
// fails at once instead of backing off.
type Permanent struct{ Err error }

func (p Permanent) Error() string { return "permanent: " + p.Err.Error() }
func (p Permanent) Unwrap() error { return p.Err }

// IsPermanent reports whether err, or one it wraps, is Permanent.
func IsPermanent(err error) bool {
	var p Permanent
	return errors.As(err, &p)
}

// Handler does one job; the jobs it returns are queued in the transaction
// that marks it done, so follow-up work is queued exactly once.
type Handler func(ctx context.Context, j Job) ([]New, error)

// Registry maps each kind to its handler.
type Registry struct {
	handlers map[string]Handler
}

// Handle registers fn for the kind of P: the job's payload is decoded into
// a P (a payload that does not decode fails the job for good) and fn gets
// the job's key, from which the keys of its follow-up jobs derive.
// Registering a kind twice panics: it is a programming error.
func Handle[P Payload](r *Registry, fn func(ctx context.Context, key string, p P) ([]New, error)) {
	var zero P
	kind := zero.Kind()
	if r.handlers == nil {
		r.handlers = map[string]Handler{}
	}
	if _, dup := r.handlers[kind]; dup {
		panic(fmt.Sprintf("jobs: kind %q registered twice", kind))
	}
	r.handlers[kind] = func(ctx context.Context, j Job) ([]New, error) {
		var p P
		if err := json.Unmarshal(j.Payload, &p); err != nil {
			return nil, Permanent{fmt.Errorf("%s payload: %w", kind, err)}
		}
		return fn(ctx, j.Key, p)
	}
}

// Kinds lists the registered kinds.
func (r *Registry) Kinds() []string {
	out := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		out = append(out, k)
	}
	return out
}

// Do runs the handler of j's kind; a kind nobody handles fails for good.
func (r *Registry) Do(ctx context.Context, j Job) ([]New, error) {
	h, ok := r.handlers[j.Kind]
	if !ok {
		return nil, Permanent{fmt.Errorf("unknown job kind %q", j.Kind)}
	}
	return h(ctx, j)
}
