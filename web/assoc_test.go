package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// grantedFields is what the demo's grant shares with the HR partner.
var grantedFields = []string{"desired_work", "education", "expected_salary", "skills", "status"}

func entriesPath(ledger string) string { return "/api/v1/ledgers/" + ledger + "/entries" }

func entryPath(ledger string, id int64, rest ...string) string {
	return fmt.Sprintf("%s/%d", entriesPath(ledger), id) + strings.Join(rest, "")
}

// partnerEntries lists the job seekers as hr-partner and checks that each
// is a partner's view: masked, granted fields only.
func (e *testEnv) partnerEntries() page[assoc.LedgerEntry] {
	e.t.Helper()
	var got page[assoc.LedgerEntry]
	if st := e.do("hr-partner", "GET", entriesPath(assoc.JobSeekers)+"?limit=500", nil, &got); st != 200 {
		e.t.Fatalf("hr-partner lists job seekers: %d", st)
	}
	for _, x := range got.Items {
		if !x.Masked || x.PersonID != 0 || x.AssociationID != 0 || x.Consents != nil || !strings.HasSuffix(x.PersonName, "*") {
			e.t.Errorf("partner's view of %d: %+v", x.ID, x)
		}
		for k := range x.Values {
			if !slices.Contains(grantedFields, k) {
				e.t.Errorf("entry %d shows %s, which is not granted", x.ID, k)
			}
		}
	}
	return got
}

