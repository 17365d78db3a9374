package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestCheckSupervisionIntervals: the sweep by interval finds exactly the
// panels silent past their own interval, over several intervals, and
// leaves the unsupervised and the already failed alone.
func TestCheckSupervisionIntervals(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "sv")
		panels := []struct {
			account string
			secs    int
			silent  time.Duration // since its last frame, at the sweep
			want    bool
		}{
			{"4001", 60, 61 * time.Second, true},
			{"4002", 60, 59 * time.Second, false},
			{"4003", 300, 301 * time.Second, true},
			{"4004", 300, 200 * time.Second, false},
			{"4005", 0, time.Hour, false},
			{"4006", 90, 0, true}, // never heard from: silent since registered
		}
		for _, p := range panels {
			mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: p.account, SupervisionSeconds: p.secs}))
		}
		clock.Advance(time.Hour)
		for _, p := range panels {
			if p.silent > 0 {
				_, err := st.DB().ExecContext(ctx, "UPDATE alarm_panels SET last_seen_at = $1 WHERE account = $2", clock.Now().Add(-p.silent), p.account)
				mustOK(t, err)
			}
		}
		_, err := st.CheckSupervision(ctx)
		mustOK(t, err)
		var got, want []string
		rows, err := st.DB().QueryContext(ctx, "SELECT account FROM alarm_panels WHERE comm_failed = TRUE")
		mustOK(t, err)
		for rows.Next() {
			var a string
			mustOK(t, rows.Scan(&a))
			got = append(got, a)
		}
		mustOK(t, rows.Err())
		rows.Close()
		for _, p := range panels {
			if p.want {
				want = append(want, p.account)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("failed panels %v, want %v", got, want)
		}
		// Failed now: the next sweep leaves them alone.
		again, err := st.CheckSupervision(ctx)
		mustOK(t, err)
		if len(again) != 0 {
			t.Errorf("second sweep %d outcomes", len(again))
		}
	})
}
