package main

import (
	"database/sql"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// simulateCity runs shequ simulate city and decodes its --json report.
func simulateCity(t *testing.T, env []string, args ...string) cityReport {
	t.Helper()
	var rep cityReport
	stderr, err := runSimulate(t, env, 2*time.Minute, &rep, append([]string{"simulate", "city", "--json"}, args...)...)
	if err != nil {
		t.Fatalf("simulate city %v: %v\n%s", args, err, stderr)
	}
	return rep
}

// TestSimulateCity makes three communities on PostgreSQL, starts two
// nodes on the database and drives the city's traffic at both: the data
// is there, every frame is ACKed, every ACKed event frame is stored once,
// every alarm reaches the console of each node, and each SOS and matter
// that was answered is stored once.
func TestSimulateCity(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test: not in -short")
	}
	dsn := sqlstoretest.EmptyDSN(t, sqlstore.Postgres) // skips without PostgreSQL, fails in CI
	env := []string{"SHEQU_KEY=" + strings.Repeat("4c", 32), "SHEQU_SIM_PASSWORD=city-password-1"}
	const communities, buildings, floors, doors, panels, residents = 3, 2, 3, 2, 10, 2

	shape := []string{"--db", dsn, "--communities", "3", "--buildings", "2", "--floors", "3", "--doors", "2", "--panels", "10", "--residents", "2"}
	setup := simulateCity(t, env, append(shape, "--setup", "--duration", "0")...).Setup
	if setup == nil || setup.Created != communities || setup.Panels != communities*panels || setup.Accounts != communities {
		t.Fatalf("setup: %+v", setup)
	}
	// Again: nothing is made twice.
	if again := simulateCity(t, env, append(shape, "--setup", "--duration", "0")...).Setup; again.Created != 0 || again.Existed != communities {
		t.Fatalf("second setup: %+v", again)
	}

	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return n
	}
	homes := communities * buildings * floors * doors
	for _, c := range []struct {
		query string
		want  int
	}{
		{"SELECT count(*) FROM communities WHERE code LIKE 'city-%'", communities},
		{"SELECT count(*) FROM buildings b JOIN communities c ON c.id = b.community_id WHERE c.code LIKE 'city-%'", communities * buildings},
		{"SELECT count(*) FROM homes h JOIN communities c ON c.id = h.community_id WHERE c.code LIKE 'city-%'", homes},
		{"SELECT count(*) FROM households hh JOIN homes h ON h.id = hh.home_id AND h.community_id = hh.community_id", homes},
		{"SELECT count(*) FROM people p JOIN households hh ON hh.id = p.household_id AND hh.community_id = p.community_id", homes * residents},
		{"SELECT count(*) FROM alarm_panels p JOIN devices d ON d.id = p.device_id AND d.home_id = p.home_id WHERE p.account LIKE 'C%'", communities * panels},
		{"SELECT count(*) FROM users WHERE username LIKE 'city-r%' AND person_id IS NOT NULL", communities},
	} {
		if got := count(c.query); got != c.want {
			t.Errorf("%s: %d, want %d", c.query, got, c.want)
		}
	}

	a := start(t, env, "--db", dsn, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--node", "node-a")
	b := start(t, env, "--db", dsn, "--data", t.TempDir(), "--http", "127.0.0.1:0", "--node", "node-b")
	// The residents open their apps: they can read their own home.
	for _, p := range []*proc{a, b} {
		if code := p.login(t, cityResident(1), "city-password-1"); code != 200 {
			t.Fatalf("resident sign-in on %s: %d", p.addr, code)
		}
	}
	rep := simulateCity(t, env, append(shape,
		"--server", "http://"+a.addr+",http://"+b.addr, "--sia", a.siaAddr(t)+","+b.siaAddr(t),
		"--pids", strconv.Itoa(a.cmd.Process.Pid)+","+strconv.Itoa(b.cmd.Process.Pid),
		"--duration", "15s", "--speed", "40", "--conns", "2", "--district-size", "1",
		"--storm-panels", "8", "--storm-at", "3s", "--storm-window", "3s",
		"--alarm-rate", "2", "--sos-per-min", "1", "--matters-per-min", "1", "--seed", "7")...).Traffic
	if rep == nil {
		t.Fatal("no traffic report")
	}
	t.Logf("%d frames ACKed (%.0f/s), ACK p99 %.1f ms; storm %d; consoles %+v; API %+v; CPU %+v",
		rep.SIA.ACK, rep.SIA.ACKedPerSec, rep.SIA.Latency.P99, rep.Storm.ACK, rep.Consoles, rep.API, rep.CPU)

	s := rep.SIA
	if s.ACK == 0 || s.NAK+s.DUH+s.NoAnswer+s.ConnectErrors > 0 {
		t.Errorf("answers: ACK %d, NAK %d, DUH %d, none %d (%s)", s.ACK, s.NAK, s.DUH, s.NoAnswer, s.FirstNoAnswer)
	}
	if s.ByCode["NULL"] == 0 || s.ByCode["FA"] == 0 || s.ByCode["AT"] != 8 || rep.Storm.ACK != 8 {
		t.Errorf("frames: %v, storm ACKed %d", s.ByCode, rep.Storm.ACK)
	}
	// Each ACKed event frame is stored once; heartbeats store none.
	for _, code := range []string{"RP", "AT", "FA"} {
		if got := count("SELECT count(*) FROM alarm_events WHERE account LIKE 'C%' AND code = $1", code); int64(got) != s.ByCode[code] {
			t.Errorf("%s frames: %d stored, %d ACKed", code, got, s.ByCode[code])
		}
	}
	if n := count("SELECT count(*) FROM (SELECT account, seq FROM alarm_events WHERE account LIKE 'C%' GROUP BY account, seq HAVING count(*) > 1) d"); n != 0 {
		t.Errorf("%d frames stored twice", n)
	}
	if n := count("SELECT count(*) FROM alarm_events WHERE account LIKE 'C%' AND code = 'NULL'"); n != 0 {
		t.Errorf("%d heartbeats stored as events", n)
	}
	for _, c := range rep.Consoles {
		if c.Error != "" || c.Latency.N != int(s.ByCode["FA"]) || c.Missing != 0 {
			t.Errorf("console %s: %d of %d alarms seen, %d missing, error %q", c.Node, c.Latency.N, s.ByCode["FA"], c.Missing, c.Error)
		}
	}
	if rep.API.SOS == 0 || rep.API.SOSOK != rep.API.SOS {
		t.Errorf("SOS: %d of %d answered (%s)", rep.API.SOSOK, rep.API.SOS, rep.API.FirstError)
	}
	if n := count("SELECT count(*) FROM matters m JOIN communities c ON c.id = m.community_id WHERE c.code LIKE 'city-%'"); int64(n) != rep.API.MattersOK {
		t.Errorf("matters: %d stored, %d answered", n, rep.API.MattersOK)
	}
	for _, c := range rep.CPU {
		if c.Source != "/proc" || c.Seconds <= 0 {
			t.Errorf("CPU of %s: %+v", c.Node, c)
		}
	}
	if rep.DB.BytesAfter <= rep.DB.BytesBefore || rep.DB.EventsStored == 0 {
		t.Errorf("database: %+v", rep.DB)
	}
}

