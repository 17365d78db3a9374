package web

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// everyoneScope reaches every community: the tests' own look at the store.
var everyoneScope = auth.Scope{{}}

// notSeeker returns a resident of the demo who is not in the job seekers'
// ledger, to enter there.
func (e *testEnv) notSeeker() community.Person {
	e.t.Helper()
	ctx := e.t.Context()
	seekers, err := e.store.ListEntries(ctx, assoc.Everything, assoc.EntryFilter{CommunityID: e.demo.CommunityID, Ledger: assoc.JobSeekers, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		e.t.Fatal(err)
	}
	in := map[int64]bool{}
	for _, s := range seekers.Items {
		in[s.PersonID] = true
	}
	people, err := e.store.ListPeople(ctx, everyoneScope, community.Filter{CommunityID: e.demo.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range people.Items {
		if !in[p.ID] && len([]rune(p.Name)) >= 2 {
			return p
		}
	}
	e.t.Fatal("every demo resident is a job seeker")
	return community.Person{}
}

// hrPartnerID is the demo's HR company.
func (e *testEnv) hrPartnerID() int64 {
	e.t.Helper()
	ps, err := e.store.ListPartners(e.t.Context(), everyoneScope, community.Filter{CommunityID: e.demo.CommunityID})
	if err != nil {
		e.t.Fatal(err)
	}
	for _, p := range ps.Items {
		if p.Kind == "hr_company" {
			return p.ID
		}
	}
	e.t.Fatal("no HR partner in the demo")
	return 0
}

// placedCount reads the residents placed this year off the dashboard.
func placedCount(t *testing.T, body string) int {
	t.Helper()
	m := regexp.MustCompile(`id="placed-count">([0-9,]+)<`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no placed count on the dashboard")
	}
	n, _ := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	return n
}

func TestAssocPagesByRole(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	e.addRoleUsers()
	seeker := e.anyEntry("director", assoc.JobSeekers)
	helpEd := e.anyEntry("director", assoc.HelpEducation)
	tests := []struct {
		user, path string
		status     int
		has        []string
		lacks      []string
	}{
		{"assoc-jiuye", "/ledgers", http.StatusOK, []string{"协会工作台", `href="/ledgers/job_seekers/new"`, "求职人员台账"}, []string{"帮教对象台账"}},
		{"assoc-jiuye", "/ledgers/job_seekers", http.StatusOK, []string{`id="entries"`, "意向工作", `name="f.status"`}, nil},
		{"assoc-jiuye", "/ledgers/job_seekers/new", http.StatusOK, []string{`name="v.desired_work"`, `name="consent"`, `novalidate`}, nil},
		{"assoc-jiuye", fmt.Sprintf("/ledgers/job_seekers/%d", seeker), http.StatusOK, []string{`id="history"`, `id="followup-form"`, `id="consent-form"`}, nil},
		{"assoc-jiuye", fmt.Sprintf("/ledgers/help_education/%d", helpEd), http.StatusNotFound, nil, nil},
		{"assoc-jiuye", "/ledgers/help_education", http.StatusNotFound, nil, nil},
		{"assoc-jiuye", "/ledgers/help_education/new", http.StatusNotFound, nil, nil},
		{"member01", "/ledgers/job_seekers/new", http.StatusForbidden, nil, nil},
		{"assoc-jiuye", "/stats", http.StatusOK, []string{`id="placed-count"`, `id="chart-months"`, "<svg"}, nil},
		{"member01", "/ledgers", http.StatusOK, []string{"求职人员台账"}, []string{"帮教对象台账", `/new"`}},
		{"director", "/ledgers", http.StatusOK, []string{"帮教对象台账", `href="/ledgers/help_education/new"`}, nil},
		{"director", fmt.Sprintf("/ledgers/help_education/%d", helpEd), http.StatusOK, []string{"帮教措施"}, nil},
		{"director", "/stats", http.StatusOK, []string{`id="chart-partners"`, "东路人力资源", `id="mediations-rate">100%<`, `id="chart-mediations"`, "调解协会（达成协议1件，共1件）"}, nil},
		{"hr-partner", "/ledgers", http.StatusOK, []string{"共享给我们的台账", "用途", "意向工作"}, []string{"登记居民", "备注"}},
		{"hr-partner", "/ledgers/job_seekers", http.StatusOK, []string{"*</a>"}, []string{`name="q"`, "备注"}},
		{"hr-partner", "/ledgers/job_seekers/new", http.StatusForbidden, nil, nil},
		{"hr-partner", "/ledgers/elderly_alone", http.StatusNotFound, nil, nil},
		{"hr-partner", "/stats", http.StatusForbidden, nil, nil},
		{"resident01", "/ledgers", http.StatusForbidden, nil, nil},
		{"operator", "/stats", http.StatusForbidden, nil, nil},
		{"", "/ledgers", http.StatusSeeOther, nil, nil},
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
		for _, s := range tt.lacks {
			if strings.Contains(r.body, s) {
				t.Errorf("%s %s shows %q", tt.user, tt.path, s)
			}
		}
	}
}

func TestAssocNavigation(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	tests := []struct {
		user          string
		ledgers, stat bool
		label         string
	}{
		{"director", true, true, ">协会工作台<"},
		{"assoc-jiuye", true, true, ">协会工作台<"},
		{"hr-partner", true, false, ">共享台账<"},
		{"operator", false, false, ""},
		{"resident01", false, false, ""},
	}
	for _, tt := range tests {
		r := e.page("/", e.webLogin(tt.user))
		nav := r.body[strings.Index(r.body, `<nav class="menu"`):]
		nav = nav[:strings.Index(nav, "</nav>")]
		if got := strings.Contains(nav, `href="/ledgers"`); got != tt.ledgers {
			t.Errorf("%s: ledgers in the menu %v, want %v", tt.user, got, tt.ledgers)
		}
		if tt.label != "" && strings.Count(nav, `href="/ledgers"`) != 1 || !strings.Contains(nav, tt.label) {
			t.Errorf("%s: the menu's way to the ledgers: %s", tt.user, nav)
		}
		if got := strings.Contains(nav, `href="/stats"`); got != tt.stat {
			t.Errorf("%s: statistics in the menu %v, want %v", tt.user, got, tt.stat)
		}
	}
}

// TestEntryForm: the form's problems come back beside their fields in
// the reader's language, with nothing stored; a good form stores the
// entry with the consent given on it, and the partner then sees it.
func TestEntryForm(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	chair := e.webLogin("assoc-jiuye")
	person := e.notSeeker()
	hr := e.hrPartnerID()
	form := e.page("/ledgers/job_seekers/new?q="+url.QueryEscape(person.Name), chair)
	if form.status != http.StatusOK || !strings.Contains(form.body, fmt.Sprintf(`name="person_id" value="%d"`, person.ID)) {
		t.Fatalf("searching %s: status %d, resident not offered", person.Name, form.status)
	}
	csrf := csrfOf(t, form.body)
	count := func() int {
		l, err := e.store.ListEntries(t.Context(), assoc.Everything, assoc.EntryFilter{CommunityID: e.demo.CommunityID, Ledger: assoc.JobSeekers, Page: shequ.Page{Limit: 1}})
		if err != nil {
			t.Fatal(err)
		}
		return l.Total
	}
	before := count()

	en := http.Header{"Accept-Language": {"en"}}
	bad := []struct {
		name   string
		header http.Header
		form   url.Values
		want   []string
	}{
		{"nothing", nil, url.Values{}, []string{"请先查找并选择一位居民", "这一项必须填写"}},
		{"bad values, in English", en, url.Values{"person_id": {strconv.FormatInt(person.ID, 10)}, "v.desired_work": {"保洁"}, "v.status": {"retired"}, "v.expected_salary": {"lots"}},
			[]string{"Choose one of: Seeking work, Interviewing, Placed, Paused", "Write a number."}},
		{"too much pay", nil, url.Values{"person_id": {strconv.FormatInt(person.ID, 10)}, "v.desired_work": {"保洁"}, "v.status": {"seeking"}, "v.expected_salary": {"200000"}},
			[]string{"不能大于100000。"}},
		{"in twice", nil, url.Values{"person_id": {strconv.FormatInt(e.anyEntryPerson(), 10)}, "v.desired_work": {"保洁"}, "v.status": {"seeking"}},
			[]string{"这位居民已经在这本台账里了"}},
	}
	for _, tt := range bad {
		f := url.Values{"csrf_token": {csrf}}
		for k, v := range tt.form {
			f[k] = v
		}
		r := e.pageRequest(http.MethodPost, "/ledgers/job_seekers", f, tt.header, chair)
		if r.status != http.StatusUnprocessableEntity && r.status != http.StatusConflict {
			t.Errorf("%s: status %d", tt.name, r.status)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s: the form does not say %q", tt.name, w)
			}
		}
		if !strings.Contains(r.body, `class="field-error"`) {
			t.Errorf("%s: no problem beside a field", tt.name)
		}
	}
	if n := count(); n != before {
		t.Fatalf("bad forms stored entries: %d → %d", before, n)
	}

	// The field check htmx asks as one leaves a field.
	check := func(name, value string) string {
		r := e.pageRequest(http.MethodPost, "/ledgers/job_seekers/check", url.Values{name: {value}},
			http.Header{"HX-Request": {"true"}, "HX-Trigger-Name": {name}, "X-CSRF-Token": {csrf}}, chair)
		if r.status != http.StatusOK {
			t.Fatalf("check %s=%q: status %d", name, value, r.status)
		}
		return r.body
	}
	if b := check("v.expected_salary", "-5"); !strings.Contains(b, "不能小于0。") || strings.Contains(b, "hidden") {
		t.Errorf("check of a negative pay: %s", b)
	}
	if b := check("v.desired_work", ""); !strings.Contains(b, "这一项必须填写") {
		t.Errorf("check of a missing required field: %s", b)
	}
	if b := check("v.expected_salary", "3000"); !strings.Contains(b, "hidden") {
		t.Errorf("check of a good pay: %s", b)
	}

	good := url.Values{"csrf_token": {csrf}, "person_id": {strconv.FormatInt(person.ID, 10)}, "v.desired_work": {"超市收银"}, "v.status": {"seeking"},
		"v.skills": {"收银、电脑操作"}, "v.expected_salary": {"3500"}, "v.notes": {"只做白班"}, "consent": {strconv.FormatInt(hr, 10)}, "consent_method": {"paper"}}
	r := e.pageRequest(http.MethodPost, "/ledgers/job_seekers", good, nil, chair)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ledgers/job_seekers/") {
		t.Fatalf("good form: status %d, to %q: %.400s", r.status, loc, r.body)
	}
	id, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(loc, "/ledgers/job_seekers/"), "?done=created"), 10, 64)
	entry, err := e.store.Entry(t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, id)
	if err != nil {
		t.Fatal(err)
	}
	if entry.PersonID != person.ID || entry.Values["expected_salary"] != 3500.0 || len(entry.Consents) != 1 || entry.Consents[0].PartnerID != hr || !entry.Consents[0].Given {
		t.Errorf("stored %+v", entry)
	}
	page := e.page(loc, chair)
	for _, s := range []string{"已登记。", "超市收银", "东路人力资源", "书面签字", person.Name} {
		if !strings.Contains(page.body, s) {
			t.Errorf("the new entry's page lacks %q", s)
		}
	}

	// The partner sees it masked, with the granted fields only.
	partner := e.webLogin("hr-partner")
	pp := e.page(loc, partner)
	if pp.status != http.StatusOK || strings.Contains(pp.body, person.Name) || !strings.Contains(pp.body, assoc.MaskName(person.Name)) ||
		!strings.Contains(pp.body, "超市收银") || strings.Contains(pp.body, "只做白班") || strings.Contains(pp.body, `id="history"`) {
		t.Errorf("the partner's view of the entry: status %d %.600s", pp.status, pp.body)
	}
}

