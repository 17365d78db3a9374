package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
)

// TestMediationPages: the mediation association reads its cases and
// takes one through sessions, outcome and a closing check on its pages;
// other associations and partners do not see them.
func TestMediationPages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	l, err := e.store.ListMediations(ctx, assoc.Everything, assoc.MediationFilter{CommunityID: e.demo.CommunityID, Query: "电梯"})
	if err != nil || l.Total != 1 {
		t.Fatalf("the demo's lift case: %v %+v", err, l)
	}
	lift := fmt.Sprintf("/mediations/%d", l.Items[0].ID)
	tests := []struct {
		user, path string
		status     int
		has        []string
	}{
		{"assoc-tiaojie", "/mediations", http.StatusOK, []string{demo.LiftMediationSubject, "已回访"}},
		{"assoc-tiaojie", "/ledgers", http.StatusOK, []string{`id="work-mediations"`, "调解案件：共1件，进行中0件"}},
		{"assoc-tiaojie", lift, http.StatusOK, []string{"当事方", "(21)", "代表6人", demo.PropertyCompany, "社区议事厅", "双方已签字", "电梯修好了吗？", `id="check-form"`}},
		{"director", lift, http.StatusOK, []string{demo.LiftMediationSubject}},
		{"assoc-jiuye", "/mediations", http.StatusOK, []string{"没有符合条件的调解案件"}},
		{"assoc-jiuye", lift, http.StatusNotFound, nil},
		{"hr-partner", "/mediations", http.StatusForbidden, nil},
		{"resident01", lift, http.StatusForbidden, nil},
	}
	for _, tt := range tests {
		r := e.pageAs(tt.user, tt.path)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.user, tt.path, r.status, tt.status)
			continue
		}
		for _, s := range tt.has {
			if !strings.Contains(r.body, s) {
				t.Errorf("%s %s lacks %q", tt.user, tt.path, s)
			}
		}
	}
	if r := e.pageAs("assoc-tiaojie", lift); strings.Contains(r.body, `id="session-form"`) || strings.Contains(r.body, `id="outcome-form"`) {
		t.Errorf("a concluded case offers sessions or an outcome")
	}

	// A new case of the mediation association, with two parties.
	as, err := e.store.ListAssociations(ctx, everyoneScope, community.Filter{CommunityID: e.demo.CommunityID})
	if err != nil {
		t.Fatal(err)
	}
	var tiaojie int64
	for _, a := range as.Items {
		if a.Key == "tiaojie" {
			tiaojie = a.ID
		}
	}
	m := assoc.Mediation{AssociationID: tiaojie, Subject: "楼上漏水纠纷"}
	if err := e.store.CreateMediation(ctx, assoc.Everything, &m); err != nil {
		t.Fatal(err)
	}
	a, b := assoc.MediationParty{Organisation: "302室住户", Side: "upstairs"}, assoc.MediationParty{Organisation: "202室住户", Side: "downstairs"}
	for _, x := range []*assoc.MediationParty{&a, &b} {
		if err := e.store.AddMediationParty(ctx, assoc.Everything, m.ID, x); err != nil {
			t.Fatal(err)
		}
	}
	path := fmt.Sprintf("/mediations/%d", m.ID)
	page := e.pageAs("assoc-tiaojie", path)
	if !strings.Contains(page.body, `id="session-form"`) || !strings.Contains(page.body, `id="outcome-form"`) || strings.Contains(page.body, `id="check-form"`) {
		t.Fatalf("an open case's forms are not what its state allows")
	}
	csrf := csrfOf(t, page.body)
	step := func(name string, f url.Values) pageResponse {
		f.Set("csrf_token", csrf)
		return e.pageRequest(http.MethodPost, path+"/"+name, f, nil, e.cookies["assoc-tiaojie"])
	}
	if r := step("sessions", url.Values{"held_at": {"2026-11-27T19:00"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请填写地点") || !strings.Contains(r.body, "请选择出席的当事方") {
		t.Errorf("a session without place or people: status %d", r.status)
	}
	if r := step("outcome", url.Values{"outcome": {"agreed"}, "agreement": {"x"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "这一步现在不能做") {
		t.Errorf("agreeing before any session: status %d", r.status)
	}
	if r := step("sessions", url.Values{"held_at": {"2026-11-27T19:00"}, "place": {"社区议事厅"}, "attendee": {fmt.Sprint(a.ID), fmt.Sprint(b.ID)}, "notes": {"双方各自陈述"}}); r.status != http.StatusSeeOther {
		t.Fatalf("a session: status %d %.300s", r.status, r.body)
	}
	if r := step("outcome", url.Values{"outcome": {"agreed"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请写明协议内容") {
		t.Errorf("agreed without the agreement: status %d", r.status)
	}
	if r := step("outcome", url.Values{"outcome": {"agreed"}, "agreement": {"302室修好防水层，承担202室天花板修补费用。"}, "signed": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("the outcome: status %d", r.status)
	}
	if r := step("followups", url.Values{"question": {"漏水解决了吗？"}, "resolved": {"true"}, "close": {"1"}}); r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=followups" {
		t.Fatalf("the closing check: status %d", r.status)
	}
	got, err := e.store.Mediation(ctx, assoc.Everything, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != assoc.MediationClosed || got.Outcome != assoc.MediationAgreed || !got.Signed || len(got.Sessions) != 1 || len(got.Sessions[0].Attendees) != 2 || len(got.FollowUps) != 1 {
		t.Errorf("the case after its steps: %+v", got)
	}
	if r := e.pageAs("assoc-tiaojie", path+"?done=followups"); !strings.Contains(r.body, "回访已记录") || !strings.Contains(r.body, "已结案") || strings.Contains(r.body, `id="check-form"`) {
		t.Errorf("the closed case's page")
	}
	if r := step("sessions", url.Values{"held_at": {"2026-11-27T20:00"}, "place": {"x"}, "other_attendees": {"y"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a session on a closed case: status %d", r.status)
	}
	// Another association may not take steps on it.
	jy := e.pageAs("assoc-jiuye", "/ledgers")
	if r := e.pageRequest(http.MethodPost, path+"/followups", url.Values{"csrf_token": {csrfOf(t, jy.body)}, "question": {"x"}, "resolved": {"true"}}, nil, e.cookies["assoc-jiuye"]); r.status != http.StatusNotFound {
		t.Errorf("another association's step: status %d", r.status)
	}
}

// TestOpenMediationOnPages: the mediation association opens a case and
// adds its parties — an organisation and a resident found by name, with
// the residents they speak for — on the pages alone; what is missing comes
// back beside its field and changes nothing.
func TestOpenMediationOnPages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	user := "assoc-tiaojie"
	list := e.pageAs(user, "/mediations")
	if !strings.Contains(list.body, `id="new-mediation"`) {
		t.Fatalf("the mediation list offers no way to open a case")
	}
	if r := e.pageAs("hr-partner", "/mediations/new"); r.status != http.StatusForbidden {
		t.Errorf("a partner opens the form: status %d", r.status)
	}
	form := e.pageAs(user, "/mediations/new")
	if form.status != http.StatusOK || !strings.Contains(form.body, `id="mediation-form"`) {
		t.Fatalf("the form: status %d", form.status)
	}
	csrf := csrfOf(t, form.body)
	post := func(path string, f url.Values) pageResponse {
		f.Set("csrf_token", csrf)
		return e.pageRequest(http.MethodPost, path, f, nil, e.cookies[user])
	}
	before, err := e.store.ListMediations(ctx, assoc.Everything, assoc.MediationFilter{CommunityID: e.demo.CommunityID})
	if err != nil {
		t.Fatal(err)
	}
	if r := post("/mediations/new", url.Values{"subject": {"  "}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请填写案由") {
		t.Errorf("a case without a subject: status %d", r.status)
	}
	if after, _ := e.store.ListMediations(ctx, assoc.Everything, assoc.MediationFilter{CommunityID: e.demo.CommunityID}); after.Total != before.Total {
		t.Errorf("a refused case was stored")
	}
	r := post("/mediations/new", url.Values{"subject": {"车位占用纠纷"}, "description": {"3号楼业主与物业就地下车位发生争议"}})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasSuffix(loc, "?done=created") {
		t.Fatalf("opening the case: status %d %q %.300s", r.status, loc, r.body)
	}
	path := strings.TrimSuffix(loc, "?done=created")
	page := e.pageAs(user, loc)
	if !strings.Contains(page.body, "已立案") || !strings.Contains(page.body, `id="party-resident-form"`) || !strings.Contains(page.body, `id="party-org-form"`) {
		t.Fatalf("the new case's page offers no party forms")
	}

	if r := post(path+"/parties", url.Values{"kind": {"organisation"}, "side": {"property_company"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请填写单位名称") {
		t.Errorf("an organisation without a name: status %d", r.status)
	}
	if r := post(path+"/parties", url.Values{"kind": {"organisation"}, "organisation": {"某某物业服务有限公司"}, "side": {"property_company"}}); r.status != http.StatusSeeOther {
		t.Fatalf("adding the organisation: status %d %.300s", r.status, r.body)
	}
	people, err := e.store.ListPeople(ctx, everyoneScope, community.Filter{CommunityID: e.demo.CommunityID, Page: shequ.Page{Limit: 1}})
	if err != nil || len(people.Items) == 0 {
		t.Fatalf("a resident: %v", err)
	}
	someone := people.Items[0]
	found := e.pageAs(user, path+"?q="+url.QueryEscape(someone.Name))
	if !strings.Contains(found.body, fmt.Sprintf(`name="person_id" value="%d"`, someone.ID)) {
		t.Fatalf("the name search does not offer %s", someone.Name)
	}
	if r := post(path+"/parties", url.Values{"kind": {"resident"}, "side": {"owners"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("a resident party without a resident: status %d", r.status)
	}
	if r := post(path+"/parties", url.Values{"kind": {"resident"}, "person_id": {fmt.Sprint(someone.ID)}, "side": {"owners"}, "representative": {"1"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "代表人数") {
		t.Errorf("a representative speaking for nobody: status %d", r.status)
	}
	if r := post(path+"/parties", url.Values{"kind": {"resident"}, "person_id": {fmt.Sprint(someone.ID)}, "side": {"owners"}, "representative": {"1"}, "represents": {"12"}}); r.status != http.StatusSeeOther {
		t.Fatalf("adding the resident: status %d %.300s", r.status, r.body)
	}
	if r := post(path+"/parties", url.Values{"kind": {"resident"}, "person_id": {fmt.Sprint(someone.ID)}, "side": {"owners"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("the same resident twice: status %d", r.status)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/mediations/"), 10, 64)
	m, err := e.store.Mediation(ctx, assoc.Everything, id)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "车位占用纠纷" || len(m.Parties) != 2 || m.Parties[0].Organisation != "某某物业服务有限公司" ||
		m.Parties[1].PersonID != someone.ID || !m.Parties[1].Representative || m.Parties[1].Represents != 12 {
		t.Errorf("the case after the pages: %+v", m)
	}
	if r := e.pageAs(user, path); !strings.Contains(r.body, "代表12人") || !strings.Contains(r.body, "物业公司") {
		t.Errorf("the case's page does not list its parties")
	}
}
