package sqlstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestLiveEventsWakeEveryNode: a live event committed by one node wakes
// the listener of another on the same PostgreSQL, the notification names
// the newest id written, and a listener whose connection is cut comes
// back and wakes its streams anyway.
func TestLiveEventsWakeEveryNode(t *testing.T) {
	ctx := t.Context()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	dsn := sqlstoretest.DSN(t, sqlstore.Postgres)
	a, b := sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)

	// An observer of its own reads the payloads.
	obs, err := pgx.Connect(ctx, dsn)
	mustOK(t, err)
	defer obs.Close(context.Background())
	_, err = obs.Exec(ctx, "LISTEN "+sqlstore.LiveChannel)
	mustOK(t, err)
	nextID := func() int64 {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := obs.WaitForNotification(wctx)
		mustOK(t, err)
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		mustOK(t, err)
		return id
	}

	woken := make(chan struct{}, 100)
	l := b.LiveListener(func() { woken <- struct{}{} }, nil)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.Run(lctx); close(done) }()
	defer func() { stop(); <-done }()
	waitWake := func(what string) {
		t.Helper()
		select {
		case <-woken:
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: node B was not woken", what)
		}
	}
	waitWake("first connection") // wakes on connecting: it may have missed commits
	if err := l.Ready(ctx); err != nil {
		t.Fatalf("listening but not ready: %v", err)
	}
	drain := func() {
		for len(woken) > 0 {
			<-woken
		}
	}

	tr := makeTree(t, a, "nt")
	drain()
	// An SOS (one live event per transaction) ...
	_, err = a.RaiseSOS(ctx, everywhere, tr.home1.ID, "", 0, 0)
	mustOK(t, err)
	waitWake("SOS")
	last, err := a.LastLiveID(ctx)
	mustOK(t, err)
	if got := nextID(); got != last {
		t.Errorf("SOS notified id %d, the newest row is %d", got, last)
	}
	// ... and a panel's batch (several in one statement).
	mustOK(t, a.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home2.ID, Account: "7788"}))
	drain()
	_, err = a.Ingest(ctx, []alarm.Report{
		{Source: alarm.SourceSIA, Account: "7788", Seq: "0001", Fingerprint: "n1", Kind: alarm.KindFire, Code: "FA", Zone: "1", ReceivedAt: clock.Now()},
		{Source: alarm.SourceSIA, Account: "7788", Seq: "0002", Fingerprint: "n2", Kind: alarm.KindBurglary, Code: "BA", Zone: "2", ReceivedAt: clock.Now()},
	})
	mustOK(t, err)
	waitWake("panel batch")
	last, err = a.LastLiveID(ctx)
	mustOK(t, err)
	if got := nextID(); got != last {
		t.Errorf("batch notified id %d, the newest row is %d", got, last)
	}

	// Cut the listener's connection: it reconnects and wakes.
	drain()
	var cut bool
	err = obs.QueryRow(ctx, "SELECT pg_terminate_backend($1)", int64(sqlstore.ListenerPID(b))).Scan(&cut)
	mustOK(t, err)
	if !cut {
		t.Fatal("the listener's connection was not terminated")
	}
	waitWake("reconnection")
	deadline := time.Now().Add(5 * time.Second)
	for l.Ready(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	mustOK(t, l.Ready(ctx))
	drain()
	_, err = a.RaiseSOS(ctx, everywhere, tr.home1.ID, "again", 0, 0)
	mustOK(t, err)
	waitWake("SOS after the reconnection")
}

