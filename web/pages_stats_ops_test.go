package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// TestStatsOperations: the director's dashboard has the alarm handling
// times per operator (by name) and per day, and the matters per category,
// each with a CSV that says the same; an association's chair does not
// see the handling times, and may not download them.
func TestStatsOperations(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	inc := e.intrusion()
	e.clock.Advance(45 * time.Second)
	if got := e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/ack", inc.ID), map[string]any{}, nil); got != http.StatusOK {
		t.Fatalf("ack: %d", got)
	}
	e.clock.Advance(30 * time.Second)
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	if got := e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/dispatch", inc.ID), map[string]any{"user_id": grid01.ID}, nil); got != http.StatusOK {
		t.Fatalf("dispatch: %d", got)
	}
	if got := e.do("resident01", "POST", "/api/v1/matters", map[string]any{"category": "lift", "description": "3号电梯停在5楼不动", "attributes": map[string]string{"trapped": "no", "floor": "5"}}, nil); got != http.StatusCreated {
		t.Fatalf("a matter: %d", got)
	}
	page := e.pageAs("director", "/stats")
	if page.status != http.StatusOK {
		t.Fatalf("the dashboard: status %d", page.status)
	}
	for _, id := range []string{`id="handling-operators"`, `id="handling-days"`, `id="matter-table"`, `id="alarm-exports"`, `id="matter-exports"`} {
		if !strings.Contains(page.body, id) {
			t.Errorf("the dashboard has no %s", id)
		}
	}
	m := regexp.MustCompile(`id="f-from" name="from" type="date" value="([0-9-]+)"[\s\S]*id="f-to" name="to" type="date" value="([0-9-]+)"`).FindStringSubmatch(page.body)
	if m == nil {
		t.Fatal("no period on the dashboard")
	}
	zone := zoneOf("Asia/Shanghai")
	since, _ := time.ParseInLocation(time.DateOnly, m[1], zone)
	last, _ := time.ParseInLocation(time.DateOnly, m[2], zone)
	l, err := e.store.ListIncidents(t.Context(), auth.Scope{{CommunityID: e.demo.CommunityID}}, alarm.IncidentFilter{Since: since, Until: last.AddDate(0, 0, 1), Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	ops, days := alarm.HandlingStats(l.Items, zone)
	if len(ops) == 0 || len(days) == 0 {
		t.Fatalf("the demo has no handled alarms this period (%d incidents)", len(l.Items))
	}
	if !strings.Contains(page.body, "监控中心值班员（演示）") || !strings.Contains(page.body, ">45秒<") || !strings.Contains(page.body, ">1分15秒<") {
		t.Errorf("the operator is not named on the dashboard")
	}
	file := e.pageAs("director", "/stats/alarms/csv?from="+m[1]+"&to="+m[2]+"&lang=zh")
	if file.status != http.StatusOK || !strings.HasPrefix(file.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("the alarm CSV: status %d %s", file.status, file.header.Get("Content-Type"))
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix([]byte(file.body), []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+len(ops)+len(days) || rows[0][2] != "报警数" {
		t.Errorf("the alarm CSV has %d rows, want %d: %v", len(rows), 1+len(ops)+len(days), rows[0])
	}
	if x := e.pageAs("director", "/stats/matters/xlsx?from="+m[1]+"&to="+m[2]); x.status != http.StatusOK || !strings.HasPrefix(x.body, "PK") {
		t.Errorf("the matters XLSX: status %d", x.status)
	}
	chair := e.pageAs("assoc-jiuye", "/stats")
	if strings.Contains(chair.body, `id="handling"`) {
		t.Errorf("an association's chair sees the monitoring centre's figures")
	}
	if r := e.pageAs("assoc-jiuye", "/stats/alarms/csv?from="+m[1]+"&to="+m[2]); r.status != http.StatusForbidden {
		t.Errorf("a chair downloads the handling times: status %d", r.status)
	}
}
