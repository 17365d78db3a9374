package sqlstore_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/retention"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestRetention: a fixture with rows on both sides of each period and rows
// under a legal hold; retention removes exactly what is past its period
// and not held, anonymises closed matters, and records it in the audit log.
func TestRetention(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "rt")
		c := tr.community.ID
		now := clock.Now().UTC()
		ago := func(days int, extra time.Duration) time.Time {
			return now.Add(-time.Duration(days)*retention.Day + extra)
		}
		db := st.DB()
		exec := func(q string, a ...any) {
			t.Helper()
			if _, err := db.ExecContext(ctx, q, a...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		event := func(account string, at time.Time, incident any) {
			exec(`INSERT INTO alarm_events (community_id, source, account, kind, incident_id, received_at) VALUES ($1, 'panel', $2, 'test', $3, $4)`, c, account, incident, at)
		}
		event("OLD", ago(365, -time.Hour), nil)
		event("YOUNG", ago(365, time.Hour), nil)
		event("HELD", ago(400, 0), 777)
		exec(`INSERT INTO live_events (community_id, type, payload, at) VALUES ($1, 'incident', '{}', $2)`, c, ago(365, -time.Hour))
		exec(`INSERT INTO live_events (community_id, type, payload, at) VALUES ($1, 'incident', '{"young":true}', $2)`, c, ago(365, time.Hour))
		exec(`INSERT INTO access_log (community_id, door_id, at, event) VALUES ($1, 1, $2, 'opened')`, c, ago(90, -time.Hour))
		exec(`INSERT INTO access_log (community_id, door_id, at, event) VALUES ($1, 1, $2, 'opened')`, c, ago(90, time.Hour))
		var dev int64
		mustOK(t, db.QueryRowContext(ctx, `INSERT INTO devices (community_id, kind, name, created_at, updated_at) VALUES ($1, 'camera', 'rt', $2, $2) RETURNING id`, c, now).Scan(&dev))
		exec(`INSERT INTO device_uptime (device_id, hour, checks, up) VALUES ($1, $2, 1, 1), ($1, $3, 1, 1)`,
			dev, ago(30, -2*time.Hour).Truncate(time.Hour), ago(30, 2*time.Hour).Truncate(time.Hour))

		cat := matter.Category{CommunityID: c, Code: "rt", Name: "保留", SLAHours: 24}
		mustOK(t, st.CreateCategory(ctx, everywhere, &cat))
		matters := map[string]int64{}
		for i, m := range []struct {
			name, status string
			updated      time.Time
		}{
			{"closed-old", matter.Closed, ago(3*365, -time.Hour)},
			{"closed-young", matter.Closed, ago(3*365, time.Hour)},
			{"open-old", matter.Submitted, ago(4*365, 0)},
			{"held-old", matter.Rejected, ago(4*365, 0)},
		} {
			var id int64
			err := db.QueryRowContext(ctx, `INSERT INTO matters (community_id, tracking, category_id, household_id, description, address, status, channel, due_at, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, '宝圣东路1号', $6, 'app', $7, $7, $7) RETURNING id`,
				c, fmt.Sprintf("RT%04d", i), cat.ID, tr.household1.ID, "楼道灯坏了 "+m.name, m.status, m.updated).Scan(&id)
			mustOK(t, err)
			matters[m.name] = id
		}
		_, err := st.PlaceHold(ctx, "incident", 777, "在诉讼中 in litigation")
		mustOK(t, err)
		_, err = st.PlaceHold(ctx, "matter", matters["held-old"], "居民申诉中 the resident disputes it")
		mustOK(t, err)

		res, err := retention.Run(ctx, st, clock)
		mustOK(t, err)
		got := map[string]retention.Result{}
		for _, r := range res {
			got[r.Kind] = r
		}
		for kind, want := range map[string][2]int{"alarm_events": {1, 1}, "live_events": {1, 0}, "access_log": {1, 0}, "device_checks": {1, 0}, "closed_matters": {1, 1}} {
			if r := got[kind]; r.Rows != want[0] || r.Held != want[1] {
				t.Errorf("%s: %d rows, %d held; want %d, %d", kind, r.Rows, r.Held, want[0], want[1])
			}
		}
		if got["audit"].Kind != "" {
			t.Errorf("audit %+v: applied with no period set", got["audit"])
		}

		var accounts []string
		rows, err := db.QueryContext(ctx, `SELECT account FROM alarm_events WHERE community_id = $1 ORDER BY account`, c)
		mustOK(t, err)
		for rows.Next() {
			var a string
			mustOK(t, rows.Scan(&a))
			accounts = append(accounts, a)
		}
		rows.Close()
		if !slices.Equal(accounts, []string{"HELD", "YOUNG"}) {
			t.Errorf("alarm events left: %v", accounts)
		}
		var live int
		mustOK(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM live_events WHERE community_id = $1 AND payload = '{}'`, c).Scan(&live))
		if live != 0 {
			t.Error("the old live event is still there")
		}
		for name, id := range matters {
			var desc, addr string
			var household *int64
			mustOK(t, db.QueryRowContext(ctx, `SELECT description, address, household_id FROM matters WHERE id = $1`, id).Scan(&desc, &addr, &household))
			anonymised := desc == "" && addr == "" && household == nil
			if anonymised != (name == "closed-old") {
				t.Errorf("matter %s: anonymised %v (%q %q %v)", name, anonymised, desc, addr, household)
			}
		}
		// A second pass finds nothing more.
		res, err = retention.Run(ctx, st, clock)
		mustOK(t, err)
		for _, r := range res {
			if r.Rows != 0 {
				t.Errorf("second pass took %d rows of %s", r.Rows, r.Kind)
			}
		}
		entries, err := st.ListAudit(ctx, everywhere, audit.Filter{Page: shequ.Page{Limit: 100}})
		mustOK(t, err)
		recorded := map[string]bool{}
		for _, e := range entries.Items {
			recorded[e.Action+"/"+e.Entity] = true
		}
		for _, want := range []string{"retention.delete/alarm_events", "retention.delete/device_checks", "retention.delete/live_events", "retention.anonymise/closed_matters", "legal_hold.place/legal_hold"} {
			if !recorded[want] {
				t.Errorf("audit lacks %s", want)
			}
		}

		// The administrator's periods: lawful minimums hold, the audit log
		// is never shortened.
		for _, tt := range []struct {
			kind string
			days int
			want string
		}{
			{"audit", 400, shequ.EINVALID},
			{"alarm_events", 30, shequ.EINVALID},
			{"nothing", 30, shequ.EINVALID},
			{"alarm_events", 200, ""},
		} {
			if got := shequ.ErrorCode(st.SetRetention(ctx, everywhere, tt.kind, tt.days)); got != tt.want {
				t.Errorf("set %s %d days: %q, want %q", tt.kind, tt.days, got, tt.want)
			}
		}
		// With 200 days the young event goes too; the held one stays.
		_, err = retention.Run(ctx, st, clock)
		mustOK(t, err)
		var n int
		mustOK(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM alarm_events WHERE community_id = $1`, c).Scan(&n))
		if n != 1 {
			t.Errorf("%d alarm events after shortening the period, want the held one", n)
		}
	})
}
