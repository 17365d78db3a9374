package sqlstore_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestAlarmIngest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "al")
		p := &alarm.Panel{HomeID: tr.home1.ID, Account: "1234", Key: "0123456789abcdef", SupervisionSeconds: 90}
		mustOK(t, st.CreatePanel(ctx, everywhere, p))
		if err := st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home2.ID, Account: "1234"}); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("second panel with one account: %v", err)
		}
		keys, err := st.PanelKeys(ctx)
		mustOK(t, err)
		if keys["1234"] != "0123456789abcdef" {
			t.Errorf("keys %v", keys)
		}
		frame := func(seq, fp string, kind alarm.Kind, code string) alarm.Report {
			return alarm.Report{Source: alarm.SourceSIA, Account: "1234", Seq: seq, Fingerprint: fp, Kind: kind, Code: code, Zone: "3", ReceivedAt: clock.Now()}
		}
		out, err := st.Ingest(ctx, []alarm.Report{
			frame("0001", "a", alarm.KindSupervision, ""),
			frame("0002", "b", alarm.KindBurglary, "BA"),
			frame("0002", "b", alarm.KindBurglary, "BA"), // the panel repeats itself
			{Source: alarm.SourceSIA, Account: "9999", Seq: "0001", Kind: alarm.KindBurglary},
		})
		mustOK(t, err)
		if out[0].EventID != 0 || !out[2].Duplicate || !out[3].Unknown {
			t.Errorf("outcomes %+v", out)
		}
		if !out[1].NewIncident || out[1].Incident.Kind != alarm.KindBurglary || out[1].Arm == nil || out[1].Arm.State != alarm.Triggered {
			t.Errorf("burglary outcome %+v", out[1])
		}
		evs, err := st.ListEvents(ctx, everywhere, alarm.EventFilter{Account: "1234"})
		mustOK(t, err)
		if evs.Total != 1 || evs.Items[0].Code != "BA" || evs.Items[0].Seq != "0002" || evs.Items[0].IncidentID != out[1].Incident.ID {
			t.Errorf("events %+v", evs.Items)
		}
		// A restore joins the incident; a second alarm within the window too.
		clock.Advance(time.Minute)
		out, err = st.Ingest(ctx, []alarm.Report{frame("0003", "c", alarm.KindBurglary, "BR")})
		mustOK(t, err)
		incID := out[0].Incident.ID
		out[0].Incident = nil
		open, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open"})
		mustOK(t, err)
		if open.Total != 1 || open.Items[0].EventCount != 2 || open.Items[0].Door != "1-101" {
			t.Errorf("open incidents %+v", open.Items)
		}
		// Lifecycle through the store; a refused step changes nothing.
		if _, err := st.StepIncident(ctx, everywhere, incID, alarm.Step{Action: "arrive", By: 1}); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("arrive before dispatch: %v", err)
		}
		inc, err := st.StepIncident(ctx, everywhere, incID, alarm.Step{Action: "ack", By: 1})
		mustOK(t, err)
		if inc.Status != alarm.StatusAcknowledged {
			t.Errorf("after ack %+v", inc)
		}
		inc, err = st.StepIncident(ctx, everywhere, incID, alarm.Step{Action: "resolve", By: 1, Resolution: "false_alarm", Notes: "cat"})
		mustOK(t, err)
		tl, err := st.IncidentTimeline(ctx, everywhere, incID)
		mustOK(t, err)
		if len(tl) != 4 || tl[0].Action != "opened" || tl[3].Action != "resolve" {
			t.Errorf("timeline %+v", tl)
		}
		// Supervision: silent past the interval → one comm-failure incident.
		clock.Advance(2 * time.Minute)
		so, err := st.CheckSupervision(ctx)
		mustOK(t, err)
		again, err := st.CheckSupervision(ctx)
		mustOK(t, err)
		if len(so) != 1 || !so[0].NewIncident || so[0].Incident.Kind != alarm.KindCommFailure || len(again) != 0 {
			t.Errorf("supervision %+v then %+v", so, again)
		}
		_, err = st.Ingest(ctx, []alarm.Report{frame("0004", "d", alarm.KindSupervision, "")})
		mustOK(t, err)
		cf, err := st.ListEvents(ctx, everywhere, alarm.EventFilter{IncidentID: so[0].Incident.ID})
		mustOK(t, err)
		if cf.Total != 2 || !cf.Items[0].Restore {
			t.Errorf("comm failure events %+v", cf.Items)
		}
	})
}

