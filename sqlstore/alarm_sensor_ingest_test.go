package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestSensorBatchIsLikeOneByOne stores the same sensor reports (with a
// panel's among them) one per Ingest and all in one, and finds the same
// rows: the batch's sensors, read together or remembered from an earlier
// batch, and their homes, read with the panels' homes, decide as a report
// alone does. A sensor registered after its name was first asked for is
// found when its first report comes.
func TestSensorBatchIsLikeOneByOne(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			start := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			at := func(s time.Duration) time.Time { return start.Add(s * time.Second) }
			sensor := func(name string, kind alarm.Kind, code string, restore bool, when time.Time) alarm.Report {
				return alarm.Report{Source: alarm.SourceMQTT, Account: name, Kind: kind, Code: code, Restore: restore, ReceivedAt: when}
			}
			reports := []alarm.Report{
				sensor("h2_door", alarm.KindEntryExit, "BA", false, at(0)),     // disarmed home 2: nothing
				sensor("h1_window", alarm.KindPerimeter, "BA", false, at(1)),   // armed home 1: an intrusion
				sensor("h1_door", alarm.KindEntryExit, "BA", false, at(2)),     // joins it
				sensor("late", alarm.KindPerimeter, "BA", false, at(3)),        // not registered yet
				sensor("h2_door", alarm.KindSensorOffline, "EM", false, at(4)), // a trouble in home 2
				{Source: alarm.SourceSIA, Account: "A001", Seq: "0001", Fingerprint: "1", Kind: alarm.KindBurglary, Code: "BA", Zone: "3", ReceivedAt: at(5)},
				sensor("h1_window", alarm.KindPerimeter, "BR", true, at(6)), // a restore joins
				sensor("h2_door", alarm.KindSensorOffline, "EN", true, at(7)),
				sensor("h2_door", alarm.KindEntryExit, "BR", true, at(8)),
			}
			later := []alarm.Report{
				sensor("late", alarm.KindPerimeter, "BA", false, at(20)), // registered now
				sensor("h1_door", alarm.KindEntryExit, "BR", true, at(21)),
			}
			stores := make([]*sqlstore.Store, 2)
			for n := range stores {
				st := sqlstoretest.Open(t, d, shequtest.NewClock(start))
				stores[n] = st
				ctx := t.Context()
				tr := makeTree(t, st, "sb")
				for _, x := range []alarm.Sensor{
					{HomeID: tr.home1.ID, Kind: alarm.SensorDoor, Zone: "front door", MQTTName: "h1_door"},
					{HomeID: tr.home1.ID, Kind: alarm.SensorWindow, Zone: "kitchen", MQTTName: "h1_window"},
					{HomeID: tr.home2.ID, Kind: alarm.SensorDoor, Zone: "front door", MQTTName: "h2_door"},
				} {
					mustOK(t, st.CreateSensor(ctx, everywhere, &x))
				}
				mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "A001"}))
				_, err := st.ChangeArmState(ctx, everywhere, tr.home1.ID, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
					a.State, a.Since = alarm.ArmedAway, now
					return a, nil
				})
				mustOK(t, err)
				if n == 0 {
					for _, r := range reports {
						_, err := st.Ingest(ctx, []alarm.Report{r})
						mustOK(t, err)
					}
				} else {
					out, err := st.Ingest(ctx, reports)
					mustOK(t, err)
					if !out[1].NewIncident || out[2].Incident == nil || out[2].Incident.ID != out[1].Incident.ID || !out[3].Unknown || !out[4].NewIncident {
						t.Errorf("outcomes %+v", out)
					}
				}
				mustOK(t, st.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home2.ID, Kind: alarm.SensorWindow, Zone: "bedroom", MQTTName: "late"}))
				out, err := st.Ingest(ctx, later)
				mustOK(t, err)
				if out[0].Unknown || out[1].Unknown {
					t.Errorf("later outcomes %+v", out)
				}
			}
			sameRows(t, stores[0], stores[1],
				"SELECT id, community_id, home_id, panel_id, kind, priority, status, title, opened_at, last_event_at, event_count, kinds FROM incidents ORDER BY id",
				"SELECT id, community_id, home_id, grid_id, type, payload, at FROM live_events ORDER BY id",
				"SELECT idempotency_key, kind, payload, run_at, status FROM outbox ORDER BY id",
				"SELECT home_id, community_id, state, mode, since, deadline, entry_delay, zone, changed_by FROM arm_states ORDER BY home_id",
				"SELECT id, home_id, sensor_id, incident_id, account, code, kind, restore, received_at FROM alarm_events ORDER BY id",
				"SELECT id, mqtt_name, online FROM alarm_sensors ORDER BY id",
			)
			if events := tableRows(t, stores[1], "SELECT id FROM alarm_events WHERE account = 'late'"); len(events) != 1 {
				t.Errorf("events of the late sensor: %v", events)
			}
		})
	}
}

