package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// Two alarms of one home at the same moment make one incident, and one
// set of notices: the transactions that read a home's open incident to
// decide take the home's lock first (lockHomes). Without it, on
// PostgreSQL, both read "no open incident" and both opened one, nearly
// every time. SQLite has one writer; its cases pass as they are.
func TestOneIncidentPerHomeUnderConcurrentAlarms(t *testing.T) {
	const homes = 12
	// Each case raises two alarms of one home at once with a and b, which
	// are two nodes on one database or the same store.
	cases := []struct {
		name     string
		dialects []string
		nodes    int
		alarm    func(ctx context.Context, st *sqlstore.Store, k int, home int64, account string) error
		events   int // the incident's events, in the end
	}{
		// The panel's frames reach two nodes (a retransmission, or a
		// second panel of the home). Each node has read the panel within
		// panelRefresh (a test frame on each), so neither marks it seen:
		// no panel row orders the two.
		{"a burglary on each of two nodes", []string{sqlstore.Postgres}, 2, func(ctx context.Context, st *sqlstore.Store, k int, _ int64, account string) error {
			_, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: account, Seq: fmt.Sprintf("%04d", k+1), Fingerprint: fmt.Sprint(k), Kind: alarm.KindBurglary, Code: "BA", Zone: "1"}})
			return err
		}, 2},
		// The panel retransmits a frame whose ACK it missed, and the
		// retransmission reaches the other node while the first is being
		// stored: one event, the retransmission recognised.
		{"one frame on each of two nodes", []string{sqlstore.Postgres}, 2, func(ctx context.Context, st *sqlstore.Store, k int, _ int64, account string) error {
			_, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: account, Seq: "0001", Fingerprint: "f", Kind: alarm.KindBurglary, Code: "BA", Zone: "1"}})
			return err
		}, 1},
		// The resident presses SOS in the app while the panel's panic
		// button reports.
		{"the app's SOS and the panel's panic", sqlstoretest.Dialects(), 1, func(ctx context.Context, st *sqlstore.Store, k int, home int64, account string) error {
			if k == 0 {
				_, err := st.RaiseSOS(ctx, everywhere, home, "help", 0, 0)
				return err
			}
			_, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: account, Seq: "0010", Fingerprint: "p", Kind: alarm.KindPanic, Code: "PA", Zone: "1"}})
			return err
		}, 2},
	}
	for _, c := range cases {
		for _, d := range c.dialects {
			t.Run(c.name+"/"+d, func(t *testing.T) {
				t.Parallel()
				dsn := sqlstoretest.DSN(t, d)
				var nodes []*sqlstore.Store
				for range c.nodes {
					nodes = append(nodes, sqlstoretest.OpenDSN(t, dsn, shequ.SystemClock{}))
				}
				st := nodes[0]
				ctx := t.Context()
				doubled := 0
				for i := range homes {
					tr := makeTree(t, st, fmt.Sprintf("h%d", i))
					account := fmt.Sprintf("%X", 0xA000+i)
					mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: account}))
					for k, node := range nodes {
						_, err := node.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: account, Seq: fmt.Sprintf("%04d", k+20), Fingerprint: fmt.Sprint("t", k), Kind: alarm.KindTest, Code: "RP"}})
						mustOK(t, err)
					}
					for _, err := range atOnce(2, func(k int) error { return c.alarm(ctx, nodes[k%len(nodes)], k, tr.home1.ID, account) }) {
						if err != nil {
							t.Error(err)
						}
					}
					open, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open", HomeID: tr.home1.ID})
					mustOK(t, err)
					if open.Total != 1 {
						doubled++
						continue
					}
					if inc := open.Items[0]; inc.EventCount != c.events {
						t.Errorf("home %d: incident of %d events, want %d", tr.home1.ID, inc.EventCount, c.events)
					}
				}
				status, err := st.JobStatus(ctx)
				mustOK(t, err)
				if doubled > 0 || status["escalate.pending"] != homes {
					t.Errorf("%d of %d homes got other than one incident; outbox %v (want %d escalations)", doubled, homes, status, homes)
				}
			})
		}
	}
}

