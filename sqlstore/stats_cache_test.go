package sqlstore_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestStatsKeptUntilChanged holds the kept statistics to the database:
// two stores on one database are two nodes; a read on one is answered
// from memory while the statistics' version has not moved, and shows at
// once a case written on the other node, a write made behind both
// stores' backs, and a new day. Every answer equals the raw cases'.
func TestStatsKeptUntilChanged(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			dsn := sqlstoretest.DSN(t, d)
			one := sqlstoretest.OpenDSN(t, dsn, clock)
			res, err := demo.Load(ctx, one, "demo-password-for-tests")
			mustOK(t, err)
			two := sqlstoretest.OpenDSN(t, dsn, clock)
			c := res.CommunityID
			admin := assoc.Access{Admin: []int64{c}}
			read := func(st *sqlstore.Store, when string) assoc.ServiceStats {
				t.Helper()
				got, err := st.AssociationStats(ctx, admin, assoc.StatsFilter{})
				mustOK(t, err)
				raw, err := st.AssociationStatsRaw(ctx, admin, assoc.StatsFilter{})
				mustOK(t, err)
				g, _ := json.Marshal(got)
				r, _ := json.Marshal(raw)
				if string(g) != string(r) {
					t.Errorf("%s: the figures are not the raw cases':\n%s\n%s", when, g, r)
				}
				return got
			}
			exec := func(q string, a ...any) {
				t.Helper()
				if _, err := one.DB().ExecContext(ctx, q, a...); err != nil {
					t.Fatal(err)
				}
			}
			version := func() int64 {
				t.Helper()
				var v int64
				mustOK(t, one.DB().QueryRowContext(ctx, "SELECT version FROM change_counters WHERE name = 'stats'").Scan(&v))
				return v
			}
			first := read(one, "first read")
			read(two, "first read on the other node")
			if len(first.Associations) == 0 || first.Total.Individual == 0 {
				t.Fatalf("the demo's statistics are empty: the test tests nothing: %+v", first.Total)
			}
			line := first.Associations[0]

			// The caller's copy is its own.
			want := first.Associations[0].Months[0].Individual
			first.Associations[0].Months[0].Individual += 1000
			if again := read(one, "after the caller changed its copy"); again.Associations[0].Months[0].Individual != want {
				t.Errorf("the kept figures changed with the caller's copy: %d", again.Associations[0].Months[0].Individual)
			}

			// Kept: a rename with the version put back is not seen...
			v := version()
			exec("UPDATE associations SET name = $1 WHERE id = $2", "改了名", line.AssociationID)
			moved := version()
			if moved <= v {
				t.Fatalf("renaming an association did not move the version: %d then %d", v, moved)
			}
			exec("UPDATE change_counters SET version = $1 WHERE name = 'stats'", v)
			got, err := one.AssociationStats(ctx, admin, assoc.StatsFilter{})
			mustOK(t, err)
			if got.Associations[0].Name != line.Name {
				t.Errorf("with the version unmoved the figures were read again: %q", got.Associations[0].Name)
			}
			// ... and seen once the version moves: behind the stores' backs.
			exec("UPDATE change_counters SET version = $1 WHERE name = 'stats'", moved)
			for _, st := range []*sqlstore.Store{one, two} {
				if got := read(st, "after a rename behind the store"); got.Associations[0].Name != "改了名" {
					t.Errorf("a rename behind the store does not show: %q", got.Associations[0].Name)
				}
			}

			// A case written on the other node.
			var person int64
			mustOK(t, one.DB().QueryRowContext(ctx, "SELECT MIN(id) FROM people WHERE community_id = $1", c).Scan(&person))
			x := assoc.Case{AssociationID: line.AssociationID, Kind: assoc.KindIndividual, PersonID: person, Summary: "另一节点记录", OpenedAt: clock.Now()}
			mustOK(t, two.CreateCase(ctx, admin, &x))
			if got := read(one, "after a case on the other node"); got.Total.Individual != first.Total.Individual+1 {
				t.Errorf("a case written on the other node does not show: %d individual services, %d before", got.Total.Individual, first.Total.Individual)
			}

			// Many readers at once after a write: one read for all of them,
			// the same figures for each.
			exec("UPDATE assoc_cases SET summary = $1 WHERE id = $2", "别处改的", x.ID)
			fresh, err := one.AssociationStatsRaw(ctx, admin, assoc.StatsFilter{})
			mustOK(t, err)
			wantJSON, _ := json.Marshal(fresh)
			var wg sync.WaitGroup
			answers := make([][]byte, 16)
			for i := range answers {
				wg.Go(func() {
					got, err := one.AssociationStats(ctx, admin, assoc.StatsFilter{})
					if err != nil {
						t.Error(err)
						return
					}
					answers[i], _ = json.Marshal(got)
				})
			}
			wg.Wait()
			for i, a := range answers {
				if string(a) != string(wantJSON) {
					t.Errorf("reader %d of 16 at once: %s, the raw cases %s", i, a, wantJSON)
				}
			}

			// A direct write to the cases moves the version too.
			moved = version()
			exec("UPDATE assoc_cases SET summary = $1 WHERE id = $2", "又改了", x.ID)
			if version() == moved {
				t.Error("a write to the cases did not move the version")
			}

			// A new year is another period: the open period follows the day.
			clock.Advance(time.Date(2027, 1, 1, 1, 0, 0, 0, time.UTC).Sub(clock.Now()))
			if got := read(one, "in the new year"); got.Period.From != "2027-01-01" || got.Total.Individual != 0 {
				t.Errorf("in the new year: %+v, %d individual services", got.Period, got.Total.Individual)
			}
		})
	}
}
