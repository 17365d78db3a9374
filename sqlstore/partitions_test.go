package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/retention"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// partitionedTables are the tables migration 00031 partitions on
// PostgreSQL, with the column that dates their rows.
var partitionedTables = map[string]string{
	"alarm_events": "received_at", "live_events": "at", "access_log": "at", "device_uptime": "hour", "audit_log": "at",
}

// openAt opens an empty PostgreSQL database migrated up to version.
func openAt(t testing.TB, version int64, clock *shequtest.Clock) (*sqlstore.Store, string) {
	t.Helper()
	dsn := sqlstoretest.EmptyDSN(t, sqlstore.Postgres)
	st, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{Cipher: sqlstoretest.TestCipher(t), Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.MigrateTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return st, dsn
}

// yearSize is how many rows of each table fillYear writes: small enough
// for the test on a shared machine, SHEQU_YEAR_ROWS for the figures of
// docs/benchmarks.md.
func yearSize() int {
	if n, err := strconv.Atoi(os.Getenv("SHEQU_YEAR_ROWS")); err == nil && n > 0 {
		return n
	}
	return 60_000
}

// fillYear writes a year of synthetic rows, up to end, into the five
// tables: n alarm events, live events, access log rows and audit entries
// each, and n hourly counts of device checks, spread over 10 communities,
// 3,000 homes, 50 doors and n/8760 devices.
func fillYear(t testing.TB, db *sql.DB, end time.Time, n int) {
	t.Helper()
	ctx := context.Background()
	devices := max(1, n/8760)
	start := end.AddDate(-1, 0, 0)
	stmts := []string{
		`INSERT INTO communities (code, name, created_at) SELECT 'y' || g, 'year ' || g, $1 FROM generate_series(1, 10) g`,
		`INSERT INTO devices (community_id, kind, name, created_at, updated_at)
			SELECT (SELECT min(id) FROM communities) + g % 10, 'door', 'dev ' || g, $1, $1 FROM generate_series(1, 50 + ` + strconv.Itoa(devices) + `) g`,
		`INSERT INTO access_doors (device_id, community_id, name, kind, created_at)
			SELECT id, community_id, name, 'gate', $1 FROM devices ORDER BY id LIMIT 50`,
	}
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q, start); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Row g of n is dated g/n of the year after start, so ids and times
	// rise together as they do in life.
	at := fmt.Sprintf("($1::timestamptz + (g::float8 / %d) * interval '365 days')", n)
	c := "(SELECT min(id) FROM communities) + g % 10"
	fill := []string{
		`INSERT INTO alarm_events (community_id, home_id, source, account, seq, kind, incident_id, received_at)
			SELECT ` + c + `, g % 3000, 'sia', 'P' || (g % 3000), (g / 3000)::text, 'burglary', CASE WHEN g % 50 = 0 THEN g / 50 END, ` + at + `
			FROM generate_series(1, $2) g`,
		`INSERT INTO live_events (community_id, home_id, type, payload, at)
			SELECT ` + c + `, g % 3000, 'incident', '{"id":' || g || '}', ` + at + ` FROM generate_series(1, $2) g`,
		`INSERT INTO access_log (community_id, door_id, at, event, granted)
			SELECT d.community_id, d.device_id, ` + at + `, 'entry', TRUE FROM generate_series(1, $2) g
			JOIN (SELECT device_id, community_id, row_number() OVER (ORDER BY device_id) - 1 AS k FROM access_doors) d ON d.k = g % 50`,
		`INSERT INTO audit_log (at, community_id, username, action, entity)
			SELECT ` + at + `, ` + c + `, 'admin', 'incident.ack', 'incident' FROM generate_series(1, $2) g`,
		`INSERT INTO device_uptime (device_id, hour, checks, up)
			SELECT d.id, date_trunc('hour', $1::timestamptz) + h * interval '1 hour', 12, 12
			FROM (SELECT id FROM devices ORDER BY id OFFSET 50) d, generate_series(0, 8759) h`,
	}
	for _, q := range fill {
		a := []any{start}
		if strings.Contains(q, "$2") {
			a = append(a, n)
		}
		if _, err := db.ExecContext(ctx, q, a...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
}

type tableState struct {
	rows, minID, maxID int64
}

func stateOf(t testing.TB, db *sql.DB) map[string]tableState {
	t.Helper()
	out := map[string]tableState{}
	for table := range partitionedTables {
		var s tableState
		q := `SELECT COUNT(*), COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM ` + table
		if table == "device_uptime" {
			q = `SELECT COUNT(*), COALESCE(MIN(device_id), 0), COALESCE(SUM(checks), 0) FROM device_uptime`
		}
		if err := db.QueryRow(q).Scan(&s.rows, &s.minID, &s.maxID); err != nil {
			t.Fatal(err)
		}
		out[table] = s
	}
	return out
}

// relkind returns 'p' for a partitioned table, 'r' for a plain one.
func relkind(t testing.TB, db *sql.DB, table string) string {
	t.Helper()
	var k string
	if err := db.QueryRow(`SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)`, table).Scan(&k); err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPartitionsMigration: a year of rows in the five tables moves into
// monthly partitions (Up) and back into plain tables (Down) with nothing
// lost, every id kept, none in the default partition, and ids going on
// from where they were (live events resume by id).
func TestPartitionsMigration(t *testing.T) {
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st, _ := openAt(t, 30, clock)
	ctx := t.Context()
	db := st.DB()
	fillYear(t, db, clock.Now(), 5_000)
	before := stateOf(t, db)

	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, db); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("after partitioning %v, before %v", got, before)
	}
	for table := range partitionedTables {
		if k := relkind(t, db, table); k != "p" {
			t.Errorf("%s is of kind %s, not partitioned", table, k)
		}
		var strays int
		mustOK(t, db.QueryRow(`SELECT COUNT(*) FROM `+table+`_default`).Scan(&strays))
		if strays != 0 {
			t.Errorf("%d rows of %s in the default partition", strays, table)
		}
		parts, err := st.Partitions(ctx, table)
		mustOK(t, err)
		// 2025-11 (a year before) to 2027-01 (two months ahead), and the
		// default; a month more when the test runs after November 2026.
		if len(parts) < 16 || parts[0].Name != table+"_p202511" || parts[len(parts)-1].Name != table+"_default" {
			t.Errorf("%s partitions: %d, first %s", table, len(parts), parts[0].Name)
		}
	}
	// Ids go on, above every id stored.
	var id int64
	mustOK(t, db.QueryRow(`INSERT INTO live_events (community_id, type, payload, at) VALUES ((SELECT min(id) FROM communities), 't', '{}', $1) RETURNING id`, clock.Now()).Scan(&id))
	if id <= before["live_events"].maxID {
		t.Errorf("live event id %d after partitioning, the newest before was %d", id, before["live_events"].maxID)
	}
	// A row dated where no month was made lands in the default partition.
	var where string
	mustOK(t, db.QueryRow(`INSERT INTO access_log (community_id, door_id, at, event) VALUES ((SELECT min(id) FROM communities), 1, '2001-01-01', 'entry') RETURNING tableoid::regclass::text`).Scan(&where))
	if where != "access_log_default" {
		t.Errorf("a row of 2001 went into %s", where)
	}

	after := stateOf(t, db)
	if _, err := st.MigrateDownTo(ctx, 30); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, db); fmt.Sprint(got) != fmt.Sprint(after) {
		t.Fatalf("after Down %v, before it %v", got, after)
	}
	for table := range partitionedTables {
		if k := relkind(t, db, table); k != "r" {
			t.Errorf("%s is of kind %s after Down, not a plain table", table, k)
		}
	}
	var id2 int64
	mustOK(t, db.QueryRow(`INSERT INTO live_events (community_id, type, payload, at) VALUES ((SELECT min(id) FROM communities), 't', '{}', $1) RETURNING id`, clock.Now()).Scan(&id2))
	if id2 <= id {
		t.Errorf("live event id %d after Down, %d before it", id2, id)
	}
	// The audit log stays append-only both ways.
	if _, err := db.Exec(`DELETE FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)`); err == nil {
		t.Error("an audit entry deleted after Down")
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET action = 'x' WHERE id = (SELECT min(id) FROM audit_log)`); err == nil {
		t.Error("an audit entry changed in a partition")
	}
}

// TestPartitionsAheadAndRetention: the chore's months are made ahead, rows
// that fell into the default partition move into their month when it is
// made, and retention drops whole months past the period (keeping rows
// under a legal hold), deletes the rest row by row, and records it.
func TestPartitionsAheadAndRetention(t *testing.T) {
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.Open(t, sqlstore.Postgres, clock)
	ctx := t.Context()
	db := st.DB()
	tr := makeTree(t, st, "pt")
	c := tr.community.ID

	// A stray: a row of September 2027, before its month exists.
	var where string
	event := func(account string, at time.Time, incident any) {
		t.Helper()
		mustOK(t, db.QueryRow(`INSERT INTO alarm_events (community_id, source, account, kind, incident_id, received_at)
			VALUES ($1, 'panel', $2, 'test', $3, $4) RETURNING tableoid::regclass::text`, c, account, incident, at).Scan(&where))
	}
	event("STRAY", time.Date(2027, 9, 3, 0, 0, 0, 0, time.UTC), nil)
	if where != "alarm_events_default" {
		t.Fatalf("the stray went into %s", where)
	}
	made, err := st.EnsurePartitions(ctx, time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC))
	mustOK(t, err)
	if !strings.Contains(strings.Join(made, " "), "alarm_events_p202709") || len(made) != 3*len(partitionedTables) {
		t.Errorf("made %v", made)
	}
	mustOK(t, db.QueryRow(`SELECT tableoid::regclass::text FROM alarm_events WHERE account = 'STRAY'`).Scan(&where))
	if where != "alarm_events_p202709" {
		t.Errorf("the stray is in %s after its month was made", where)
	}
	if again, err := st.EnsurePartitions(ctx, time.Date(2027, 7, 15, 0, 0, 0, 0, time.UTC)); err != nil || len(again) != 0 {
		t.Errorf("made again: %v %v", again, err)
	}

	// Last year's months, ten events in each, one more under a hold.
	_, err = st.EnsurePartitions(ctx, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	mustOK(t, err)
	_, err = st.EnsurePartitions(ctx, time.Date(2025, 9, 1, 0, 0, 0, 0, time.UTC))
	mustOK(t, err)
	for m := 6; m <= 11; m++ {
		for i := range 10 {
			event(fmt.Sprintf("OLD%d", m), time.Date(2025, time.Month(m), 10+i, 0, 0, 0, 0, time.UTC), nil)
		}
	}
	event("HELD", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 888)
	event("YOUNG", time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC), nil) // inside the year
	_, err = st.PlaceHold(ctx, "incident", 888, "in litigation")
	mustOK(t, err)

	pol, _ := retention.Lookup("alarm_events")
	res, err := st.ApplyRetention(ctx, pol, clock.Now().AddDate(0, 0, -365))
	mustOK(t, err)
	if res.Rows != 60 || res.Held != 1 {
		t.Errorf("retention took %d rows, %d held; want 60, 1", res.Rows, res.Held)
	}
	parts, err := st.Partitions(ctx, "alarm_events")
	mustOK(t, err)
	if parts[0].Name != "alarm_events_p202511" {
		t.Errorf("oldest month left %s, want 2025-11 (the cutoff's month)", parts[0].Name)
	}
	var left []string
	rows, err := db.Query(`SELECT account || '@' || tableoid::regclass::text FROM alarm_events WHERE received_at < '2026-01-01' ORDER BY 1`)
	mustOK(t, err)
	for rows.Next() {
		var s string
		mustOK(t, rows.Scan(&s))
		left = append(left, s)
	}
	rows.Close()
	if strings.Join(left, " ") != "HELD@alarm_events_default YOUNG@alarm_events_p202511" {
		t.Errorf("left: %v", left)
	}
	var drops int
	mustOK(t, db.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE action = 'retention.drop' AND entity = 'alarm_events'`).Scan(&drops))
	if drops != 5 {
		t.Errorf("%d partition drops recorded, want 5 (June to October 2025)", drops)
	}

	// The audit log, once a period is set: whole months only.
	_, err = st.EnsurePartitions(ctx, time.Date(2023, 6, 1, 0, 0, 0, 0, time.UTC))
	mustOK(t, err)
	for _, at := range []string{"2023-06-15", "2023-08-15", "2023-11-20", "2023-12-05"} {
		_, err := db.Exec(`INSERT INTO audit_log (at, action) VALUES ($1, 'old')`, at)
		mustOK(t, err)
	}
	mustOK(t, st.SetRetention(ctx, everywhere, "audit", 1100)) // cutoff 2023-11-24
	_, err = retention.Run(ctx, st, clock)
	mustOK(t, err)
	var old []string
	rows, err = db.Query(`SELECT at::date::text FROM audit_log WHERE action = 'old' ORDER BY at`)
	mustOK(t, err)
	for rows.Next() {
		var s string
		mustOK(t, rows.Scan(&s))
		old = append(old, s)
	}
	rows.Close()
	if strings.Join(old, " ") != "2023-11-20 2023-12-05" {
		t.Errorf("audit entries left %v; want November's (its month is not past) and December's", old)
	}
}

