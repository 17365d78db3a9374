package sqlstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
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

// TestStatsOneReadPerKeyAtATime holds the statistics of one key to one
// read at a time, however often writes move the version meanwhile: while
// a read is held up, 16 callers after a write and 16 after another wait,
// and once it ends a single read answers all 32, at the newest version
// they read. A caller that gives up while waiting to read leaves the
// others waiting for one read still. Every answer equals the raw cases
// after the last write.
func TestStatsOneReadPerKeyAtATime(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st, admin := demoStatsStore(t, d)
			first, err := st.AssociationStats(ctx, admin, assoc.StatsFilter{})
			mustOK(t, err)
			if len(first.Associations) == 0 || first.Total.Individual == 0 {
				t.Fatalf("the demo's statistics are empty: the test tests nothing: %+v", first.Total)
			}
			line := first.Associations[0].AssociationID
			version := func() int64 {
				t.Helper()
				var v int64
				mustOK(t, st.DB().QueryRowContext(ctx, "SELECT version FROM change_counters WHERE name = 'stats'").Scan(&v))
				return v
			}
			rename := func(name string) int64 {
				t.Helper()
				_, err := st.DB().ExecContext(ctx, "UPDATE associations SET name = $1 WHERE id = $2", name, line)
				mustOK(t, err)
				return version()
			}
			// waitFor waits until n callers wait for another read.
			waitFor := func(n int) {
				t.Helper()
				for deadline := time.Now().Add(20 * time.Second); sqlstore.StatsWaiting(st) != n; time.Sleep(time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatalf("%d callers wait for another read, want %d", sqlstore.StatsWaiting(st), n)
					}
				}
			}

			var mu sync.Mutex
			var readAt []int64
			held, release := make(chan struct{}), make(chan struct{})
			let := sync.OnceFunc(func() { close(release) })
			t.Cleanup(let) // a failed test does not leave the read held
			sqlstore.SetStatsBeforeRead(st, func(v int64) {
				mu.Lock()
				readAt = append(readAt, v)
				n := len(readAt)
				mu.Unlock()
				if n == 1 {
					close(held)
					<-release
				}
			})
			reads := sqlstore.StatsReads(st)

			var wg sync.WaitGroup
			answers := make([][]byte, 33)
			errs := make([]error, 33)
			reader := func(ctx context.Context, i int) {
				wg.Go(func() {
					got, err := st.AssociationStats(ctx, admin, assoc.StatsFilter{})
					errs[i] = err
					answers[i], _ = json.Marshal(got)
				})
			}
			v1 := rename("第一次")
			reader(ctx, 0)
			<-held
			rename("第二次")
			// The first to wait after this write will give up.
			quitter, quit := context.WithCancel(ctx)
			defer quit()
			reader(quitter, 32)
			waitFor(1)
			for i := 1; i <= 15; i++ {
				reader(ctx, i)
			}
			waitFor(16)
			quit()
			waitFor(15)
			v3 := rename("第三次")
			for i := 16; i <= 31; i++ {
				reader(ctx, i)
			}
			waitFor(31)
			let()
			wg.Wait()

			if got := sqlstore.StatsReads(st) - reads; got != 2 {
				t.Errorf("33 callers over three versions read the statistics %d times, want 2", got)
			}
			if !slices.Equal(readAt, []int64{v1, v3}) {
				t.Errorf("read at versions %v, want %v", readAt, []int64{v1, v3})
			}
			raw, err := st.AssociationStatsRaw(ctx, admin, assoc.StatsFilter{})
			mustOK(t, err)
			want, _ := json.Marshal(raw)
			if !errors.Is(errs[32], context.Canceled) {
				t.Errorf("the caller that gave up: %v, want context.Canceled", errs[32])
			}
			for i := range 32 {
				if errs[i] != nil {
					t.Errorf("caller %d: %v", i, errs[i])
				} else if string(answers[i]) != string(want) {
					t.Errorf("caller %d: %s, the raw cases %s", i, answers[i], want)
				}
			}
			// Kept at the newest version.
			again, err := st.AssociationStats(ctx, admin, assoc.StatsFilter{})
			mustOK(t, err)
			if got := sqlstore.StatsReads(st) - reads; got != 2 || again.Associations[0].Name != "第三次" {
				t.Errorf("after the reads: %d reads, name %q", got, again.Associations[0].Name)
			}
		})
	}
}

// TestStatsReadThatPanicsEnds: a read of the figures that panics (the
// HTTP server recovers it) ends its flight, so that the next caller of the
// same figures reads them instead of waiting forever.
func TestStatsReadThatPanicsEnds(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st, admin := demoStatsStore(t, d)
			panicked := false
			sqlstore.SetStatsBeforeRead(st, func(int64) {
				if !panicked {
					panicked = true
					panic("a read goes wrong (test)")
				}
			})
			func() {
				defer func() {
					if recover() == nil {
						t.Fatal("the first read did not panic")
					}
				}()
				_, _ = st.AssociationStats(ctx, admin, assoc.StatsFilter{})
			}()
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			got, err := st.AssociationStats(wctx, admin, assoc.StatsFilter{})
			if err != nil {
				t.Fatalf("the read after the one that panicked: %v", err)
			}
			want, err := st.AssociationStatsRaw(ctx, admin, assoc.StatsFilter{})
			mustOK(t, err)
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(want)
			if string(g) != string(w) {
				t.Errorf("figures %s, want %s", g, w)
			}
		})
	}
}

// demoStatsStore is a store of dialect d with the demo's data, and the
// access of its community's administrator to the statistics.
func demoStatsStore(t *testing.T, d string) (*sqlstore.Store, assoc.Access) {
	t.Helper()
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.Open(t, d, clock)
	res, err := demo.Load(t.Context(), st, "demo-password-for-tests")
	mustOK(t, err)
	return st, assoc.Access{Admin: []int64{res.CommunityID}}
}
