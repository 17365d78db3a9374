package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestMatterFigures: per category, what came in, what was handled, what
// missed its due time (open past it, or resolved after it) and the
// ratings; another community's matters and the period's edges count not.
func TestMatterFigures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "mf")
		other := makeTree(t, st, "mf2")
		for _, c := range []matter.Category{
			{CommunityID: tr.community.ID, Code: "lift", Name: "电梯故障", NameEn: "Lift", SLAHours: 24},
			{CommunityID: tr.community.ID, Code: "noise", Name: "噪音", SLAHours: 72},
			{CommunityID: other.community.ID, Code: "lift", Name: "电梯故障", SLAHours: 24},
		} {
			mustOK(t, st.CreateCategory(ctx, everywhere, &c))
		}
		alice := auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}
		staff := auth.Scope{{CommunityID: tr.community.ID}}
		since := clock.Now()
		submit := func(sc auth.Scope, person int64, cat string) matter.Matter {
			m := matter.Matter{PersonID: person, Category: cat, Description: "x"}
			mustOK(t, st.SubmitMatter(ctx, sc, &m))
			return m
		}
		late := submit(alice, tr.alice.ID, "lift")
		onTime := submit(alice, tr.alice.ID, "lift")
		submit(alice, tr.alice.ID, "lift") // stays open past its due time
		submit(alice, tr.alice.ID, "noise")
		submit(auth.Scope{{CommunityID: other.community.ID, HouseholdID: other.household1.ID}}, other.alice.ID, "lift")

		worker := &auth.User{Username: "mfworker", Grants: []auth.Grant{{Role: auth.RoleGridWorker, CommunityID: tr.community.ID}}}
		mustOK(t, st.CreateUser(ctx, everywhere, worker, ""))
		resolve := func(id int64, rating int) {
			for _, s := range []matter.Step{{Action: "accept", By: 1}, {Action: "assign", By: 1, AssigneeUserID: worker.ID}, {Action: "start", By: worker.ID}, {Action: "resolve", By: worker.ID, Note: "done"}} {
				_, err := st.StepMatter(ctx, staff, id, s)
				mustOK(t, err)
			}
			if rating > 0 {
				_, err := st.StepMatter(ctx, alice, id, matter.Step{Action: "rate", By: 9, Resident: true, Rating: rating})
				mustOK(t, err)
			}
		}
		resolve(onTime.ID, 5)
		clock.Advance(25 * time.Hour)
		resolve(late.ID, 2)
		until := clock.Now().Add(time.Second)
		clock.Advance(time.Minute)
		submit(alice, tr.alice.ID, "noise") // after the period

		got, err := st.MatterFigures(ctx, staff, tr.community.ID, since, until)
		mustOK(t, err)
		want := []matter.CategoryFigures{
			{Category: "lift", Name: "电梯故障", NameEn: "Lift", Submitted: 3, Resolved: 2, Overdue: 2, Rated: 2, RatingSum: 7},
			{Category: "noise", Name: "噪音", Submitted: 1},
		}
		if len(got) != len(want) {
			t.Fatalf("figures %+v", got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("line %d: %+v, want %+v", i, got[i], want[i])
			}
		}
		if s := got[0].Satisfaction(); s != 3.5 {
			t.Errorf("satisfaction %v", s)
		}
		if none, err := st.MatterFigures(ctx, auth.Scope{{CommunityID: other.community.ID}}, tr.community.ID, since, until); err != nil || len(none) != 0 {
			t.Errorf("another community's staff sees %+v %v", none, err)
		}
	})
}