// TestAlarmIngestLargeBatch: a batch's events go in multi-row INSERTs of
// several sizes; every outcome carries the id of its own event, and a
// retransmission inside the batch is stored once.
func TestAlarmIngestLargeBatch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "lb")
		mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "4321"}))
		var reports []alarm.Report
		for i := range 87 { // 64 + 16 + 7
			seq := fmt.Sprintf("%04d", i)
			reports = append(reports, alarm.Report{Source: alarm.SourceSIA, Account: "4321", Seq: seq, Fingerprint: seq, Kind: alarm.KindTest, Code: "RP", Zone: seq, ReceivedAt: clock.Now()})
		}
		reports = append(reports, reports[40]) // the panel repeats itself
		out, err := st.Ingest(ctx, reports)
		mustOK(t, err)
		if !out[87].Duplicate || out[87].EventID != 0 {
			t.Errorf("retransmission in the batch: %+v", out[87])
		}
		evs, err := st.ListEvents(ctx, everywhere, alarm.EventFilter{Account: "4321", Page: shequ.Page{Limit: 100}})
		mustOK(t, err)
		if evs.Total != 87 {
			t.Fatalf("%d events stored, want 87", evs.Total)
		}
		zoneOf := map[int64]string{}
		for _, e := range evs.Items {
			zoneOf[e.ID] = e.Zone
		}
		for i, o := range out[:87] {
			if got := zoneOf[o.EventID]; o.EventID == 0 || got != reports[i].Zone {
				t.Errorf("report %d: event %d has zone %q, want %q", i, o.EventID, got, reports[i].Zone)
			}
		}
		// Retransmissions in a later batch, among new reports; after the
		// window the same seq and content is a new event.
		clock.Advance(time.Minute)
		fresh := reports[0]
		fresh.Seq, fresh.Fingerprint, fresh.ReceivedAt = "9000", "9000", clock.Now()
		out, err = st.Ingest(ctx, []alarm.Report{reports[3], fresh, reports[50]})
		mustOK(t, err)
		if !out[0].Duplicate || out[1].Duplicate || out[1].EventID == 0 || !out[2].Duplicate {
			t.Errorf("later batch %+v", out)
		}
		clock.Advance(sqlstore.RetransmissionWindow)
		late := reports[3]
		late.ReceivedAt = clock.Now()
		out, err = st.Ingest(ctx, []alarm.Report{late})
		mustOK(t, err)
		if out[0].Duplicate || out[0].EventID == 0 {
			t.Errorf("after the window %+v", out)
		}
	})
}

