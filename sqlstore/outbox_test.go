package sqlstore_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// twoNodesWithAnSMS opens two stores on one database, as two nodes of a
// deployment on a hand-moved clock, with one SMS job queued.
func twoNodesWithAnSMS(t *testing.T, dialect string) (a, b *sqlstore.Store, clock *shequtest.Clock) {
	t.Helper()
	clock = shequtest.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	dsn := sqlstoretest.DSN(t, dialect)
	a, b = sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)
	if err := a.Enqueue(t.Context(), jobs.New{Key: "k1", Payload: jobs.SMS{Key: "k1", To: "19900000001", Body: "alarm"}}); err != nil {
		t.Fatal(err)
	}
	return a, b, clock
}

// Two nodes' runners share the outbox (two stores on one database, one
// clock moved by hand). Node A's send outlives its claim — a node that
// stalls, or a send that does not stop at its context — so node B claims
// the job, sends it and marks it done. A's send then fails: its retry
// must change nothing, for the claim is B's now. Without the claim check
// the done job went back to pending and was sent a third time.
func TestOutboxClaimIsFenced(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			stA, stB, clock := twoNodesWithAnSMS(t, dialect)
			var sends atomic.Int32
			inA, releaseA := make(chan struct{}), make(chan struct{})
			var logs shequtest.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			const lease = 2 * time.Second
			runner := func(q jobs.Queue, h func(ctx context.Context, key string, p jobs.SMS) ([]jobs.New, error)) *jobs.Runner {
				r := &jobs.Registry{}
				jobs.Handle(r, h)
				return &jobs.Runner{Queue: q, Handlers: r, Clock: clock, Log: log, Lease: lease}
			}
			a := runner(stA, func(ctx context.Context, key string, p jobs.SMS) ([]jobs.New, error) {
				sends.Add(1)
				close(inA)
				<-releaseA // stalled past its claim, whatever its context says
				return nil, errors.New("smpp: no submit_sm_resp within 10s")
			})
			b := runner(stB, func(ctx context.Context, key string, p jobs.SMS) ([]jobs.New, error) {
				sends.Add(1)
				return nil, nil
			})
			aDone := make(chan error, 1)
			go func() {
				_, err := a.RunOnce(context.Background())
				aDone <- err
			}()
			<-inA
			clock.Advance(lease + time.Second) // A's claim runs out
			if n, err := b.RunOnce(ctx); n != 1 || err != nil {
				t.Fatalf("node B did %d jobs (%v), want the one whose claim ran out", n, err)
			}
			status, err := stA.JobStatus(ctx)
			if err != nil || status["sms.done"] != 1 {
				t.Fatalf("after B: %v %v, want sms.done:1", status, err)
			}
			close(releaseA)
			if err := <-aDone; err != nil {
				t.Errorf("node A's runner: %v; a lost claim is a warning, not an error", err)
			}
			status, err = stA.JobStatus(ctx)
			if err != nil || len(status) != 1 || status["sms.done"] != 1 {
				t.Errorf("after A's failure: %v %v, want the job B did still done", status, err)
			}
			clock.Advance(time.Hour) // past any backoff
			if n, err := b.RunOnce(ctx); n != 0 || err != nil {
				t.Errorf("a later claim took %d jobs (%v), want none", n, err)
			}
			if n := sends.Load(); n != 2 {
				t.Errorf("sends in all: %d, want 2 (A's, which outlived its claim, and B's)", n)
			}
			if !strings.Contains(logs.String(), "level=WARN msg=\"job failed after its claim was lost") {
				t.Errorf("no warning of the lost claim in the log:\n%s", logs.String())
			}
		})
	}
}

