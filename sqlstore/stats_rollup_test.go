package sqlstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// servedKey is an association's month.
type servedKey struct {
	association int64
	month       string
}

// recountServed counts the residents of every association's month from
// the cases alone, as case_people (each resident with the services that
// name them) and case_served (the month's set as text) should hold them.
func recountServed(t *testing.T, st *sqlstore.Store) (map[string]int, map[servedKey]string) {
	t.Helper()
	rows, err := st.DB().QueryContext(t.Context(), `SELECT cs.association_id, SUBSTR(cs.day, 1, 7), cs.person_id FROM assoc_cases cs WHERE cs.person_id IS NOT NULL
		UNION ALL SELECT cs.association_id, SUBSTR(cs.day, 1, 7), ca.person_id FROM case_attendees ca JOIN assoc_cases cs ON cs.id = ca.case_id`)
	mustOK(t, err)
	defer rows.Close()
	refs := map[string]int{}
	people := map[servedKey][]int64{}
	for rows.Next() {
		var k servedKey
		var p int64
		mustOK(t, rows.Scan(&k.association, &k.month, &p))
		key := fmt.Sprintf("%d %s %d", k.association, k.month, p)
		if refs[key] == 0 {
			people[k] = append(people[k], p)
		}
		refs[key]++
	}
	mustOK(t, rows.Err())
	sets := map[servedKey]string{}
	for k, ids := range people {
		slices.Sort(ids)
		sets[k] = sqlstore.FormatServedSet(ids)
	}
	return refs, sets
}

// storedServed reads case_people and case_served as they are.
func storedServed(t *testing.T, st *sqlstore.Store) (map[string]int, map[servedKey]string) {
	t.Helper()
	ctx := t.Context()
	refs := map[string]int{}
	rows, err := st.DB().QueryContext(ctx, "SELECT association_id, month, person_id, refs FROM case_people")
	mustOK(t, err)
	for rows.Next() {
		var a, p int64
		var m string
		var n int
		mustOK(t, rows.Scan(&a, &m, &p, &n))
		refs[fmt.Sprintf("%d %s %d", a, m, p)] = n
	}
	mustOK(t, rows.Err())
	rows.Close()
	sets := map[servedKey]string{}
	rows, err = st.DB().QueryContext(ctx, "SELECT association_id, month, people, ids FROM case_served")
	mustOK(t, err)
	defer rows.Close()
	for rows.Next() {
		var k servedKey
		var n int
		var text string
		mustOK(t, rows.Scan(&k.association, &k.month, &n, &text))
		ids, err := sqlstore.ParseServedSet(text)
		if err != nil || len(ids) != n {
			t.Errorf("set of %+v: %q says %d people: %v, %v", k, text, n, ids, err)
		}
		sets[k] = text
	}
	mustOK(t, rows.Err())
	return refs, sets
}

// sameAsRecount checks the rollup's residents against a recount from the
// cases: the same residents with the same number of services in every
// association's month, and the same sets, written alike.
func sameAsRecount(t *testing.T, st *sqlstore.Store, when string) {
	t.Helper()
	wantRefs, wantSets := recountServed(t, st)
	gotRefs, gotSets := storedServed(t, st)
	if !maps.Equal(gotRefs, wantRefs) {
		t.Errorf("%s: case_people has %d rows, the cases say %d:\n%v\n%v", when, len(gotRefs), len(wantRefs), gotRefs, wantRefs)
	}
	if !maps.Equal(gotSets, wantSets) {
		for k, v := range wantSets {
			if gotSets[k] != v {
				t.Errorf("%s: %+v: case_served says %q, the cases %q", when, k, gotSets[k], v)
			}
		}
		for k, v := range gotSets {
			if _, ok := wantSets[k]; !ok {
				t.Errorf("%s: %+v: case_served says %q, the cases nothing", when, k, v)
			}
		}
	}
	if len(wantSets) == 0 {
		t.Errorf("%s: no residents served at all: the test tests nothing", when)
	}
}