// TestAlarmPanelDirectory: the ingest path remembers panels between
// batches; last_seen_at lags by at most a tenth of the supervision
// interval, and a panel another node marks silent is seen back on this
// node.
func TestAlarmPanelDirectory(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			dsn := sqlstoretest.DSN(t, d)
			here := sqlstoretest.OpenDSN(t, dsn, clock)
			other := sqlstoretest.OpenDSN(t, dsn, clock)
			tr := makeTree(t, here, "pd")
			mustOK(t, here.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "5678", SupervisionSeconds: 60}))
			seq := 0
			ingest := func(kind alarm.Kind) alarm.Outcome {
				t.Helper()
				seq++
				out, err := here.Ingest(ctx, []alarm.Report{{Source: alarm.SourceSIA, Account: "5678", Seq: fmt.Sprintf("%04d", seq), Fingerprint: fmt.Sprint(seq), Kind: kind, Code: "RP", ReceivedAt: clock.Now()}})
				mustOK(t, err)
				return out[0]
			}
			lastSeen := func() time.Time {
				t.Helper()
				ps, err := other.ListPanels(ctx, everywhere, shequ.Page{})
				mustOK(t, err)
				if len(ps.Items) != 1 || ps.Items[0].LastSeenAt == nil {
					t.Fatalf("panels %+v", ps.Items)
				}
				return ps.Items[0].LastSeenAt.UTC()
			}
			start := clock.Now()
			ingest(alarm.KindSupervision)
			clock.Advance(500 * time.Millisecond)
			if o := ingest(alarm.KindTest); o.EventID == 0 {
				t.Errorf("test report from a remembered panel not stored: %+v", o)
			}
			clock.Advance(time.Second)
			ingest(alarm.KindSupervision) // heartbeats only: no transaction
			if got := lastSeen(); !got.Equal(start) {
				t.Errorf("last seen %v, want %v (written once a tenth of the supervision interval)", got, start)
			}
			clock.Advance(5 * time.Second)
			ingest(alarm.KindSupervision)
			if got := lastSeen(); !got.Equal(clock.Now()) {
				t.Errorf("last seen %v after 6.5 s, want %v", got, clock.Now())
			}

			// Silent past its interval: the other node raises the failure;
			// the panel's next frame here records its return.
			clock.Advance(2 * time.Minute)
			failed, err := other.CheckSupervision(ctx)
			mustOK(t, err)
			if len(failed) != 1 || !failed[0].NewIncident {
				t.Fatalf("supervision on the other node: %+v", failed)
			}
			ingest(alarm.KindSupervision)
			evs, err := here.ListEvents(ctx, everywhere, alarm.EventFilter{IncidentID: failed[0].Incident.ID})
			mustOK(t, err)
			if evs.Total != 2 || !evs.Items[0].Restore {
				t.Errorf("comm failure events %+v", evs.Items)
			}
			// Heard from just now: no node takes it for silent.
			if again, err := other.CheckSupervision(ctx); err != nil || len(again) != 0 {
				t.Errorf("supervision right after a frame: %+v, %v", again, err)
			}
		})
	}
}

func TestSensorsArmingAndSOS(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "se")
		door := &alarm.Sensor{HomeID: tr.home1.ID, Kind: alarm.SensorDoor, Zone: "front door", MQTTName: "home1_door"}
		mustOK(t, st.CreateSensor(ctx, everywhere, door))
		if err := st.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home1.ID, Kind: "lamp", Zone: "x", MQTTName: "y"}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("bad sensor kind: %v", err)
		}
		opened := alarm.Report{Source: alarm.SourceMQTT, Account: "home1_door", Kind: alarm.KindEntryExit, Code: "BA"}
		// Disarmed: opening the door is nothing.
		out, err := st.Ingest(ctx, []alarm.Report{opened})
		mustOK(t, err)
		if out[0].Incident != nil {
			t.Fatalf("door while disarmed opened %+v", out[0].Incident)
		}
		arm := func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
			return a.Arm(alarm.ModeAway, 10*time.Second, now, "test")
		}
		s, err := st.ChangeArmState(ctx, everywhere, tr.home1.ID, "arm", arm)
		mustOK(t, err)
		if s.State != alarm.Arming {
			t.Fatalf("state %s", s.State)
		}
		if _, err := st.ChangeArmState(ctx, everywhere, tr.home1.ID, "arm", arm); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("arming twice: %v", err)
		}
		clock.Advance(11 * time.Second)
		ticks, err := st.TickArmStates(ctx)
		mustOK(t, err)
		if len(ticks) != 1 || ticks[0].Arm.State != alarm.ArmedAway {
			t.Fatalf("exit delay end: %+v", ticks)
		}
		opened.ReceivedAt = clock.Now()
		out, err = st.Ingest(ctx, []alarm.Report{opened})
		mustOK(t, err)
		if out[0].Arm == nil || out[0].Arm.State != alarm.Pending {
			t.Fatalf("door while armed: %+v", out[0])
		}
		clock.Advance(alarm.DefaultEntryDelay)
		ticks, err = st.TickArmStates(ctx)
		mustOK(t, err)
		if len(ticks) != 1 || !ticks[0].NewIncident || ticks[0].Incident.Priority != alarm.PriorityIntrusion {
			t.Fatalf("entry delay end: %+v", ticks)
		}
		got, err := st.ArmState(ctx, everywhere, tr.home1.ID)
		mustOK(t, err)
		if got.State != alarm.Triggered {
			t.Errorf("after the entry delay: %s", got.State)
		}
		// SOS in another home opens a life incident.
		sos, err := st.RaiseSOS(ctx, everywhere, tr.home2.ID, "I fell", 29.72, 106.63)
		mustOK(t, err)
		if !sos.NewIncident || sos.Incident.Priority != alarm.PriorityLife {
			t.Errorf("SOS %+v", sos)
		}
		q, err := st.ListIncidents(ctx, everywhere, alarm.IncidentFilter{Status: "open"})
		mustOK(t, err)
		if q.Total != 2 || q.Items[0].Kind != alarm.KindPanic {
			t.Errorf("the SOS does not head the queue: %+v", q.Items)
		}
	})
}

