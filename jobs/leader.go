package jobs

import (
	"context"
	"log/slog"
	"time"
)

// LeaseStore keeps the leases that make one node of several the leader of
// a chore.
type LeaseStore interface {
	// AcquireLease takes or renews the lease and returns when the
	// holder's present hold of it began (its term): a renewal returns the
	// same time, a lease taken again after it was lost a new one.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (acquiredAt time.Time, held bool, err error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Lease is who holds a chore's lease, and until when.
type Lease struct {
	Name       string    `json:"name"`
	Holder     string    `json:"holder"`
	AcquiredAt time.Time `json:"acquired_at"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// Leader runs a periodic chore on exactly one node of a deployment at a
// time: the node that holds the chore's lease. Every node runs a Leader
// for the chore; the one that takes the lease runs it and renews the lease
// every TTL/3, the others try to take it every Retry. A node that stops
// gives its lease back, so another takes the chore within Retry; a node
// that dies holds it until it runs out, so another takes the chore within
// TTL+Retry (docs/deploy.md, "Drain and failover"). A leader that cannot renew
// (the database is unreachable, or another node took the lease after a
// pause longer than TTL) stops the chore at once, before its lease runs
// out, so two nodes never run it together while their clocks agree.
type Leader struct {
	Store LeaseStore
	// Name is the chore's: one lease per chore.
	Name string
	// Holder names this node; it must differ between nodes and stay the
	// same across a restart, so that a restarted node takes its lease back
	// at once instead of waiting for it to run out.
	Holder string
	// TTL is how long a lease lasts unrenewed: how long a chore may go
	// undone after its node dies. Default 15 seconds.
	TTL time.Duration
	// Retry is how often a node that does not lead tries to take the
	// lease: how long a chore waits after its leader gave it back.
	// Default a second, at most TTL/3. Each try is one statement on a
	// row of its own, cheap beside any chore.
	Retry time.Duration
	Log   *slog.Logger
}

// Run takes part in the election until ctx ends, running chore while this
// node leads. chore must return soon after its context ends; it is started
// again when this node leads again.
func (l *Leader) Run(ctx context.Context, chore func(context.Context)) {
	ttl := l.TTL
	if ttl <= 0 {
		ttl = 15 * time.Second
	}
	every := ttl / 3
	retry := l.Retry
	if retry <= 0 {
		retry = time.Second
	}
	retry = min(retry, every)
	for {
		if term, ok := l.acquire(ctx, ttl); ok {
			l.lead(ctx, term, ttl, every, chore)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}

// Fence names the lease a chore's work is done under. The Leader puts it
// in the chore's context; a store that sees it commits a transaction only
// while the lease is still this holder's, and keeps the lease from
// changing hands until that commit is over. So a leader that lost its
// lease while it was paused (a stalled VM, SIGSTOP, a long GC pause)
// cannot commit chore work beside the new leader: the renewal that would
// stop it may come too late, the fence does not.
type Fence struct {
	Lease, Holder string
	// Term is when the holder's hold began (the lease's acquired_at): a
	// holder that lost the lease and took it again holds another term, in
	// which the old term's work must not commit.
	Term time.Time
}

type fenceKey struct{}

// WithFence returns ctx carrying f.
func WithFence(ctx context.Context, f Fence) context.Context {
	return context.WithValue(ctx, fenceKey{}, f)
}

// FenceFrom returns the fence ctx carries, if any.
func FenceFrom(ctx context.Context) (Fence, bool) {
	f, ok := ctx.Value(fenceKey{}).(Fence)
	return f, ok
}

// lead runs chore while the lease is renewed within the term that began
// at term; it returns when ctx ends (and gives the lease up), when a
// renewal fails or finds another term (the lease was lost and taken
// again in between: the chore's fence no longer holds), or when chore
// returns.
func (l *Leader) lead(ctx context.Context, term time.Time, ttl, every time.Duration, chore func(context.Context)) {
	l.Log.Info("leading", "chore", l.Name, "node", l.Holder)
	choreCtx, stop := context.WithCancel(WithFence(ctx, Fence{Lease: l.Name, Holder: l.Holder, Term: term}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		chore(choreCtx)
	}()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			<-done
			// The node stops: hand the lease on now rather than after TTL.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := l.Store.ReleaseLease(rctx, l.Name, l.Holder); err != nil {
				l.Log.Warn("release lease", "chore", l.Name, "err", err)
			} else {
				l.Log.Info("lease given back", "chore", l.Name, "node", l.Holder)
			}
			return
		case <-done:
			stop()
			return
		case <-tick.C:
			// A renewal that takes longer than TTL/3 would leave the
			// chore running past the lease; bound it.
			rctx, cancel := context.WithTimeout(ctx, every)
			renewed, held := l.acquire(rctx, ttl)
			cancel()
			if !held || !renewed.Equal(term) {
				stop()
				<-done
				l.Log.Warn("no longer leading", "chore", l.Name, "node", l.Holder)
				return
			}
		}
	}
}

func (l *Leader) acquire(ctx context.Context, ttl time.Duration) (term time.Time, held bool) {
	term, held, err := l.Store.AcquireLease(ctx, l.Name, l.Holder, ttl)
	if err != nil && ctx.Err() == nil {
		l.Log.Error("lease", "chore", l.Name, "err", err)
	}
	return term, err == nil && held
}
