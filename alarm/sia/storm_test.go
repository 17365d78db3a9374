//go:build unix

package sia_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestStormThroughTheReceiver sends an alarm storm through the real
// receiver and group commit into the store, on both databases: 16 armed
// homes, a panel each on a connection of its own, every frame a burglary
// awaited until ACKed, every seventh sent twice (the panel did not hear its
// ACK). The storm comes in three parts; between them other write paths
// change what the writer may remember of the homes (see sqlstore's
// homeCache): after the first, a second store on the same database
// (another process on SQLite, another node on PostgreSQL) resolves home
// 1's incident; after the second, an operator resolves home 0's, home 2 is
// disarmed and a resident of home 3 raises an SOS.
//
// What is owed: every frame stored once as an event, a retransmission
// recognised and not stored; an incident per home and a second one for the
// two resolved; exactly the SMS each incident owes (intrusion to the
// householders and the police officer, an SOS's own to the householders
// and contacts) and an escalation each; each incident's count equal to its
// events; home 2 triggered again after its disarm; a live event per frame;
// and a timeline that reads "opened", then each event in order.
func TestStormThroughTheReceiver(t *testing.T) {
	const (
		homes = 16
		third = 12 // frames per panel in each third of the storm
	)
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			dsn := sqlstoretest.DSN(t, d)
			st := sqlstoretest.OpenDSN(t, dsn, nil)
			if _, err := demo.Load(ctx, st, "storm-password-1"); err != nil {
				t.Fatal(err)
			}
			other := sqlstoretest.OpenDSN(t, dsn, nil)
			floor := 1
			hs, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Floor: &floor, Page: shequ.Page{Limit: homes}})
			if err != nil || len(hs.Items) < homes {
				t.Fatalf("homes: %d, %v", len(hs.Items), err)
			}
			index := map[int64]int{} // home id → its place in hs
			for i, h := range hs.Items {
				p := alarm.Panel{HomeID: h.ID, Account: ingestAccount(i), Key: ingestKeyHex}
				if err := st.CreatePanel(ctx, auth.Scope{{}}, &p); err != nil {
					t.Fatal(err)
				}
				index[h.ID] = i
				arm(t, st, h.ID, alarm.ArmedAway)
			}
			incidentLive0, armLive0 := liveCounts(t, st)

			ing := alarm.NewIngestor(st, slog.New(slog.NewTextHandler(io.Discard, nil)), 256)
			ictx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { ing.Run(ictx); close(done) }()
			defer func() { stop(); <-done }()
			rig := startReceiver(t, ing)
			defer rig.stop()

			panels := make([]*benchPanel, homes)
			conns := make([]net.Conn, homes)
			for i := range panels {
				panels[i] = newBenchPanel(i, i*100_000, true)
				c, err := net.Dial("tcp", rig.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				conns[i] = c
			}
			sent := 0
			storm := func() {
				var wg sync.WaitGroup
				errs := make(chan error, homes)
				for i := range panels {
					wg.Add(1)
					go func() {
						defer wg.Done()
						c, p := conns[i], panels[i]
						br := bufio.NewReader(c)
						for n := range third {
							frame := p.next()
							repeats := 1
							if n%7 == 3 {
								repeats = 2
							}
							for range repeats {
								if _, err := c.Write(frame); err != nil {
									errs <- err
									return
								}
								c.SetReadDeadline(time.Now().Add(30 * time.Second))
								ans, err := br.ReadSlice('\r')
								if err != nil || len(ans) < 15 || string(ans[10:14]) != "*ACK" {
									errs <- fmt.Errorf("panel %d frame %d: answer %q, %v", i, n, ans, err)
									return
								}
							}
						}
					}()
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				sent += third
			}

			openOf := func(home int) alarm.Incident {
				t.Helper()
				l, err := st.ListIncidents(ctx, auth.Scope{{}}, alarm.IncidentFilter{Status: "open", HomeID: hs.Items[home].ID})
				if err != nil || len(l.Items) != 1 {
					t.Fatalf("open incidents of home %d: %+v, %v", home, l.Items, err)
				}
				return l.Items[0]
			}
			resolve := alarm.Step{Action: "resolve", By: 1, Resolution: "real_intrusion"}
			storm()
			// Only the other store writes here: on SQLite nothing but
			// data_version tells the writer.
			first1 := openOf(1)
			if _, err := other.StepIncident(ctx, auth.Scope{{}}, first1.ID, resolve); err != nil {
				t.Fatal(err)
			}
			storm()
			first0 := openOf(0)
			if _, err := st.StepIncident(ctx, auth.Scope{{}}, first0.ID, resolve); err != nil {
				t.Fatal(err)
			}
			disarmedAt := time.Now()
			arm(t, st, hs.Items[2].ID, alarm.Disarmed)
			if _, err := st.RaiseSOS(ctx, auth.Scope{{}}, hs.Items[3].ID, "", 0, 0); err != nil {
				t.Fatal(err)
			}
			storm()

			// Every frame once; no retransmission stored.
			perIncident := map[int64][]alarm.Event{}
			seen := map[string]bool{}
			for _, e := range allEvents(t, st) {
				if e.Source != alarm.SourceSIA {
					perIncident[e.IncidentID] = append(perIncident[e.IncidentID], e)
					continue
				}
				key := e.Account + "/" + e.Seq
				if seen[key] {
					t.Errorf("event %s stored twice", key)
				}
				seen[key] = true
				if e.IncidentID == 0 || e.Kind != alarm.KindBurglary {
					t.Errorf("event %+v", e)
				}
				perIncident[e.IncidentID] = append(perIncident[e.IncidentID], e)
			}
			if len(seen) != homes*sent {
				t.Errorf("%d burglaries stored, %d sent", len(seen), homes*sent)
			}

			// The incidents, their counts and the SMS they owe.
			all, err := st.ListIncidents(ctx, auth.Scope{{}}, alarm.IncidentFilter{Page: shequ.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			if len(all.Items) != homes+2 {
				t.Errorf("%d incidents, want %d", len(all.Items), homes+2)
			}
			var wantJobs []string
			for _, inc := range all.Items {
				if n := len(perIncident[inc.ID]); inc.EventCount != n {
					t.Errorf("incident %d counts %d events, has %d", inc.ID, inc.EventCount, n)
				}
				for _, to := range []string{"householders", "police"} {
					wantJobs = append(wantJobs, fmt.Sprintf("notice:%d:intrusion:%s", inc.ID, to))
				}
				wantJobs = append(wantJobs, fmt.Sprintf("escalate:%d", inc.ID))
				if inc.HomeID == hs.Items[3].ID && inc.Status != alarm.StatusResolved {
					if inc.Kind != alarm.KindPanic || !inc.Has(alarm.PriorityIntrusion) {
						t.Errorf("home 3's incident after the SOS: %+v", inc)
					}
					for _, to := range []string{"householders", "contacts"} {
						wantJobs = append(wantJobs, fmt.Sprintf("notice:%d:life:%s", inc.ID, to))
					}
				}
				want := 3 * third
				switch {
				case index[inc.HomeID] == 0 && inc.ID == first0.ID, index[inc.HomeID] == 1 && inc.ID != first1.ID:
					want = 2 * third
				case index[inc.HomeID] <= 1:
					want = third
				case index[inc.HomeID] == 3:
					want++ // the SOS
				}
				if inc.EventCount != want {
					t.Errorf("incident %d of home %d: %d events, want %d", inc.ID, index[inc.HomeID], inc.EventCount, want)
				}
			}
			slices.Sort(wantJobs)
			if got := jobKeys(t, st); !slices.Equal(got, wantJobs) {
				t.Errorf("jobs\n%v\nwant\n%v", got, wantJobs)
			}

			// Home 2 was disarmed before the last third: its first
			// burglary triggered it again.
			a, err := st.ArmState(ctx, auth.Scope{{}}, hs.Items[2].ID)
			if err != nil {
				t.Fatal(err)
			}
			if a.State != alarm.Triggered || a.Since.Before(disarmedAt.Add(-time.Second)) {
				t.Errorf("home 2 after its disarm and more burglaries: %+v (disarmed at %v)", a, disarmedAt)
			}

			// A live event per stored frame, besides the steps' own (the
			// two resolves, the SOS); the arm state's when it changed: each
			// home's first burglary, home 2's disarm and its burglary after.
			incidentLive, armLive := liveCounts(t, st)
			if want := incidentLive0 + homes*sent + 3; incidentLive != want {
				t.Errorf("%d incident live events, want %d", incidentLive, want)
			}
			if want := armLive0 + homes + 2; armLive != want {
				t.Errorf("%d arm_state live events, want %d", armLive, want)
			}

			// The operator's timeline of home 0's first incident.
			tl, err := st.IncidentTimeline(ctx, auth.Scope{{}}, first0.ID)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			var zones []string
			for _, e := range tl {
				actions = append(actions, e.Action)
				if n, ok := alarm.ParseNote(e.Detail); ok {
					zones = append(zones, n.Zone)
				}
			}
			wantActions := append(append([]string{"opened"}, slices.Repeat([]string{"event"}, 2*third-1)...), "resolve")
			if !slices.Equal(actions, wantActions) {
				t.Errorf("timeline of home 0's first incident: %v", actions)
			}
			var wantZones []string
			for _, e := range perIncident[first0.ID] {
				wantZones = append(wantZones, e.Zone)
			}
			if !slices.Equal(zones, wantZones) || len(zones) != 2*third {
				t.Errorf("timeline zones %v, events %v", zones, wantZones)
			}
		})
	}
}