func TestDispatchGoesToTheNextWhenNobodyAccepts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "dp")
		mk := func(name string, grid int64) *auth.User {
			u := &auth.User{Username: name, Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: tr.community.ID, GridID: grid}}}
			mustOK(t, st.CreateUser(ctx, everywhere, u, ""))
			return u
		}
		worker, near, far := mk("w1", tr.grid1.ID), mk("near", tr.grid2.ID), mk("far", tr.grid2.ID)
		g := tr.grid1
		g.WorkerUserID = worker.ID
		mustOK(t, st.UpdateGrid(ctx, everywhere, &g))
		b := tr.building1
		b.Lat, b.Lng = 29.72, 106.63
		mustOK(t, st.UpdateBuilding(ctx, everywhere, &b))
		mustOK(t, st.SetPosition(ctx, far.ID, 29.73, 106.63, true))
		mustOK(t, st.SetPosition(ctx, near.ID, 29.7201, 106.6301, true))
		out, err := st.RaiseSOS(ctx, everywhere, tr.home1.ID, "", 0, 0)
		mustOK(t, err)
		id := out.Incident.ID
		cands, err := st.DispatchCandidates(ctx, everywhere, id)
		mustOK(t, err)
		if len(cands) != 3 || cands[0].UserID != worker.ID || cands[1].UserID != near.ID {
			t.Fatalf("candidates %+v", cands)
		}
		_, err = st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "dispatch", By: 1, To: worker.ID})
		mustOK(t, err)
		// The grid worker does not answer: the nearest is offered it.
		clock.Advance(alarm.DefaultAcceptTimeout)
		next, err := st.RedispatchIfUnaccepted(ctx, id, worker.ID)
		mustOK(t, err)
		if next != near.ID {
			t.Fatalf("offered to %d, want %d", next, near.ID)
		}
		// The nearest accepts: a late timeout for them changes nothing.
		_, err = st.StepIncident(ctx, everywhere, id, alarm.Step{Action: "accept", By: near.ID})
		mustOK(t, err)
		if again, err := st.RedispatchIfUnaccepted(ctx, id, near.ID); err != nil || again != 0 {
			t.Errorf("accepted dispatch moved on: %d %v", again, err)
		}
		jobs, err := st.JobStatus(ctx)
		mustOK(t, err)
		if jobs["dispatch.pending"] != 2 || jobs["dispatch_timeout.pending"] != 2 {
			t.Errorf("outbox %v", jobs)
		}
	})
}

