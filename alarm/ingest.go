package alarm

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// BatchStore stores a batch of reports in one transaction.
type BatchStore interface {
	Ingest(ctx context.Context, reports []Report) ([]Outcome, error)
}

// Ingestor is the group commit between the receivers and the store: it
// gathers the reports of frames arriving at the same time into one
// transaction, so that a burst costs one fsync rather than one per frame,
// and releases every waiting receiver only after that commit. Under light
// load a batch is a single frame and nothing waits.
type Ingestor struct {
	store    BatchStore
	log      *slog.Logger
	maxBatch int
	requests chan *ingestRequest
	// Committed, when set, hears every outcome after its commit (live
	// console, notifications).
	Committed func([]Outcome)
}

type ingestRequest struct {
	ctx     context.Context
	reports []Report
	done    chan ingestResult
}

type ingestResult struct {
	outcomes []Outcome
	err      error
}

// comeBack and maxLinger bound how long a batch waits for the senders the
// last two commits released, while it has fewer than awaited says. Under
// load they send again soon, and waiting for them makes one commit of what
// would be several: a commit costs as much as several reports. Counting
// the last two commits rather than the last alone lets the batches grow:
// with the last alone, an alarm storm's 64 connections settled at 7–13
// frames a commit, each batch waiting only for as many as the one before
// it; now 20–30 (docs/benchmarks.md, "Alarm storm"). The wait is as long
// as the last commit took (a loaded machine's senders come back late
// because its commits are slow too), at least comeBack and at most
// maxLinger, which is what it can add to an ACK (a fixed 200 µs gave the
// storm smaller batches, 14–15 frames). A batch that has them all goes at
// once, and a lone sender (batches of one) never waits.
const (
	comeBack  = 200 * time.Microsecond
	maxLinger = time.Millisecond
)

// NewIngestor returns an ingestor committing at most maxBatch reports at once.
func NewIngestor(store BatchStore, log *slog.Logger, maxBatch int) *Ingestor {
	if maxBatch <= 0 {
		maxBatch = 256
	}
	return &Ingestor{store: store, log: log, maxBatch: maxBatch, requests: make(chan *ingestRequest, 4*maxBatch)}
}

// ErrStopped is returned to callers once the ingestor has stopped: their
// frames are not stored and must not be acknowledged.
var ErrStopped = errors.New("alarm: ingestor stopped")

// Handle stores reports and returns once they are committed; receivers
// acknowledge the frame only when it returns nil.
func (g *Ingestor) Handle(ctx context.Context, reports []Report) error {
	_, err := g.Store(ctx, reports)
	return err
}

// Store is Handle returning the outcomes too.
func (g *Ingestor) Store(ctx context.Context, reports []Report) ([]Outcome, error) {
	if len(reports) == 0 {
		return nil, nil
	}
	req := &ingestRequest{ctx: ctx, reports: reports, done: make(chan ingestResult, 1)}
	select {
	case g.requests <- req:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.outcomes, res.err
	case <-ctx.Done():
		// The commit may still happen; the frame is then stored but not
		// acknowledged, and the panel's retransmission is recognised.
		return nil, ctx.Err()
	}
}

