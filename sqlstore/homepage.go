package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The resident's home page is kept in memory by the web layer while its
// version has not moved and nothing on it has come due (issue 13). The
// version is the sum of change counters that triggers move on every change
// the page can show (migration 00046, with 'notices' of 00036): each only
// grows, so the sum moves when any one does, on any node.

// HomePageVersion returns the version of the home page of a household
// living in home: one read of at most four rows.
func (s *Store) HomePageVersion(ctx context.Context, household, home int64) (int64, error) {
	v, err := s.counterSum(ctx, s.reader(), "notices", "resident_home",
		"household:"+strconv.FormatInt(household, 10), "home:"+strconv.FormatInt(home, 10))
	if err != nil {
		return 0, fmt.Errorf("home page version: %w", err)
	}
	return v, nil
}

// HomePageUntil returns when a home page read at now may next change with
// no write at all: a notice published or expiring, a lost-and-found post
// expiring. It is at most a minute away (maxFeedAge).
func (s *Store) HomePageUntil(ctx context.Context, now time.Time) (time.Time, error) {
	q, now := s.reader(), now.UTC()
	until, err := s.nextNoticeChange(ctx, q, now)
	if err != nil {
		return time.Time{}, err
	}
	var next *time.Time
	err = q.QueryRowContext(ctx, "SELECT MIN(expires_at) FROM lostfound_posts WHERE removed = FALSE AND status = 'open' AND expires_at > $1", now).Scan(scanTimePtr{&next})
	if err != nil {
		return time.Time{}, fmt.Errorf("next post expiry: %w", err)
	}
	if next != nil && next.Before(until) {
		until = *next
	}
	return until, nil
}