// A burglary at a home whose SOS is open joins that incident, but still
// owes the community police officer their SMS; the incident keeps the
// headline of its most serious kind and knows both.
func TestBurglaryIntoAnOpenSOSTellsThePolice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "sb")
		mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "5B01"}))
		sos, err := st.RaiseSOS(ctx, everywhere, tr.home1.ID, "", 0, 0)
		mustOK(t, err)
		clock.Advance(30 * time.Second)
		out, err := st.Ingest(ctx, []alarm.Report{
			{Source: alarm.SourceSIA, Account: "5B01", Seq: "0001", Fingerprint: "a", Kind: alarm.KindBurglary, Code: "BA", Zone: "02", ReceivedAt: clock.Now()},
			{Source: alarm.SourceSIA, Account: "5B01", Seq: "0002", Fingerprint: "b", Kind: alarm.KindBurglary, Code: "BA", Zone: "03", ReceivedAt: clock.Now()},
		})
		mustOK(t, err)
		if out[0].NewIncident || out[0].Incident == nil || out[0].Incident.ID != sos.Incident.ID {
			t.Fatalf("the burglary did not join the SOS: %+v", out[0])
		}
		inc, err := st.Incident(ctx, everywhere, sos.Incident.ID)
		mustOK(t, err)
		if inc.Kind != alarm.KindPanic || inc.Priority != alarm.PriorityLife || inc.Title != sos.Incident.Title ||
			!slices.Equal(inc.Kinds, []alarm.Kind{alarm.KindPanic, alarm.KindBurglary}) {
			t.Errorf("incident %+v", inc)
		}
		claimed, err := st.ClaimJobs(ctx, 100, time.Minute)
		mustOK(t, err)
		owed := map[string]int{}
		for _, j := range claimed {
			if j.Kind == (jobs.Notice{}).Kind() {
				var n jobs.Notice
				mustOK(t, json.Unmarshal(j.Payload, &n))
				owed[n.Template+" to "+n.To]++
			}
		}
		want := map[string]int{"life to householders": 1, "life to contacts": 1, "intrusion to householders": 1, "intrusion to police": 1}
		if !maps.Equal(owed, want) {
			t.Errorf("notices owed %v, want %v", owed, want)
		}
		// The intrusion SMS names the burglary and its zone, not the SOS.
		ic, err := st.NoticeTargets(ctx, inc.ID, "police")
		mustOK(t, err)
		if ic.Vars["intrusion"] != "burglary" || ic.Vars["zone"] != "02" || ic.Vars["status"] != alarm.StatusNew || ic.Vars["helper"] != "" {
			t.Errorf("message variables %v", ic.Vars)
		}
	})
}

// Zones have the names residents call them by, set on the panel and the
// sensor; a sensor's state is what it last said.
func TestZoneNamesAndSensorStates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "zn")
		p := &alarm.Panel{HomeID: tr.home1.ID, Account: "2B01", Zones: map[string]string{"02": " 客厅窗 ", "03": "入户门"}}
		mustOK(t, st.CreatePanel(ctx, everywhere, p))
		if err := st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "2B02", Zones: map[string]string{"04": ""}}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("a zone without a name: %v", err)
		}
		win := &alarm.Sensor{HomeID: tr.home1.ID, Kind: alarm.SensorWindow, Zone: "kitchen window", ZoneName: "厨房窗", MQTTName: "zn_kitchen"}
		mustOK(t, st.CreateSensor(ctx, everywhere, win))
		mustOK(t, st.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home1.ID, Kind: alarm.SensorPIR, Zone: "hall", MQTTName: "zn_hall"}))
		names, err := st.ZoneNames(ctx, everywhere, tr.home1.ID)
		mustOK(t, err)
		if want := (alarm.ZoneNames{"02": "客厅窗", "03": "入户门", "kitchen window": "厨房窗"}); !maps.Equal(names, want) {
			t.Errorf("zone names %v, want %v", names, want)
		}
		ps, err := st.ListPanels(ctx, everywhere, shequ.Page{})
		mustOK(t, err)
		if len(ps.Items) != 1 || ps.Items[0].Zones["02"] != "客厅窗" {
			t.Errorf("panels %+v", ps.Items)
		}
		_, err = st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceMQTT, Account: "zn_kitchen", Kind: alarm.KindPerimeter, Code: "BA", Zone: "kitchen window", ReceivedAt: clock.Now()}})
		mustOK(t, err)
		got, err := st.HomeSensors(ctx, everywhere, tr.home1.ID)
		mustOK(t, err)
		if len(got) != 2 || got[0].Name != "厨房窗" || got[0].State != "open" || got[1].State != "unknown" || !got[1].Online {
			t.Errorf("sensors %+v", got)
		}
		clock.Advance(time.Second)
		_, err = st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceMQTT, Account: "zn_kitchen", Kind: alarm.KindPerimeter, Restore: true, Code: "BR", Zone: "kitchen window", ReceivedAt: clock.Now()}})
		mustOK(t, err)
		if got, err = st.HomeSensors(ctx, everywhere, tr.home1.ID); err != nil || got[0].State != "closed" {
			t.Errorf("after the window closed: %+v %v", got, err)
		}
	})
}

