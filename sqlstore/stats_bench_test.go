package sqlstore_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// Five years of synthetic services in the demo community.
const (
	benchIndividual = 100000
	benchGroup      = 10000
)

// benchServices makes the services: individual ones for residents picked
// at random, group ones with up to eight named attendees, on days spread
// evenly from 1 January 2022 to the clock's day.
func benchServices(associations, people []int64, until time.Time) []assoc.Case {
	rng := rand.New(rand.NewPCG(5, 100000))
	loc, _ := time.LoadLocation("Asia/Shanghai")
	start := time.Date(2022, 1, 1, 9, 0, 0, 0, loc)
	days := int(until.Sub(start).Hours() / 24)
	out := make([]assoc.Case, 0, benchIndividual+benchGroup)
	for i := 0; i < benchIndividual+benchGroup; i++ {
		at := start.AddDate(0, 0, rng.IntN(days+1)).Add(time.Duration(rng.IntN(8*60)) * time.Minute)
		c := assoc.Case{AssociationID: associations[rng.IntN(len(associations))], Summary: "合成服务记录", Day: at.Format(time.DateOnly), OpenedAt: at}
		if i < benchIndividual {
			c.Kind, c.PersonID, c.Status, c.Outcome = assoc.KindIndividual, people[rng.IntN(len(people))], assoc.CaseClosed, "已办结"
		} else {
			c.Kind, c.Status, c.Place, c.Topic = assoc.KindGroup, assoc.CaseHeld, "社区活动室", "合成活动"
			seen := map[int64]bool{}
			for k, n := 0, rng.IntN(9); k < n; k++ {
				if p := people[rng.IntN(len(people))]; !seen[p] {
					seen[p] = true
					c.Attendees = append(c.Attendees, p)
				}
			}
			c.Attendance = len(c.Attendees) + 5 + rng.IntN(40)
		}
		out = append(out, c)
	}
	return out
}