func TestPartnerSeesOnlyWhatIsGranted(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)

	// The partner's ledgers: job seekers only, cut to the granted fields.
	var types page[assoc.LedgerType]
	env.do("hr-partner", "GET", "/api/v1/ledgers", nil, &types)
	if types.Total != 1 || types.Items[0].Key != assoc.JobSeekers || len(types.Items[0].Fields) != len(grantedFields) || len(types.Items[0].Shared) != 1 {
		t.Fatalf("hr-partner's ledgers %+v", types)
	}
	before := env.auditTotal("ledger.partner_read")
	seen := env.partnerEntries()
	if seen.Total == 0 || seen.Total != len(seen.Items) {
		t.Fatalf("hr-partner sees %d job seekers", seen.Total)
	}
	if after := env.auditTotal("ledger.partner_read"); after != before+seen.Total {
		t.Errorf("partner reads audited: %d → %d for %d entries", before, after, seen.Total)
	}

	// The director sees every job seeker in full; those the partner does
	// not see have not consented, and stay hidden one by one too.
	var all page[assoc.LedgerEntry]
	env.do("director", "GET", entriesPath(assoc.JobSeekers)+"?limit=500", nil, &all)
	if all.Total <= seen.Total {
		t.Fatalf("director sees %d job seekers, partner %d: the demo needs some without consent", all.Total, seen.Total)
	}
	var hidden, shown int64
	for _, x := range all.Items {
		if x.Masked || x.PersonID == 0 {
			t.Errorf("director's view %+v", x)
		}
		if !slices.ContainsFunc(seen.Items, func(s assoc.LedgerEntry) bool { return s.ID == x.ID }) {
			hidden = x.ID
		} else {
			shown = x.ID
		}
	}
	var full assoc.LedgerEntry
	env.do("director", "GET", entryPath(assoc.JobSeekers, hidden), nil, &full)
	if slices.ContainsFunc(full.Consents, func(c assoc.Consent) bool { return c.Given }) {
		t.Errorf("entry %d has consent but the partner does not see it: %+v", hidden, full.Consents)
	}
	var one assoc.LedgerEntry
	if st := env.do("hr-partner", "GET", entryPath(assoc.JobSeekers, shown), nil, &one); st != 200 || !one.Masked {
		t.Errorf("hr-partner reads entry %d: %d %+v", shown, st, one)
	}

	// Everything else: 403 for ledgers and routes, 404 for entries.
	elderly := env.anyEntry("director", assoc.ElderlyAlone)
	help := env.anyEntry("director", assoc.HelpEducation)
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", entryPath(assoc.JobSeekers, hidden), nil, 404},
		{"GET", entryPath(assoc.JobSeekers, shown, "/history"), nil, 404},
		{"GET", entriesPath(assoc.ElderlyAlone), nil, 403},
		{"GET", "/api/v1/ledgers/" + assoc.ElderlyAlone, nil, 403},
		{"GET", entryPath(assoc.ElderlyAlone, elderly), nil, 404},
		{"GET", entriesPath(assoc.HelpEducation), nil, 403},
		{"GET", entryPath(assoc.HelpEducation, help), nil, 404},
		{"GET", entryPath(assoc.JobSeekers, elderly), nil, 404}, // an entry of another ledger under this one
		{"GET", entriesPath(assoc.JobSeekers) + "?where=notes:x", nil, 422},
		{"GET", entriesPath(assoc.JobSeekers) + "?q=王", nil, 422},
		{"PUT", entryPath(assoc.JobSeekers, shown), map[string]any{"values": map[string]any{"status": "placed"}}, 403},
		{"POST", entriesPath(assoc.JobSeekers), map[string]any{"person_id": 1, "values": map[string]any{}}, 403},
		{"POST", entryPath(assoc.JobSeekers, shown, "/consent"), map[string]any{"partner_id": 1, "given": true, "method": "app"}, 403},
		{"GET", "/api/v1/people", nil, 403},
		{"GET", "/api/v1/grants", nil, 403},
		{"GET", "/api/v1/intakes", nil, 403},
		{"POST", "/api/v1/ledgers/" + assoc.JobSeekers + "/fields", map[string]any{"key": "iq", "label": "x", "type": "number"}, 403},
	} {
		if got, _ := env.problemCode("hr-partner", c.method, c.path, c.body); got != c.want {
			t.Errorf("hr-partner %s %s: got %d, want %d", c.method, c.path, got, c.want)
		}
	}

	// The partner records a follow-up; the owner association sees it.
	var f assoc.FollowUp
	if st := env.do("hr-partner", "POST", entryPath(assoc.JobSeekers, shown, "/followups"), map[string]any{"kind": "interview", "note": "周三面试保洁岗"}, &f); st != 201 || f.PartnerID == 0 {
		t.Fatalf("follow-up: %d %+v", st, f)
	}
	if st, _ := env.problemCode("hr-partner", "POST", entryPath(assoc.JobSeekers, hidden, "/followups"), map[string]any{"kind": "interview"}); st != 404 {
		t.Errorf("follow-up on an entry not shared: %d", st)
	}
	var owner assoc.LedgerEntry
	env.do("assoc-jiuye", "GET", entryPath(assoc.JobSeekers, shown), nil, &owner)
	if !slices.ContainsFunc(owner.FollowUps, func(x assoc.FollowUp) bool { return x.ID == f.ID }) || owner.Masked {
		t.Errorf("the employment association does not see the partner's follow-up: %+v", owner.FollowUps)
	}

	// Revoking cuts access at once.
	var grants page[assoc.LedgerGrant]
	env.do("director", "GET", "/api/v1/grants?live=true", nil, &grants)
	if grants.Total != 1 || grants.Items[0].Ledger != assoc.JobSeekers || !grants.Items[0].Live {
		t.Fatalf("grants %+v", grants)
	}
	if st := env.do("director", "DELETE", fmt.Sprintf("/api/v1/grants/%d", grants.Items[0].ID), nil, nil); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	for _, c := range []struct {
		method, path string
		body         any
		want         int
	}{
		{"GET", entriesPath(assoc.JobSeekers), nil, 403},
		{"GET", entryPath(assoc.JobSeekers, shown), nil, 404},
		{"GET", "/api/v1/ledgers/" + assoc.JobSeekers, nil, 403},
		{"POST", entryPath(assoc.JobSeekers, shown, "/followups"), map[string]any{"kind": "placed"}, 403},
	} {
		if got, _ := env.problemCode("hr-partner", c.method, c.path, c.body); got != c.want {
			t.Errorf("after revocation, %s %s: got %d, want %d", c.method, c.path, got, c.want)
		}
	}
	env.do("hr-partner", "GET", "/api/v1/ledgers", nil, &types)
	if types.Total != 0 {
		t.Errorf("ledgers after revocation %+v", types.Items)
	}

	// A new grant for an hour, with a filter; then the hour passes.
	var partners page[community.Partner]
	env.do("director", "GET", "/api/v1/partners", nil, &partners)
	var g assoc.LedgerGrant
	st := env.do("director", "POST", "/api/v1/grants", map[string]any{"partner_id": partners.Items[0].ID, "ledger_type": assoc.JobSeekers, "fields": []string{"desired_work"},
		"filter": map[string]any{"status": "seeking"}, "purpose": "招聘会", "expires_at": env.clock.Now().Add(time.Hour), "consent": true}, &g)
	if st != 201 || !g.Live {
		t.Fatalf("new grant: %d %+v", st, g)
	}
	short := env.partnerEntries()
	if short.Total == 0 || short.Total >= seen.Total {
		t.Errorf("filtered grant shows %d of %d", short.Total, seen.Total)
	}
	for _, x := range short.Items {
		if len(x.Values) != 1 || x.Values["desired_work"] == nil {
			t.Errorf("filtered grant shows %v", x.Values)
		}
	}
	env.clock.Advance(time.Hour)
	if got, _ := env.problemCode("hr-partner", "GET", entriesPath(assoc.JobSeekers), nil); got != 403 {
		t.Errorf("after expiry: %d", got)
	}
	if got, _ := env.problemCode("hr-partner", "GET", entryPath(assoc.JobSeekers, short.Items[0].ID), nil); got != 404 {
		t.Errorf("entry after expiry: %d", got)
	}
	// Grants that cannot be made.
	for name, body := range map[string]map[string]any{
		"sensitive ledger": {"partner_id": partners.Items[0].ID, "ledger_type": assoc.HelpEducation, "fields": []string{"measures"}, "purpose": "x", "expires_at": env.clock.Now().Add(time.Hour), "consent": true},
		"without consent":  {"partner_id": partners.Items[0].ID, "ledger_type": assoc.JobSeekers, "fields": []string{"skills"}, "purpose": "x", "expires_at": env.clock.Now().Add(time.Hour), "consent": false},
		"expired":          {"partner_id": partners.Items[0].ID, "ledger_type": assoc.JobSeekers, "fields": []string{"skills"}, "purpose": "x", "expires_at": env.clock.Now().Add(-time.Hour), "consent": true},
		"sensitive field":  {"partner_id": partners.Items[0].ID, "ledger_type": assoc.ElderlyAlone, "fields": []string{"health"}, "purpose": "x", "expires_at": env.clock.Now().Add(time.Hour), "consent": true},
	} {
		if got, code := env.problemCode("director", "POST", "/api/v1/grants", body); got != 422 || code != "invalid" {
			t.Errorf("grant %s: %d %s", name, got, code)
		}
	}
}