// TestAlarmBatchIsLikeOneByOne: a batch follows each home's arm state and
// incident in memory and writes them at its end; what it stores must be
// what the same reports store one batch each. Two stores, the same
// reports; every row the alarm path writes is compared.
func TestAlarmBatchIsLikeOneByOne(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			at := func(m time.Duration) time.Time { return start.Add(m * time.Minute) }
			ba := func(account, seq string, when time.Time) alarm.Report {
				return alarm.Report{Source: alarm.SourceSIA, Account: account, Seq: seq, Fingerprint: seq, Kind: alarm.KindBurglary, Code: "BA", Zone: seq, ReceivedAt: when}
			}
			r := func(account, seq string, kind alarm.Kind, code string, restore bool, when time.Time) alarm.Report {
				return alarm.Report{Source: alarm.SourceSIA, Account: account, Seq: seq, Fingerprint: seq, Kind: kind, Code: code, Restore: restore, Zone: "1", ReceivedAt: when}
			}
			reports := []alarm.Report{
				ba("A001", "0001", at(0)),                                // opens home 1's incident, triggers
				ba("A002", "0001", at(0)),                                // home 2
				ba("A001", "0002", at(1)),                                // joins, owes nothing new
				ba("A001", "0002", at(1)),                                // the panel repeats itself
				r("A001", "0003", alarm.KindBurglary, "BR", true, at(2)), // a restore joins
				r("A001", "0004", alarm.KindPanic, "PA", false, at(3)),   // a new kind: its own notices, the headline
				r("A002", "0002", alarm.KindTest, "RP", false, at(3)),    // a test joins nothing
				r("A002", "0003", alarm.KindOpening, "OP", false, at(4)), // disarms home 2
				ba("A002", "0004", at(5)),                                // joins home 2's incident
				ba("A001", "0005", at(20)),                               // past the window: a second incident
				ba("A001", "0006", at(21)),                               // joins the second
				{Source: alarm.SourceSIA, Account: "FFFF", Seq: "0001", Kind: alarm.KindBurglary, ReceivedAt: at(21)},
			}
			stores := make([]*sqlstore.Store, 2)
			for n := range stores {
				clock := shequtest.NewClock(start)
				st := sqlstoretest.Open(t, d, clock)
				stores[n] = st
				ctx := t.Context()
				tr := makeTree(t, st, "bo")
				mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "A001"}))
				mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home2.ID, Account: "A002"}))
				_, err := st.ChangeArmState(ctx, everywhere, tr.home2.ID, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
					a.State, a.Since = alarm.ArmedAway, now
					return a, nil
				})
				mustOK(t, err)
				if n == 0 {
					for _, rep := range reports {
						_, err := st.Ingest(ctx, []alarm.Report{rep})
						mustOK(t, err)
					}
				} else {
					out, err := st.Ingest(ctx, reports)
					mustOK(t, err)
					if !out[3].Duplicate || !out[11].Unknown || !out[9].NewIncident || out[10].Incident.ID != out[9].Incident.ID {
						t.Errorf("outcomes %+v", out)
					}
				}
			}
			sameRows(t, stores[0], stores[1],
				"SELECT id, community_id, home_id, panel_id, kind, priority, status, title, opened_at, last_event_at, event_count, kinds FROM incidents ORDER BY id",
				"SELECT id, community_id, home_id, grid_id, type, payload, at FROM live_events ORDER BY id",
				"SELECT idempotency_key, kind, payload, run_at, status FROM outbox ORDER BY id",
				"SELECT home_id, community_id, state, mode, since, deadline, entry_delay, zone, changed_by FROM arm_states ORDER BY home_id",
				"SELECT id, home_id, incident_id, seq, code, kind, restore, received_at FROM alarm_events ORDER BY id",
			)
			// The timelines, which take their events from alarm_events.
			one, batch := timelines(t, stores[0]), timelines(t, stores[1])
			if !slices.Equal(one, batch) {
				t.Errorf("timelines one by one:\n%v\nin one batch:\n%v", one, batch)
			}
			if len(one) != 3 || !strings.Contains(one[0], "opened") || !strings.Contains(one[0], `"code":"PA"`) {
				t.Errorf("timelines %v", one)
			}
		})
	}
}