// The rollup equals a recount from the cases after many random writes:
// services recorded, moved to other days and months, given to other
// residents, attendees named and dropped, closed and reopened; and a
// resident's erasure leaves every figure byte for byte as it was.
func TestRollupEqualsRecountAfterRandomWrites(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		res, err := demo.Load(ctx, st, "demo-password-for-tests")
		mustOK(t, err)
		c := res.CommunityID
		admin := assoc.Access{Admin: []int64{c}}
		ids := func(q string) []int64 {
			rows, err := st.DB().QueryContext(ctx, q, c)
			mustOK(t, err)
			defer rows.Close()
			var out []int64
			for rows.Next() {
				var id int64
				mustOK(t, rows.Scan(&id))
				out = append(out, id)
			}
			mustOK(t, rows.Err())
			return out
		}
		associations := ids("SELECT id FROM associations WHERE community_id = $1 ORDER BY id")
		// Few residents, so that the same ones come back month after month.
		people := ids("SELECT id FROM people WHERE community_id = $1 ORDER BY id LIMIT 25")
		sameAsRecount(t, st, "after the demo")

		rng := rand.New(rand.NewPCG(13, 2026))
		now := clock.Now()
		// A moment of the last eleven months, a day of the last eleven months.
		when := func() time.Time { return now.Add(-time.Duration(rng.IntN(330*24)) * time.Hour) }
		day := func() string { return when().In(shanghai(t)).Format(time.DateOnly) }
		attendees := func() []int64 {
			var out []int64
			for _, i := range rng.Perm(len(people))[:rng.IntN(6)] {
				out = append(out, people[i])
			}
			return out
		}
		var made []assoc.Case
		for step := range 160 {
			switch op := rng.IntN(10); {
			case op < 5 || len(made) == 0:
				x := assoc.Case{AssociationID: associations[rng.IntN(len(associations))], Summary: fmt.Sprintf("随机服务 %d", step)}
				if rng.IntN(3) == 0 {
					x.Kind, x.Day, x.Place, x.Topic, x.Attendees = assoc.KindGroup, day(), "活动室", "讲座", attendees()
					x.Attendance = len(x.Attendees) + 1 + rng.IntN(20)
				} else {
					x.Kind, x.PersonID, x.OpenedAt = assoc.KindIndividual, people[rng.IntN(len(people))], when()
				}
				mustOK(t, st.CreateCase(ctx, admin, &x))
				made = append(made, x)
			case op < 8:
				i := rng.IntN(len(made))
				x := made[i]
				ch := assoc.CaseChange{Summary: x.Summary + "（改）"}
				if x.Kind == assoc.KindGroup {
					ch.Day, ch.Place, ch.Topic, ch.Attendees = x.Day, x.Place, x.Topic, x.Attendees
					if rng.IntN(2) == 0 {
						ch.Day = day()
					}
					if rng.IntN(2) == 0 {
						ch.Attendees = attendees()
					}
					ch.Attendance = len(ch.Attendees) + 1
				} else {
					ch.PersonID, ch.OpenedAt = x.PersonID, x.OpenedAt
					if rng.IntN(2) == 0 {
						ch.PersonID = people[rng.IntN(len(people))]
					}
					if rng.IntN(2) == 0 {
						ch.OpenedAt = when()
					}
				}
				got, err := st.UpdateCase(ctx, admin, x.ID, ch)
				mustOK(t, err)
				made[i] = got
			default:
				i := rng.IntN(len(made))
				if made[i].Kind != assoc.KindIndividual {
					continue
				}
				var got assoc.Case
				if made[i].Status == assoc.CaseClosed {
					got, err = st.ReopenCase(ctx, admin, made[i].ID, "居民又来了")
				} else {
					got, err = st.CloseCase(ctx, admin, made[i].ID, "已办结")
				}
				mustOK(t, err)
				made[i] = got
			}
			clock.Advance(time.Minute)
		}
		sameAsRecount(t, st, "after random writes")
		periods := []assoc.StatsFilter{{}, {From: "2025-12-01", To: "2026-11-30"}, {From: "2026-02-14", To: "2026-09-03"}, {From: "2026-06-01", To: "2026-06-30"}, {From: "2026-05-20", To: "2026-05-21"}}
		for range 5 {
			from := when().In(shanghai(t))
			periods = append(periods, assoc.StatsFilter{From: from.Format(time.DateOnly), To: from.AddDate(0, 0, rng.IntN(200)).Format(time.DateOnly)})
		}
		for _, f := range periods {
			roll, err := st.AssociationStats(ctx, admin, f)
			mustOK(t, err)
			raw, err := st.AssociationStatsRaw(ctx, admin, f)
			mustOK(t, err)
			if !jsonEqual(roll, raw) {
				t.Errorf("%+v: the rollup says\n%+v\nthe cases say\n%+v", f, roll.Total, raw.Total)
			}
		}

		// Erasure: the resident served most often goes; every figure stays.
		var person int64
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT person_id FROM case_people WHERE community_id = $1 GROUP BY person_id ORDER BY SUM(refs) DESC, person_id LIMIT 1", c).Scan(&person))
		figures := func() []string {
			var out []string
			for _, f := range periods {
				s, err := st.AssociationStats(ctx, admin, f)
				mustOK(t, err)
				b, err := json.Marshal(s)
				mustOK(t, err)
				out = append(out, string(b))
			}
			return out
		}
		before := figures()
		director, err := st.UserByName(ctx, "director")
		mustOK(t, err)
		office := auth.WithActor(context.Background(), &auth.Actor{User: director})
		req, err := st.RequestErasure(office, person, "搬离本社区")
		mustOK(t, err)
		if _, err := st.DecideErasure(office, everywhere, req.ID, true, ""); err != nil {
			t.Fatalf("erasure: %v", err)
		}
		if after := figures(); !slices.Equal(after, before) {
			for i := range before {
				if before[i] != after[i] {
					t.Errorf("%+v: the figures changed with the erasure:\n%s\n%s", periods[i], before[i], after[i])
				}
			}
		}
		sameAsRecount(t, st, "after the erasure")
	})
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	mustOK(t, err)
	return loc
}
