package sqlstore_test

import (
	"context"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestListStampsMove: every change a kept list can show moves its stamp
// (migration 00044), through the store or in SQL past it, and a change it
// cannot show leaves the stamp alone.
func TestListStampsMove(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "ls")
		all := auth.Scope{{}}
		stamps := func() map[string]int64 {
			t.Helper()
			out := map[string]int64{}
			for _, l := range []string{"homes", "incidents", "notices"} {
				s, ok, err := st.ListStamp(ctx, l)
				if err != nil || !ok {
					t.Fatalf("stamp %s: %v %v", l, ok, err)
				}
				out[l] = s
			}
			return out
		}
		sql := func(q string, args ...any) func() error {
			return func() error {
				if _, err := st.DB().ExecContext(ctx, q, args...); err != nil {
					return err
				}
				// Past the store, as another node: heard with its
				// notification (or the file's next poll).
				return st.HeardCounters(ctx)
			}
		}
		var home community.Home
		var incident int64
		for _, c := range []struct {
			what  string
			do    func() error
			moved []string // the lists whose stamps must move; the others must not
		}{
			{"a home added", func() error {
				home = community.Home{BuildingID: tr.building1.ID, Floor: 3, Door: "301"}
				return st.CreateHome(ctx, all, &home)
			}, []string{"homes", "incidents"}},
			{"a home's door", func() error {
				home.Door = "302"
				return st.UpdateHome(ctx, all, &home)
			}, []string{"homes", "incidents"}},
			{"a building renamed in SQL", sql("UPDATE buildings SET name = 'X栋' WHERE id = $1", tr.building2.ID), []string{"homes", "incidents"}},
			{"a household added", func() error {
				return st.CreateHousehold(ctx, all, &community.Household{HomeID: home.ID, Name: "新户"})
			}, []string{"homes", "incidents", "notices"}},
			{"a household moved in SQL", sql("UPDATE households SET home_id = $1 WHERE id = $2", tr.home2.ID, tr.household1.ID), []string{"homes", "incidents", "notices"}},
			{"an SOS", func() error {
				o, err := st.RaiseSOS(ctx, all, tr.home1.ID, "测试", 0, 0)
				incident = o.Incident.ID
				return err
			}, []string{"incidents"}},
			{"an incident's count in SQL", func() error {
				return sql("UPDATE incidents SET event_count = event_count + 1 WHERE id = $1", incident)()
			}, []string{"incidents"}},
			{"a building's address", sql("UPDATE buildings SET address = 'elsewhere' WHERE id = $1", tr.building2.ID), nil},
			{"a community's phone", sql("UPDATE communities SET phone = '110' WHERE id = $1", tr.community.ID), nil},
		} {
			before := stamps()
			if err := c.do(); err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
			after := stamps()
			for l := range before {
				want := false
				for _, m := range c.moved {
					want = want || m == l
				}
				if got := after[l] != before[l]; got != want {
					t.Errorf("%s: the %s stamp moved %v, want %v", c.what, l, got, want)
				}
			}
		}

		// A store bound to a transaction keeps nothing: it reads its own
		// uncommitted writes.
		err := st.Atomic(ctx, func(tx *sqlstore.Store) error {
			if _, ok, err := tx.ListStamp(context.Background(), "homes"); ok || err != nil {
				t.Errorf("stamp inside a transaction: ok %v, %v", ok, err)
			}
			return nil
		})
		mustOK(t, err)
		if _, _, err := st.ListStamp(ctx, "nothing"); err == nil {
			t.Error("a stamp of no list")
		}
	})
}
