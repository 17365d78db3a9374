package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestNoticeFeedKeptUntilChanged: a resident's feed is kept between reads
// (noticefeed.go), and every kind of change shows at the next read: a
// notice written, changed, confirmed, deleted, one changed behind the
// store's back (as another node would), and one whose time comes.
func TestNoticeFeedKeptUntilChanged(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		ct := makeContentTree(t, st, "fk")
		now := clock.Now()
		imp := ct.notice(t, st, "停水", content.Community(), func(n *content.Notice) { n.Important = true })
		feed := func() []string { return feedTitles(t, st, ct.resident1, nil, "") }
		if got := feed(); !slices.Equal(got, []string{"停水"}) {
			t.Fatalf("feed %v", got)
		}
		if got := feed(); !slices.Equal(got, []string{"停水"}) {
			t.Fatalf("feed read again %v", got)
		}

		ct.notice(t, st, "新的", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(-time.Second) })
		if got := feed(); !sameSet(got, []string{"停水", "新的"}) {
			t.Errorf("after a notice was written: %v", got)
		}

		imp.Title = "停水通知"
		mustOK(t, st.UpdateNotice(ctx, ct.admin, &imp))
		if got := feed(); !slices.Contains(got, "停水通知") {
			t.Errorf("after a notice was changed: %v", got)
		}

		_, err := st.ConfirmNotice(ctx, ct.resident1, imp.ID)
		mustOK(t, err)
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
		if got := feed(); !slices.Contains(got, "别处改的") {
			t.Errorf("after another node changed a notice: %v", got)
		}

		later := ct.notice(t, st, "稍后", content.Community(), func(n *content.Notice) { n.PublishAt = now.Add(30 * time.Second) })
		if got := feed(); slices.Contains(got, "稍后") {
			t.Errorf("a notice shows before its time: %v", got)
		}
		clock.Advance(31 * time.Second)
		if got := feed(); !slices.Contains(got, "稍后") {
			t.Errorf("a notice does not show once its time came: %v", got)
		}

		mustOK(t, st.DeleteNotice(ctx, ct.admin, later.ID))
		if got := feed(); slices.Contains(got, "稍后") {
			t.Errorf("after a notice was deleted: %v", got)
		}
	})
}
