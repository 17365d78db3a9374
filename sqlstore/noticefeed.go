package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
)

// A reader's live notice feed, kept by audience (issue 13). The feed of a
// resident was four queries on every visit (the page with its audience
// condition, targets, files, the household's confirmations) and the
// Markdown of each notice summarized. It is kept while the database's
// notice version (migration 00036: triggers move it on every change that
// can change a feed, from any node) has not moved and no notice's
// publication or expiry time has come since it was read. Checking costs
// one read of one row.

// maxFeedAge bounds how long a kept feed is used at all.
const maxFeedAge = time.Minute

// maxFeeds bounds the feeds kept; past it they are all dropped.
const maxFeeds = 4096

type noticeFeeds struct {
	mu      sync.Mutex
	entries map[string]noticeFeed
}

type noticeFeed struct {
	version     int64
	read, until time.Time
	list        shequ.List[content.Notice]
}

func newNoticeFeeds() *noticeFeeds { return &noticeFeeds{entries: map[string]noticeFeed{}} }

// feedKey names a reader's feed: their reach and the filter.
func feedKey(read auth.Scope, f content.NoticeFilter) string {
	var b strings.Builder
	for _, r := range read {
		fmt.Fprintf(&b, "%d/%d/%d;", r.CommunityID, r.GridID, r.HouseholdID)
	}
	p := f.Page.Normalize()
	fmt.Fprintf(&b, "|%d|%s|%s|%t|%d|%d", f.CommunityID, f.Status, f.Category, f.Important, p.Limit, p.Offset)
	return b.String()
}

// noticesVersion reads the feed's version.
func (s *Store) noticesVersion(ctx context.Context, q querier) (int64, error) {
	v, err := s.counterSum(ctx, q, "notices")
	if err != nil {
		return 0, fmt.Errorf("notice version: %w", err)
	}
	return v, nil
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

// cachedFeed returns the kept feed of key when it still holds at now.
func (c *noticeFeeds) get(key string, version int64, now time.Time) (shequ.List[content.Notice], bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || e.version != version || now.Before(e.read) || !now.Before(e.until) {
		return shequ.List[content.Notice]{}, false
	}
	// The items are the caller's to reorder; the notices in them are
	// shared and read only.
	l := e.list
	l.Items = append([]content.Notice(nil), e.list.Items...)
	return l, true
}

func (c *noticeFeeds) put(key string, e noticeFeed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxFeeds {
		clear(c.entries)
	}
	e.list.Items = append([]content.Notice(nil), e.list.Items...)
	c.entries[key] = e
}
