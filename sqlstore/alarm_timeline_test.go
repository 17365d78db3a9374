package sqlstore_test

import (
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestTimelineFromEventsMigration: before migration 24 every event of an
// incident was written twice, as the event and as an "opened" or "event"
// line of the incident's log. An incident stored that way (its lines
// written as the old code wrote them, a sensor's event among them, an
// operator's step between the events) reads the same timeline after the
// migration, which drops those lines and takes the entries from the events:
// nothing doubled, nothing lost, in order.
func TestTimelineFromEventsMigration(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			st, clock := storeAtVersion(t, d, 23)
			tr := makeTree(t, st, "tl")
			mustOK(t, st.CreatePanel(ctx, everywhere, &alarm.Panel{HomeID: tr.home1.ID, Account: "7001"}))
			window := &alarm.Sensor{HomeID: tr.home1.ID, MQTTName: "kitchen", Kind: alarm.SensorWindow, Zone: "kitchen window"}
			mustOK(t, st.CreateSensor(ctx, everywhere, window))
			_, err := st.ChangeArmState(ctx, everywhere, tr.home1.ID, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
				a.State, a.Mode, a.Since = alarm.ArmedAway, alarm.ModeAway, now
				return a, nil
			})
			mustOK(t, err)

			// What the old code wrote for each event: its note as the
			// detail of a log line, in the same transaction.
			var incident int64
			var want []string
			ingest := func(r alarm.Report, sensorZone string) {
				t.Helper()
				r.ReceivedAt = clock.Now()
				out, err := st.Ingest(ctx, []alarm.Report{r})
				mustOK(t, err)
				if out[0].Incident == nil {
					t.Fatalf("%+v joined no incident", r)
				}
				incident = out[0].Incident.ID
				action := "event"
				if out[0].NewIncident {
					action = "opened"
				}
				detail := alarm.NoteOf(r, sensorZone).String()
				_, err = st.DB().ExecContext(ctx, "INSERT INTO incident_log (incident_id, at, action, detail) VALUES ($1, $2, $3, $4)", incident, r.ReceivedAt, action, detail)
				mustOK(t, err)
				want = append(want, action+" "+detail)
				clock.Advance(time.Minute)
			}
			ingest(alarm.Report{Source: alarm.SourceSIA, Account: "7001", Seq: "0001", Fingerprint: "a", Code: "BA", Kind: alarm.KindBurglary, Zone: "3"}, "")
			ingest(alarm.Report{Source: alarm.SourceMQTT, Account: "kitchen", Kind: alarm.KindPerimeter}, "kitchen window")
			_, err = st.StepIncident(ctx, everywhere, incident, alarm.Step{Action: "ack", By: 1})
			mustOK(t, err)
			want = append(want, "ack ")
			clock.Advance(time.Minute)
			ingest(alarm.Report{Source: alarm.SourceSIA, Account: "7001", Seq: "0002", Fingerprint: "b", Code: "BR", Kind: alarm.KindBurglary, Restore: true, Zone: "3"}, "")

			timeline := func() []string {
				t.Helper()
				tl, err := st.IncidentTimeline(ctx, everywhere, incident)
				mustOK(t, err)
				var out []string
				for _, e := range tl {
					out = append(out, e.Action+" "+e.Detail)
				}
				return out
			}
			// Before the migration the lines and the events both say it.
			if got := timeline(); len(got) != 2*len(want)-1 {
				t.Errorf("timeline before the migration: %d entries, want %d (each event twice)\n%v", len(got), 2*len(want)-1, got)
			}
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if got := timeline(); !slices.Equal(got, want) {
				t.Errorf("timeline after the migration:\n%v\nwant\n%v", got, want)
			}
			var lines int
			mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM incident_log WHERE incident_id = $1", incident).Scan(&lines))
			if lines != 1 {
				t.Errorf("%d log lines left, want the ack alone", lines)
			}
		})
	}
}
