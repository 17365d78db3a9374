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
// before the figures are, so that a write committed meanwhile leaves the
// kept figures behind their version, never ahead of it.

// maxStatsKept bounds the figures kept; past it they are all dropped.
const maxStatsKept = 1024

type statsCache struct {
	mu      sync.Mutex
	entries map[string]keptStats
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

func (k *statsCache) get(key string, version int64) (assoc.ServiceStats, bool) {
	k.mu.Lock()
	e, ok := k.entries[key]
	k.mu.Unlock()
	if !ok || e.version != version {
		return assoc.ServiceStats{}, false
	}
	return copyStats(e.stats), true
}

func (k *statsCache) put(key string, version int64, st assoc.ServiceStats) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.entries == nil || len(k.entries) >= maxStatsKept {
		k.entries = map[string]keptStats{}
	}
	k.entries[key] = keptStats{version: version, stats: copyStats(st)}
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