// anyEntryPerson is a resident who is a job seeker already.
func (e *testEnv) anyEntryPerson() int64 {
	e.t.Helper()
	en, err := e.store.Entry(e.t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, e.anyEntry("director", assoc.JobSeekers))
	if err != nil {
		e.t.Fatal(err)
	}
	return en.PersonID
}

// TestPartnerRecordsPlacement: the HR partner records a placement on a
// job seeker shared with it and the dashboard counts one more resident.
func TestPartnerRecordsPlacement(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	chair, partner := e.webLogin("assoc-jiuye"), e.webLogin("hr-partner")
	before := placedCount(t, e.page("/stats", chair).body)

	// A seeker the partner sees who has not been placed.
	var target int64
	for _, x := range e.partnerEntries().Items {
		fs, err := e.store.ListFollowUps(t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, x.ID)
		if err != nil {
			t.Fatal(err)
		}
		placed := false
		for _, f := range fs {
			placed = placed || f.Kind == assoc.Placed
		}
		if !placed {
			target = x.ID
			break
		}
	}
	if target == 0 {
		t.Fatal("every shared seeker is placed")
	}
	path := fmt.Sprintf("/ledgers/job_seekers/%d", target)
	pg := e.page(path, partner)
	if pg.status != http.StatusOK || !strings.Contains(pg.body, `id="followup-form"`) {
		t.Fatalf("partner's entry page: %d", pg.status)
	}
	csrf := csrfOf(t, pg.body)
	if r := e.pageRequest(http.MethodPost, path+"/followups", url.Values{"csrf_token": {csrf}, "at": {"2020-01-01"}, "kind": {"placed"}}, nil, partner); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "日期须在一年之内") {
		t.Errorf("a placement years ago: status %d", r.status)
	}
	if r := e.pageRequest(http.MethodPost, path+"/followups", url.Values{"csrf_token": {csrf}}, nil, partner); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "请选择跟进结果") {
		t.Errorf("a follow-up saying nothing: status %d", r.status)
	}
	r := e.pageRequest(http.MethodPost, path+"/followups", url.Values{"csrf_token": {csrf}, "kind": {"placed"}, "note": {"超市收银，已签合同"}}, nil, partner)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=followup" {
		t.Fatalf("placement: status %d to %q", r.status, r.header.Get("Location"))
	}
	if after := e.page(path+"?done=followup", partner).body; !strings.Contains(after, "跟进已记录") || !strings.Contains(after, `data-kind="placed"`) {
		t.Errorf("the entry does not show the placement")
	}
	if got := placedCount(t, e.page("/stats", chair).body); got != before+1 {
		t.Errorf("placed this year: %d → %d, want one more", before, got)
	}
	// Not a partner of this entry, not its association: no form, no post.
	member := e.webLogin("assoc-bangfu")
	other := e.page(path, member)
	if other.status != http.StatusOK || strings.Contains(other.body, `id="followup-form"`) {
		t.Errorf("another association's view of the entry: status %d", other.status)
	}
	if r := e.pageRequest(http.MethodPost, path+"/followups", url.Values{"csrf_token": {csrfOf(t, other.body)}, "kind": {"placed"}}, nil, member); r.status != http.StatusForbidden {
		t.Errorf("another association records a follow-up: status %d", r.status)
	}
}

