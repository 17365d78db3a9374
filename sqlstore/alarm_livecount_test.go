package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

// TestIncidentCountIsTheIncidentsJSON checks the short live event of a
// count-only join against encoding/json: the same names and values as the
// whole incident's JSON for the fields it carries, strings escaped alike.
func TestIncidentCountIsTheIncidentsJSON(t *testing.T) {
	at := time.Date(2026, 12, 6, 21, 40, 5, 123456789, time.UTC)
	for _, tc := range []struct {
		name string
		inc  alarm.Incident
	}{
		{"storm", alarm.Incident{ID: 7, CommunityID: 1, HomeID: 42, Kind: alarm.KindBurglary, Priority: alarm.PriorityIntrusion,
			Status: alarm.StatusNew, Title: "burglary (zone 02) [BA]", LastEventAt: at, EventCount: 1234}},
		{"no home, odd title", alarm.Incident{ID: 1, CommunityID: 2, Kind: alarm.KindPanic, Priority: alarm.PriorityLife,
			Status: alarm.StatusAcknowledged, Title: "紧急求助 \"q\" \\ <b>&</b>\n\t\x01\u2028\u2029 \xff end", LastEventAt: at.In(time.FixedZone("CST", 8*3600)), EventCount: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			short := appendIncidentCount(nil, &tc.inc)
			var got map[string]any
			if err := json.Unmarshal(short, &got); err != nil {
				t.Fatalf("%s: %v", short, err)
			}
			whole, err := json.Marshal(tc.inc)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(whole, &want); err != nil {
				t.Fatal(err)
			}
			if got["count_only"] != true {
				t.Errorf("count_only = %v", got["count_only"])
			}
			delete(got, "count_only")
			for k := range want {
				switch k {
				case "id", "community_id", "home_id", "kind", "priority", "status", "title", "last_event_at", "event_count":
				default:
					delete(want, k)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("short %s\n got %v\nwant %v", short, got, want)
			}
		})
	}
}
