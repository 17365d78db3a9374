package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestCounterMirror: two nodes on one database. While nothing changes a
// stamp costs no query; a write on this node shows at its very next read
// (no waiting), a write on the other node or in SQL once it is heard; and
// on PostgreSQL, with the listener's connection killed, the stamps are
// read from the database until it listens again, and then mirrored again.
func TestCounterMirror(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			dsn := sqlstoretest.DSN(t, dialect)
			a, b := sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)
			tr := makeTree(t, b, "cm")
			all := auth.Scope{{}}
			stamp := func() int64 { t.Helper(); return homesStamp(t, a) }
			// The mirror starts with the first sum asked for; it is
			// believed once it listens.
			stamp()
			// Mirrored: a stamp right after a stamp costs no read. (Not
			// "two stamps cost one read": when the listener comes back
			// between the two, the second is remembered, and from then on
			// two stamps cost none.)
			mirrored := func() bool {
				t.Helper()
				stamp()
				before := sqlstore.CounterReads(a)
				stamp()
				return sqlstore.CounterReads(a) == before
			}
			deadline := time.Now().Add(10 * time.Second)
			for !mirrored() {
				if time.Now().After(deadline) {
					t.Fatal("the stamps are still read from the database after 10 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			s0 := stamp()
			reads := sqlstore.CounterReads(a)
			for range 100 {
				if s := stamp(); s != s0 {
					t.Fatalf("the stamp moved by itself: %d → %d", s0, s)
				}
			}
			if n := sqlstore.CounterReads(a) - reads; n != 0 {
				t.Errorf("100 stamps of an unchanged list read the database %d times", n)
			}

			// This node's write: the very next stamp, without waiting.
			h := community.Home{BuildingID: tr.building1.ID, Floor: 4, Door: "401"}
			if err := a.CreateHome(ctx, all, &h); err != nil {
				t.Fatal(err)
			}
			s1 := stamp()
			if s1 == s0 {
				t.Fatal("this node's write did not move its next stamp")
			}

			// The other node's write, and SQL past both: once heard.
			h.Door = "402"
			if err := b.UpdateHome(ctx, all, &h); err != nil {
				t.Fatal(err)
			}
			if err := a.HeardCounters(ctx); err != nil {
				t.Fatal(err)
			}
			s2 := stamp()
			if s2 == s1 {
				t.Fatal("the other node's write did not move the stamp once heard")
			}
			if _, err := b.DB().ExecContext(ctx, "UPDATE homes SET door = '403' WHERE id = $1", h.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.HeardCounters(ctx); err != nil {
				t.Fatal(err)
			}
			s3 := stamp()
			if s3 == s2 {
				t.Fatal("SQL past the stores did not move the stamp once heard")
			}
			if dialect != sqlstore.Postgres {
				return
			}

			// The listener's connection killed (as by a restart of the
			// server): a write made while it may be deaf still shows.
			if _, err := b.DB().ExecContext(ctx, "SELECT pg_terminate_backend($1)", int64(sqlstore.CounterListenerPID(a))); err != nil {
				t.Fatal(err)
			}
			if _, err := b.DB().ExecContext(ctx, "UPDATE homes SET door = '404' WHERE id = $1", h.ID); err != nil {
				t.Fatal(err)
			}
			// Heard returns when the listener heard its own notification,
			// or when it cannot be believed any more.
			if err := a.HeardCounters(ctx); err != nil {
				t.Fatal(err)
			}
			s4 := stamp()
			if s4 == s3 {
				t.Fatal("a write made while the listener was lost did not move the stamp")
			}
			// It listens again, and the stamps are mirrored again.
			deadline = time.Now().Add(10 * time.Second)
			for !mirrored() {
				if time.Now().After(deadline) {
					t.Fatal("the mirror did not come back after its connection was killed")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if _, err := b.DB().ExecContext(ctx, "UPDATE homes SET door = '405' WHERE id = $1", h.ID); err != nil {
				t.Fatal(err)
			}
			if err := a.HeardCounters(ctx); err != nil {
				t.Fatal(err)
			}
			if s := stamp(); s == s4 {
				t.Fatal("after the listener came back, another node's write did not move the stamp")
			}
		})
	}
}

// TestCounterMirrorAsksTheFileOnDemand: on SQLite the mirror asks the
// file whether anything was committed when a stamp is wanted and its last
// answer is older than a fortieth of a second, not on a clock: an idle
// store asks nothing, a burst of stamps asks once, and another process's
// commit shows at the first stamp after that.
func TestCounterMirrorAsksTheFileOnDemand(t *testing.T) {
	ctx := t.Context()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	dsn := sqlstoretest.DSN(t, sqlstore.SQLite)
	a, b := sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)
	tr := makeTree(t, b, "od")
	stamp := func() int64 { t.Helper(); return homesStamp(t, a) }
	s0 := stamp()
	idle := sqlstore.CounterFilePolls(a)
	time.Sleep(150 * time.Millisecond)
	if n := sqlstore.CounterFilePolls(a) - idle; n != 0 {
		t.Errorf("an idle store asked the file %d times in 150 ms", n)
	}
	// b stands for another process: a's mirror hears of b's commit only
	// through the file.
	h := community.Home{BuildingID: tr.building1.ID, Floor: 2, Door: "201"}
	if err := b.CreateHome(ctx, auth.Scope{{}}, &h); err != nil {
		t.Fatal(err)
	}
	before := sqlstore.CounterFilePolls(a)
	s1 := stamp()
	if s1 == s0 {
		t.Fatal("the other store's commit did not move the first stamp after it")
	}
	for range 50 {
		stamp()
	}
	if n := sqlstore.CounterFilePolls(a) - before; n < 1 || n > 5 {
		t.Errorf("51 stamps in a burst asked the file %d times, want once (or a few, were the machine slow)", n)
	}
}

// homesStamp is st's stamp of the homes list.
func homesStamp(t *testing.T, st *sqlstore.Store) int64 {
	t.Helper()
	s, ok, err := st.ListStamp(t.Context(), "homes")
	if err != nil || !ok {
		t.Fatalf("stamp: %v %v", ok, err)
	}
	return s
}