func TestSimulateCityFlags(t *testing.T) {
	valid := func() cityConfig {
		return cityConfig{store: storeConfig{db: "postgres://127.0.0.1/x"}, communities: 10, buildings: 2, floors: 3, doors: 2, panels: 12,
			residents: 2, districtSize: 5, accounts: 20, password: "p", duration: time.Minute, speed: 1,
			minPeriod: time.Minute, maxPeriod: 5 * time.Minute, testEvery: 24 * time.Hour, timeout: time.Second, conns: 4,
			servers: []string{"http://a", "http://b"}, sias: []string{"a:1", "b:1"}}
	}
	for _, tc := range []struct {
		name   string
		change func(*cityConfig)
		want   string // "" when valid
	}{
		{"valid", func(*cityConfig) {}, ""},
		{"sqlite", func(c *cityConfig) { c.store.db = "" }, "--db"},
		{"panels over the homes", func(c *cityConfig) { c.panels = 13 }, "--panels"},
		{"panels over 999", func(c *cityConfig) { c.buildings, c.floors, c.doors, c.panels = 20, 50, 2, 1000 }, "--panels"},
		{"no password", func(c *cityConfig) { c.password = "" }, "--password"},
		{"nodes unpaired", func(c *cityConfig) { c.sias = c.sias[:1] }, "--server and --sia"},
		{"pids unpaired", func(c *cityConfig) { c.pids = []int{1} }, "--pids"},
		{"no bound", func(c *cityConfig) { c.duration = 0 }, "--duration"},
		{"setup alone", func(c *cityConfig) { c.duration, c.setup, c.servers, c.sias = 0, true, nil, nil }, ""},
		{"periods reversed", func(c *cityConfig) { c.maxPeriod = time.Second }, "--min-period"},
		{"speed zero", func(c *cityConfig) { c.speed = 0 }, "--speed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.change(&c)
			err := c.check()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			case err == nil && (c.accounts != 10 || c.seed == 0):
				t.Fatalf("accounts %d (want capped at the 10 communities), seed %d", c.accounts, c.seed)
			}
		})
	}
}

// TestCityShapes: accounts, codes and heartbeat periods are the same in
// every run, as setup and traffic must agree, and in their ranges.
func TestCityShapes(t *testing.T) {
	c := cityConfig{minPeriod: time.Minute, maxPeriod: 5 * time.Minute}
	if got := cityAccount(12, 7); got != "C00012007" {
		t.Errorf("account %s", got)
	}
	if got := cityCode(12); got != "city-00012" {
		t.Errorf("code %s", got)
	}
	seen := map[time.Duration]bool{}
	for n := 1; n <= 20; n++ {
		for j := 1; j <= 20; j++ {
			p := cityPeriod(c, n, j)
			if p < c.minPeriod || p > c.maxPeriod || p != cityPeriod(c, n, j) {
				t.Fatalf("period of %d/%d: %v", n, j, p)
			}
			seen[p.Truncate(30*time.Second)] = true
		}
	}
	if len(seen) < 6 {
		t.Errorf("periods not spread over the range: %v", seen)
	}
}