// allEvents reads every stored event, oldest first.
func allEvents(t *testing.T, st *sqlstore.Store) []alarm.Event {
	t.Helper()
	rows, err := st.DB().QueryContext(t.Context(), "SELECT source, account, seq, COALESCE(incident_id, 0), kind, zone FROM alarm_events ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []alarm.Event
	for rows.Next() {
		var e alarm.Event
		if err := rows.Scan(&e.Source, &e.Account, &e.Seq, &e.IncidentID, &e.Kind, &e.Zone); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// arm sets a home's arm state as the resident's app does.
func arm(t *testing.T, st *sqlstore.Store, home int64, state alarm.State) {
	t.Helper()
	action := "arm"
	if state == alarm.Disarmed {
		action = "disarm"
	}
	_, err := st.ChangeArmState(t.Context(), auth.Scope{{}}, home, action, func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
		if state == alarm.Disarmed {
			return a.Disarm(now, "test"), nil
		}
		a.State, a.Mode, a.Since = state, alarm.ModeAway, now
		return a, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// jobKeys are the outbox's keys of SMS and escalations, sorted.
func jobKeys(t *testing.T, st *sqlstore.Store) []string {
	t.Helper()
	rows, err := st.DB().QueryContext(t.Context(), "SELECT idempotency_key FROM outbox WHERE kind IN ('notice', 'escalate') ORDER BY idempotency_key")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// liveCounts counts the live events about incidents and arm states.
func liveCounts(t *testing.T, st *sqlstore.Store) (incident, armState int) {
	t.Helper()
	err := st.DB().QueryRowContext(t.Context(), "SELECT COUNT(CASE WHEN type = 'incident' THEN 1 END), COUNT(CASE WHEN type = 'arm_state' THEN 1 END) FROM live_events").
		Scan(&incident, &armState)
	if err != nil {
		t.Fatal(err)
	}
	return incident, armState
}
