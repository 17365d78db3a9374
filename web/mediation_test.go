package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// associationID returns the id of the demo association with key.
func (e *testEnv) associationID(key string) int64 {
	e.t.Helper()
	var l page[community.Association]
	e.do("director", "GET", "/api/v1/associations?limit=50", nil, &l)
	for _, a := range l.Items {
		if a.Key == key {
			return a.ID
		}
	}
	e.t.Fatalf("no association %s", key)
	return 0
}

func TestMediationRoutes(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	tiaojie := env.associationID("tiaojie")

	// The demo's lift case is the mediation association's: others do not
	// find it.
	var cases page[assoc.Mediation]
	if st := env.do("assoc-tiaojie", "GET", "/api/v1/mediations?status=followed_up", nil, &cases); st != 200 || cases.Total != 1 || cases.Items[0].PartyCount != 21 || cases.Items[0].SessionCount != 3 {
		t.Fatalf("assoc-tiaojie's cases: %d %+v", st, cases)
	}
	lift := cases.Items[0].ID
	if st := env.do("assoc-jiuye", "GET", "/api/v1/mediations", nil, &cases); st != 200 || cases.Total != 0 {
		t.Errorf("assoc-jiuye lists %d cases (%d)", cases.Total, st)
	}
	if st, code := env.problemCode("assoc-jiuye", "GET", fmt.Sprintf("/api/v1/mediations/%d", lift), nil); st != 404 || code != "not_found" {
		t.Errorf("assoc-jiuye reads the lift case: %d %s", st, code)
	}
	if st, _ := env.problemCode("assoc-jiuye", "POST", fmt.Sprintf("/api/v1/mediations/%d/followups", lift), map[string]any{"question": "修好了吗？", "resolved": true}); st != 404 {
		t.Errorf("assoc-jiuye adds a follow-up: %d", st)
	}

	// A new case through its lifecycle.
	var m assoc.Mediation
	if st := env.do("assoc-tiaojie", "POST", "/api/v1/mediations", map[string]any{"association_id": tiaojie, "subject": "车位纠纷"}, &m); st != 201 || m.Status != assoc.MediationOpen {
		t.Fatalf("create: %d %+v", st, m)
	}
	path := fmt.Sprintf("/api/v1/mediations/%d", m.ID)
	var party assoc.MediationParty
	if st := env.do("assoc-tiaojie", "POST", path+"/parties", map[string]any{"organisation": "停车场管理公司", "side": "company"}, &party); st != 201 || party.ID == 0 {
		t.Fatalf("add party: %d %+v", st, party)
	}
	if st, code := env.problemCode("assoc-tiaojie", "POST", path+"/outcome", map[string]any{"outcome": "agreed", "agreement": "x"}); st != 409 || code != "conflict" {
		t.Errorf("agreed before a session: %d %s", st, code)
	}
	if st := env.do("assoc-tiaojie", "POST", path+"/sessions", map[string]any{"held_at": env.clock.Now(), "place": "社区会议室", "attendees": []int64{party.ID}}, nil); st != 201 {
		t.Errorf("add session: %d", st)
	}
	if st := env.do("assoc-tiaojie", "POST", path+"/outcome", map[string]any{"outcome": "failed", "note": "双方未达成一致"}, &m); st != 200 || m.Status != assoc.MediationFailed {
		t.Errorf("failed: %d %+v", st, m)
	}
	if st, _ := env.problemCode("assoc-tiaojie", "POST", path+"/sessions", map[string]any{"held_at": env.clock.Now(), "place": "x", "other_attendees": "y"}); st != 409 {
		t.Errorf("a session after the outcome: %d", st)
	}
	if st := env.do("assoc-tiaojie", "POST", path+"/followups", map[string]any{"question": "纠纷是否另行解决？", "resolved": false, "close": true}, nil); st != 201 {
		t.Errorf("closing follow-up: %d", st)
	}
	var got assoc.Mediation
	if st := env.do("director", "GET", path, nil, &got); st != 200 || got.Status != assoc.MediationClosed || len(got.Parties) != 1 || len(got.Sessions) != 1 || len(got.FollowUps) != 1 {
		t.Errorf("closed case: %d %+v", st, got)
	}
}

