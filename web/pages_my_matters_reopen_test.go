package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/sqlstore"
)

// TestMatterReopenedAndPlaceAsked: the form asks where the problem is and
// files a street lamp at its place, not at the flat; a resolved matter
// that was not fixed is opened again with the resident's reason, which a
// reason must come with.
func TestMatterReopenedAndPlaceAsked(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	form := e.page("/my/matters/new", jar.of("resident01")...)
	if !strings.Contains(form.body, `id="where-home"`) || strings.Contains(form.body, `value="home" checked`) {
		t.Errorf("the form does not ask where, or answers for the resident")
	}
	f := url.Values{"csrf_token": {jar.csrf("resident01")}, "category": {"repair"}, "description": {"路灯不亮"}}
	if r := e.postMultipart("/my/matters", f, nil, nil, jar.of("resident01")...); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请选择问题在哪里。") {
		t.Errorf("no place chosen: status %d", r.status)
	}
	f.Set("where", "elsewhere")
	if r := e.postMultipart("/my/matters", f, nil, nil, jar.of("resident01")...); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请写明地点") {
		t.Errorf("elsewhere without a place: status %d", r.status)
	}
	f.Set("place", "3号楼东侧路灯")
	r := e.postMultipart("/my/matters", f, nil, nil, jar.of("resident01")...)
	if r.status != http.StatusSeeOther {
		t.Fatalf("elsewhere: status %d %.300s", r.status, r.body)
	}
	var lamp int64
	fmt.Sscanf(r.header.Get("Location"), "/my/matters/%d", &lamp)
	if m, err := e.store.Matter(t.Context(), auth.Scope{{}}, lamp); err != nil || m.Address != "3号楼东侧路灯" {
		t.Errorf("the lamp is filed at %q (%v)", m.Address, err)
	}

	id := submitThroughPage(t, e, jar, "repair", "单元门禁坏了", nil)
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	staff := auth.Scope{{CommunityID: e.demo.CommunityID}}
	for _, s := range []matter.Step{{Action: "accept", By: 1}, {Action: "assign", By: 1, AssigneeUserID: grid01.ID}, {Action: "start", By: grid01.ID}, {Action: "resolve", By: grid01.ID, Note: "换了门禁"}} {
		if _, err := e.store.StepMatter(t.Context(), staff, id, s); err != nil {
			t.Fatal(err)
		}
	}
	path := fmt.Sprintf("/my/matters/%d", id)
	page := e.page(path, jar.of("resident01")...)
	if !strings.Contains(page.body, `id="reopen-form"`) || !strings.Contains(page.body, "如果没办好，请在下面留言说明。") {
		t.Fatalf("the resolved matter has no box to say it was not fixed")
	}
	if r := jar.post("resident01", path+"/reopen", url.Values{}, false); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请写明哪里还没办好。") {
		t.Errorf("reopening without a reason: status %d", r.status)
	}
	if r := jar.post("resident01", path+"/reopen", url.Values{"note": {"门禁还是刷不开"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("reopening: status %d %.300s", r.status, r.body)
	}
	m, err := e.store.Matter(t.Context(), auth.Scope{{}}, id)
	if err != nil || m.Status != matter.Accepted || m.ResolvedAt != nil || m.StatusNote != "门禁还是刷不开" {
		t.Errorf("after reopening: %s %v %q %v", m.Status, m.ResolvedAt, m.StatusNote, err)
	}
	if r := jar.post("resident01", path+"/reopen", url.Values{"note": {"again"}}, false); r.status != http.StatusConflict {
		t.Errorf("reopening an open matter: status %d", r.status)
	}
	if after := e.page(path, jar.of("resident01")...); !strings.Contains(after.body, "居民说没办好，重新办理") || !strings.Contains(after.body, "门禁还是刷不开") {
		t.Errorf("the timeline does not say it was reopened and why")
	}
}