// TestMigrateTwoProcessesAtOnce: two processes migrate one empty database
// at the same time, as two nodes starting together do; both succeed and
// each migration is applied once.
func TestMigrateTwoProcessesAtOnce(t *testing.T) {
	dsn := sqlstoretest.EmptyDSN(t, sqlstore.Postgres)
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMigrateHelperProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SHEQU_MIGRATE_DSN="+dsn)
			out, err := cmd.CombinedOutput()
			outs[i], errs[i] = string(out), err
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || !strings.Contains(outs[i], "migrated to") {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	admin, err := sql.Open("pgx", dsn)
	mustOK(t, err)
	defer admin.Close()
	var applied, versions, newest int
	mustOK(t, admin.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version_id), MAX(version_id) FROM goose_db_version WHERE is_applied AND version_id > 0`).Scan(&applied, &versions, &newest))
	if applied != versions || newest < 31 {
		t.Errorf("%d migrations applied for %d versions, up to %d", applied, versions, newest)
	}
}

// TestMigrateHelperProcess is one of TestMigrateTwoProcessesAtOnce's
// processes; on its own it does nothing.
func TestMigrateHelperProcess(t *testing.T) {
	dsn := os.Getenv("SHEQU_MIGRATE_DSN")
	if dsn == "" {
		t.Skip("a helper process of TestMigrateTwoProcessesAtOnce")
	}
	st, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{Cipher: sqlstoretest.TestCipher(t)})
	mustOK(t, err)
	defer st.Close()
	v, err := st.Migrate(t.Context())
	mustOK(t, err)
	fmt.Printf("migrated to %d\n", v)
}

// planNode is the part of EXPLAIN (FORMAT JSON) the checks read.
type planNode struct {
	NodeType string     `json:"Node Type"`
	Relation string     `json:"Relation Name"`
	Hit      int64      `json:"Shared Hit Blocks"`
	Read     int64      `json:"Shared Read Blocks"`
	Plans    []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// TestPartitionPlans: with a year of data, the hot reads of the
// partitioned tables (console lists, a home's timeline, an incident's
// events, retransmission look-ups, live-event resume, the access log of a
// door, device uptime, the audit list) read the months that hold rows by
// index only, read a small part of the table, and those bounded in time
// read no month before their bound.
func TestPartitionPlans(t *testing.T) {
	clock := shequtest.NewClock(time.Now().UTC())
	st, _ := openAt(t, 30, clock)
	ctx := t.Context()
	db := st.DB()
	n := yearSize()
	fillYear(t, db, clock.Now(), n)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	var community, home, door, device, incident, after int64
	var account, seq string
	mustOK(t, db.QueryRow(`SELECT community_id, home_id, account, seq, incident_id FROM alarm_events WHERE incident_id IS NOT NULL ORDER BY id DESC LIMIT 1`).Scan(&community, &home, &account, &seq, &incident))
	mustOK(t, db.QueryRow(`SELECT MIN(device_id) FROM access_doors WHERE community_id = $1`, community).Scan(&door))
	mustOK(t, db.QueryRow(`SELECT MIN(device_id) FROM device_uptime`).Scan(&device))
	mustOK(t, db.QueryRow(`SELECT MAX(id) - 500 FROM live_events`).Scan(&after))

	for _, q := range sqlstore.HotQueries(community, home, door, device, incident, after, account, seq, clock.Now()) {
		t.Run(q.Name, func(t *testing.T) {
			var blocks int64
			pages := map[string]int64{}
			rows, err := db.Query(`SELECT c.relname, c.relpages FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`, q.Table)
			mustOK(t, err)
			for rows.Next() {
				var name string
				var n int64
				mustOK(t, rows.Scan(&name, &n))
				pages[name] = n
				blocks += n
			}
			rows.Close()
			var raw string
			mustOK(t, db.QueryRow("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+q.SQL, q.Args...).Scan(&raw))
			var out []struct {
				Plan planNode `json:"Plan"`
			}
			mustOK(t, json.Unmarshal([]byte(raw), &out))
			plan := out[0].Plan
			months := map[string]bool{}
			plan.walk(func(p planNode) {
				if !strings.HasPrefix(p.Relation, q.Table+"_") {
					return
				}
				months[p.Relation] = true
				// An empty month (ahead, or the default partition) is
				// read whole at no cost.
				if p.NodeType == "Seq Scan" && pages[p.Relation] > 0 {
					t.Errorf("%s: a sequential scan of %s (%d blocks)", q.Name, p.Relation, pages[p.Relation])
				}
				if m, err := time.Parse("200601", strings.TrimPrefix(p.Relation, q.Table+"_p")); err == nil && !q.Since.IsZero() && !m.AddDate(0, 1, 0).After(q.Since) {
					t.Errorf("%s read %s, a month before %s", q.Name, p.Relation, q.Since.Format(time.DateOnly))
				}
			})
			used := plan.Hit + plan.Read
			// A twentieth of the table, or 300 blocks for the smallest.
			if limit := max(300, blocks/20); used > limit {
				t.Errorf("%s read %d blocks of %d (limit %d)", q.Name, used, blocks, limit)
			}
			t.Logf("%s: %d of %d blocks, %d partitions", q.Name, used, blocks, len(months))
			if testing.Verbose() && os.Getenv("SHEQU_SHOW_PLANS") != "" {
				t.Log(raw)
			}
		})
	}
}