// A node's outcome for a job is recorded only while the job is still
// under the claim the node took it with: CompleteJob, RetryJob and
// ReleaseJobs change nothing once the claim is lost, and say so.
func TestOutboxOutcomeUnderLostClaim(t *testing.T) {
	const lease = time.Minute
	tests := []struct {
		name string
		// meanwhile happens between A's claim and A's outcome; it may
		// claim the job for node B and return that claim.
		meanwhile func(t *testing.T, ctx context.Context, clock *shequtest.Clock, b *sqlstore.Store, a jobs.Job) *jobs.Job
		lost      bool
		status    string // the job's after A's outcome
	}{
		{"claimed by another node since", func(t *testing.T, ctx context.Context, clock *shequtest.Clock, b *sqlstore.Store, _ jobs.Job) *jobs.Job {
			clock.Advance(lease + time.Second)
			claimed, err := b.ClaimJobs(ctx, 10, lease)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("B claimed %v (%v)", claimed, err)
			}
			return &claimed[0]
		}, true, "running"},
		{"done by another node since", func(t *testing.T, ctx context.Context, clock *shequtest.Clock, b *sqlstore.Store, _ jobs.Job) *jobs.Job {
			clock.Advance(lease + time.Second)
			claimed, err := b.ClaimJobs(ctx, 10, lease)
			if err != nil || len(claimed) != 1 {
				t.Fatalf("B claimed %v (%v)", claimed, err)
			}
			if err := b.CompleteJob(ctx, claimed[0], nil); err != nil {
				t.Fatal(err)
			}
			return nil
		}, true, "done"},
		{"put back by an operator", func(t *testing.T, ctx context.Context, clock *shequtest.Clock, b *sqlstore.Store, a jobs.Job) *jobs.Job {
			clock.Advance(lease + time.Second) // stuck: the operator may retry it
			if _, err := b.RetryJobNow(ctx, auth.Scope{{}}, a.ID); err != nil {
				t.Fatal(err)
			}
			return nil
		}, true, "pending"},
		{"ran out, nobody claimed it since", func(t *testing.T, ctx context.Context, clock *shequtest.Clock, b *sqlstore.Store, _ jobs.Job) *jobs.Job {
			clock.Advance(lease + time.Second)
			return nil
		}, false, ""},
	}
	outcomes := []struct {
		name   string
		do     func(ctx context.Context, a *sqlstore.Store, j jobs.Job) error
		status string // when the claim holds
	}{
		{"complete", func(ctx context.Context, a *sqlstore.Store, j jobs.Job) error {
			return a.CompleteJob(ctx, j, []jobs.New{{Key: "follow-up", Payload: jobs.Escalate{IncidentID: 1}}})
		}, "done"},
		{"retry", func(ctx context.Context, a *sqlstore.Store, j jobs.Job) error {
			return a.RetryJob(ctx, j, "gateway down", time.Time{}, false)
		}, "pending"},
		{"fail", func(ctx context.Context, a *sqlstore.Store, j jobs.Job) error {
			return a.RetryJob(ctx, j, "not a number", time.Time{}, true)
		}, "failed"},
		{"release", func(ctx context.Context, a *sqlstore.Store, j jobs.Job) error {
			return a.ReleaseJobs(ctx, []jobs.Job{j})
		}, "pending"},
	}
	for _, dialect := range sqlstoretest.Dialects() {
		for _, tt := range tests {
			for _, o := range outcomes {
				t.Run(dialect+"/"+tt.name+"/"+o.name, func(t *testing.T) {
					ctx := t.Context()
					a, b, clock := twoNodesWithAnSMS(t, dialect)
					claimed, err := a.ClaimJobs(ctx, 10, lease)
					if err != nil || len(claimed) != 1 {
						t.Fatalf("A claimed %v (%v)", claimed, err)
					}
					before := jobRow(t, ctx, a)
					heldByB := tt.meanwhile(t, ctx, clock, b, claimed[0])
					if heldByB != nil && heldByB.Claim == claimed[0].Claim {
						t.Fatalf("B's claim has A's number %d", heldByB.Claim)
					}
					after := jobRow(t, ctx, a)
					err = o.do(ctx, a, claimed[0])
					got := jobRow(t, ctx, a)
					if !tt.lost {
						if err != nil || got.status != o.status {
							t.Fatalf("%s under a claim that ran out unclaimed: %v, status %s, want %s", o.name, err, got.status, o.status)
						}
						return
					}
					if !errors.Is(err, jobs.ErrClaimLost) {
						t.Errorf("%s under a lost claim: %v, want jobs.ErrClaimLost", o.name, err)
					}
					if got != after || got.status != tt.status {
						t.Errorf("%s under a lost claim changed the job: %+v, then %+v (A claimed %+v)", o.name, after, got, before)
					}
					if heldByB == nil {
						return
					}
					// B's own outcome still goes through.
					if err := b.CompleteJob(ctx, *heldByB, nil); err != nil {
						t.Errorf("B completes under its claim: %v", err)
					}
					if got := jobRow(t, ctx, a); got.status != "done" {
						t.Errorf("after B's completion: %+v", got)
					}
				})
			}
		}
	}
}

// outboxRow is what a test compares of the one job it queued.
type outboxRow struct {
	status, lastErr string
	attempts        int
	claim           int64
	locked          bool
	rows            int // in the outbox: a follow-up queued shows here
}

func jobRow(t *testing.T, ctx context.Context, st *sqlstore.Store) outboxRow {
	t.Helper()
	var r outboxRow
	err := st.DB().QueryRowContext(ctx, `SELECT status, last_error, attempts, claim, locked_until IS NOT NULL, (SELECT COUNT(*) FROM outbox)
		FROM outbox WHERE idempotency_key = 'k1'`).Scan(&r.status, &r.lastErr, &r.attempts, &r.claim, &r.locked, &r.rows)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
