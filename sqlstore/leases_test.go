package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// Two stores on one database are two nodes; they share one clock here so
// that the steps can move time by hand.
func TestLeaseGoesToOneNodeAtATime(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			clock := shequtest.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
			dsn := sqlstoretest.DSN(t, dialect)
			nodes := map[string]interface {
				AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
				ReleaseLease(ctx context.Context, name, holder string) error
			}{"a": sqlstoretest.OpenDSN(t, dsn, clock), "b": sqlstoretest.OpenDSN(t, dsn, clock)}
			steps := []struct {
				name    string
				advance time.Duration
				node    string
				release bool
				want    bool
			}{
				{"a takes the free lease", 0, "a", false, true},
				{"b is refused while it runs", 5 * time.Second, "b", false, false},
				{"a renews it", 5 * time.Second, "a", false, true},
				{"b is refused just before it runs out", 9 * time.Second, "b", false, false},
				{"b takes it once it ran out", 2 * time.Second, "b", false, true},
				{"a is refused now", 0, "a", false, false},
				{"b gives it up", 0, "b", true, false},
				{"a takes it at once", 0, "a", false, true},
			}
			for _, s := range steps {
				clock.Advance(s.advance)
				if s.release {
					if err := nodes[s.node].ReleaseLease(ctx, "timers", s.node); err != nil {
						t.Fatal(err)
					}
					continue
				}
				got, err := nodes[s.node].AcquireLease(ctx, "timers", s.node, 10*time.Second)
				if err != nil || got != s.want {
					t.Fatalf("%s: got %v (%v), want %v", s.name, got, err, s.want)
				}
			}
			// Another chore has a lease of its own.
			if got, err := nodes["b"].AcquireLease(ctx, "purge", "b", time.Second); err != nil || !got {
				t.Errorf("a second lease: %v %v", got, err)
			}
			ls, err := sqlstoretest.OpenDSN(t, dsn, clock).Leases(ctx)
			if err != nil || len(ls) != 2 || ls[1].Name != "timers" || ls[1].Holder != "a" {
				t.Errorf("leases %+v %v", ls, err)
			}
		})
	}
}

// Work done under a chore's lease (jobs.Fence in the context) commits
// while the lease is its node's and not once another node took it over,
// or once it ran out: a leader that was paused past its lease commits
// nothing of its chore.
func TestFencedWorkCommitsOnlyUnderTheLease(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			ctx := t.Context()
			clock := shequtest.NewClock(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
			dsn := sqlstoretest.DSN(t, dialect)
			a, b := sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)
			fenced := jobs.WithFence(ctx, jobs.Fence{Lease: "timers", Holder: "a"})
			work := func(key string) error {
				return a.Enqueue(fenced, jobs.New{Key: key, Payload: jobs.Escalate{IncidentID: 1}})
			}
			if got, err := a.AcquireLease(ctx, "timers", "a", 10*time.Second); err != nil || !got {
				t.Fatalf("a takes the lease: %v %v", got, err)
			}
			if err := work("while a leads"); err != nil {
				t.Fatalf("work under a's lease: %v", err)
			}
			clock.Advance(11 * time.Second)
			if err := work("a's lease ran out"); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("work after a's lease ran out: %v, want a conflict", err)
			}
			if got, err := b.AcquireLease(ctx, "timers", "b", 10*time.Second); err != nil || !got {
				t.Fatalf("b takes the lease: %v %v", got, err)
			}
			if err := work("b leads"); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("a's work while b leads: %v, want a conflict", err)
			}
			// Unfenced work (a request, the outbox) is not concerned.
			if err := a.Enqueue(ctx, jobs.New{Key: "unfenced", Payload: jobs.Escalate{IncidentID: 1}}); err != nil {
				t.Fatal(err)
			}
			st, err := a.JobStatus(ctx)
			if err != nil || st["escalate.pending"] != 2 {
				t.Errorf("jobs %v (%v), want the two committed", st, err)
			}
		})
	}
}
