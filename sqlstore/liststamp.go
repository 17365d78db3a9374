package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// List stamps (issue 13): the API keeps the encoded pages of the busiest
// lists and sends them again while what they show has not changed. A
// list's stamp is the sum of the change counters (migrations 00036 and
// 00044) that move with every change it can show; the counters only grow,
// so the sum moves whenever one of them does. They are moved by triggers
// in the writing transaction, so the stamp read after a commit, from any
// node, is past it: a page built after reading stamp S shows at least
// what was committed at S, and is used only while the stamp is still S.
// The stamp is usually answered from the counters' mirror
// (countermirror.go): at once for this store's writes, once heard for
// another node's.

// listCounters names, per list, the change counters it depends on.
var listCounters = map[string][]string{
	// homes, their buildings' names and grids, and households' homes
	// (a resident reaches their home through the household).
	"homes": {"places"},
	// the incident queue shows each incident with its home and building.
	"incidents": {"incidents", "places"},
	// readers' notice feeds; their time bound is ListUntil's.
	"notices": {"notices"},
}

// maxFeedAge bounds how long a kept page is used at all.
const maxFeedAge = time.Minute

// counterSum returns the sum of the named change counters: one read of a
// few rows by primary key. Each counter only grows, so the sum moves when
// any of them does; every kept answer (lists, home page, notice feed,
// sessions) reads its version here. On PostgreSQL, outside a transaction,
// the sum usually comes from the counters' mirror without a query
// (countermirror.go).
func (s *Store) counterSum(ctx context.Context, q querier, names ...string) (int64, error) {
	read := func(ctx context.Context) (int64, error) { return readCounterSum(ctx, q, names) }
	// A transaction sees its own writes, which nobody has announced.
	if _, inTx := q.(*sql.Tx); inTx || s.counters == nil || s.txn != nil {
		return read(ctx)
	}
	return s.counters.sum(ctx, read, names)
}

// counterSumSQL holds the query of counterSum per number of names, so
// that a request builds no SQL.
var counterSumSQL = func() (qs [8]string) {
	for n := range qs {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("$" + strconv.Itoa(i+1))
		}
		qs[n] = "SELECT CAST(COALESCE(SUM(version), 0) AS BIGINT) FROM change_counters WHERE name IN (" + b.String() + ")"
	}
	return qs
}()

func readCounterSum(ctx context.Context, q querier, names []string) (int64, error) {
	if len(names) == 0 || len(names) >= len(counterSumSQL) {
		return 0, fmt.Errorf("counter sum of %d counters", len(names))
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	var v int64
	err := q.QueryRowContext(ctx, counterSumSQL[len(names)], args...).Scan(&v)
	return v, err
}

// ListStamp returns the stamp of list ("homes", "incidents", "notices").
// ok is false when no page may be kept: on a store bound to a
// transaction, whose reads see its own uncommitted writes.
func (s *Store) ListStamp(ctx context.Context, list string) (stamp int64, ok bool, err error) {
	names, known := listCounters[list]
	if !known {
		return 0, false, fmt.Errorf("list stamp: no list %q", list)
	}
	if s.txn != nil {
		return 0, false, nil
	}
	stamp, err = s.counterSum(ctx, s.reader(), names...)
	if err != nil {
		return 0, false, fmt.Errorf("list stamp %s: %w", list, err)
	}
	return stamp, true, nil
}

// ListUntil returns until when a page of list read at now holds while its
// stamp does not move: the notice feed changes by itself when a notice's
// publication or expiry time comes; the others only by writes, and are
// read again after maxFeedAge all the same.
func (s *Store) ListUntil(ctx context.Context, list string, now time.Time) (time.Time, error) {
	if list == "notices" {
		return s.nextNoticeChange(ctx, s.reader(), now)
	}
	return now.Add(maxFeedAge), nil
}

// nextNoticeChange returns when the next notice is published or expires
// after now: a feed read at now holds until then.
func (s *Store) nextNoticeChange(ctx context.Context, q querier, now time.Time) (time.Time, error) {
	var next *time.Time
	err := q.QueryRowContext(ctx, `SELECT MIN(t) FROM (SELECT MIN(publish_at) AS t FROM notices WHERE publish_at > $1
		UNION ALL SELECT MIN(expires_at) AS t FROM notices WHERE expires_at > $1) x`, now).Scan(scanTimePtr{&next})
	if err != nil {
		return time.Time{}, fmt.Errorf("next notice change: %w", err)
	}
	until := now.Add(maxFeedAge)
	if next != nil && next.Before(until) {
		until = *next
	}
	return until, nil
}
