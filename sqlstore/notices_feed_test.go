package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestNoticeFeedShowsEveryChange: every kind of change shows in a
// resident's feed at the next read — a notice written, changed, confirmed,
// deleted, one changed behind the store's back (as another node would),
// and one whose time comes — and the notices' stamp, under which the web
// layer keeps the feed, moves with each write.
func TestNoticeFeedShowsEveryChange(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "fk")
		now := clock.Now()
		imp := ct.notice(t, st, "停水", content.Community(), func(n *content.Notice) { n.Important = true })
		feed := func() []string { return feedTitles(t, st, ct.resident1, nil, "") }
		stamp := func() int64 {
			t.Helper()
			v, ok, err := st.ListStamp(ctx, "notices")
			if err != nil || !ok {
				t.Fatalf("notices' stamp: %d %t %v", v, ok, err)
			}
			return v
		}
		last := stamp()
		moved := func(what string) {
			t.Helper()
			if v := stamp(); v == last {
				t.Errorf("the notices' stamp did not move %s", what)
			} else {
				last = v
			}
		}
		if got := feed(); !slices.Equal(got, []string{"停水"}) {
			t.Fatalf("feed %v", got)
		}
		if got := feed(); !slices.Equal(got, []string{"停水"}) {
			t.Fatalf("feed read again %v", got)
		}
		if v := stamp(); v != last {
			t.Errorf("the notices' stamp moved with reads alone: %d → %d", last, v)
		}

		ct.notice(t, st, "新的", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(-time.Second) })
		moved("when a notice was written")
		if got := feed(); !sameSet(got, []string{"停水", "新的"}) {
			t.Errorf("after a notice was written: %v", got)
		}

		imp.Title = "停水通知"
		mustOK(t, st.UpdateNotice(ctx, ct.admin, &imp))
		moved("when a notice was changed")
		if got := feed(); !slices.Contains(got, "停水通知") {
			t.Errorf("after a notice was changed: %v", got)
		}

		_, err := st.ConfirmNotice(ctx, ct.resident1, imp.ID)
		mustOK(t, err)
		moved("when a notice was confirmed")
		l, err := st.ListNotices(ctx, ct.resident1, nil, content.NoticeFilter{})
		mustOK(t, err)
		for _, n := range l.Items {
			if n.ID == imp.ID && n.ConfirmedAt == nil {
				t.Error("the confirmation does not show in the feed")
			}
		}
		// The other household's feed was not confirmed.
		l, err = st.ListNotices(ctx, ct.resident2, nil, content.NoticeFilter{})
		mustOK(t, err)
		for _, n := range l.Items {
			if n.ConfirmedAt != nil {
				t.Errorf("household 2's feed shows %q confirmed", n.Title)
			}
		}

		// Behind the store's back, as another node's write.
		if _, err := st.DB().ExecContext(ctx, "UPDATE notices SET title = $1 WHERE id = $2", "别处改的", imp.ID); err != nil {
			t.Fatal(err)
		}
		// Heard with its notification (or the file's next poll).
		mustOK(t, st.HeardCounters(ctx))
		moved("when a notice was changed behind the store's back")
		if got := feed(); !slices.Contains(got, "别处改的") {
			t.Errorf("after another node changed a notice: %v", got)
		}

		later := ct.notice(t, st, "稍后", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(30 * time.Second) })
		moved("when a notice was scheduled")
		// Its publication moves no counter: a kept feed holds until then.
		if until, err := st.ListUntil(ctx, "notices", clock.Now()); err != nil || !until.Equal(later.PublishAt) {
			t.Errorf("a feed read now holds until %s (%v), want the publication at %s", until, err, later.PublishAt)
		}
		if got := feed(); slices.Contains(got, "稍后") {
			t.Errorf("a notice shows before its time: %v", got)
		}
		clock.Advance(31 * time.Second)
		if got := feed(); !slices.Contains(got, "稍后") {
			t.Errorf("a notice does not show once its time came: %v", got)
		}

		mustOK(t, st.DeleteNotice(ctx, ct.admin, later.ID))
		moved("when a notice was deleted")
		if got := feed(); slices.Contains(got, "稍后") {
			t.Errorf("after a notice was deleted: %v", got)
		}
	})
}
