package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/shequ/shequ/assoc"
)

// The associations' statistics, kept (issue 13). A dashboard read was a
// dozen queries even from the rollup; under load each waited for a CPU,
// and on PostgreSQL for a server round trip. The figures of a community,
// period, filter and reader are kept in memory with the statistics'
// version (migration 00050: triggers move it on every write to a table
// the figures are read from, on any node or behind the store's back), the
// community's zone and the day they were computed on; while all three
// are unchanged, a read is one query of one row. The version is read
// before the figures are: a write committed in between may show in
// figures kept under the version before it, which only makes the next
// read compute them again; figures are never kept under a version that
// counts a write they do not show.

// maxStatsKept bounds the figures kept; past it they are all dropped.
const maxStatsKept = 1024

// A key's figures are read afresh by one caller at a time. While they are
// being read at version v, a caller that read v or an older version waits
// for that read; a caller that read a newer version waits for the read
// that comes next, which starts when the current one ends, at the newest
// version any of its callers read, and answers them all. However often
// writes move the version, a key has one read under way and at most one
// waiting: the writes of a busy dashboard used to start a read of their
// own each, up to a dozen of one key at once on 2 cores, some of them
// twice for one version, each slower for the others (issue 13; measured
// in docs/benchmarks.md). Whatever a caller gets shows every write its
// version counts: it was read after that version, or a newer one, was.

type statsCache struct {
	mu      sync.Mutex
	entries map[string]keptStats
	flights map[string]*keyFlights
	// computed counts the figures read afresh, for the tests.
	computed atomic.Int64
	// beforeRead, when set (tests only), is called as figures at a
	// version start being read.
	beforeRead func(version int64)
}

// keyFlights is a key's read under way and the one waiting for it.
type keyFlights struct {
	running *statsFlight
	// next is read when running ends, by the caller that made it. Its
	// version rises to the newest of the callers that join it until then.
	next *statsFlight
}

type statsFlight struct {
	version int64
	waiting int // callers waiting for it other than its reader
	done    chan struct{}
	stats   assoc.ServiceStats
	err     error
}

type keptStats struct {
	version int64
	stats   assoc.ServiceStats
}

// statsKey names one reader's figures: the community, the filter as
// typed, the zone and today's date in it (a period left open is this
// year's, eligibility is today's), and what the reader reaches. The user
// is left out: the figures depend on the reader's seats, not on who
// holds them.
func statsKey(c int64, f assoc.StatsFilter, tz, today string, acc assoc.Access) string {
	acc.UserID = 0
	return fmt.Sprintf("%d|%d|%q|%q|%s|%s|%v", c, f.AssociationID, f.From, f.To, tz, today, acc)
}

// figures returns the figures of key at version or newer: kept, or read
// by another caller, or read by compute and kept. When the read of
// another caller failed, the caller asks again (see below), and then
// reads or waits as anyone would.
func (k *statsCache) figures(ctx context.Context, key string, version int64, compute func() (assoc.ServiceStats, error)) (assoc.ServiceStats, error) {
	f, own, err := k.flight(ctx, key, version, compute)
	// Another caller's read that failed is asked again once; one that
	// ended with its caller's request (cancelled, timed out) up to three
	// times, since that says nothing of the figures.
	for tries := 0; err == nil && !own && f.err != nil && tries < 3; tries++ {
		if tries > 0 && !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
			break
		}
		f, own, err = k.flight(ctx, key, version, compute)
	}
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	if f.err != nil {
		return assoc.ServiceStats{}, f.err
	}
	return copyStats(f.stats), nil
}

