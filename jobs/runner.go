package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/shequ/shequ"
)

// Queue is the durable queue a Runner drains.
type Queue interface {
	// ClaimJobs leases up to limit due jobs to the caller for lease.
	ClaimJobs(ctx context.Context, limit int, lease time.Duration) ([]Job, error)
	// CompleteJob marks a job done and queues its follow-up jobs in one
	// transaction.
	CompleteJob(ctx context.Context, id int64, next []New) error
	// RetryJob puts a failed job back for at, or fails it for good.
	RetryJob(ctx context.Context, id int64, cause string, at time.Time, permanent bool) error
}

// Runner claims due jobs and does each with the handler of its kind. Work
// is done at least once: a runner that dies mid-job leaves it leased, and
// once the lease runs out another takes it; handlers make repeats harmless
// with the job's key. A runner told to stop finishes the job in hand (for
// at most Grace) and gives the rest of its batch back when its Queue is a
// Releaser, so that another node does them now rather than after the
// lease.
type Runner struct {
	Queue    Queue
	Handlers *Registry
	Clock    shequ.Clock
	Log      *slog.Logger
	// Lease is how long a claimed job is the runner's before another may
	// take it; a job is started only in the first half of its claim, so
	// no handler may run longer than half of it. Default a minute.
	Lease time.Duration
	// MaxAttempts before a job is given up (and logged as an error).
	// Default 12: with the backoff, about an hour of trying.
	MaxAttempts int
	// Batch is how many jobs one claim takes. Default 20.
	Batch int
	// Wake, when set, makes the runner look at once instead of at the
	// next poll.
	Wake func() <-chan struct{}
	// Grace is how long the job in hand may go on once the runner is
	// told to stop. Default 10 seconds.
	Grace time.Duration
}

// Releaser is a Queue that can give claimed jobs back unstarted.
type Releaser interface {
	// ReleaseJobs makes claimed jobs due again at once, as if they had
	// not been claimed (their attempt is not counted).
	ReleaseJobs(ctx context.Context, ids []int64) error
}

// Run works until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	for {
		n, err := r.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			r.Log.Error("outbox", "err", err)
		}
		if n > 0 {
			continue
		}
		var wake <-chan struct{}
		if r.Wake != nil {
			wake = r.Wake()
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// RunOnce claims and does one batch of due jobs; it returns how many.
func (r *Runner) RunOnce(ctx context.Context) (int, error) {
	lease, maxAttempts, batch := r.Lease, r.MaxAttempts, r.Batch
	if lease == 0 {
		lease = time.Minute
	}
	if maxAttempts == 0 {
		maxAttempts = 12
	}
	if batch == 0 {
		batch = 20
	}
	claimed := time.Now()
	jobs, err := r.Queue.ClaimJobs(ctx, batch, lease)
	if err != nil {
		return 0, err
	}
	grace := r.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	// The job in hand outlives ctx by the grace: a message half sent when
	// the node is told to stop is finished and recorded, not left leased.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	defer stopGrace()
	for i, j := range jobs {
		if ctx.Err() != nil {
			r.release(ctx, jobs[i:])
			return i, nil
		}
		// A slow batch (a gateway taking its time) must not start a job
		// whose claim is about to run out: another node may claim it
		// then and do it too. Half the lease is left for the job.
		if time.Since(claimed) > lease/2 {
			r.release(ctx, jobs[i:])
			return i, nil
		}
		next, err := r.Handlers.Do(work, j)
		if err == nil {
			if err := r.Queue.CompleteJob(work, j.ID, next); err != nil {
				r.Log.Error("complete job", "job", j.Key, "err", err)
			}
			continue
		}
		permanent := IsPermanent(err) || j.Attempts >= maxAttempts
		level := slog.LevelWarn
		if permanent {
			level = slog.LevelError
		}
		r.Log.Log(work, level, "job failed", "job", j.Key, "attempt", j.Attempts, "permanent", permanent, "err", err)
		if rerr := r.Queue.RetryJob(work, j.ID, err.Error(), r.Clock.Now().Add(Backoff(j.Attempts)), permanent); rerr != nil {
			return len(jobs), rerr
		}
	}
	return len(jobs), nil
}

// release gives the jobs of a batch not started back to the queue (ctx
// may have ended).
func (r *Runner) release(ctx context.Context, left []Job) {
	rel, ok := r.Queue.(Releaser)
	if !ok || len(left) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	ids := make([]int64, len(left))
	for i, j := range left {
		ids[i] = j.ID
	}
	if err := rel.ReleaseJobs(ctx, ids); err != nil {
		r.Log.Warn("give back claimed jobs", "jobs", len(ids), "err", err)
		return
	}
	r.Log.Info("claimed jobs given back", "jobs", len(ids))
}

// Backoff is the wait before attempt n+1: 2, 4, 8 … seconds, at most ten
// minutes.
func Backoff(attempts int) time.Duration {
	return min(time.Duration(1<<min(max(attempts, 0), 9))*time.Second, 10*time.Minute)
}
