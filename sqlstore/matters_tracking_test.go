package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestMatterTrackingConcurrent: two store handles on one database (two
// nodes) submitting at once each get a number of the day nobody else has,
// with no submission refused, and the numbers run 1..n.
func TestMatterTrackingConcurrent(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			dsn := sqlstoretest.DSN(t, d)
			nodes := []*sqlstore.Store{sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)}
			ctx := t.Context()
			tr := makeTree(t, nodes[0], "tc")
			mustOK(t, nodes[0].CreateCategory(ctx, everywhere, &matter.Category{CommunityID: tr.community.ID, Code: "lift", Name: "电梯故障", SLAHours: 24}))
			alice := auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}
			const workers, each = 8, 5
			var mu sync.Mutex
			seen := map[string]bool{}
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						m := matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: fmt.Sprintf("第%d-%d", w, i)}
						if err := nodes[w%2].SubmitMatter(ctx, alice, &m); err != nil {
							t.Errorf("worker %d submission %d: %v", w, i, err)
							return
						}
						mu.Lock()
						if seen[m.Tracking] {
							t.Errorf("%s given twice", m.Tracking)
						}
						seen[m.Tracking] = true
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			for n := 1; n <= workers*each; n++ {
				if want := matter.TrackingNumber(clock.Now(), int64(n)); !seen[want] {
					t.Errorf("%s not given (%d numbers)", want, len(seen))
				}
			}
			// The next day starts again at 1.
			clock.Advance(24 * time.Hour)
			m := matter.Matter{PersonID: tr.alice.ID, Category: "lift", Description: "明天"}
			mustOK(t, nodes[1].SubmitMatter(ctx, alice, &m))
			if want := matter.TrackingNumber(clock.Now(), 1); m.Tracking != want {
				t.Errorf("next day %s, want %s", m.Tracking, want)
			}
		})
	}
}
