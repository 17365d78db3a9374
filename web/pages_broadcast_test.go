package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shequ/shequ/sqlstore"
)

// TestListenerPages: the resident's programme and song request form; bad
// input shows the form again saying what to fix and files nothing.
func TestListenerPages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	pg := e.pageAs("resident01", "/my/broadcast")
	for _, want := range []string{"今天大喇叭播什么", "/broadcast/zones/g", "18:30", "晚间广播", `href="/my/broadcast/request"`, `href="/my/broadcast"`} {
		if pg.status != http.StatusOK || !strings.Contains(pg.body, want) {
			t.Errorf("programme (%d) lacks %q", pg.status, want)
		}
	}
	if f := e.pageAs("resident01", "/my/broadcast/request"); f.status != http.StatusOK || !strings.Contains(f.body, `name="for"`) || !strings.Contains(f.body, `type="date"`) {
		t.Errorf("request form: %d", f.status)
	}
	jar := newJar(e)
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"nobody named", url.Values{"song": {"茉莉花"}, "for": {""}}, http.StatusUnprocessableEntity, "请写送给谁"},
		{"no song", url.Values{"for": {"妈妈"}}, http.StatusUnprocessableEntity, "请选一首歌"},
		{"a day gone by", url.Values{"song": {"茉莉花"}, "for": {"妈妈"}, "day": {"2026-11-01"}}, http.StatusUnprocessableEntity, "请选今天或以后的日子"},
		{"a good one", url.Values{"song": {"茉莉花"}, "for": {"妈妈"}, "occasion": {"生日"}, "day": {"2026-11-30"}}, http.StatusSeeOther, ""},
	}
	for _, tc := range tests {
		r := jar.post("resident01", "/my/broadcast/request", tc.form, false)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("%s: %d, want %d with %q", tc.name, r.status, tc.status, tc.want)
		}
	}
	pg = e.pageAs("resident01", "/my/broadcast")
	if !strings.Contains(pg.body, "茉莉花") || !strings.Contains(pg.body, "待审核") || !strings.Contains(pg.body, "2026-11-30") {
		t.Errorf("the request is not shown waiting")
	}
	if n := strings.Count(pg.body, `class="card request"`); n != 1 {
		t.Errorf("%d requests shown, want 1", n)
	}
	// Staff do not hear a grid: they get their own page.
	if r := e.pageAs("operator", "/my/broadcast"); r.status != http.StatusForbidden {
		t.Errorf("operator: %d", r.status)
	}
}