// flight returns the ended read whose figures answer a caller that read
// version: the figures kept, a read of another caller, or its own (own).
// The error is the caller's context's, while waiting; the read's own is
// in the flight.
func (k *statsCache) flight(ctx context.Context, key string, version int64, compute func() (assoc.ServiceStats, error)) (f *statsFlight, own bool, err error) {
	k.mu.Lock()
	if e, ok := k.entries[key]; ok && e.version == version {
		k.mu.Unlock()
		return &statsFlight{version: e.version, stats: e.stats}, false, nil
	}
	if k.flights == nil {
		k.flights = map[string]*keyFlights{}
	}
	fl := k.flights[key]
	if fl == nil {
		fl = &keyFlights{}
		k.flights[key] = fl
	}
	var before *statsFlight
	switch {
	case fl.running == nil:
		f = &statsFlight{version: version, done: make(chan struct{})}
		fl.running = f
	case fl.running.version >= version:
		return k.wait(ctx, fl.running)
	case fl.next != nil:
		fl.next.version = max(fl.next.version, version)
		return k.wait(ctx, fl.next)
	default:
		f = &statsFlight{version: version, done: make(chan struct{})}
		fl.next, before = f, fl.running
	}
	k.mu.Unlock()
	if before != nil {
		select {
		case <-before.done: // its end made f the running read
		case <-ctx.Done():
			k.mu.Lock()
			if fl.next == f {
				// Not begun: dropped, its callers ask again.
				fl.next = nil
				k.mu.Unlock()
				k.end(key, f, assoc.ServiceStats{}, ctx.Err(), false)
				return nil, true, ctx.Err()
			}
			k.mu.Unlock()
			k.end(key, f, assoc.ServiceStats{}, ctx.Err(), true)
			return nil, true, ctx.Err()
		}
	}
	ended := false
	defer func() {
		if !ended {
			// compute panicked (the HTTP server recovers it): end the
			// read, or every later caller of key would wait on it.
			k.end(key, f, assoc.ServiceStats{}, errStatsPanicked, true)
		}
	}()
	if k.beforeRead != nil {
		k.beforeRead(f.version)
	}
	k.computed.Add(1)
	st, err := compute()
	ended = true
	k.end(key, f, st, err, true)
	return f, true, nil
}

// errStatsPanicked is the error of a read of the figures that panicked,
// for those who waited on it.
var errStatsPanicked = errors.New("reading the statistics panicked")

// wait waits, k.mu held, for f to end.
func (k *statsCache) wait(ctx context.Context, f *statsFlight) (*statsFlight, bool, error) {
	f.waiting++
	k.mu.Unlock()
	select {
	case <-f.done:
		return f, false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// end records how the read f of key ended and lets its callers go; ran
// says f was the key's running read, which the next read now replaces.
func (k *statsCache) end(key string, f *statsFlight, st assoc.ServiceStats, err error, ran bool) {
	k.mu.Lock()
	f.stats, f.err = st, err
	if err == nil {
		if k.entries == nil || len(k.entries) >= maxStatsKept {
			k.entries = map[string]keptStats{}
		}
		// A newer version kept meanwhile stays.
		if e, ok := k.entries[key]; !ok || e.version <= f.version {
			k.entries[key] = keptStats{version: f.version, stats: st}
		}
	}
	if fl := k.flights[key]; ran && fl != nil && fl.running == f {
		fl.running, fl.next = fl.next, nil
		if fl.running == nil {
			delete(k.flights, key)
		}
	}
	k.mu.Unlock()
	close(f.done)
}

// copyStats copies the figures' lines and months, so that neither the
// caller nor the cache sees the other's changes.
func copyStats(st assoc.ServiceStats) assoc.ServiceStats {
	st.Associations = slices.Clone(st.Associations)
	for i := range st.Associations {
		st.Associations[i].Months = slices.Clone(st.Associations[i].Months)
	}
	st.Total.Months = slices.Clone(st.Total.Months)
	st.Policies = slices.Clone(st.Policies)
	return st
}

// statsVersion reads community c's time zone and the statistics' version
// in one query.
func statsVersion(ctx context.Context, q querier, c int64) (tz string, version int64, err error) {
	err = q.QueryRowContext(ctx, "SELECT c.timezone, v.version FROM communities c, change_counters v WHERE c.id = $1 AND v.name = 'stats'", c).Scan(&tz, &version)
	if err == sql.ErrNoRows {
		return "", 0, notFound("community", c)
	} else if err != nil {
		return "", 0, fmt.Errorf("statistics version: %w", err)
	}
	return tz, version, nil
}
