package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/sqlstore"
)

// TestCasePages: the employment chair records an individual service for a
// resident found by name and a group service from the phone forms, adds
// an action and closes the case; the dashboard counts them; another
// association does not see them.
func TestCasePages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	person := e.notSeeker()
	count := func(id string) int {
		m := regexp.MustCompile(`id="` + id + `">([0-9,]+)<`).FindStringSubmatch(e.pageAs("assoc-jiuye", "/stats").body)
		if m == nil {
			t.Fatalf("no %s on the dashboard", id)
		}
		n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
		return n
	}
	individual, group := count("individual-count"), count("group-count")

	ws := e.pageAs("assoc-jiuye", "/ledgers")
	if !strings.Contains(ws.body, `id="work-cases"`) {
		t.Errorf("the workspace does not lead to the services")
	}
	form := e.pageAs("assoc-jiuye", "/cases/new/individual?q="+url.QueryEscape(person.Name))
	if form.status != http.StatusOK || !strings.Contains(form.body, fmt.Sprintf(`name="person_id" value="%d"`, person.ID)) {
		t.Fatalf("the individual form: status %d", form.status)
	}
	csrf := csrfOf(t, form.body)
	post := func(path string, f url.Values) pageResponse {
		f.Set("csrf_token", csrf)
		return e.pageRequest(http.MethodPost, path, f, nil, e.cookies["assoc-jiuye"])
	}
	if r := post("/cases/new/individual", url.Values{"summary": {"想找离家近的工作"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请先查找并选择一位居民") {
		t.Errorf("an individual service for nobody: status %d", r.status)
	}
	r := post("/cases/new/individual", url.Values{"person_id": {strconv.FormatInt(person.ID, 10)}, "summary": {"想找离家近的工作"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("an individual service: status %d %.300s", r.status, r.body)
	}
	path := strings.TrimSuffix(r.header.Get("Location"), "?done=created")
	page := e.pageAs("assoc-jiuye", r.header.Get("Location"))
	if !strings.Contains(page.body, "已保存。") || !strings.Contains(page.body, person.Name) || !strings.Contains(page.body, `id="close-form"`) {
		t.Errorf("the new service's page")
	}
	if r := post(path+"/actions", url.Values{"note": {"推荐了超市收银岗位"}}); r.status != http.StatusSeeOther {
		t.Errorf("an action: status %d", r.status)
	}
	if r := post(path+"/close", url.Values{}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "结案请写明结果") {
		t.Errorf("closing without an outcome: status %d", r.status)
	}
	if r := post(path+"/close", url.Values{"outcome": {"已上岗"}}); r.status != http.StatusSeeOther {
		t.Errorf("closing: status %d", r.status)
	}
	if after := e.pageAs("assoc-jiuye", path); !strings.Contains(after.body, "推荐了超市收银岗位") || !strings.Contains(after.body, `id="case-outcome">已上岗<`) || strings.Contains(after.body, `id="close-form"`) {
		t.Errorf("the closed service's page")
	}
	if r := post(path+"/close", url.Values{"outcome": {"again"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "这一步现在不能做") {
		t.Errorf("closing twice: status %d", r.status)
	}
	// Reopened with a reason, it can be closed again; without one, nothing moves.
	if after := e.pageAs("assoc-jiuye", path); !strings.Contains(after.body, `id="reopen-form"`) {
		t.Errorf("the closed service's page has no way to reopen it")
	}
	if r := post(path+"/reopen", url.Values{}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请写明重新打开的原因") {
		t.Errorf("reopen without a reason: status %d", r.status)
	}
	if r := post(path+"/reopen", url.Values{"reason": {"居民反映还没上岗"}}); r.status != http.StatusSeeOther {
		t.Fatalf("reopen: status %d %s", r.status, r.body)
	}
	if after := e.pageAs("assoc-jiuye", path+"?done=reopen"); !strings.Contains(after.body, "已重新打开。") || !strings.Contains(after.body, "居民反映还没上岗") || !strings.Contains(after.body, `id="close-form"`) || strings.Contains(after.body, `id="reopen-form"`) {
		t.Errorf("the reopened service's page")
	}

	if r := post("/cases/new/group", url.Values{"topic": {"求职技能讲座"}, "place": {"社区活动室"}, "date": {"2026-11-27"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请填写参加人数") || !strings.Contains(r.body, "请填写内容") {
		t.Errorf("a group service without attendance or summary: status %d", r.status)
	}
	r = post("/cases/new/group", url.Values{"topic": {"求职技能讲座"}, "place": {"社区活动室"}, "date": {"2026-11-27"}, "attendance": {"23"}, "summary": {"简历写作与面试技巧"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("a group service: status %d %.300s", r.status, r.body)
	}
	// Residents who came are named on its page, found by name; the head
	// count stays 23 until more are named than that.
	groupPath := strings.SplitN(r.header.Get("Location"), "?", 2)[0]
	found := e.pageAs("assoc-jiuye", groupPath+"?q="+url.QueryEscape(person.Name))
	if !strings.Contains(found.body, `id="attendee-form"`) || !strings.Contains(found.body, fmt.Sprintf(`name="person_id" value="%d"`, person.ID)) {
		t.Fatalf("the group service's page does not offer %s", person.Name)
	}
	if r := post(groupPath+"/attendees", url.Values{}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请先查找并选择一位居民") {
		t.Errorf("an attendee without a resident: status %d", r.status)
	}
	if r := post(groupPath+"/attendees", url.Values{"person_id": {fmt.Sprint(person.ID)}}); r.status != http.StatusSeeOther {
		t.Fatalf("naming an attendee: status %d %.300s", r.status, r.body)
	}
	if r := post(groupPath+"/attendees", url.Values{"person_id": {fmt.Sprint(person.ID)}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("naming an attendee twice: status %d", r.status)
	}
	gid, _ := strconv.ParseInt(strings.TrimPrefix(groupPath, "/cases/"), 10, 64)
	if c, err := e.store.Case(t.Context(), assoc.Everything, gid); err != nil || len(c.Attendees) != 1 || c.Attendees[0] != person.ID || c.Attendance != 23 {
		t.Errorf("the group service after naming: %+v %v", c, err)
	}
	if page := e.pageAs("assoc-jiuye", groupPath+"?done=attendees"); !strings.Contains(page.body, "到场名单已保存") || !strings.Contains(page.body, person.Name) {
		t.Errorf("the group service's page does not name who came")
	}
	if r := post(groupPath+"/attendees", url.Values{"remove": {fmt.Sprint(person.ID)}}); r.status != http.StatusSeeOther {
		t.Errorf("taking an attendee off: status %d", r.status)
	}
	if c, _ := e.store.Case(t.Context(), assoc.Everything, gid); len(c.Attendees) != 0 || c.Attendance != 23 {
		t.Errorf("the group service after taking off: %+v", c)
	}
	if list := e.pageAs("assoc-jiuye", "/cases?kind=group"); !strings.Contains(list.body, "求职技能讲座") || strings.Contains(list.body, "想找离家近的工作") {
		t.Errorf("the group services' list")
	}
	if got := count("individual-count"); got != individual+1 {
		t.Errorf("individual services %d → %d", individual, got)
	}
	if got := count("group-count"); got != group+1 {
		t.Errorf("group services %d → %d", group, got)
	}
	if other := e.pageAs("assoc-tiaojie", path); other.status != http.StatusNotFound {
		t.Errorf("another association opens the service: status %d", other.status)
	}
	if p := e.pageAs("hr-partner", "/cases"); p.status != http.StatusForbidden {
		t.Errorf("a partner opens the services: status %d", p.status)
	}
}
