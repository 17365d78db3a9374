package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/sqlstore"
)

// TestAlarmHistory: the police officer finds the closed alarms of the
// community, and the open ones with a filter; a bad date is explained; a
// resident may not read the history and has no menu entry for it.
func TestAlarmHistory(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	inc := e.intrusion()
	row := fmt.Sprintf(`<tr data-id="%d">`, inc.ID)
	page := e.pageAs("police", "/alarms")
	if page.status != http.StatusOK || !strings.Contains(page.body, `href="/alarms"`) {
		t.Fatalf("the police's alarm history: status %d", page.status)
	}
	if strings.Contains(page.body, row) {
		t.Errorf("an open alarm is among the closed")
	}
	if open := e.pageAs("police", "/alarms?status=open"); !strings.Contains(open.body, row) || !strings.Contains(open.body, "门窗被打开") {
		t.Errorf("the open alarm is not under 正在处理")
	}
	e.clock.Advance(60e9)
	if got := e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", inc.ID), map[string]any{"resolution": "false_alarm"}, nil); got != http.StatusOK {
		t.Fatalf("resolve: %d", got)
	}
	closed := e.pageAs("police", "/alarms?from=2026-11-01&to=2026-11-30")
	if !strings.Contains(closed.body, row) {
		t.Errorf("the closed alarm is not in November's history")
	}
	if before := e.pageAs("police", "/alarms?to=2026-10-31"); strings.Contains(before.body, row) {
		t.Errorf("the alarm shows in October")
	}
	if bad := e.pageAs("police", "/alarms?from=yesterday"); !strings.Contains(bad.body, "日期请按 年-月-日 选择。") {
		t.Errorf("a bad date is not explained")
	}
	if r := e.pageAs("resident01", "/alarms"); r.status != http.StatusForbidden {
		t.Errorf("a resident on the history: status %d", r.status)
	}
	if r := e.pageAs("resident01", "/"); strings.Contains(r.body, `href="/alarms"`) {
		t.Errorf("a resident's menu has the alarm history")
	}
}
