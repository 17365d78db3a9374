package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync"

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

type statsCache struct {
	mu      sync.Mutex
	entries map[string]keptStats
	// computing holds the figures being read afresh, by key: callers
	// that want the same figures at the same version wait for that read
	// instead of making their own, so that a dashboard open on many
	// screens reads once after a write, not once per screen.
	computing map[string]*statsFlight
}

type statsFlight struct {
	version int64
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

// figures returns the figures of key at version: kept, or read by
// another caller at this moment, or read by compute and kept. A read of
// another caller that failed (its request cancelled, say) is not taken:
// compute is called instead.
func (k *statsCache) figures(ctx context.Context, key string, version int64, compute func() (assoc.ServiceStats, error)) (assoc.ServiceStats, error) {
	k.mu.Lock()
	if e, ok := k.entries[key]; ok && e.version == version {
		k.mu.Unlock()
		return copyStats(e.stats), nil
	}
	if f, ok := k.computing[key]; ok && f.version == version {
		k.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return assoc.ServiceStats{}, ctx.Err()
		}
		if f.err == nil {
			return copyStats(f.stats), nil
		}
		return compute()
	}
	f := &statsFlight{version: version, done: make(chan struct{})}
	if k.computing == nil {
		k.computing = map[string]*statsFlight{}
	}
	k.computing[key] = f
	k.mu.Unlock()

	f.stats, f.err = compute()
	k.mu.Lock()
	if k.computing[key] == f {
		delete(k.computing, key)
	}
	if f.err == nil {
		if k.entries == nil || len(k.entries) >= maxStatsKept {
			k.entries = map[string]keptStats{}
		}
		// A newer version kept meanwhile stays.
		if e, ok := k.entries[key]; !ok || e.version <= version {
			k.entries[key] = keptStats{version: version, stats: f.stats}
		}
	}
	k.mu.Unlock()
	close(f.done)
	if f.err != nil {
		return assoc.ServiceStats{}, f.err
	}
	return copyStats(f.stats), nil
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
