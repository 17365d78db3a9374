package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/transfer"
)

// associationIDs returns the demo's associations by key.
func (e *testEnv) associationIDs() map[string]int64 {
	e.t.Helper()
	var l page[community.Association]
	if st := e.do("director", "GET", "/api/v1/associations", nil, &l); st != 200 {
		e.t.Fatalf("associations: %d", st)
	}
	out := map[string]int64{}
	for _, a := range l.Items {
		out[a.Key] = a.ID
	}
	return out
}

// aResident returns the id of one of the demo's residents.
func (e *testEnv) aResident() int64 {
	e.t.Helper()
	var l page[community.Person]
	if st := e.do("director", "GET", "/api/v1/people?limit=1", nil, &l); st != 200 || len(l.Items) == 0 {
		e.t.Fatalf("people: %d", st)
	}
	return l.Items[0].ID
}

func (e *testEnv) stats(user, query string) (assoc.ServiceStats, int) {
	e.t.Helper()
	var s assoc.ServiceStats
	st := e.do(user, "GET", "/api/v1/stats/associations"+query, nil, &s)
	return s, st
}

func TestCaseRoutes(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	ids := env.associationIDs()
	person := env.aResident()

	// The employment chair opens an individual service: 201 and the case.
	var c assoc.Case
	st := env.do("assoc-jiuye", "POST", "/api/v1/cases", map[string]any{"association_id": ids["jiuye"], "kind": "individual", "person_id": person, "summary": "想找物业保洁工作"}, &c)
	if st != http.StatusCreated || c.ID == 0 || c.Kind != assoc.KindIndividual || c.Status != assoc.CaseOpen || c.PersonID != person || c.PersonName == "" || c.Day != "2026-11-28" {
		t.Fatalf("create: %d %+v", st, c)
	}
	// A group service on the same route.
	var g assoc.Case
	st = env.do("assoc-jiuye", "POST", "/api/v1/cases", map[string]any{"association_id": ids["jiuye"], "kind": "group", "date": "2026-11-20", "place": "社区活动室",
		"topic": "招聘会", "summary": "五家企业到场", "attendance": 40, "attendees": []int64{person}}, &g)
	if st != http.StatusCreated || g.Status != assoc.CaseHeld || g.Attendance != 40 || len(g.Attendees) != 1 || g.Day != "2026-11-20" {
		t.Fatalf("create group: %d %+v", st, g)
	}
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"association_id": ids["jiuye"], "kind": "individual", "summary": "x"}, "person_id"},
		{map[string]any{"association_id": ids["jiuye"], "kind": "group", "summary": "x", "date": "2026-12-01", "place": "p", "topic": "t", "attendance": 3}, "date"},
	} {
		var p Problem
		st := env.do("assoc-jiuye", "POST", "/api/v1/cases", bad.body, &p)
		if st != http.StatusUnprocessableEntity || !slices.ContainsFunc(p.Errors, func(f ProblemField) bool { return f.Location == "body."+bad.field }) {
			t.Errorf("invalid %v: %d %+v, want 422 on %s", bad.body, st, p, bad.field)
		}
	}
	if st, _ := env.problemCode("assoc-tiaojie", "POST", "/api/v1/cases", map[string]any{"association_id": ids["jiuye"], "kind": "individual", "person_id": person, "summary": "x"}); st != http.StatusForbidden {
		t.Errorf("the mediation chair records for employment: %d, want 403", st)
	}

	// Another association's chair does not find it.
	path := fmt.Sprintf("/api/v1/cases/%d", c.ID)
	for _, r := range []struct {
		method, path string
		body         map[string]any
	}{
		{"GET", path, nil},
		{"PUT", path, map[string]any{"summary": "x", "person_id": person}},
		{"POST", path + "/close", map[string]any{"outcome": "x"}},
		{"POST", path + "/reopen", map[string]any{"reason": "x"}},
		{"POST", path + "/actions", map[string]any{"note": "x"}},
	} {
		if st, _ := env.problemCode("assoc-tiaojie", r.method, r.path, r.body); st != http.StatusNotFound {
			t.Errorf("%s %s as the mediation chair: %d, want 404", r.method, r.path, st)
		}
	}

	if st := env.do("assoc-jiuye", "PUT", path, map[string]any{"person_id": person, "summary": "想找物业或保安工作"}, &c); st != http.StatusOK || c.Summary != "想找物业或保安工作" || c.Day != "2026-11-28" {
		t.Errorf("update: %d %+v", st, c)
	}
	var x assoc.CaseAction
	if st := env.do("assoc-jiuye", "POST", path+"/actions", map[string]any{"note": "推荐到物业公司面试"}, &x); st != http.StatusCreated || x.ID == 0 || x.Username != "assoc-jiuye" {
		t.Errorf("action: %d %+v", st, x)
	}
	if st := env.do("assoc-jiuye", "POST", path+"/close", map[string]any{"outcome": "已上岗"}, &c); st != http.StatusOK || c.Status != assoc.CaseClosed || c.Outcome != "已上岗" {
		t.Errorf("close: %d %+v", st, c)
	}
	if st, code := env.problemCode("assoc-jiuye", "POST", path+"/close", map[string]any{"outcome": "again"}); st != http.StatusConflict {
		t.Errorf("close twice: %d %s, want 409", st, code)
	}
	if st := env.do("assoc-jiuye", "POST", path+"/reopen", map[string]any{"reason": "工作未落实"}, &c); st != http.StatusOK || c.Status != assoc.CaseOpen {
		t.Errorf("reopen: %d %+v", st, c)
	}
	env.do("assoc-jiuye", "GET", path, nil, &c)
	if len(c.Actions) != 2 {
		t.Errorf("actions after reopening: %+v", c.Actions)
	}

	var l page[assoc.Case]
	if st := env.do("assoc-jiuye", "GET", "/api/v1/cases?kind=group&from=2026-11-01&limit=5", nil, &l); st != 200 || l.Total == 0 || len(l.Items) > 5 {
		t.Fatalf("list: %d %d", st, l.Total)
	}
	for _, x := range l.Items {
		if x.Kind != assoc.KindGroup || x.AssociationID != ids["jiuye"] || x.Day < "2026-11-01" {
			t.Errorf("list item %+v", x)
		}
	}
	var theirs page[assoc.Case]
	env.do("assoc-tiaojie", "GET", "/api/v1/cases?limit=500", nil, &theirs)
	for _, x := range theirs.Items {
		if x.AssociationID != ids["tiaojie"] {
			t.Errorf("the mediation chair lists case %d of association %d", x.ID, x.AssociationID)
		}
	}
}