// TestEntriesExport: a list's download holds what the list shows, with
// every field one may see; the partner's holds masked names and the
// granted fields only, and each entry in it is an audited read.
func TestEntriesExport(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	chair, partner := e.webLogin("assoc-jiuye"), e.webLogin("hr-partner")
	list := e.page("/ledgers/job_seekers?f.status=seeking", chair)
	m := regexp.MustCompile(`href="(/ledgers/job_seekers/export\?[^"]+)"`).FindAllStringSubmatch(list.body, -1)
	if len(m) != 2 {
		t.Fatalf("export links %v", m)
	}
	csvLink := strings.ReplaceAll(m[0][1], "&amp;", "&")
	if !strings.Contains(csvLink, "f.status=seeking") || !strings.Contains(csvLink, "format=csv") {
		t.Errorf("the CSV link forgets the filter: %s", csvLink)
	}
	r := e.page(csvLink, chair)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("CSV: status %d, %v", r.status, r.header)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(r.body, "\ufeff")), "\r\n")
	if !strings.HasPrefix(lines[0], "居民,技能,意向工作,求职状态") || !strings.Contains(lines[0], "备注") {
		t.Errorf("CSV header %q", lines[0])
	}
	seeking, err := e.store.ListEntries(t.Context(), assoc.Everything, assoc.EntryFilter{CommunityID: e.demo.CommunityID, Ledger: assoc.JobSeekers, Where: map[string]string{"status": "seeking"}, Page: shequ.Page{Limit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines)-1 != seeking.Total {
		t.Errorf("CSV has %d entries, the list %d", len(lines)-1, seeking.Total)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, "求职中") {
			t.Errorf("a line not seeking: %q", l)
		}
	}
	if x := e.page(strings.ReplaceAll(csvLink, "format=csv", "format=xlsx"), chair); x.status != http.StatusOK || !strings.Contains(x.header.Get("Content-Type"), "spreadsheetml") || !strings.HasPrefix(x.body, "PK") {
		t.Errorf("XLSX: status %d, %s", x.status, x.header.Get("Content-Type"))
	}

	before := e.auditTotal("ledger.partner_read")
	pr := e.page("/ledgers/job_seekers/export?format=csv", partner)
	plines := strings.Split(strings.TrimSpace(strings.TrimPrefix(pr.body, "\ufeff")), "\r\n")
	if pr.status != http.StatusOK || strings.Contains(plines[0], "备注") || strings.Contains(plines[0], "登记日期") {
		t.Fatalf("partner's CSV: status %d, header %q", pr.status, plines[0])
	}
	for _, l := range plines[1:] {
		name, _, _ := strings.Cut(l, ",")
		if !strings.HasSuffix(name, "*") {
			t.Errorf("the partner's CSV shows a name: %q", l)
		}
	}
	if after := e.auditTotal("ledger.partner_read"); after != before+len(plines)-1 {
		t.Errorf("partner's export audited %d → %d for %d entries", before, after, len(plines)-1)
	}
	if r := e.page("/ledgers/help_education/export", chair); r.status != http.StatusNotFound {
		t.Errorf("another association's sensitive ledger: status %d", r.status)
	}
}

