package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// Two nodes (two stores on one database) run the same chore under a
// Leader: it runs on one at a time, and when the leading node stops the
// other takes over.
func TestLeaderRunsAChoreOnOneNode(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqlstoretest.DSN(t, dialect)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			var running, overlap atomic.Int32
			var mu sync.Mutex
			ran := map[string]int{}
			chore := func(node string) func(context.Context) {
				return func(ctx context.Context) {
					if running.Add(1) > 1 {
						overlap.Add(1)
					}
					defer running.Add(-1)
					tick := time.NewTicker(10 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-ctx.Done():
							return
						case <-tick.C:
							mu.Lock()
							ran[node]++
							mu.Unlock()
						}
					}
				}
			}
			ctxs := map[string]context.CancelFunc{}
			var wg sync.WaitGroup
			for _, node := range []string{"a", "b"} {
				l := &jobs.Leader{Store: sqlstoretest.OpenDSN(t, dsn, nil), Name: "timers", Holder: node, TTL: 600 * time.Millisecond, Log: log}
				ctx, cancel := context.WithCancel(t.Context())
				ctxs[node] = cancel
				wg.Add(1)
				go func() { defer wg.Done(); l.Run(ctx, chore(node)) }()
			}
			defer func() {
				for _, cancel := range ctxs {
					cancel()
				}
				wg.Wait()
			}()
			count := func() map[string]int {
				mu.Lock()
				defer mu.Unlock()
				return map[string]int{"a": ran["a"], "b": ran["b"]}
			}
			waitFor := func(what string, ok func(map[string]int) bool) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for !ok(count()) {
					if time.Now().After(deadline) {
						t.Fatalf("%s: ran %v", what, count())
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			waitFor("someone leads", func(m map[string]int) bool { return m["a"]+m["b"] > 20 })
			// Several renewals later, still one leader.
			time.Sleep(1500 * time.Millisecond)
			first := count()
			leader, other := "a", "b"
			if first["b"] > first["a"] {
				leader, other = "b", "a"
			}
			if first[other] != 0 {
				t.Errorf("both ran: %v", first)
			}
			ctxs[leader]()
			waitFor("the other takes over", func(m map[string]int) bool { return m[other] > 10 })
			if n := overlap.Load(); n != 0 {
				t.Errorf("the chore ran on two nodes at once %d times", n)
			}
		})
	}
}

// termStore is a LeaseStore that always grants the lease, in the term its
// test sets.
type termStore struct {
	mu   sync.Mutex
	term time.Time
}

func (s *termStore) AcquireLease(context.Context, string, string, time.Duration) (time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.term, true, nil
}

func (s *termStore) ReleaseLease(context.Context, string, string) error { return nil }

// A renewal that finds another term (the lease was lost and taken again
// while this node was paused) ends the chore of the old term, whose fence
// no longer holds, and the chore starts again under the new term's fence.
func TestLeaderEndsTheChoreOfAnOldTerm(t *testing.T) {
	first := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	store := &termStore{term: first}
	terms := make(chan time.Time, 10)
	ended := make(chan time.Time, 10)
	l := &jobs.Leader{Store: store, Name: "timers", Holder: "a", TTL: 60 * time.Millisecond, Retry: 5 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, func(ctx context.Context) {
			f, _ := jobs.FenceFrom(ctx)
			terms <- f.Term
			<-ctx.Done()
			ended <- f.Term
		})
	}()
	defer func() { cancel(); <-done }()
	next := func(ch chan time.Time, what string) time.Time {
		t.Helper()
		select {
		case v := <-ch:
			return v
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: nothing after 5 s", what)
			return time.Time{}
		}
	}
	if got := next(terms, "the first term's chore"); !got.Equal(first) {
		t.Fatalf("the chore's fence has term %v, want %v", got, first)
	}
	// Renewals in the same term leave the chore running.
	time.Sleep(100 * time.Millisecond)
	if len(ended) != 0 {
		t.Fatal("a renewal in the same term ended the chore")
	}
	second := first.Add(time.Minute)
	store.mu.Lock()
	store.term = second
	store.mu.Unlock()
	if got := next(ended, "the old term's chore ending"); !got.Equal(first) {
		t.Fatalf("the chore that ended had term %v, want %v", got, first)
	}
	if got := next(terms, "the new term's chore"); !got.Equal(second) {
		t.Fatalf("the new chore's fence has term %v, want %v", got, second)
	}
}