// An operator's acknowledgement does not write over a panic that joined
// the incident while the step was under way: the step locks the incident's
// home and the incident before it reads them (lockIncident). The panic's
// batch is held, on PostgreSQL, after it has joined the incident and
// before it commits (by a lock on live_events), and the step starts then:
// without the locks it read the incident without the panic and, once the
// batch committed, wrote its old kind, priority and kinds back over it.
func TestAcknowledgeKeepsAJoinedPanic(t *testing.T) {
	dsn := sqlstoretest.DSN(t, sqlstore.Postgres)
	st := sqlstoretest.OpenDSN(t, dsn, shequ.SystemClock{})
	ctx := t.Context()
	tr := makeTree(t, st, "ak")
	mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "B001"}))
	out, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "B001", Seq: "0001", Fingerprint: "a", Kind: alarm.KindBurglary, Code: "BA", Zone: "1"}})
	mustOK(t, err)
	id := out[0].Incident.ID

	p := newPause(t, dsn)
	join := p.run(func() error {
		_, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "B001", Seq: "0002", Fingerprint: "b", Kind: alarm.KindPanic, Code: "PA", Zone: "2"}})
		return err
	})
	p.waitHeld()
	ack := p.run(func() error {
		_, err := st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "ack", By: 1})
		return err
	})
	p.waitBlocked(2)
	p.release()
	mustOK(t, <-join)
	mustOK(t, <-ack)

	inc, err := st.Incident(ctx, everywhere, id)
	mustOK(t, err)
	if inc.Status != alarm.StatusAcknowledged || inc.Kind != alarm.KindPanic || inc.Priority != alarm.PriorityLife ||
		!slices.Contains(inc.Kinds, alarm.KindPanic) || !slices.Contains(inc.Kinds, alarm.KindBurglary) || inc.EventCount != 2 {
		t.Errorf("after an ack while a panic joined: status %s kind %s priority %d kinds %v events %d; want acknowledged, the panic's headline, both kinds, 2 events",
			inc.Status, inc.Kind, inc.Priority, inc.Kinds, inc.EventCount)
	}
}

// A dispatch timeout does not send the incident to someone else after the
// staff member sent has accepted it: RedispatchIfUnaccepted locks the
// incident before it reads it. The acceptance is held, on PostgreSQL,
// after it has written the incident and before it commits; without the
// lock the timeout read the incident as not accepted and, once the
// acceptance committed, wrote the dispatch to the next candidate over it.
func TestDispatchTimeoutKeepsAnAcceptance(t *testing.T) {
	dsn := sqlstoretest.DSN(t, sqlstore.Postgres)
	st := sqlstoretest.OpenDSN(t, dsn, shequ.SystemClock{})
	ctx := t.Context()
	tr := makeTree(t, st, "ta")
	staff := func(name string) *auth.User {
		u := &auth.User{Username: name, Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: tr.community.ID, GridID: tr.grid1.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, u, ""))
		mustOK(t, st.SetPosition(ctx, u.ID, 29.72, 106.63, true))
		return u
	}
	sent, other := staff("sent"), staff("other")
	out, err := st.RaiseSOS(ctx, everywhere, tr.home1.ID, "", 0, 0)
	mustOK(t, err)
	id := out.Incident.ID
	_, err = st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "dispatch", By: 1, To: sent.ID})
	mustOK(t, err)

	p := newPause(t, dsn)
	accept := p.run(func() error {
		_, err := st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "accept", By: sent.ID})
		return err
	})
	p.waitHeld()
	var next int64
	timeout := p.run(func() error {
		var err error
		next, err = st.RedispatchIfUnaccepted(ctx, id, sent.ID)
		return err
	})
	p.waitBlocked(2)
	p.release()
	mustOK(t, <-accept)
	mustOK(t, <-timeout)

	inc, err := st.Incident(ctx, everywhere, id)
	mustOK(t, err)
	if next != 0 || inc.Status != alarm.StatusDispatched || inc.DispatchedTo != sent.ID || inc.AcceptedAt == nil {
		t.Errorf("after a timeout while %d accepted: sent next %d (other is %d), status %s, dispatched to %d, accepted at %v",
			sent.ID, next, other.ID, inc.Status, inc.DispatchedTo, inc.AcceptedAt)
	}
}

// pause holds, on a PostgreSQL database, the transactions that insert
// live events (every step and every incident-changing batch does, after
// writing the incident and before it commits) until release, and tells
// when the store's transactions are waiting on a lock.
type pause struct {
	t    *testing.T
	db   *sql.DB
	hold *sql.Tx
}

func newPause(t *testing.T, dsn string) *pause {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	mustOK(t, err)
	t.Cleanup(func() { db.Close() })
	hold, err := db.BeginTx(t.Context(), nil)
	mustOK(t, err)
	// EXCLUSIVE lets the others read live_events, not write it.
	_, err = hold.ExecContext(t.Context(), "LOCK TABLE live_events IN EXCLUSIVE MODE")
	mustOK(t, err)
	p := &pause{t: t, db: db, hold: hold}
	t.Cleanup(p.release)
	return p
}

// run runs fn in a goroutine; its error comes on the channel.
func (p *pause) run(fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

// waitHeld waits until a transaction waits to insert live events.
func (p *pause) waitHeld() {
	p.t.Helper()
	p.waitFor("a transaction held at live_events", "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO live_events%'", 1)
}

// waitBlocked waits until n of the store's transactions wait on a lock.
func (p *pause) waitBlocked(n int) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("%d transactions waiting on a lock", n), "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()", n)
}

func (p *pause) waitFor(what, query string, n int) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		mustOK(p.t, p.db.QueryRowContext(p.t.Context(), query).Scan(&got))
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited 10 s for %s; %d seen", what, got)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// release lets the held transactions go on.
func (p *pause) release() {
	if p.hold != nil {
		_ = p.hold.Commit()
		p.hold = nil
	}
}