// TestWorkspaceIntakes: the problems residents brought to an association
// wait in its workspace, and only in its own; taking one up answers it.
func TestWorkspaceIntakes(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	ws := e.pageAs("assoc-jiuye", "/ledgers")
	if !strings.Contains(ws.body, "中专毕业") || strings.Contains(ws.body, "电梯坏了") {
		t.Fatalf("the employment chair's intakes: %.2000s", ws.body)
	}
	if other := e.pageAs("assoc-tiaojie", "/ledgers"); !strings.Contains(other.body, "电梯坏了") || strings.Contains(other.body, "中专毕业") {
		t.Errorf("the mediation chair's intakes are not its own")
	}
	if p := e.pageAs("hr-partner", "/ledgers"); strings.Contains(p.body, `id="intakes"`) {
		t.Errorf("the partner sees intakes")
	}
	m := regexp.MustCompile(`action="/intakes/(\d+)/accept"`).FindStringSubmatch(ws.body)
	if m == nil {
		t.Fatal("no intake to take up")
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	r := e.pageRequest(http.MethodPost, "/intakes/"+m[1]+"/accept", url.Values{"csrf_token": {csrfOf(t, ws.body)}, "note": {"已约居民面谈"}}, nil, e.cookies["assoc-jiuye"])
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/ledgers?done=accepted" {
		t.Fatalf("take up: status %d to %q", r.status, r.header.Get("Location"))
	}
	l, err := e.store.ListIntakes(t.Context(), assoc.Everything, assoc.IntakeFilter{CommunityID: e.demo.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range l.Items {
		if in.ID == id && (in.Status != assoc.IntakeAccepted || in.Note != "已约居民面谈") {
			t.Errorf("intake after taking it up: %+v", in)
		}
	}
	if after := e.pageAs("assoc-jiuye", "/ledgers?done=accepted"); !strings.Contains(after.body, "已受理。") || strings.Contains(after.body, "中专毕业") {
		t.Errorf("the workspace after taking it up")
	}
	// Another association cannot answer it.
	tj := e.pageAs("assoc-tiaojie", "/ledgers")
	if r := e.pageRequest(http.MethodPost, "/intakes/"+m[1]+"/close", url.Values{"csrf_token": {csrfOf(t, tj.body)}}, nil, e.cookies["assoc-tiaojie"]); r.status != http.StatusNotFound {
		t.Errorf("another association closes it: status %d", r.status)
	}
}

// TestEntryEdit: the owner association changes an entry through the same
// questions, a blank field clears it, a bad one changes nothing, and the
// history says what changed; no one else may.
func TestEntryEdit(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	id := e.anyEntry("director", assoc.JobSeekers)
	path := fmt.Sprintf("/ledgers/job_seekers/%d", id)
	form := e.pageAs("assoc-jiuye", path+"/edit")
	if form.status != http.StatusOK || !strings.Contains(form.body, `name="v.desired_work"`) || !strings.Contains(form.body, `name="status" value="active" checked`) {
		t.Fatalf("edit form: status %d", form.status)
	}
	old, err := e.store.Entry(t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(form.body, fmt.Sprintf(`value="%s"`, old.Values["desired_work"])) {
		t.Errorf("the form is not filled with the stored desired work %v", old.Values["desired_work"])
	}
	csrf := csrfOf(t, form.body)
	post := func(f url.Values) pageResponse {
		f.Set("csrf_token", csrf)
		return e.pageRequest(http.MethodPost, path, f, nil, e.cookies["assoc-jiuye"])
	}
	if r := post(url.Values{"v.desired_work": {""}, "v.status": {"seeking"}, "status": {"active"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "这一项必须填写") {
		t.Errorf("clearing a required field: status %d", r.status)
	}
	if now, _ := e.store.Entry(t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, id); now.Values["desired_work"] != old.Values["desired_work"] {
		t.Errorf("a refused change changed the entry: %v", now.Values)
	}
	r := post(url.Values{"v.desired_work": {"养老护理"}, "v.status": {"placed"}, "v.education": {"college"}, "status": {"closed"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=changed" {
		t.Fatalf("change: status %d to %q", r.status, r.header.Get("Location"))
	}
	now, err := e.store.Entry(t.Context(), assoc.Everything, e.demo.CommunityID, assoc.JobSeekers, id)
	if err != nil {
		t.Fatal(err)
	}
	if now.Status != assoc.EntryClosed || now.Values["desired_work"] != "养老护理" || now.Values["skills"] != nil || now.Values["education"] != "college" {
		t.Errorf("after the change: %s %v", now.Status, now.Values)
	}
	if page := e.pageAs("assoc-jiuye", path+"?done=changed"); !strings.Contains(page.body, "已保存修改") || !strings.Contains(page.body, "意向工作: 养老护理") {
		t.Errorf("the entry's page after the change lacks the word or the history line")
	} else if h := page.body[strings.Index(page.body, `id="history"`):]; !strings.Contains(h, "就业协会会长（演示）") || strings.Contains(h, ">assoc-jiuye<") {
		t.Errorf("the history does not name the member who changed the entry")
	}
	for _, user := range []string{"assoc-bangfu", "hr-partner", "member01"} {
		if user == "member01" {
			e.addRoleUsers()
		}
		if r := e.pageAs(user, path+"/edit"); r.status != http.StatusForbidden && r.status != http.StatusNotFound {
			t.Errorf("%s opens the edit form: status %d", user, r.status)
		}
	}
}

// TestAssocPagesForAdminOfAll: an administrator of every community works
// in the one the header names.
func TestAssocPagesForAdminOfAll(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	root := &auth.User{Username: "root", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
	if err := e.store.CreateUser(t.Context(), everyoneScope, root, demoPassword); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/ledgers", "/ledgers/job_seekers", "/ledgers/job_seekers/new", "/stats", fmt.Sprintf("/ledgers/job_seekers/%d", e.anyEntry("director", assoc.JobSeekers))} {
		if r := e.pageAs("root", path); r.status != http.StatusOK {
			t.Errorf("%s: status %d", path, r.status)
		}
	}
}

// TestStatsDashboard: the dashboard shows the statistics the store counts
// for the period asked, per association and in all, links their files,
// and says so when the period is typed wrong.
func TestStatsDashboard(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	admin := assoc.Access{Admin: []int64{e.demo.CommunityID}}
	want, err := e.store.AssociationStats(t.Context(), admin, assoc.StatsFilter{CommunityID: e.demo.CommunityID, From: "2026-01-01", To: "2026-12-31"})
	if err != nil {
		t.Fatal(err)
	}
	if want.Total.Individual == 0 || want.Total.Group == 0 || want.Total.PeopleServed == 0 {
		t.Fatalf("the demo has no services to show: %+v", want.Total)
	}
	r := e.pageAs("director", "/stats?from=2026-01-01&to=2026-12-31")
	if len(want.Policies) == 0 || !strings.Contains(r.body, want.Policies[0].Name) {
		t.Errorf("the dashboard does not list the policies with residents eligible and not covered")
	}
	for id, n := range map[string]int{"individual-count": want.Total.Individual, "group-count": want.Total.Group, "people-count": want.Total.PeopleServed,
		"placed-count": want.Total.Placements, "eligible-count": want.Total.EligibleUncovered, "mediations-concluded": want.Total.Mediations.Concluded} {
		if !strings.Contains(r.body, fmt.Sprintf(`id="%s">%s<`, id, locales[langHans].Num(n))) {
			t.Errorf("%s is not %d", id, n)
		}
	}
	for _, a := range want.Associations {
		if !strings.Contains(r.body, `data-label="协会">`+a.Name+`</th>`) {
			t.Errorf("no line for %s", a.Name)
		}
	}
	m := regexp.MustCompile(`href="(/api/v1/stats/associations\?[^"]*format=csv[^"]*)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatal("no CSV link")
	}
	link := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(link, "from=2026-01-01") || !strings.Contains(link, "to=2026-12-31") {
		t.Errorf("the CSV link forgets the period: %s", link)
	}
	if f := e.pageAs("director", link); f.status != http.StatusOK || !strings.HasPrefix(f.header.Get("Content-Type"), "text/csv") || !strings.Contains(f.body, "就业协会") {
		t.Errorf("the CSV: status %d %s", f.status, f.header.Get("Content-Type"))
	}

	// A shorter period counts less, or as much.
	spring := e.pageAs("director", "/stats?from=2026-03-01&to=2026-05-31")
	if !strings.Contains(spring.body, "统计期间：2026-03-01 至 2026-05-31") || strings.Count(spring.body, `<th scope="row">`) < 3 {
		t.Errorf("the spring's dashboard")
	}
	if bad := e.pageAs("director", "/stats?from=2026-05-01&to=2026-01-01"); bad.status != http.StatusOK || !strings.Contains(bad.body, "日期有误") || !strings.Contains(bad.body, "统计期间：2026-01-01 至 2026-12-31") {
		t.Errorf("a period backwards: status %d", bad.status)
	}

	// The chair sees their own association's line and the total of it.
	chair := e.pageAs("assoc-jiuye", "/stats")
	if !strings.Contains(chair.body, `data-label="协会">就业协会</th>`) || strings.Contains(chair.body, `data-label="协会">调解协会</th>`) {
		t.Errorf("the chair's table is not their own")
	}
	if en := e.pageRequest(http.MethodGet, "/stats", nil, http.Header{"Accept-Language": {"en"}}, e.cookies["director"]); !strings.Contains(en.body, "Individual services") || !strings.Contains(en.body, "lang=en") {
		t.Errorf("the English dashboard")
	}
}