// BenchmarkIngestSensors stores batches of 256 or 1,024 door reports of
// 64 sensors in two homes, as the MQTT pipeline hands them to Ingest;
// ns/op and cpu-µs/report (this process's CPU, not PostgreSQL's) are
// per report. The batches of 512 come without and with the receipt of
// their messages ahead of them (alarm.BatchReceipt), what the
// client sends: the receipt's price.
//
//	go test -run '^$' -bench IngestSensors -cpu 1 ./sqlstore/
func BenchmarkIngestSensors(b *testing.B) {
	for _, d := range sqlstoretest.Dialects() {
		for _, batch := range []int{256, 1024} {
			b.Run(fmt.Sprintf("%s/batch=%d", d, batch), func(b *testing.B) { benchIngestSensors(b, d, batch, false) })
		}
		for _, receipt := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/batch=512/receipt=%v", d, receipt), func(b *testing.B) { benchIngestSensors(b, d, 512, receipt) })
		}
	}
}

func benchIngestSensors(b *testing.B, dialect string, batch int, receipt bool) {
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.Open(b, dialect, clock)
	ctx := b.Context()
	tr := makeTree(b, st, "bs")
	const sensors = 64
	for i := range sensors {
		home := tr.home1.ID
		if i%2 == 1 {
			home = tr.home2.ID
		}
		mustOK(b, st.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: home, Kind: alarm.SensorDoor, Zone: "door", MQTTName: fmt.Sprintf("d%d", i)}))
	}
	reports := make([]alarm.Report, 0, batch+1)
	var entries []alarm.ReceiptEntry
	b.ResetTimer()
	cpu0 := cpuTime()
	for done := 0; done < b.N; {
		reports = reports[:0]
		if receipt {
			// One message a report, packet ids in turn, 64-bit digests:
			// the receipt of the client's batch.
			entries = entries[:0]
			for i := 0; i < batch && done+i < b.N; i++ {
				entries = append(entries, alarm.ReceiptEntry{InSession: true, PacketID: uint16((done+i)%65535 + 1), Digest: uint64(done+i) * 0x9e3779b97f4a7c15, Reports: 1})
			}
			reports = append(reports, alarm.Report{Source: alarm.SourceMQTT, Kind: alarm.KindBatchReceipt, ReceivedAt: clock.Now(),
				Receipt: &alarm.BatchReceipt{Session: "shequ-bench", Entries: entries}})
		}
		for i := 0; i < batch && done+i < b.N; i++ {
			n := done + i
			// Each sensor opens, then closes, then opens again.
			restore := (n/sensors)%2 == 1
			code := "BA"
			if restore {
				code = "BR"
			}
			reports = append(reports, alarm.Report{Source: alarm.SourceMQTT, Account: fmt.Sprintf("d%d", n%sensors), Kind: alarm.KindEntryExit, Code: code, Restore: restore, ReceivedAt: clock.Now()})
		}
		out, err := st.Ingest(ctx, reports)
		if err != nil {
			b.Fatal(err)
		}
		if receipt {
			out = out[1:]
		}
		done += len(out)
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/1e3/float64(b.N), "cpu-µs/report")
}

// TestSensorDirectory: the one directory of sensors answers the MQTT
// subscriber's translation. A registered sensor is found with its kind,
// zone and home; a name that is not a sensor is believed not to be one
// for a few seconds (another node's registration shows after that), but
// a sensor registered on this node is found at once.
func TestSensorDirectory(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			dsn := sqlstoretest.DSN(t, d)
			a, b := sqlstoretest.OpenDSN(t, dsn, nil), sqlstoretest.OpenDSN(t, dsn, nil)
			tr := makeTree(t, a, "sd")
			mustOK(t, a.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home1.ID, Kind: alarm.SensorWindow, Zone: "kitchen", MQTTName: "sd_window"}))
			o, known, err := b.Sensor(ctx, "sd_window")
			mustOK(t, err)
			if !known || o.SensorKind != alarm.SensorWindow || o.SensorZone != "kitchen" || o.HomeID != tr.home1.ID || o.CommunityID != tr.home1.CommunityID || o.SensorID == 0 {
				t.Fatalf("sd_window: %+v %v", o, known)
			}
			for _, st := range []*sqlstore.Store{a, b} {
				if _, known, err := st.Sensor(ctx, "sd_door"); err != nil || known {
					t.Fatalf("sd_door before it is registered: %v %v", known, err)
				}
			}
			// Registered on a: a knows at once; b still believes its
			// miss (within the few seconds).
			mustOK(t, a.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home2.ID, Kind: alarm.SensorDoor, Zone: "front door", MQTTName: "sd_door"}))
			if o, known, err := a.Sensor(ctx, "sd_door"); err != nil || !known || o.HomeID != tr.home2.ID {
				t.Fatalf("sd_door on the node that registered it: %+v %v %v", o, known, err)
			}
			if _, known, err := b.Sensor(ctx, "sd_door"); err != nil || known {
				t.Fatalf("sd_door on the other node within the miss's time: %v %v (the miss was not remembered)", known, err)
			}
		})
	}
}