// TestOneListeningConnection: a node's live streams and its counter
// mirror hear one connection between them, and both come back when it is
// cut.
func TestOneListeningConnection(t *testing.T) {
	ctx := t.Context()
	dsn := sqlstoretest.DSN(t, sqlstore.Postgres)
	st := sqlstoretest.OpenDSN(t, dsn, nil)
	woken := make(chan struct{}, 100)
	l := st.LiveListener(func() { woken <- struct{}{} }, nil)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { l.Run(lctx); close(done) }()
	defer func() { stop(); <-done }()
	// The mirror starts with the first stamp asked for.
	if _, _, err := st.ListStamp(ctx, "homes"); err != nil {
		t.Fatal(err)
	}
	listening := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for l.Ready(ctx) != nil || sqlstore.CounterListenerPID(st) == 0 || sqlstore.CounterListenerPID(st) != sqlstore.ListenerPID(st) {
			if time.Now().After(deadline) {
				t.Fatalf("not listening: live %v, mirror's connection %d, the store's %d", l.Ready(ctx), sqlstore.CounterListenerPID(st), sqlstore.ListenerPID(st))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	connections := func() int {
		t.Helper()
		var n int
		if err := st.DB().QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1", sqlstore.ListenerApplication).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	listening()
	if n := connections(); n != 1 {
		t.Fatalf("%d listening connections, want 1", n)
	}
	before := sqlstore.ListenerPID(st)
	if _, err := st.DB().ExecContext(ctx, "SELECT pg_terminate_backend($1)", int64(before)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for sqlstore.ListenerPID(st) == before || sqlstore.ListenerPID(st) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the listener did not come back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	listening()
	// The cut connection's backend may still be on its way out.
	for deadline := time.Now().Add(5 * time.Second); connections() != 1; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d listening connections after the cut, want 1", connections())
		}
	}
}

// TestLiveListenerNotReadyWithoutDatabase: a node that cannot reach the
// database is not ready, and says why.
func TestLiveListenerNotReadyWithoutDatabase(t *testing.T) {
	l := sqlstore.NewLiveListener("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", func() {}, nil)
	ctx, stop := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer stop()
	l.Run(ctx)
	if err := l.Ready(t.Context()); err == nil {
		t.Fatal("ready without a database")
	}
}

// TestNoListenerOnSQLite: one process, nothing to listen to.
func TestNoListenerOnSQLite(t *testing.T) {
	st := sqlstoretest.Open(t, sqlstore.SQLite, nil)
	if st.LiveListener(func() {}, nil) != nil {
		t.Fatal("a listener on SQLite")
	}
}

// TestLiveStreamsWaitForTransactionsInFlight: on PostgreSQL a live event
// may commit after a later id did; the streams read no further than the
// first gap until its transaction commits — or, if it rolled back, until
// the grace has passed — so that no stream skips it.
func TestLiveStreamsWaitForTransactionsInFlight(t *testing.T) {
	ctx := t.Context()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	dsn := sqlstoretest.DSN(t, sqlstore.Postgres)
	st := sqlstoretest.OpenDSN(t, dsn, clock)
	tr := makeTree(t, st, "if")
	_, err := st.RaiseSOS(ctx, everywhere, tr.home1.ID, "", 0, 0)
	mustOK(t, err)
	start, err := st.LastLiveID(ctx)
	mustOK(t, err)

	// Another node's transaction holds an id, uncommitted.
	other, err := pgx.Connect(ctx, dsn)
	mustOK(t, err)
	defer other.Close(context.Background())
	inFlight := func() (pgx.Tx, int64) {
		t.Helper()
		tx, err := other.Begin(ctx)
		mustOK(t, err)
		var id int64
		mustOK(t, tx.QueryRow(ctx, "INSERT INTO live_events (community_id, type, payload, at) VALUES ($1, 'incident', '{}', now()) RETURNING id", tr.community.ID).Scan(&id))
		return tx, id
	}
	ids := func() []int64 {
		t.Helper()
		evs, err := st.LiveSince(ctx, everywhere, start, 100)
		mustOK(t, err)
		var out []int64
		for _, e := range evs {
			out = append(out, e.ID)
		}
		return out
	}

	tx, held := inFlight()
	_, err = st.RaiseSOS(ctx, everywhere, tr.home2.ID, "", 0, 0) // commits a later id
	mustOK(t, err)
	later, err := st.LastLiveID(ctx)
	mustOK(t, err)
	if later >= held {
		t.Fatalf("a new subscriber starts at %d, past the id %d in flight", later, held)
	}
	if got := ids(); len(got) != 0 {
		t.Fatalf("read %v past the id %d in flight", got, held)
	}
	mustOK(t, tx.Commit(ctx))
	got := ids()
	if len(got) < 2 || got[0] != held {
		t.Fatalf("after the commit: %v, want %d first and the later one", got, held)
	}
	start = got[len(got)-1]

	// A transaction that rolls back leaves a gap that never fills: the
	// streams wait liveGrace for it, then go on.
	tx, _ = inFlight()
	mustOK(t, tx.Rollback(ctx))
	_, err = st.RaiseSOS(ctx, everywhere, tr.home1.ID, "again", 0, 0)
	mustOK(t, err)
	if got := ids(); len(got) != 0 {
		t.Fatalf("read %v past a gap at once", got)
	}
	clock.Advance(6 * time.Second)
	if got := ids(); len(got) == 0 {
		t.Fatal("still waiting for a rolled-back id after the grace")
	}
}