func TestAssociationStatsRoute(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	ids := env.associationIDs()

	// The report's figures for this year, and the dashboard moves when a
	// chair records a service.
	s, st := env.stats("director", "")
	if st != 200 || s.Total.Individual != 514 || s.Total.Group != 127 || len(s.Associations) != 8 || len(s.Total.Months) != 12 || s.Period.From != "2026-01-01" {
		t.Fatalf("director's statistics: %d %+v", st, s.Total)
	}
	// Beside the services: the broken-lift mediation, agreed, on the
	// mediation association's line, and the residents still eligible for
	// the relief policy on the assistance association's.
	for _, a := range s.Associations {
		switch a.AssociationID {
		case ids["tiaojie"]:
			if m := a.Mediations; m.Opened != 1 || m.Agreed != 1 || m.Concluded != 1 || m.SuccessRate != 1 {
				t.Errorf("mediation association's mediations: %+v", m)
			}
		case ids["bangfu"]:
			if a.EligibleUncovered != 8 {
				t.Errorf("assistance association: %d eligible and uncovered, want 8", a.EligibleUncovered)
			}
		default:
			if a.Mediations.Opened != 0 || a.EligibleUncovered != 0 {
				t.Errorf("%s: %+v, %d eligible", a.Key, a.Mediations, a.EligibleUncovered)
			}
		}
	}
	if s.Total.Mediations.Agreed != 1 || s.Total.EligibleUncovered != 8 || len(s.Policies) != 1 || s.Policies[0].Uncovered != 8 {
		t.Errorf("community's mediations %+v, eligible %d, policies %+v", s.Total.Mediations, s.Total.EligibleUncovered, s.Policies)
	}
	env.do("assoc-jiuye", "POST", "/api/v1/cases", map[string]any{"association_id": ids["jiuye"], "kind": "individual", "person_id": env.aResident(), "summary": "求职登记"}, nil)
	after, _ := env.stats("director", "")
	if after.Total.Individual != 515 || after.Total.Months[10].Individual != s.Total.Months[10].Individual+1 {
		t.Errorf("after one more case: %d individual, November %d", after.Total.Individual, after.Total.Months[10].Individual)
	}

	// A chair sees their association's line only.
	mine, st := env.stats("assoc-jiuye", "")
	if st != 200 || len(mine.Associations) != 1 || mine.Associations[0].AssociationID != ids["jiuye"] || mine.Total.Individual != mine.Associations[0].Individual {
		t.Errorf("the employment chair's statistics: %d %+v", st, mine)
	}
	if mine.Total.Mediations.Opened != 0 || mine.Total.EligibleUncovered != 0 || len(mine.Policies) != 0 {
		t.Errorf("the employment chair sees other associations' mediations or policies: %+v %d %+v", mine.Total.Mediations, mine.Total.EligibleUncovered, mine.Policies)
	}
	if st, _ := env.problemCode("assoc-jiuye", "GET", fmt.Sprintf("/api/v1/stats/associations?association=%d", ids["tiaojie"]), nil); st != http.StatusNotFound {
		t.Errorf("the employment chair asks for mediation's figures: %d, want 404", st)
	}
	if st, _ := env.problemCode("director", "GET", "/api/v1/stats/associations?from=2026-05-01&to=2026-04-01", nil); st != http.StatusUnprocessableEntity {
		t.Errorf("a period backwards: %d, want 422", st)
	}
	part, _ := env.stats("director", "?from=2026-03-15&to=2026-06-10")
	if part.Total.Individual == 0 || part.Total.Individual >= after.Total.Individual || len(part.Total.Months) != 4 {
		t.Errorf("15 March to 10 June: %+v", part.Total)
	}

	// The same table as CSV: a header, eight associations and the total.
	before := env.auditTotal("export.association_stats")
	resp := env.request("director", "GET", "/api/v1/stats/associations?format=csv", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "association-stats-2026-01-01-2026-12-31.csv") {
		t.Fatalf("csv: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(rows) != 10 {
		t.Fatalf("csv rows %d: %v", len(rows), err)
	}
	if strings.Join(rows[0], ",") != "协会,个别服务,集中服务,服务人数,就业安置人数,调解案件,调解成功,调解结案,符合条件未覆盖人数" || rows[9][0] != "合计" || rows[9][1] != "515" || rows[9][2] != "127" {
		t.Errorf("csv header %v, total %v", rows[0], rows[9])
	}
	if env.auditTotal("export.association_stats") != before+1 {
		t.Errorf("the export is not audited")
	}

	// And as XLSX, in English.
	resp = env.request("director", "GET", "/api/v1/stats/associations?format=xlsx&lang=en", nil)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != transfer.XLSXType {
		t.Fatalf("xlsx: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sheet, err := f.GetRows(f.GetSheetName(0))
	if err != nil || len(sheet) != 10 || sheet[0][1] != "individual" || sheet[9][0] != "Total" || sheet[9][1] != "515" {
		t.Errorf("xlsx rows %v: %v", sheet, err)
	}
}
