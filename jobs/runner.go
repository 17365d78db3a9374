package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/shequ/shequ"
)

// Queue is the durable queue a Runner drains. A claimed job's outcome is
// recorded under the claim it was taken with (Job.Claim): once the claim
// is no longer the job's, CompleteJob and RetryJob change nothing and
// return ErrClaimLost.
type Queue interface {
	// ClaimJobs leases up to limit due jobs to the caller for lease.
	ClaimJobs(ctx context.Context, limit int, lease time.Duration) ([]Job, error)
	// CompleteJob marks a job done and queues its follow-up jobs in one
	// transaction.
	CompleteJob(ctx context.Context, j Job, next []New) error
	// RetryJob puts a failed job back for at, or fails it for good.
	RetryJob(ctx context.Context, j Job, cause string, at time.Time, permanent bool) error
}

// Runner claims due jobs and does each with the handler of its kind. Work
// is done at least once: a runner that dies mid-job leaves it leased, and
// once the lease runs out another takes it; handlers make repeats harmless
// with the job's key. A runner that outlived its claim (a pause, a slow
// gateway) records nothing over the node that claimed the job since: the
// outcome goes under the claim (ErrClaimLost), and the handlers' deadline
// keeps the work itself inside the claim. A runner told to stop finishes
// the job in hand (for at most Grace) and gives the rest of its batch back
// when its Queue is a Releaser, so that another node does them now rather
// than after the lease.
type Runner struct {
	Queue    Queue
	Handlers *Registry
	Clock    shequ.Clock
	Log      *slog.Logger
	// Lease is how long a claimed job is the runner's before another may
	// take it. The handlers of a batch get a context that ends half the
	// lease after the claim (RunOnce says why), and a job is started only
	// while at least a quarter of the lease is left before then. Default a
	// minute.
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
	// not been claimed (their attempt is not counted). A job whose claim
	// was lost is left alone, and ErrClaimLost returned after the others
	// were given back.
	ReleaseJobs(ctx context.Context, js []Job) error
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
	// A claim runs out lease after it was taken; from then on another
	// node may claim the job and do it too. The claim check of the Queue
	// keeps a late outcome from undoing the other node's, but a message
	// this node sends after that moment is a second message, which only
	// stopping in time prevents. So every handler of the batch must be
	// over by half the lease. The other half is the margin for what a
	// deadline does not stop at once: the nodes' clocks disagreeing
	// (locked_until is written on one node's clock and compared on
	// another's), a send noticing its context only after the write in
	// hand (an SMPP submit, bounded by its write timeout), a pause of the
	// whole process (GC, a stalled VM) shorter than that half, and the
	// write that records the outcome. The deadline is taken before the
	// claim, so it falls before half of the claim as stored.
	deadline := time.Now().Add(lease / 2)
	jobs, err := r.Queue.ClaimJobs(ctx, batch, lease)
	if err != nil {
		return 0, err
	}
	grace := r.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	// The job in hand outlives ctx by the grace (within the deadline): a
	// message half sent when the node is told to stop is finished and
	// recorded, not left leased.
	work, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(grace, cancel) })
	defer stopGrace()
	for i, j := range jobs {
		if ctx.Err() != nil {
			r.release(ctx, jobs[i:])
			return i, nil
		}
		// A slow batch (a gateway taking its time) must not start a job
		// with only a sliver of the deadline left: it would be cut off
		// mid-send and retried. It is given back instead, due at once
		// for this node's next claim or another's.
		if time.Until(deadline) < lease/4 {
			r.release(ctx, jobs[i:])
			return i, nil
		}
		next, err := r.Handlers.Do(work, j)
		if rerr := r.record(ctx, j, next, err, maxAttempts); rerr != nil {
			return len(jobs), rerr
		}
	}
	return len(jobs), nil
}

// recordTimeout bounds the write of a job's outcome.
const recordTimeout = 10 * time.Second

// record writes the outcome of job j under its claim: done with its
// follow-up jobs, or back for a retry. It has a context of its own, for
// the outcome is to be recorded even when the handler used up its time
// (a retry is then what matters) or the node is stopping. A claim lost
// meanwhile is a warning: the node that claimed the job since records
// its outcome, and nothing here is to be retried.
func (r *Runner) record(ctx context.Context, j Job, next []New, err error, maxAttempts int) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err == nil {
		if err := r.Queue.CompleteJob(rctx, j, next); errors.Is(err, ErrClaimLost) {
			r.Log.Warn("job done after its claim was lost; another node has it", "job", j.Key, "claim", j.Claim)
		} else if err != nil {
			r.Log.Error("complete job", "job", j.Key, "err", err)
		}
		return nil
	}
	permanent := IsPermanent(err) || j.Attempts >= maxAttempts
	level := slog.LevelWarn
	if permanent {
		level = slog.LevelError
	}
	r.Log.Log(rctx, level, "job failed", "job", j.Key, "attempt", j.Attempts, "permanent", permanent, "err", err)
	rerr := r.Queue.RetryJob(rctx, j, err.Error(), r.Clock.Now().Add(Backoff(j.Attempts)), permanent)
	if errors.Is(rerr, ErrClaimLost) {
		r.Log.Warn("job failed after its claim was lost; another node has it", "job", j.Key, "claim", j.Claim)
		return nil
	}
	return rerr
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
	if err := rel.ReleaseJobs(ctx, left); err != nil {
		r.Log.Warn("give back claimed jobs", "jobs", len(left), "err", err)
		return
	}
	r.Log.Info("claimed jobs given back", "jobs", len(left))
}

// Backoff is the wait before attempt n+1: 2, 4, 8 … seconds, at most ten
// minutes.
func Backoff(attempts int) time.Duration {
	return min(time.Duration(1<<min(max(attempts, 0), 9))*time.Second, 10*time.Minute)
}
