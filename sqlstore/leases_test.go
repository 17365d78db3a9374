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
				AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (time.Time, bool, error)
				ReleaseLease(ctx context.Context, name, holder string) error
			}{"a": sqlstoretest.OpenDSN(t, dsn, clock), "b": sqlstoretest.OpenDSN(t, dsn, clock)}
			// term says which of the terms so far a holding step's is: 1 the
			// first, 2 the second…
			steps := []struct {
				name    string
				advance time.Duration
				node    string
				release bool
				want    bool
				term    int
			}{
				{"a takes the free lease", 0, "a", false, true, 1},
				{"b is refused while it runs", 5 * time.Second, "b", false, false, 0},
				{"a renews it, in the same term", 5 * time.Second, "a", false, true, 1},
				{"b is refused just before it runs out", 9 * time.Second, "b", false, false, 0},
				{"b takes it once it ran out", 2 * time.Second, "b", false, true, 2},
				{"a is refused now", 0, "a", false, false, 0},
				{"b renews it", time.Second, "b", false, true, 2},
				{"b gives it up", 0, "b", true, false, 0},
				{"a takes it at once, in a term of its own", time.Second, "a", false, true, 3},
			}
			var terms []time.Time
			for _, s := range steps {
				clock.Advance(s.advance)
				if s.release {
					if err := nodes[s.node].ReleaseLease(ctx, "timers", s.node); err != nil {
						t.Fatal(err)
					}
					continue
				}
				term, got, err := nodes[s.node].AcquireLease(ctx, "timers", s.node, 10*time.Second)
				if err != nil || got != s.want {
					t.Fatalf("%s: got %v (%v), want %v", s.name, got, err, s.want)
				}
				switch {
				case !got:
				case s.term > len(terms):
					for _, old := range terms {
						if term.Equal(old) {
							t.Fatalf("%s: the term %v is an earlier one's", s.name, term)
						}
					}
					terms = append(terms, term)
				case !term.Equal(terms[s.term-1]):
					t.Fatalf("%s: term %v, want %v", s.name, term, terms[s.term-1])
				}
			}
			// Another chore has a lease of its own.
			if _, got, err := nodes["b"].AcquireLease(ctx, "purge", "b", time.Second); err != nil || !got {
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
			term, got, err := a.AcquireLease(ctx, "timers", "a", 10*time.Second)
			if err != nil || !got {
				t.Fatalf("a takes the lease: %v %v", got, err)
			}
			fenced := jobs.WithFence(ctx, jobs.Fence{Lease: "timers", Holder: "a", Term: term})
			work := func(key string) error {
				return a.Enqueue(fenced, jobs.New{Key: key, Payload: jobs.Escalate{IncidentID: 1}})
			}
			if err := work("while a leads"); err != nil {
				t.Fatalf("work under a's lease: %v", err)
			}
			clock.Advance(11 * time.Second)
			if err := work("a's lease ran out"); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("work after a's lease ran out: %v, want a conflict", err)
			}
			if _, got, err := b.AcquireLease(ctx, "timers", "b", 10*time.Second); err != nil || !got {
				t.Fatalf("b takes the lease: %v %v", got, err)
			}
			if err := work("b leads"); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("a's work while b leads: %v, want a conflict", err)
			}
			// b gives it back and a, still paused in its old term, takes it
			// again: a term of its own, in which the old term's work does
			// not commit.
			mustOK(t, b.ReleaseLease(ctx, "timers", "b"))
			clock.Advance(time.Second)
			again, got, err := a.AcquireLease(ctx, "timers", "a", 10*time.Second)
			if err != nil || !got || again.Equal(term) {
				t.Fatalf("a takes the lease again: %v %v, term %v after %v", got, err, again, term)
			}
			if err := work("a's old term"); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("work of a's old term once a holds the lease again: %v, want a conflict", err)
			}
			if err := a.Enqueue(jobs.WithFence(ctx, jobs.Fence{Lease: "timers", Holder: "a", Term: again}), jobs.New{Key: "a's new term", Payload: jobs.Escalate{IncidentID: 1}}); err != nil {
				t.Errorf("work of a's new term: %v", err)
			}
			// Unfenced work (a request, the outbox) is not concerned.
			if err := a.Enqueue(ctx, jobs.New{Key: "unfenced", Payload: jobs.Escalate{IncidentID: 1}}); err != nil {
				t.Fatal(err)
			}
			st, err := a.JobStatus(ctx)
			if err != nil || st["escalate.pending"] != 3 {
				t.Errorf("jobs %v (%v), want the three committed", st, err)
			}
		})
	}
}