// BenchmarkAssociationStats times the dashboard's figures for the demo
// community with five years of services, from the rollup and from the
// raw tables side by side, on both dialects, for this year, the five
// years, and a period that starts and ends inside months. From the
// rollup: the same read again and again (rollup; kept figures answer it),
// with the statistics' version moved before each call (rollup-changed:
// computed afresh every time), from 8 and 32 callers at once (rollup-c8,
// rollup-c32), and from 32 with the version moved every tenth call
// (rollup-c32-changed), as a dashboard in use while cases are written.
// Each line starts with one untimed round of calls, then reports the
// median and 99th percentile of its calls
// (p50-ms, p99-ms; for the concurrent lines, of each call's own time) and
// the process's CPU time per call (cpu-ms/op; PostgreSQL's own CPU is not
// in it). The file uses only what older builds have too, so that it can
// be copied onto one to compare old and new.
func BenchmarkAssociationStats(b *testing.B) {
	for _, d := range sqlstoretest.Dialects() {
		b.Run(d, func(b *testing.B) {
			ctx := b.Context()
			clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
			st := sqlstoretest.Open(b, d, clock)
			res, err := demo.Load(ctx, st, "demo-password-for-tests")
			if err != nil {
				b.Fatal(err)
			}
			admin := assoc.Access{Admin: []int64{res.CommunityID}}
			as, err := st.ListAssociations(ctx, everywhere, community.Filter{CommunityID: res.CommunityID})
			if err != nil {
				b.Fatal(err)
			}
			var associations, people []int64
			for _, a := range as.Items {
				associations = append(associations, a.ID)
			}
			for off := 0; ; off += shequ.MaxLimit {
				ps, err := st.ListPeople(ctx, everywhere, community.Filter{CommunityID: res.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit, Offset: off}})
				if err != nil {
					b.Fatal(err)
				}
				for _, p := range ps.Items {
					people = append(people, p.ID)
				}
				if off+shequ.MaxLimit >= ps.Total {
					break
				}
			}
			services := benchServices(associations, people, clock.Now())
			began := time.Now()
			if err := st.BulkCases(ctx, res.CommunityID, services); err != nil {
				b.Fatal(err)
			}
			b.Logf("%s: %d services for %d residents stored with their rollup in %v", d, len(services), len(people), time.Since(began).Round(time.Millisecond))
			periods := []struct {
				name string
				f    assoc.StatsFilter
			}{
				{"year", assoc.StatsFilter{}},
				{"five-years", assoc.StatsFilter{From: "2022-01-01", To: "2026-12-31"}},
				{"part-months", assoc.StatsFilter{From: "2025-03-15", To: "2026-06-10"}},
			}
			for _, p := range periods {
				roll, err := st.AssociationStats(ctx, admin, p.f)
				if err != nil {
					b.Fatal(err)
				}
				raw, err := st.AssociationStatsRaw(ctx, admin, p.f)
				if err != nil {
					b.Fatal(err)
				}
				if !reflect.DeepEqual(roll, raw) {
					b.Fatalf("%s: the rollup and the raw tables disagree: %+v against %+v", p.name, roll.Total, raw.Total)
				}
				b.Logf("%s %s: %d individual, %d group, %d people served", d, p.name, roll.Total.Individual, roll.Total.Group, roll.Total.PeopleServed)
			}
			// bump moves the statistics' version as any write to a case
			// would. It writes a row on a build without that version too
			// (the notices' version), so that both pay for a write and for
			// what a write does to the readers' page caches.
			bump := func() error {
				_, err := st.DB().ExecContext(ctx, "UPDATE change_counters SET version = version + 1 WHERE name IN ('stats', 'notices')")
				return err
			}
			for _, p := range periods {
				rollup := func() (assoc.ServiceStats, error) { return st.AssociationStats(ctx, admin, p.f) }
				for _, c := range []struct {
					name    string
					fn      func() (assoc.ServiceStats, error)
					callers int // 0: one after the other
					// bumpEvery moves the version before every so many calls
					// (0: never), so that they are computed afresh.
					bumpEvery int
				}{
					{"rollup", rollup, 0, 0},
					{"rollup-changed", rollup, 0, 1},
					{"rollup-c8", rollup, 8, 0},
					{"rollup-c32", rollup, 32, 0},
					{"rollup-c32-changed", rollup, 32, 10},
					{"raw", func() (assoc.ServiceStats, error) { return st.AssociationStatsRaw(ctx, admin, p.f) }, 0, 0},
				} {
					b.Run(fmt.Sprintf("%s/%s", p.name, c.name), func(b *testing.B) {
						b.ReportAllocs()
						took := make([]time.Duration, b.N)
						var next atomic.Int64
						var failed atomic.Pointer[error]
						call := func() bool {
							i := next.Add(1) - 1
							if i >= int64(b.N) {
								return false
							}
							if c.bumpEvery > 0 && i%int64(c.bumpEvery) == 0 {
								if err := bump(); err != nil {
									failed.Store(&err)
									return false
								}
							}
							began := time.Now()
							if _, err := c.fn(); err != nil {
								failed.Store(&err)
								return false
							}
							took[i] = time.Since(began)
							return true
						}
						// One untimed round first, as many calls at once as
						// will be timed: the connections a burst needs are
						// opened here (a new PostgreSQL connection costs
						// more than a read), not in the first timed calls.
						var warm sync.WaitGroup
						for range max(c.callers, 1) {
							warm.Go(func() {
								if _, err := c.fn(); err != nil {
									failed.Store(&err)
								}
							})
						}
						warm.Wait()
						cpu := cpuTime()
						b.ResetTimer()
						if c.callers == 0 {
							for call() {
							}
						} else {
							var wg sync.WaitGroup
							for range c.callers {
								wg.Go(func() {
									for call() {
									}
								})
							}
							wg.Wait()
						}
						b.StopTimer()
						if err := failed.Load(); err != nil {
							b.Fatal(*err)
						}
						b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
						reportPercentiles(b, took)
					})
				}
			}
		})
	}
}

// cpuTime is the CPU time the process has used, all threads: on a shared
// machine it moves far less with the load than the time on the clock.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// reportPercentiles adds the median and the 99th percentile of the
// iterations' times to a benchmark's line, in milliseconds (nearest rank).
func reportPercentiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(took)))) - 1
		return float64(took[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}
