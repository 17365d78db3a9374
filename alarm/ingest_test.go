package alarm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type fakeBatchStore struct {
	mu      sync.Mutex
	batches []int
	stored  int
	gate    chan struct{} // when set, the first commit waits on it
	held    atomic.Int64  // the reports of the commit waiting on gate
	failOn  string        // a report with this account makes the batch fail
}

// waitQueued returns once n reports are either queued at g or held by the
// commit at the gate: which of them the first batch took is up to Run.
func (f *fakeBatchStore) waitQueued(t *testing.T, g *Ingestor, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for int(f.held.Load())+len(g.requests) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d held and %d queued, want %d", f.held.Load(), len(g.requests), n)
		}
		runtime.Gosched()
	}
}

func (f *fakeBatchStore) Ingest(ctx context.Context, rs []Report) ([]Outcome, error) {
	if f.gate != nil {
		f.held.Store(int64(len(rs)))
		<-f.gate
		f.gate = nil
	}
	for _, r := range rs {
		if r.Account == f.failOn {
			return nil, errors.New("bad report")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.batches = append(f.batches, len(rs))
	f.stored += len(rs)
	out := make([]Outcome, len(rs))
	for i := range out {
		out[i].EventID = int64(f.stored - len(rs) + i + 1)
	}
	return out, nil
}

func TestIngestorGroupsConcurrentFrames(t *testing.T) {
	store := &fakeBatchStore{gate: make(chan struct{})}
	g := NewIngestor(store, slog.New(slog.NewTextHandler(io.Discard, nil)), 64)
	var committed atomic.Int64
	g.Committed = func(o []Outcome) { committed.Add(int64(len(o))) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)

	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- g.Handle(ctx, []Report{{Account: "A"}})
		}()
	}
	// Hold the first commit until the others queue up behind it.
	store.waitQueued(t, g, 50)
	close(store.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if store.stored != 50 || committed.Load() != 50 {
		t.Fatalf("stored %d, committed %d", store.stored, committed.Load())
	}
	if len(store.batches) >= 50 {
		t.Errorf("no grouping: %d commits for 50 frames", len(store.batches))
	}
}

func TestIngestorIsolatesABadFrame(t *testing.T) {
	store := &fakeBatchStore{gate: make(chan struct{}), failOn: "BAD"}
	g := NewIngestor(store, slog.New(slog.NewTextHandler(io.Discard, nil)), 64)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go g.Run(ctx)
	results := make(chan error, 3)
	for _, acct := range []string{"A", "BAD", "B"} {
		go func() { results <- g.Handle(ctx, []Report{{Account: acct}}) }()
	}
	store.waitQueued(t, g, 3)
	close(store.gate)
	var failed int
	for i := 0; i < 3; i++ {
		if <-results != nil {
			failed++
		}
	}
	if failed != 1 || store.stored != 2 {
		t.Errorf("failed %d, stored %d; want 1 and 2", failed, store.stored)
	}
}

// TestAwaited: a batch waits for the senders of the last two batches, but
// never for more than half the senders there are unless its commits wait
// for a flush, and never after a lone request (a lone sender never waits).
func TestAwaited(t *testing.T) {
	const us = time.Microsecond
	for _, c := range []struct {
		last, prev, senders int
		took                time.Duration
		want                int
	}{
		{0, 0, 0, 0, 0},
		{1, 0, 64, 50 * us, 0},
		{1, 40, 64, 50 * us, 0},
		{1, 40, 64, 5 * time.Millisecond, 0},
		{2, 0, 2, 100 * us, 1},
		{2, 0, 8, 100 * us, 2},
		{8, 12, 100, 400 * us, 20},
		{8, 12, 21, 400 * us, 11},
		{32, 32, 64, 1300 * us, 32},
		{34, 30, 64, 3 * time.Millisecond, 32},
		// Commits that wait for a flush: all the senders.
		{34, 30, 64, 10 * time.Millisecond, 64},
		{4, 4, 8, 2 * time.Millisecond, 8},
	} {
		if got := awaited(c.last, c.prev, c.senders, c.took); got != c.want {
			t.Errorf("awaited(%d, %d, %d, %v) = %d, want %d", c.last, c.prev, c.senders, c.took, got, c.want)
		}
	}
}

// TestSenderCountKeepsThePeak: the count follows a rise at once and
// forgets a sender every sendersDecay commits below it.
func TestSenderCountKeepsThePeak(t *testing.T) {
	var c senderCount
	c.saw(40)
	c.saw(64)
	if c.n != 64 {
		t.Fatalf("after 40 and 64: %d", c.n)
	}
	for range sendersDecay - 1 {
		c.saw(10)
	}
	if c.n != 64 {
		t.Fatalf("after %d commits of 10: %d, want 64", sendersDecay-1, c.n)
	}
	c.saw(10)
	if c.n != 63 {
		t.Fatalf("after %d commits of 10: %d, want 63", sendersDecay, c.n)
	}
	for range 100 * sendersDecay {
		c.saw(10)
	}
	if c.n != 10 {
		t.Fatalf("after many commits of 10: %d, want 10", c.n)
	}
	c.saw(30)
	if c.n != 30 {
		t.Fatalf("after a commit of 30: %d", c.n)
	}
}