// timelines returns the timeline of every incident, one line of text each.
func timelines(t *testing.T, st *sqlstore.Store) []string {
	t.Helper()
	l, err := st.ListIncidents(t.Context(), everywhere, alarm.IncidentFilter{Page: shequ.Page{Limit: 100}})
	mustOK(t, err)
	slices.SortFunc(l.Items, func(a, b alarm.Incident) int { return int(a.ID - b.ID) })
	var out []string
	for _, i := range l.Items {
		tl, err := st.IncidentTimeline(t.Context(), everywhere, i.ID)
		mustOK(t, err)
		var b strings.Builder
		fmt.Fprintf(&b, "incident %d:", i.ID)
		for _, e := range tl {
			fmt.Fprintf(&b, " %s %s %s %d %s;", e.At.Format(time.RFC3339Nano), e.Action, e.Detail, e.UserID, notificationOf(e))
		}
		out = append(out, b.String())
	}
	return out
}

func notificationOf(e alarm.TimelineEntry) string {
	if e.Notification == nil {
		return ""
	}
	return e.Notification.RecipientRole + "/" + e.Notification.Status
}

// tableRows reads every row of q as text.
// sameRows fails t unless each query gives the same rows, and some, on
// the store that took the reports one by one and on the one that took
// them in one batch.
func sameRows(t *testing.T, oneByOne, inBatch *sqlstore.Store, queries ...string) {
	t.Helper()
	for _, q := range queries {
		one, batch := tableRows(t, oneByOne, q), tableRows(t, inBatch, q)
		if !slices.Equal(one, batch) {
			t.Errorf("%s\none by one:\n%v\nin one batch:\n%v", q, one, batch)
		}
		if len(one) == 0 {
			t.Errorf("%s: no rows", q)
		}
	}
}

func tableRows(t *testing.T, st *sqlstore.Store, q string) []string {
	t.Helper()
	rows, err := st.DB().QueryContext(t.Context(), q)
	mustOK(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	mustOK(t, err)
	var out []string
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		mustOK(t, rows.Scan(p...))
		s := ""
		for i, x := range v {
			if b, ok := x.([]byte); ok {
				x = string(b)
			}
			if tm, ok := x.(time.Time); ok {
				x = tm.UTC().Format(time.RFC3339Nano)
			}
			s += fmt.Sprintf("%s=%v ", cols[i], x)
		}
		out = append(out, s)
	}
	mustOK(t, rows.Err())
	return out
}