func TestAssistanceRoutes(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	bangfu := env.associationID("bangfu")
	var pols page[assoc.AssistancePolicy]
	if st := env.do("assoc-jiuye", "GET", "/api/v1/assistance/policies", nil, &pols); st != 200 || pols.Total != 1 {
		t.Fatalf("policies: %d %+v", st, pols)
	}
	relief := pols.Items[0]
	var eligible page[assoc.EligibleResident]
	if st := env.do("assoc-bangfu", "GET", fmt.Sprintf("/api/v1/assistance/policies/%d/eligible?limit=2", relief.ID), nil, &eligible); st != 200 || eligible.Total < 2 || len(eligible.Items) != 2 {
		t.Fatalf("eligible: %d %+v", st, eligible)
	}
	before := eligible.Total

	// Bad rules: per-field errors, nothing stored.
	bad := map[string]any{"association_id": bangfu, "name": "错误的政策", "benefit": "x", "valid_from": "2026-01-01", "rules": []map[string]any{
		{"ledger": "households_in_difficulty", "field": "pensio", "op": "<", "value": 1500},
		{"ledger": "households_in_difficulty", "field": "difficulty", "op": "<", "value": "elderly"},
	}}
	var p Problem
	if st := env.do("director", "POST", "/api/v1/assistance/policies", bad, &p); st != 422 || len(p.Errors) != 2 || !strings.Contains(p.Errors[0].Location+p.Errors[1].Location, "rules[0].field") {
		t.Errorf("bad rules: %+v", p)
	}
	if st, _ := env.problemCode("assoc-bangfu", "POST", "/api/v1/assistance/policies", bad); st != 403 {
		t.Errorf("a chair configures policies: %d", st)
	}
	// A policy over the help-education ledger is not for other associations.
	help := map[string]any{"association_id": env.associationID("bangjiao"), "name": "刑释人员过渡救助", "benefit": "临时救助金", "valid_from": "2026-01-01", "rules": []map[string]any{
		{"ledger": "help_education", "field": "category", "op": "=", "value": "released"},
	}}
	var hp assoc.AssistancePolicy
	if st := env.do("director", "POST", "/api/v1/assistance/policies", help, &hp); st != 201 {
		t.Fatalf("help-education policy: %d", st)
	}
	if st := env.do("assoc-bangjiao", "GET", fmt.Sprintf("/api/v1/assistance/policies/%d/eligible", hp.ID), nil, &eligible); st != 200 || eligible.Total == 0 {
		t.Errorf("assoc-bangjiao's eligible: %d %d", st, eligible.Total)
	}
	if st, code := env.problemCode("assoc-jiuye", "GET", fmt.Sprintf("/api/v1/assistance/policies/%d/eligible", hp.ID), nil); st != 403 || code != "forbidden" {
		t.Errorf("assoc-jiuye's eligible of the help-education policy: %d %s", st, code)
	}

	// An application, granted: one fewer appears eligible.
	var l page[assoc.EligibleResident]
	env.do("assoc-bangfu", "GET", fmt.Sprintf("/api/v1/assistance/policies/%d/eligible?limit=1", relief.ID), nil, &l)
	var app assoc.Application
	if st := env.do("assoc-bangfu", "POST", "/api/v1/assistance/applications", map[string]any{"policy_id": relief.ID, "person_id": l.Items[0].PersonID, "note": "上门登记"}, &app); st != 201 || app.Status != assoc.ApplicationPending {
		t.Fatalf("apply: %d %+v", st, app)
	}
	outcome := fmt.Sprintf("/api/v1/assistance/applications/%d/outcome", app.ID)
	if st, _ := env.problemCode("assoc-jiuye", "POST", outcome, map[string]any{"status": "granted"}); st != 404 {
		t.Errorf("assoc-jiuye decides: %d", st)
	}
	if st, _ := env.problemCode("assoc-bangfu", "POST", outcome, map[string]any{"status": "refused"}); st != 422 {
		t.Errorf("refused without a reason: %d", st)
	}
	if st := env.do("assoc-bangfu", "POST", outcome, map[string]any{"status": "granted", "date": "2026-11-28"}, &app); st != 200 || app.Status != assoc.ApplicationGranted {
		t.Errorf("grant: %d %+v", st, app)
	}
	if st, _ := env.problemCode("assoc-bangfu", "POST", outcome, map[string]any{"status": "refused", "reason": "x"}); st != 409 {
		t.Errorf("deciding twice: %d", st)
	}
	env.do("assoc-bangfu", "GET", fmt.Sprintf("/api/v1/assistance/policies/%d/eligible", relief.ID), nil, &eligible)
	if eligible.Total != before-1 {
		t.Errorf("eligible after granting: %d, before %d", eligible.Total, before)
	}
	var apps page[assoc.Application]
	if st := env.do("assoc-bangfu", "GET", fmt.Sprintf("/api/v1/assistance/applications?person=%d", app.PersonID), nil, &apps); st != 200 || apps.Total != 1 {
		t.Errorf("per person: %d %+v", st, apps)
	}
	if st := env.do("assoc-bangfu", "GET", fmt.Sprintf("/api/v1/assistance/applications?policy=%d&status=granted", relief.ID), nil, &apps); st != 200 || apps.Total != 2 {
		t.Errorf("granted under the policy: %d %+v", st, apps)
	}

	// Updating a policy is for administrators.
	change := map[string]any{"association_id": bangfu, "name": relief.Name, "benefit": relief.Benefit, "valid_from": relief.ValidFrom, "rules": relief.Rules}
	if st, _ := env.problemCode("assoc-bangfu", "PUT", fmt.Sprintf("/api/v1/assistance/policies/%d", relief.ID), change); st != http.StatusForbidden {
		t.Errorf("a chair updates: %d", st)
	}
	change["benefit"] = "入住养老院费用全免"
	var up assoc.AssistancePolicy
	if st := env.do("director", "PUT", fmt.Sprintf("/api/v1/assistance/policies/%d", relief.ID), change, &up); st != 200 || up.Benefit != "入住养老院费用全免" {
		t.Errorf("update: %d %+v", st, up)
	}
}
