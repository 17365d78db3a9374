package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// TestAutoArmPage: a resident switches "arm when the family has left" on,
// says from the phone they went out, and, the last one out, finds the
// alarm on and themselves counted as out; a bad time is explained; staff
// have no such page.
func TestAutoArmPage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	home := e.residentHomeID()
	page := e.page("/my/autoarm", jar.of("resident01")...)
	if page.status != http.StatusOK || !strings.Contains(page.body, `id="arm-on-leave"`) || strings.Contains(page.body, `name="arm_on_leave" checked`) {
		t.Fatalf("the auto-arm page: status %d", page.status)
	}
	if !strings.Contains(page.body, `href="/my/autoarm"`) {
		t.Errorf("the resident's menu has no auto-arm")
	}
	if r := jar.post("resident01", "/my/autoarm", url.Values{"arm_on_leave": {"on"}, "arm_at": {"25:99"}, "mode": {"home"}}, false); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "时间请按 时:分 填写") {
		t.Errorf("a bad time: status %d", r.status)
	}
	if r := jar.post("resident01", "/my/autoarm", url.Values{"arm_on_leave": {"on"}, "mode": {"home"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("switching on: status %d", r.status)
	}
	rules, err := e.store.ArmRules(t.Context(), auth.Scope{{}}, home)
	if err != nil || !rules.ArmOnLeave {
		t.Fatalf("the rule is not on: %+v %v", rules, err)
	}
	if r := jar.post("resident01", "/my/autoarm/presence", url.Values{"present": {"false"}}, false); r.status != http.StatusSeeOther || r.header.Get("Location") != "/my/autoarm?done=armed" {
		t.Fatalf("going out: status %d to %s", r.status, r.header.Get("Location"))
	}
	st, err := e.store.ArmState(t.Context(), auth.Scope{{}}, home)
	if err != nil || st.State == alarm.Disarmed || st.State == "" {
		t.Errorf("the home did not arm when its last resident left: %+v %v", st, err)
	}
	after := e.page("/my/autoarm?done=armed", jar.of("resident01")...)
	if !strings.Contains(after.body, "报警已自动开启") || !strings.Contains(after.body, `data-present="false"`) || !strings.Contains(after.body, "系统现在把您算作出门。") {
		t.Errorf("the page after going out: %s", after.body[strings.Index(after.body, "<main"):])
	}
	if r := e.pageAs("operator", "/my/autoarm"); r.status != http.StatusForbidden {
		t.Errorf("the operator on /my/autoarm: status %d", r.status)
	}
}
