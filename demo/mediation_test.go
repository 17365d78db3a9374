package demo_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// The demo's broken-lift mediation and its targeted relief policy, on
// both dialects.
func TestDemoMediationAndRelief(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st, res := loadDemo(t, d)
			cases, err := st.ListMediations(ctx, assoc.Everything, assoc.MediationFilter{CommunityID: res.CommunityID, Query: "电梯"})
			if err != nil || cases.Total != 1 {
				t.Fatalf("lift mediations %+v %v", cases, err)
			}
			m, err := st.Mediation(ctx, assoc.Everything, cases.Items[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			owners, reps, represented, companies := 0, 0, 0, 0
			for _, p := range m.Parties {
				switch {
				case p.Organisation == demo.PropertyCompany:
					companies++
				case p.PersonID != 0 && p.Side == "owners":
					owners++
					if p.Representative {
						reps++
						represented += p.Represents
					}
				}
			}
			if owners != 20 || companies != 1 || reps != 3 || represented != 17 {
				t.Errorf("parties: %d owners, %d companies, %d representatives for %d", owners, companies, reps, represented)
			}
			if len(m.Sessions) != 3 || m.Outcome != assoc.MediationAgreed || !m.Signed || m.Status != assoc.MediationFollowedUp {
				t.Errorf("mediation %s/%s signed=%v with %d sessions", m.Status, m.Outcome, m.Signed, len(m.Sessions))
			}
			for _, s := range m.Sessions {
				if !m.CreatedAt.Before(s.HeldAt) {
					t.Errorf("the mediation was opened %s, after its session of %s", m.CreatedAt, s.HeldAt)
				}
			}
			if len(m.FollowUps) != 1 || !m.FollowUps[0].Resolved {
				t.Errorf("follow-ups %+v", m.FollowUps)
			}

			policies, err := st.ListAssistancePolicies(ctx, assoc.Everything, assoc.AssistancePolicyFilter{CommunityID: res.CommunityID})
			if err != nil || policies.Total != 1 || policies.Items[0].Name != demo.ReliefPolicyName {
				t.Fatalf("policies %+v %v", policies, err)
			}
			pol := policies.Items[0]
			granted, err := st.ListApplications(ctx, assoc.Everything, assoc.ApplicationFilter{PolicyID: pol.ID, Status: assoc.ApplicationGranted})
			if err != nil || granted.Total != 1 {
				t.Fatalf("granted applications %+v %v", granted, err)
			}
			man := granted.Items[0].PersonID
			entries, err := st.ListEntries(ctx, assoc.Everything, assoc.EntryFilter{CommunityID: res.CommunityID, Ledger: assoc.HouseholdsInDifficulty, PersonID: man})
			if err != nil || entries.Total != 1 || entries.Items[0].Values["pension"] != demo.ReliefPension {
				t.Errorf("the granted man's entry %+v %v", entries, err)
			}
			eligible, err := st.Eligible(ctx, assoc.Everything, pol.ID, time.Time{}, shequ.Page{Limit: shequ.MaxLimit})
			if err != nil || eligible.Total < 2 {
				t.Fatalf("still eligible %+v %v", eligible, err)
			}
			for _, r := range eligible.Items {
				if r.PersonID == man {
					t.Errorf("the covered man is still listed as eligible")
				}
				if r.Age < 60 || r.Values[assoc.HouseholdsInDifficulty+".pension"].(float64) >= 1500 {
					t.Errorf("not eligible by the rules: %+v", r)
				}
			}
			t.Logf("%s: %d residents appear eligible for %s and are not covered", d, eligible.Total, pol.Name)
			counts, err := st.EligibleUncovered(ctx, assoc.Everything, res.CommunityID)
			if err != nil || len(counts) != 1 || counts[0].Uncovered != eligible.Total {
				t.Errorf("eligible uncovered %+v (list has %d) %v", counts, eligible.Total, err)
			}
		})
	}
}
