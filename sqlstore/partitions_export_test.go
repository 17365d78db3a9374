package sqlstore

import (
	"strings"
	"time"

	"github.com/shequ/shequ/auth"
)

// HotQuery is one of the frequent reads on the partitioned tables, built
// from the store's own table definitions and statements, for the plan
// checks of partitions_test.go.
type HotQuery struct {
	Name  string
	Table string // the partitioned table it reads
	SQL   string
	Args  []any
	// Since, when set, bounds the query in time: the plan must read no
	// partition of months wholly before it.
	Since time.Time
}

func week(q HotQuery, now time.Time) HotQuery {
	q.Since = now.Add(-7 * 24 * time.Hour)
	return q
}

// HotQueries returns the hot reads for community's console, home's
// timeline, door's log, device's uptime and a stream resuming after live
// id after, at now.
func HotQueries(community, home, door, device, incident, after int64, account, seq string, now time.Time) []HotQuery {
	scope := auth.Scope{{CommunityID: community}}
	// As listOf builds a page (query.go): one row more than the page.
	list := func(name, table string, t table, limit int, cond func(a *args) []string) HotQuery {
		var a args
		var conds []string
		if cond != nil {
			conds = cond(&a)
		}
		where := append([]string{scopeWhere(scope, t.scope, &a)}, conds...)
		q := "SELECT " + t.columns + " FROM " + t.from + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + t.order +
			" LIMIT " + a.add(limit+1) + " OFFSET " + a.add(0)
		return HotQuery{Name: name, Table: table, SQL: q, Args: a}
	}
	return []HotQuery{
		list("console events", "alarm_events", events, 50, nil),
		list("home timeline", "alarm_events", events, 50, func(a *args) []string { return []string{"e.home_id = " + a.add(home)} }),
		{Name: "incident events", Table: "alarm_events", SQL: `SELECT e.received_at, e.source, e.code, e.kind, e.restore, e.zone, e.text, COALESCE(sn.zone, '')
		FROM alarm_events e LEFT JOIN alarm_sensors sn ON sn.id = e.sensor_id WHERE e.incident_id = $1 ORDER BY e.id`, Args: []any{incident}},
		{Name: "retransmissions", Table: "alarm_events", SQL: retransmissionsPostgres,
			Args: []any{[]int64{home}, []string{account}, []string{seq}, now.Add(-RetransmissionWindow)}, Since: now.Add(-RetransmissionWindow)},
		list("live resume", "live_events", liveEvents, 100, func(a *args) []string {
			return []string{"l.id > " + a.add(after), "l.id <= " + a.add(after+1000)}
		}),
		{Name: "live horizon", Table: "live_events", SQL: "SELECT id FROM live_events ORDER BY id DESC LIMIT 1000"},
		{Name: "last live id", Table: "live_events", SQL: "SELECT MAX(id) FROM live_events"},
		list("access log by door", "access_log", accessLog, 50, func(a *args) []string { return []string{"l.door_id = " + a.add(door)} }),
		week(list("access log by door, a week", "access_log", accessLog, 50, func(a *args) []string {
			return []string{"l.door_id = " + a.add(door), "l.at >= " + a.add(now.Add(-7*24*time.Hour))}
		}), now),
		{Name: "device uptime", Table: "device_uptime", SQL: `SELECT device_id,
		COALESCE(SUM(CASE WHEN hour >= $2 THEN checks ELSE 0 END), 0), COALESCE(SUM(CASE WHEN hour >= $2 THEN up ELSE 0 END), 0),
		COALESCE(SUM(checks), 0), COALESCE(SUM(up), 0)
		FROM device_uptime WHERE device_id IN ($1) AND hour >= $3 GROUP BY device_id`,
			Args: []any{device, now.Add(-24 * time.Hour).Truncate(time.Hour), now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)}, Since: now.Add(-30 * 24 * time.Hour).Truncate(time.Hour)},
		list("audit of a community", "audit_log", auditLog, 50, nil),
	}
}
