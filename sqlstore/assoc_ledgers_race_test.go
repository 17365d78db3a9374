package sqlstore_test

import (
	"fmt"
	"testing"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestConcurrentEntryUpdatesKeepBoth: two staff changing different fields
// of one ledger entry at once (a PATCH each) are both told OK, and the
// entry keeps both changes (on PostgreSQL one used to write over the
// other; found in review).
func TestConcurrentEntryUpdatesKeepBoth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		w := makeRelief(t, st, "lu")
		lost := 0
		for i := 0; i < 20; i++ {
			p := community.Person{HouseholdID: w.tr.household1.ID, Name: fmt.Sprintf("r%d", i), BirthDate: "1950-01-01", Gender: "male"}
			mustOK(t, st.CreatePerson(ctx, everywhere, &p))
			e := assoc.LedgerEntry{PersonID: p.ID, Values: map[string]any{"pension": 1000.0}}
			mustOK(t, st.CreateEntry(ctx, assoc.Everything, w.c, assoc.HouseholdsInDifficulty, &e))
			changes := []map[string]any{{"pension": 2000.0}, {"difficulty": "illness"}}
			errs := atOnce(len(changes), func(k int) error {
				_, err := st.UpdateEntry(ctx, w.bf, w.c, assoc.HouseholdsInDifficulty, e.ID, assoc.EntryChange{Values: changes[k]})
				return err
			})
			mustOK(t, errs[0])
			mustOK(t, errs[1])
			got, err := st.Entry(ctx, w.bf, w.c, assoc.HouseholdsInDifficulty, e.ID)
			mustOK(t, err)
			if assoc.Canonical(got.Values["pension"]) != assoc.Canonical(2000.0) || got.Values["difficulty"] != "illness" {
				lost++
				if lost == 1 {
					t.Logf("entry %d after two successful updates: %v", e.ID, got.Values)
				}
			}
		}
		if lost > 0 {
			t.Errorf("%d of 20 entries lost one of two concurrent, both-acknowledged field updates", lost)
		}
	})
}
