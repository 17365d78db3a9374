package sqlstore_test

import (
	"context"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// The Open311 listing's version moves with every write that can change
// what a community's listing shows, and only that community's: the web
// layer keeps a listing while it reads the same number.
func TestOpen311VersionMoves(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "ov")
		other := makeTree(t, st, "ovx")
		for _, c := range []int64{tr.community.ID, other.community.ID} {
			mustOK(t, st.CreateCategory(ctx, everywhere, &matter.Category{CommunityID: c, Code: "repair", Name: "维修", SLAHours: 72}))
		}
		admin := auth.Scope{{CommunityID: tr.community.ID}}
		k := open311.Open311Key{CommunityID: tr.community.ID, Name: "hotline"}
		_, err := st.CreateOpen311Key(ctx, admin, &k)
		mustOK(t, err)
		var filed matter.Matter // the matter filed over Open311, once it is
		exec := func(q string, args ...any) func(context.Context) error {
			return func(ctx context.Context) error {
				_, err := st.DB().ExecContext(ctx, q, args...)
				return err
			}
		}
		for _, tc := range []struct {
			name        string
			write       func(context.Context) error
			mine, other bool // whether each community's version moves
		}{
			{"a matter submitted", func(ctx context.Context) error {
				m := matter.Matter{CommunityID: tr.community.ID, Category: "repair", Description: "灯坏了", Channel: "office"}
				return st.SubmitMatter(ctx, admin, &m)
			}, true, false},
			{"a request filed over Open311", func(ctx context.Context) error {
				filed = matter.Matter{Category: "repair", Description: "门坏了"}
				return st.SubmitOpen311(ctx, k, &filed, open311.Extra{BuildingID: tr.building2.ID, MediaURL: "https://example.org/p.jpg"})
			}, true, false},
			{"a matter stepped", func(ctx context.Context) error {
				_, err := st.StepMatter(ctx, admin, filed.ID, matter.Step{Action: "accept", By: 1, Note: "收到"})
				return err
			}, true, false},
			{"its media changed", func(ctx context.Context) error {
				return exec("UPDATE open311_requests SET media_url = 'https://example.org/q.jpg' WHERE matter_id = $1", filed.ID)(ctx)
			}, true, false},
			{"its building renamed", func(ctx context.Context) error {
				b := tr.building2
				b.Name = "B栋（新）"
				return st.UpdateBuilding(ctx, admin, &b)
			}, true, false},
			{"a category added", func(ctx context.Context) error {
				return st.CreateCategory(ctx, everywhere, &matter.Category{CommunityID: tr.community.ID, Code: "lift", Name: "电梯", SLAHours: 24})
			}, true, false},
			{"a category's promise changed", exec("UPDATE matter_categories SET sla_hours = 48 WHERE community_id = $1 AND code = 'repair'", tr.community.ID), true, false},
			{"its extras removed", func(ctx context.Context) error {
				return exec("DELETE FROM open311_requests WHERE matter_id = $1", filed.ID)(ctx)
			}, true, false},
			{"the other community's matter", func(ctx context.Context) error {
				m := matter.Matter{CommunityID: other.community.ID, Category: "repair", Description: "别处", Channel: "office"}
				return st.SubmitMatter(ctx, auth.Scope{{CommunityID: other.community.ID}}, &m)
			}, false, true},
			{"both communities' matters in one statement", exec("UPDATE matters SET updated_at = updated_at WHERE community_id IN ($1, $2)", tr.community.ID, other.community.ID), true, true},
			{"a person added: not shown", func(ctx context.Context) error {
				return st.CreatePerson(ctx, everywhere, &community.Person{HouseholdID: tr.household1.ID, Name: "赵六", BirthDate: "1990-01-01"})
			}, false, false},
			{"a home's door renamed: not shown", func(ctx context.Context) error {
				h := tr.home1
				h.Door = "1-101A"
				return st.UpdateHome(ctx, admin, &h)
			}, dialectMovesOnAnyHomeUpdate(st), false},
		} {
			mine0, err := st.Open311Version(ctx, tr.community.ID)
			mustOK(t, err)
			other0, err := st.Open311Version(ctx, other.community.ID)
			mustOK(t, err)
			if err := tc.write(ctx); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			mine1, err := st.Open311Version(ctx, tr.community.ID)
			mustOK(t, err)
			other1, err := st.Open311Version(ctx, other.community.ID)
			mustOK(t, err)
			if (mine1 > mine0) != tc.mine || mine1 < mine0 {
				t.Errorf("%s: this community's version %d → %d", tc.name, mine0, mine1)
			}
			if (other1 > other0) != tc.other || other1 < other0 {
				t.Errorf("%s: the other community's version %d → %d", tc.name, other0, other1)
			}
		}
		if v, err := st.Open311Version(ctx, 1<<40); err != nil || v != 0 {
			t.Errorf("a community never changed: %d %v", v, err)
		}
	})
}

// dialectMovesOnAnyHomeUpdate: PostgreSQL's statement triggers cannot
// name columns, so any update of a home moves its community's version
// there (harmless: the listing is read again once); SQLite's fire only
// when a home moves to another building.
func dialectMovesOnAnyHomeUpdate(st *sqlstore.Store) bool { return st.Dialect() == sqlstore.Postgres }
