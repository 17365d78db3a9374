package web

import (
	"fmt"
	"testing"

	"github.com/shequ/shequ/sqlstore"
)

// TestAlarmListsTakeTheCommunityFilter: community= narrows the alarm
// centre's lists like every other list.
func TestAlarmListsTakeTheCommunityFilter(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	if got := env.do("resident01", "POST", "/api/v1/sos", map[string]any{"note": "摔倒了"}, nil); got != 201 {
		t.Fatalf("sos: %d", got)
	}
	var homes page[map[string]any]
	env.do("director", "GET", "/api/v1/homes?limit=1", nil, &homes)
	if len(homes.Items) == 0 {
		t.Fatal("no homes")
	}
	home := homes.Items[0]["id"]
	if got := env.do("director", "POST", "/api/v1/alarm/panels", map[string]any{"home_id": home, "account": "1234"}, nil); got != 201 {
		t.Fatalf("panel: %d", got)
	}
	if got := env.do("director", "POST", "/api/v1/alarm/sensors", map[string]any{"home_id": home, "kind": "pir", "zone": "hallway", "mqtt_name": "pir-1"}, nil); got != 201 {
		t.Fatalf("sensor: %d", got)
	}
	for _, path := range []string{"/api/v1/incidents", "/api/v1/alarm/events", "/api/v1/alarm/panels", "/api/v1/alarm/sensors"} {
		var own, other page[map[string]any]
		env.do("operator", "GET", fmt.Sprintf("%s?community=%d", path, env.demo.CommunityID), nil, &own)
		env.do("operator", "GET", fmt.Sprintf("%s?community=%d", path, env.demo.CommunityID+1000), nil, &other)
		if own.Total == 0 || other.Total != 0 || len(other.Items) != 0 {
			t.Errorf("%s: %d in the operator's community, %d in another", path, own.Total, other.Total)
		}
	}
}
