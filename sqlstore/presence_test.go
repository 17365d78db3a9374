package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestHomePresence: who reports at a home, at home first; the last to
// leave arms it when the rule says so; a neighbour's scope reads nothing.
func TestHomePresence(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "pr")
		mine := auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}
		neighbour := auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household2.ID}}
		a := &auth.User{Username: "pr-a", DisplayName: "甲", Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: tr.community.ID}}}
		b := &auth.User{Username: "pr-b", Grants: []auth.Grant{{Role: auth.RoleResident, CommunityID: tr.community.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, a, ""))
		mustOK(t, st.CreateUser(ctx, everywhere, b, ""))
		mustOK(t, st.SetArmRules(ctx, mine, &alarm.ArmRules{HomeID: tr.home1.ID, ArmOnLeave: true}))
		if got, err := st.HomePresence(ctx, mine, tr.home1.ID); err != nil || len(got) != 0 {
			t.Fatalf("before anyone reports: %+v %v", got, err)
		}
		_, _, err := st.ReportPresence(ctx, mine, tr.home1.ID, a.ID, true)
		mustOK(t, err)
		clock.Advance(60e9)
		_, armed, err := st.ReportPresence(ctx, mine, tr.home1.ID, b.ID, false)
		mustOK(t, err)
		if armed {
			t.Errorf("armed while 甲 is at home")
		}
		got, err := st.HomePresence(ctx, mine, tr.home1.ID)
		mustOK(t, err)
		if len(got) != 2 || got[0].Name != "甲" || !got[0].Present || got[1].Name != "pr-b" || got[1].Present {
			t.Errorf("presence %+v", got)
		}
		_, armed, err = st.ReportPresence(ctx, mine, tr.home1.ID, a.ID, false)
		mustOK(t, err)
		if !armed {
			t.Errorf("the last to leave did not arm the home")
		}
		if _, err := st.HomePresence(ctx, neighbour, tr.home1.ID); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("a neighbour reads the presence: %v", err)
		}
	})
}