// Run commits batches until ctx ends. Only one Run may be active.
func (g *Ingestor) Run(ctx context.Context) {
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	// last and prev are the requests in the last two batches, took how
	// long the last commit took (see comeBack), senders how many senders
	// wait on the ingestor at once.
	last, prev := 0, 0
	var senders senderCount
	var took time.Duration
	for {
		var first *ingestRequest
		select {
		case first = <-g.requests:
		case <-ctx.Done():
			g.drain()
			return
		}
		batch := []*ingestRequest{first}
		n := len(first.reports)
	gather:
		for n < g.maxBatch {
			select {
			case r := <-g.requests:
				batch = append(batch, r)
				n += len(r.reports)
			default:
				break gather
			}
		}
		if want := awaited(last, prev, senders.n, took); len(batch) < want && n < g.maxBatch {
			// The senders the last commits released are on their way
			// back: wait a little for them (see comeBack).
			linger.Reset(min(max(took, comeBack), maxLinger))
		wait:
			for len(batch) < want && n < g.maxBatch {
				select {
				case r := <-g.requests:
					batch = append(batch, r)
					n += len(r.reports)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
		prev, last = last, len(batch)
		t0 := time.Now()
		queued := g.commit(ctx, batch, n)
		took = time.Since(t0)
		senders.saw(len(batch) + queued)
	}
}

// awaited is how many requests a batch waits for after batches of last
// and prev requests, the last of which took took to commit, with senders
// senders about (senderCount): none after a lone request, so that a lone
// sender never waits; else the senders both batches released, but, when
// the commits work rather than wait (see flushBound), never more than
// half the senders there are. Under load the senders then split into two
// groups: while one group's batch commits, the other's senders, released
// by the commit before, come back and queue. Waiting for all of them, as
// the batch did before, kept the writer waiting for the group it had just
// released, who cannot be back before their round trip, and the receivers
// idle while it then committed: an alarm storm's 64 connections made
// batches of 34 on SQLite and left the writer idle half the time
// (docs/benchmarks.md, "Alarm storm").
func awaited(last, prev, senders int, took time.Duration) int {
	if last < 2 {
		return 0
	}
	if took > time.Duration(last)*flushBound {
		return last + prev
	}
	return min(last+prev, (senders+1)/2)
}

// flushBound tells a commit that waits from one that works: one that took
// longer than this a report waited for a flush (PostgreSQL's commit waits
// for the server's WAL flush), which costs the same for any number of
// reports, and a batch of all the senders shares it best; the writer's own
// work is 40–120 µs a report on SQLite, PostgreSQL's commits 200–700 µs a
// report (the storm benchmark of docs/benchmarks.md, a loaded machine).
// Splitting the senders there halved PostgreSQL's batches and its frames/s
// with them. SQLite with synchronous=FULL (an fsync a commit) stays under
// it in a storm and is split: its batches went from 44 to 34 frames, its
// frames/s the same within the noise.
const flushBound = 200 * time.Microsecond

// senderCount follows how many senders wait on the ingestor at once. At
// the end of a commit, the batch just committed and the requests queued
// meanwhile are each a sender of its own (a sender waits for its commit
// before it sends again). The highest count is kept, and forgotten one
// sender every sendersDecay commits, so that senders who left stop being
// waited for, but a paced load (senders that send on a clock, not on
// their ACK, fewer of them queued at once) keeps the batches it grows.
type senderCount struct {
	n, since int
}

const sendersDecay = 16

func (c *senderCount) saw(now int) {
	if now >= c.n {
		c.n, c.since = now, 0
		return
	}
	if c.since++; c.since >= sendersDecay {
		c.n, c.since = c.n-1, 0
	}
}

// commit stores a batch and releases its senders; it returns how many
// requests were queued when the commit ended (before the release).
func (g *Ingestor) commit(ctx context.Context, batch []*ingestRequest, n int) int {
	all := make([]Report, 0, n)
	for _, r := range batch {
		all = append(all, r.reports...)
	}
	outcomes, err := g.store.Ingest(context.WithoutCancel(ctx), all)
	queued := len(g.requests)
	if err != nil && len(batch) > 1 {
		// One bad frame must not hold back the others: commit each alone.
		g.log.Warn("batch commit failed; committing frames one by one", "frames", len(batch), "err", err)
		for _, r := range batch {
			g.commit(ctx, []*ingestRequest{r}, len(r.reports))
		}
		return queued
	}
	if err != nil {
		g.log.Error("storing reports failed; the frame is not acknowledged", "err", err)
		batch[0].done <- ingestResult{err: err}
		return queued
	}
	if g.Committed != nil {
		g.Committed(outcomes)
	}
	at := 0
	for _, r := range batch {
		r.done <- ingestResult{outcomes: outcomes[at : at+len(r.reports)]}
		at += len(r.reports)
	}
	return queued
}

// drain refuses what is still queued so its senders do not wait forever.
func (g *Ingestor) drain() {
	for {
		select {
		case r := <-g.requests:
			r.done <- ingestResult{err: ErrStopped}
		default:
			return
		}
	}
}