// anyEntry returns the id of one entry of a ledger user sees.
func (e *testEnv) anyEntry(user, ledger string) int64 {
	e.t.Helper()
	var l page[assoc.LedgerEntry]
	if st := e.do(user, "GET", entriesPath(ledger)+"?limit=1", nil, &l); st != 200 || len(l.Items) == 0 {
		e.t.Fatalf("%s lists %s: %d, %d entries", user, ledger, st, l.Total)
	}
	return l.Items[0].ID
}

func (e *testEnv) auditTotal(action string) int {
	e.t.Helper()
	var l page[audit.Entry]
	if st := e.do("director", "GET", "/api/v1/audit?limit=1&action="+action, nil, &l); st != 200 {
		e.t.Fatalf("audit: %d", st)
	}
	return l.Total
}

func TestLedgersAsAssociationsAndResidents(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)

	// Help-education is seen by its association and the director only.
	help := env.anyEntry("assoc-bangjiao", assoc.HelpEducation)
	env.anyEntry("director", assoc.HelpEducation)
	for _, c := range []struct {
		user, path string
		want       int
	}{
		{"assoc-jiuye", entriesPath(assoc.HelpEducation), 403},
		{"assoc-jiuye", entryPath(assoc.HelpEducation, help), 404},
		{"assoc-jiuye", entryPath(assoc.HelpEducation, help, "/history"), 404},
		{"assoc-bangfu", entryPath(assoc.HelpEducation, help), 404},
		{"assoc-bangjiao", entryPath(assoc.HelpEducation, help, "/history"), 200},
		{"resident01", entriesPath(assoc.JobSeekers), 403},
		{"resident01", "/api/v1/ledgers", 403},
		{"grid01", "/api/v1/ledgers", 403},
	} {
		if got, _ := env.problemCode(c.user, "GET", c.path, nil); got != c.want {
			t.Errorf("%s GET %s: got %d, want %d", c.user, c.path, got, c.want)
		}
	}
	var types page[assoc.LedgerType]
	env.do("assoc-jiuye", "GET", "/api/v1/ledgers", nil, &types)
	for _, lt := range types.Items {
		if lt.Key == assoc.HelpEducation {
			t.Errorf("assoc-jiuye lists the help-education ledger")
		}
		if _, ok := lt.Field("health"); ok && lt.Key == assoc.ElderlyAlone {
			t.Errorf("assoc-jiuye sees the health field of %s", lt.Key)
		}
	}
	// Another association reads the elderly without their health.
	var elderly page[assoc.LedgerEntry]
	env.do("assoc-jiuye", "GET", entriesPath(assoc.ElderlyAlone), nil, &elderly)
	var withHealth page[assoc.LedgerEntry]
	env.do("assoc-bangfu", "GET", entriesPath(assoc.ElderlyAlone), nil, &withHealth)
	if elderly.Total == 0 || elderly.Total != withHealth.Total || elderly.Items[0].Values["health"] != nil || withHealth.Items[0].Values["health"] == nil {
		t.Errorf("elderly: jiuye %+v, bangfu %+v", elderly.Items[:1], withHealth.Items[:1])
	}
	if st, _ := env.problemCode("assoc-jiuye", "PUT", entryPath(assoc.ElderlyAlone, elderly.Items[0].ID), map[string]any{"values": map[string]any{"checkin_frequency": "daily"}}); st != 403 {
		t.Errorf("assoc-jiuye changes an elderly entry: %d", st)
	}

	// Validation: field-level errors, nothing stored.
	var seekers page[assoc.LedgerEntry]
	env.do("assoc-jiuye", "GET", entriesPath(assoc.JobSeekers)+"?limit=500", nil, &seekers)
	var people page[community.Person]
	env.do("assoc-jiuye", "GET", "/api/v1/people?limit=500", nil, &people)
	var person int64
	for _, p := range people.Items {
		if !slices.ContainsFunc(seekers.Items, func(e assoc.LedgerEntry) bool { return e.PersonID == p.ID }) {
			person = p.ID
			break
		}
	}
	auditBefore := env.auditTotal("ledger_entry.create")
	var p Problem
	st := env.do("assoc-jiuye", "POST", entriesPath(assoc.JobSeekers), map[string]any{"person_id": person, "values": map[string]any{"status": "retired", "expected_salary": "lots"}}, &p)
	var locs []string
	for _, e := range p.Errors {
		locs = append(locs, e.Location)
	}
	slices.Sort(locs)
	if st != 422 || p.Code != "invalid" || !slices.Equal(locs, []string{"body.values.desired_work", "body.values.expected_salary", "body.values.status"}) {
		t.Errorf("invalid entry: %d %+v", st, p)
	}
	var none page[assoc.LedgerEntry]
	env.do("director", "GET", fmt.Sprintf("%s?person=%d", entriesPath(assoc.JobSeekers), person), nil, &none)
	if none.Total != 0 || env.auditTotal("ledger_entry.create") != auditBefore {
		t.Errorf("a rejected entry was stored: %d", none.Total)
	}
	var e assoc.LedgerEntry
	if st := env.do("assoc-jiuye", "POST", entriesPath(assoc.JobSeekers), map[string]any{"person_id": person, "values": map[string]any{"desired_work": "超市收银", "status": "seeking", "expected_salary": 3000}}, &e); st != 201 || e.AssociationID == 0 {
		t.Fatalf("entry: %d %+v", st, e)
	}
	if st, _ := env.problemCode("assoc-jiuye", "PUT", entryPath(assoc.JobSeekers, e.ID), map[string]any{"values": map[string]any{"expected_salary": -1}}); st != 422 {
		t.Errorf("bad update: %d", st)
	}
	if st := env.do("assoc-jiuye", "PUT", entryPath(assoc.JobSeekers, e.ID), map[string]any{"values": map[string]any{"status": "interviewing"}}, &e); st != 200 || e.Values["status"] != "interviewing" || e.Values["expected_salary"] != 3000.0 {
		t.Errorf("update: %d %+v", st, e)
	}
	var hist []assoc.HistoryLine
	env.do("assoc-jiuye", "GET", entryPath(assoc.JobSeekers, e.ID, "/history"), nil, &hist)
	if len(hist) != 2 || hist[1].Username != "assoc-jiuye" || hist[1].Before["values"].(map[string]any)["status"] != "seeking" {
		t.Errorf("history %+v", hist)
	}
	// Only an administrator extends the schema; the new field is then
	// checked like the others.
	field := map[string]any{"key": "languages", "label": "语言", "type": "choice", "choices": []string{"普通话", "重庆话"}}
	if st, _ := env.problemCode("assoc-jiuye", "POST", "/api/v1/ledgers/job_seekers/fields", field); st != 403 {
		t.Errorf("a chair adds a field: %d", st)
	}
	var lt assoc.LedgerType
	if st := env.do("director", "POST", "/api/v1/ledgers/job_seekers/fields", field, &lt); st != 201 || len(lt.Fields) != 8 {
		t.Errorf("add field: %d %+v", st, lt)
	}
	if st, _ := env.problemCode("assoc-jiuye", "PUT", entryPath(assoc.JobSeekers, e.ID), map[string]any{"values": map[string]any{"languages": "英语"}}); st != 422 {
		t.Errorf("a value the new field refuses: %d", st)
	}
	if st := env.do("assoc-jiuye", "PUT", entryPath(assoc.JobSeekers, e.ID), map[string]any{"values": map[string]any{"languages": "重庆话"}}, &e); st != 200 || e.Values["languages"] != "重庆话" {
		t.Errorf("the new field: %d %+v", st, e)
	}
	if st, _ := env.problemCode("assoc-jiuye", "POST", entriesPath(assoc.HelpEducation), map[string]any{"person_id": person, "values": map[string]any{"category": "released"}}); st != 403 {
		t.Errorf("assoc-jiuye writes help-education: %d", st)
	}

	// Employment: openings, placements this year.
	var openings page[assoc.Opening]
	env.do("hr-partner", "GET", "/api/v1/openings", nil, &openings)
	if openings.Total != 3 {
		t.Errorf("openings %+v", openings)
	}
	var stats assoc.PlacementStats
	if st := env.do("director", "GET", "/api/v1/stats/placements", nil, &stats); st != 200 || stats.Year != 2026 || stats.ResidentsPlaced == 0 || len(stats.ByPartner) == 0 {
		t.Errorf("placements: %d %+v", st, stats)
	}
	var cands []assoc.OpeningCandidate
	if st := env.do("hr-partner", "GET", fmt.Sprintf("/api/v1/openings/%d/candidates", openings.Items[0].ID), nil, &cands); st != 200 {
		t.Errorf("candidates: %d", st)
	}
	for _, c := range cands {
		if !c.Entry.Masked || c.Score == 0 {
			t.Errorf("candidate %+v", c)
		}
	}

	// A resident brings a problem to the mediation association; its chair
	// sees it and takes it up, the employment association does not.
	var as page[community.Association]
	env.do("resident01", "GET", "/api/v1/associations", nil, &as)
	var mediation int64
	for _, a := range as.Items {
		if a.Key == "tiaojie" {
			mediation = a.ID
		}
	}
	var in assoc.Intake
	if st := env.do("resident01", "POST", fmt.Sprintf("/api/v1/associations/%d/intake", mediation), map[string]any{"description": "楼上装修噪音扰民，协商无果"}, &in); st != 201 || in.PersonID == 0 || in.Status != "open" {
		t.Fatalf("intake: %d %+v", st, in)
	}
	var mine, jiuye page[assoc.Intake]
	env.do("resident01", "GET", "/api/v1/intakes", nil, &mine)
	env.do("assoc-jiuye", "GET", "/api/v1/intakes", nil, &jiuye)
	if !slices.ContainsFunc(mine.Items, func(x assoc.Intake) bool { return x.ID == in.ID }) || slices.ContainsFunc(jiuye.Items, func(x assoc.Intake) bool { return x.ID == in.ID }) {
		t.Errorf("intakes: resident %+v, jiuye %+v", mine.Items, jiuye.Items)
	}
	if st, _ := env.problemCode("assoc-jiuye", "PUT", fmt.Sprintf("/api/v1/intakes/%d", in.ID), map[string]any{"status": "accepted"}); st != 404 {
		t.Errorf("another association takes up the intake: %d", st)
	}
	if st := env.do("assoc-tiaojie", "PUT", fmt.Sprintf("/api/v1/intakes/%d", in.ID), map[string]any{"status": "accepted", "note": "约双方周五调解"}, &in); st != 200 || in.Status != "accepted" {
		t.Errorf("the mediation chair takes it up: %d %+v", st, in)
	}
	// The director renames an association.
	var renamed community.Association
	if st := env.do("director", "PUT", fmt.Sprintf("/api/v1/associations/%d", mediation), map[string]any{"name": "人民调解协会"}, &renamed); st != http.StatusOK || renamed.Name != "人民调解协会" {
		t.Errorf("rename: %d %+v", st, renamed)
	}
}
