package jobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
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
	// lost are the jobs whose claim another runner took: their outcome
	// is refused.
	lost map[int64]bool
	// claimedAt is when the last claim was taken.
	claimedAt time.Time
}

func (q *memQueue) ClaimJobs(context.Context, int, time.Duration) ([]jobs.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.claim
	q.claim = nil
	q.claimedAt = time.Now()
	return out, nil
}

// record checks what a store would: a live context and a held claim.
func (q *memQueue) record(ctx context.Context, j jobs.Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if q.lost[j.ID] {
		return jobs.ErrClaimLost
	}
	return nil
}

func (q *memQueue) CompleteJob(ctx context.Context, j jobs.Job, _ []jobs.New) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.record(ctx, j); err != nil {
		return err
	}
	q.done = append(q.done, j.ID)
	return nil
}

func (q *memQueue) RetryJob(ctx context.Context, j jobs.Job, _ string, _ time.Time, _ bool) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.record(ctx, j); err != nil {
		return err
	}
	q.retried = append(q.retried, j.ID)
	return nil
}

func (q *memQueue) ReleaseJobs(ctx context.Context, js []jobs.Job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, j := range js {
		q.released = append(q.released, j.ID)
	}
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

// A batch whose first jobs took more than a quarter of its claim gives
// the rest back rather than starting them late: they would have less than
// a quarter of the lease before the handlers' deadline.
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

// The handlers of a batch must be over by half the lease after the claim,
// so that a node stops sending before another may claim the job: their
// context ends then. A handler cut off is recorded all the same (the
// runner's own context for the write), and retried.
func TestRunnerHandlerDeadlineIsHalfTheLease(t *testing.T) {
	const lease = 400 * time.Millisecond
	reg := &jobs.Registry{}
	type seen struct {
		deadline time.Time
		ok       bool
		err      error
		ended    time.Time
	}
	got := make(chan seen, 1)
	jobs.Handle(reg, func(ctx context.Context, _ string, _ jobs.SMS) ([]jobs.New, error) {
		d, ok := ctx.Deadline()
		select {
		case <-ctx.Done(): // a send that honours its context
		case <-time.After(10 * time.Second):
		}
		got <- seen{d, ok, ctx.Err(), time.Now()}
		return nil, ctx.Err()
	})
	q := &memQueue{claim: []jobs.Job{{ID: 1, Key: "k", Kind: "sms", Payload: []byte(`{}`), Attempts: 1, Claim: 1}}}
	r := &jobs.Runner{Queue: q, Handlers: reg, Clock: shequ.SystemClock{}, Log: slog.New(slog.DiscardHandler), Lease: lease}
	if _, err := r.RunOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	s, claimed := <-got, q.claimedAt
	// Taken just before the claim: no later than half the lease after it.
	if !s.ok || s.deadline.After(claimed.Add(lease/2)) || s.deadline.Before(claimed.Add(lease/2-50*time.Millisecond)) {
		t.Errorf("handler's deadline %v after the claim (set %v), want half the lease, %v", s.deadline.Sub(claimed), s.ok, lease/2)
	}
	if s.err != context.DeadlineExceeded || s.ended.After(claimed.Add(lease*3/4)) {
		t.Errorf("handler ended %v after the claim with %v; want the deadline, well before the lease (%v) ends", s.ended.Sub(claimed), s.err, lease)
	}
	if !slices.Equal(q.retried, []int64{1}) || len(q.done) != 0 {
		t.Errorf("done %v retried %v; want the job cut off retried", q.done, q.retried)
	}
}

// A runner whose claim was lost (another runner claimed the job after it
// ran out) records nothing, warns, and goes on with its batch: the lost
// outcome is neither an error of the batch nor retried.
func TestRunnerLostClaimIsAWarning(t *testing.T) {
	tests := []struct {
		name          string
		fail          bool
		done, retried []int64
	}{
		{"done after the claim was lost", false, []int64{2}, nil},
		{"failed after the claim was lost", true, nil, []int64{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := &jobs.Registry{}
			calls := 0
			jobs.Handle(reg, func(context.Context, string, jobs.SMS) ([]jobs.New, error) {
				calls++
				if tt.fail {
					return nil, errors.New("gateway down")
				}
				return nil, nil
			})
			q := &memQueue{lost: map[int64]bool{1: true}}
			for id := int64(1); id <= 2; id++ {
				q.claim = append(q.claim, jobs.Job{ID: id, Key: fmt.Sprint("k", id), Kind: "sms", Payload: []byte(`{}`), Attempts: 1, Claim: 3})
			}
			var logs bytes.Buffer
			r := &jobs.Runner{Queue: q, Handlers: reg, Clock: shequ.SystemClock{}, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			n, err := r.RunOnce(t.Context())
			if n != 2 || err != nil || calls != 2 {
				t.Fatalf("ran %d jobs, %d handlers (%v); want both", n, calls, err)
			}
			if !slices.Equal(q.done, tt.done) || !slices.Equal(q.retried, tt.retried) {
				t.Errorf("done %v retried %v; want %v %v", q.done, q.retried, tt.done, tt.retried)
			}
			if !strings.Contains(logs.String(), "level=WARN msg=\"job "+map[bool]string{false: "done", true: "failed"}[tt.fail]+" after its claim was lost") ||
				strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("log:\n%s", logs.String())
			}
		})
	}
}
