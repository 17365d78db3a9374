package jobs_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/jobs"
)

// memQueue is a queue of claimed jobs in memory that records what the
// runner did with each.
type memQueue struct {
	mu       sync.Mutex
	claim    []jobs.Job
	done     []int64
	retried  []int64
	released []int64
}

func (q *memQueue) ClaimJobs(context.Context, int, time.Duration) ([]jobs.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.claim
	q.claim = nil
	return out, nil
}

func (q *memQueue) CompleteJob(_ context.Context, id int64, _ []jobs.New) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.done = append(q.done, id)
	return nil
}

func (q *memQueue) RetryJob(_ context.Context, id int64, _ string, _ time.Time, _ bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.retried = append(q.retried, id)
	return nil
}

func (q *memQueue) ReleaseJobs(ctx context.Context, ids []int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.released = append(q.released, ids...)
	return nil
}

// A runner told to stop while it does the first job of a batch finishes
// that job (its context lives on for the grace) and gives the others back
// unstarted; a job that outlasts the grace is cancelled and retried.
func TestRunnerStopsBetweenJobs(t *testing.T) {
	tests := []struct {
		name                    string
		grace, work             time.Duration
		done, retried, released []int64
	}{
		{"job in hand finishes", time.Second, 50 * time.Millisecond, []int64{1}, nil, []int64{2, 3}},
		{"job in hand outlasts the grace", 50 * time.Millisecond, 10 * time.Second, nil, []int64{1}, []int64{2, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, stop := context.WithCancel(t.Context())
			reg := &jobs.Registry{}
			started := make(chan struct{}, 3)
			jobs.Handle(reg, func(ctx context.Context, _ string, _ jobs.SMS) ([]jobs.New, error) {
				started <- struct{}{}
				select {
				case <-time.After(tt.work):
					return nil, nil
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			})
			q := &memQueue{}
			for id := int64(1); id <= 3; id++ {
				q.claim = append(q.claim, jobs.Job{ID: id, Key: "k", Kind: "sms", Payload: []byte(`{}`), Attempts: 1})
			}
			r := &jobs.Runner{Queue: q, Handlers: reg, Clock: shequ.SystemClock{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Grace: tt.grace}
			go func() { <-started; stop() }()
			if _, err := r.RunOnce(ctx); err != nil {
				t.Fatal(err)
			}
			if len(started) != 0 {
				t.Errorf("%d more jobs started after the stop", len(started))
			}
			if !slices.Equal(q.done, tt.done) || !slices.Equal(q.retried, tt.retried) || !slices.Equal(q.released, tt.released) {
				t.Errorf("done %v retried %v released %v; want %v %v %v", q.done, q.retried, q.released, tt.done, tt.retried, tt.released)
			}
		})
	}
}

// A batch whose first job took more than half its claim gives the rest
// back rather than starting them late: another runner may claim them
// once the claim runs out.
func TestRunnerStartsNoJobLateInItsClaim(t *testing.T) {
	reg := &jobs.Registry{}
	var did []string
	jobs.Handle(reg, func(_ context.Context, key string, _ jobs.SMS) ([]jobs.New, error) {
		did = append(did, key)
		if key == "slow" {
			time.Sleep(150 * time.Millisecond)
		}
		return nil, nil
	})
	q := &memQueue{}
	for i, key := range []string{"quick", "slow", "late", "later"} {
		q.claim = append(q.claim, jobs.Job{ID: int64(i + 1), Key: key, Kind: "sms", Payload: []byte(`{}`), Attempts: 1})
	}
	r := &jobs.Runner{Queue: q, Handlers: reg, Clock: shequ.SystemClock{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Lease: 200 * time.Millisecond}
	n, err := r.RunOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || !slices.Equal(did, []string{"quick", "slow"}) || !slices.Equal(q.done, []int64{1, 2}) || !slices.Equal(q.released, []int64{3, 4}) {
		t.Errorf("ran %d %v, done %v, given back %v", n, did, q.done, q.released)
	}
}
