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
