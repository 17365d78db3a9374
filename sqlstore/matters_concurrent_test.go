package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// Two steps on one resolved matter at once, of which the workflow allows
// only one: the second must be judged against what the first left.
func TestMatterConcurrentStepsTakeTurns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr, alice := liftMatters(t, st, "mr")
		staff := auth.Scope{{CommunityID: tr.community.ID}}
		type turn struct {
			scope auth.Scope
			step  matter.Step
		}
		rate := func(n int) turn {
			return turn{alice, matter.Step{Action: "rate", By: 9, Resident: true, Rating: n, Note: "rated"}}
		}
		for _, tc := range []struct {
			name string
			a, b turn
		}{
			{"two ratings", rate(1), rate(5)},
			{"reopen and close", turn{alice, matter.Step{Action: "reopen", By: 9, Resident: true, Note: "still stuck"}}, turn{staff, matter.Step{Action: "close", By: 1}}},
		} {
			both := 0
			for i := 0; i < 20; i++ {
				m := matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: "stuck"}
				mustOK(t, st.SubmitMatter(ctx, alice, &m))
				for _, a := range []string{"accept", "resolve"} {
					_, err := st.StepMatter(ctx, staff, m.ID, matter.Step{Action: a, By: 1})
					mustOK(t, err)
				}
				turns := []turn{tc.a, tc.b}
				errs := atOnce(len(turns), func(k int) error {
					_, err := st.StepMatter(ctx, turns[k].scope, m.ID, turns[k].step)
					return err
				})
				if errs[0] == nil && errs[1] == nil {
					both++
				} else if errs[0] != nil && errs[1] != nil {
					t.Errorf("%s: both refused: %v; %v", tc.name, errs[0], errs[1])
				}
			}
			if both > 0 {
				t.Errorf("%s: %d of 20 matters took both steps at once", tc.name, both)
			}
		}
	})
}

// Photos sent at once (four, where one fits) count each other against the cap.
func TestMatterPhotoCapUnderConcurrency(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr, alice := liftMatters(t, st, "mp")
		png := append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...)
		for i := 0; i < 20; i++ {
			m := matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: "stuck"}
			mustOK(t, st.SubmitMatter(ctx, alice, &m))
			for k := 0; k < sqlstore.MaxPhotos-1; k++ {
				_, err := st.AddMatterPhoto(ctx, alice, m.ID, blobOf(png))
				mustOK(t, err)
			}
			atOnce(4, func(int) error { // those over the cap are refused
				_, err := st.AddMatterPhoto(ctx, alice, m.ID, blobOf(png))
				return err
			})
			ids, err := st.MatterPhotoIDs(ctx, m.ID)
			mustOK(t, err)
			if len(ids) != sqlstore.MaxPhotos {
				t.Fatalf("matter %d has %d photos, want %d", m.ID, len(ids), sqlstore.MaxPhotos)
			}
		}
	})
}

// liftMatters is a community (makeTree) with a lift category, and the
// scope of alice's household, who files the matters.
func liftMatters(t *testing.T, st *sqlstore.Store, code string) (tree, auth.Scope) {
	t.Helper()
	tr := makeTree(t, st, code)
	cat := matter.Category{CommunityID: tr.community.ID, Code: "lift", Name: "电梯", SLAHours: 24}
	mustOK(t, st.CreateCategory(t.Context(), everywhere, &cat))
	return tr, auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}
}
