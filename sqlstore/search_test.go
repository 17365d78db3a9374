package sqlstore_test

import (
	"slices"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/retention"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestAnonymisedMattersLeaveTheSearch: a matter anonymised by the
// retention chore or by an approved erasure is no longer found by the
// words it said (its search entry is removed with them, in the same
// transaction); the matters of others are still found.
func TestAnonymisedMattersLeaveTheSearch(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "sx")
		c := tr.community.ID
		cat := matter.Category{CommunityID: c, Code: "leak", Name: "漏水", SLAHours: 24}
		mustOK(t, st.CreateCategory(ctx, everywhere, &cat))
		submit := func(person, household int64, desc string) matter.Matter {
			t.Helper()
			m := matter.Matter{PersonID: person, Category: "leak", Description: desc}
			mustOK(t, st.SubmitMatter(ctx, auth.Scope{{CommunityID: c, HouseholdID: household}}, &m))
			return m
		}
		closed := submit(tr.alice.ID, tr.household1.ID, "我叫王秀英，电话13912345678，楼上漏水")
		open := submit(tr.alice.ID, tr.household1.ID, "王秀英家厨房的水管又漏了")
		bobs := submit(tr.bob.ID, tr.household2.ID, "李明家卫生间漏水")

		db := st.DB()
		count := func(q string, a ...any) int {
			t.Helper()
			var n int
			mustOK(t, db.QueryRowContext(ctx, q, a...).Scan(&n))
			return n
		}
		found := func(scope auth.Scope, q string) map[int64]string {
			t.Helper()
			l, err := st.Search(ctx, map[string]auth.Scope{"matter": scope}, q, 0, shequ.Page{})
			mustOK(t, err)
			out := map[int64]string{}
			for _, r := range l.Items {
				out[r.ID] = r.Snippet
			}
			return out
		}
		staff := auth.Scope{{CommunityID: c}}
		household := auth.Scope{{CommunityID: c, HouseholdID: tr.household1.ID}}
		for _, sc := range []auth.Scope{staff, household} {
			if got := found(sc, "王秀英"); len(got) != 2 {
				t.Fatalf("before: %v, want the two matters of alice", got)
			}
		}

		// Retention: the closed matter, past its period, is anonymised.
		old := clock.Now().Add(-4 * 365 * retention.Day)
		_, err := db.ExecContext(ctx, `UPDATE matters SET status = 'closed', updated_at = $1 WHERE id = $2`, old, closed.ID)
		mustOK(t, err)
		_, err = retention.Run(ctx, st, clock)
		mustOK(t, err)
		for _, sc := range []auth.Scope{staff, household, everywhere} {
			for _, q := range []string{"王秀英", "13912345678", closed.Tracking} {
				if snip, ok := found(sc, q)[closed.ID]; ok {
					t.Errorf("after retention %v finds the anonymised matter by %q: %q", sc, q, snip)
				}
			}
		}
		if _, ok := found(staff, "王秀英")[open.ID]; !ok {
			t.Error("retention removed the open matter from the search too")
		}

		// Erasure: alice's remaining matter goes too; bob's stays.
		director := &auth.User{Username: "sx-director", Grants: []auth.Grant{{Role: auth.RoleAdmin, CommunityID: c}}}
		mustOK(t, st.CreateUser(ctx, everywhere, director, ""))
		office := auth.WithActor(ctx, &auth.Actor{User: *director})
		req, err := st.RequestErasure(office, tr.alice.ID, "搬走了")
		mustOK(t, err)
		_, err = st.DecideErasure(office, everywhere, req.ID, true, "")
		mustOK(t, err)
		if got := found(everywhere, "王秀英"); len(got) != 0 {
			t.Errorf("after erasure the search still finds %v", got)
		}
		if got := found(staff, "漏水"); len(got) != 1 || got[bobs.ID] == "" {
			t.Errorf("after erasure: %v, want bob's matter only", got)
		}
		// Nothing of the removed entries is left behind.
		ids := []any{closed.ID, open.ID}
		if n := count(`SELECT COUNT(*) FROM search_docs WHERE kind = 'matter' AND ref_id IN ($1, $2)`, ids...); n != 0 {
			t.Errorf("%d search entries left of anonymised matters", n)
		}
		if n := count(`SELECT COUNT(*) FROM search_targets t WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = t.doc_id)`); n != 0 {
			t.Errorf("%d search targets left without their entry", n)
		}
		if st.Dialect() == sqlstore.SQLite {
			if n := count(`SELECT COUNT(*) FROM search_fts f WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = f.rowid)`); n != 0 {
				t.Errorf("%d full-text rows left without their entry", n)
			}
		}
	})
}

// TestUnindexAnonymisedMattersMigration: the search entries of matters
// anonymised before anonymising removed them (as the old code left them)
// are removed by migration 00055; the entries of other matters stay.
func TestUnindexAnonymisedMattersMigration(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			st, clock := storeAtVersion(t, d, 54)
			tr := makeTree(t, st, "sm")
			c := tr.community.ID
			cat := matter.Category{CommunityID: c, Code: "leak", Name: "漏水", SLAHours: 24}
			mustOK(t, st.CreateCategory(ctx, everywhere, &cat))
			var ms [2]matter.Matter
			for i := range ms {
				ms[i] = matter.Matter{PersonID: tr.alice.ID, Category: "leak", Description: "王秀英家漏水"}
				mustOK(t, st.SubmitMatter(ctx, auth.Scope{{CommunityID: c, HouseholdID: tr.household1.ID}}, &ms[i]))
			}
			// The old anonymisation: the row cleared, its entry left.
			_, err := st.DB().ExecContext(ctx, `UPDATE matters SET description = '', address = '', person_id = NULL, household_id = NULL, anonymised_at = $1 WHERE id = $2`,
				clock.Now(), ms[0].ID)
			mustOK(t, err)
			found := func() []int64 {
				t.Helper()
				l, err := st.Search(ctx, map[string]auth.Scope{"matter": everywhere}, "王秀英", 0, shequ.Page{})
				mustOK(t, err)
				var out []int64
				for _, r := range l.Items {
					out = append(out, r.ID)
				}
				slices.Sort(out)
				return out
			}
			if got := found(); len(got) != 2 {
				t.Fatalf("before the migration: %v, want both matters (as the old code left them)", got)
			}
			_, err = st.Migrate(ctx)
			mustOK(t, err)
			if got := found(); !slices.Equal(got, []int64{ms[1].ID}) {
				t.Errorf("after the migration: %v, want only matter %d", got, ms[1].ID)
			}
			var n int
			mustOK(t, st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM search_targets t WHERE NOT EXISTS (SELECT 1 FROM search_docs d WHERE d.id = t.doc_id)`).Scan(&n))
			if n != 0 {
				t.Errorf("%d search targets left without their entry", n)
			}
		})
	}
}
