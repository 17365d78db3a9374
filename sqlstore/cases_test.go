package sqlstore_test

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// serviceWorld is makeLedgers' community with the services of the
// hand-counted fixture below recorded by an administrator.
type serviceWorld struct {
	ledgerWorld
	// ids of the fixture's services, by their number in the comment.
	ids map[int]int64
}

// makeServices records this fixture (the community is in Asia/Shanghai,
// UTC+8; the clock stands at 2026-11-28):
//
//  1. jiuye, individual, alice, opened 2026-03-10
//  2. jiuye, individual, alice, opened 2026-03-20
//  3. jiuye, individual, bob, opened 2026-05-02
//  4. bangjiao, individual, alice, opened 2026-05-15
//  5. jiuye, group, 2026-03-05, 30 came, bob and carol named
//  6. bangjiao, group, 2026-06-01, 12 came, nobody named
//  7. jiuye, individual, dave, opened 2025-12-31 17:00 UTC: 2026-01-01 01:00 in the community
//  8. jiuye, individual, carol, opened 2025-12-31 15:00 UTC: 2025-12-31 23:00 in the community
//
// and one placement: carol's job seeker entry (jiuye's), placed 2026-04-01.
func makeServices(t *testing.T, st *sqlstore.Store, code string) serviceWorld {
	t.Helper()
	ctx := t.Context()
	w := serviceWorld{ledgerWorld: makeLedgers(t, st, code), ids: map[int]int64{}}
	at := func(s string) time.Time {
		x, err := time.Parse(time.RFC3339, s)
		mustOK(t, err)
		return x
	}
	j, b := w.jiuye.ID, w.bangjiao.ID
	for n, c := range map[int]assoc.Case{
		1: {AssociationID: j, Kind: assoc.KindIndividual, PersonID: w.tr.alice.ID, Summary: "想找保洁工作", OpenedAt: at("2026-03-10T02:00:00Z")},
		2: {AssociationID: j, Kind: assoc.KindIndividual, PersonID: w.tr.alice.ID, Summary: "咨询培训补贴", OpenedAt: at("2026-03-20T02:00:00Z")},
		3: {AssociationID: j, Kind: assoc.KindIndividual, PersonID: w.tr.bob.ID, Summary: "失业登记", OpenedAt: at("2026-05-02T02:00:00Z")},
		4: {AssociationID: b, Kind: assoc.KindIndividual, PersonID: w.tr.alice.ID, Summary: "定期谈话", OpenedAt: at("2026-05-15T02:00:00Z")},
		5: {AssociationID: j, Kind: assoc.KindGroup, Day: "2026-03-05", Place: "社区活动室", Topic: "招聘会", Summary: "六家企业到场", Attendance: 30, Attendees: []int64{w.tr.bob.ID, w.carol.ID}},
		6: {AssociationID: b, Kind: assoc.KindGroup, Day: "2026-06-01", Place: "会议室", Topic: "法治讲座", Summary: "讲解社区矫正规定", Attendance: 12},
		7: {AssociationID: j, Kind: assoc.KindIndividual, PersonID: w.dave.ID, Summary: "求职登记", OpenedAt: at("2025-12-31T17:00:00Z")},
		8: {AssociationID: j, Kind: assoc.KindIndividual, PersonID: w.carol.ID, Summary: "求职登记", OpenedAt: at("2025-12-31T15:00:00Z")},
	} {
		mustOK(t, st.CreateCase(ctx, w.admin, &c))
		w.ids[n] = c.ID
	}
	e := assoc.LedgerEntry{PersonID: w.carol.ID, Values: map[string]any{"desired_work": "保洁", "status": "placed"}}
	mustOK(t, st.CreateEntry(ctx, w.admin, w.c, assoc.JobSeekers, &e))
	mustOK(t, st.AddFollowUp(ctx, w.admin, w.c, assoc.JobSeekers, e.ID, &assoc.FollowUp{Kind: assoc.Placed, At: at("2026-04-01T03:00:00Z")}))
	return w
}

// line is the figures of one line of the statistics, and month those of
// one month, in the order individual, group, people served, placements.
type line [4]int

func figures(s assoc.AssociationStats) line {
	return line{s.Individual, s.Group, s.PeopleServed, s.Placements}
}

func monthFigures(s assoc.AssociationStats, month string) line {
	for _, m := range s.Months {
		if m.Month == month {
			return line{m.Individual, m.Group, m.PeopleServed, m.Placements}
		}
	}
	return line{-1, -1, -1, -1}
}

func statsLine(t *testing.T, got assoc.ServiceStats, association int64) assoc.AssociationStats {
	t.Helper()
	for _, a := range got.Associations {
		if a.AssociationID == association {
			return a
		}
	}
	t.Fatalf("no line for association %d in %+v", association, got.Associations)
	return assoc.AssociationStats{}
}

func TestServiceStatsEqualHandCount(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeServices(t, st, "sh")
		for _, compute := range []struct {
			name string
			fn   func(f assoc.StatsFilter) (assoc.ServiceStats, error)
		}{
			{"rollup", func(f assoc.StatsFilter) (assoc.ServiceStats, error) { return st.AssociationStats(ctx, w.admin, f) }},
			{"raw", func(f assoc.StatsFilter) (assoc.ServiceStats, error) {
				return st.AssociationStatsRaw(ctx, w.admin, f)
			}},
		} {
			t.Run(compute.name, func(t *testing.T) {
				// This calendar year, by default: services 1–7, not 8.
				year, err := compute.fn(assoc.StatsFilter{})
				mustOK(t, err)
				if year.Period != (assoc.Period{From: "2026-01-01", To: "2026-12-31"}) || len(year.Associations) != 2 {
					t.Fatalf("period %+v, %d lines", year.Period, len(year.Associations))
				}
				jy, bj := statsLine(t, year, w.jiuye.ID), statsLine(t, year, w.bangjiao.ID)
				// jiuye: 1, 2, 3, 7 individual; 5 group; alice, bob, dave and carol (attended 5); carol placed.
				// bangjiao: 4 individual; 6 group; alice.
				// community: alice, bob, carol, dave — four people, not five.
				for _, c := range []struct {
					what string
					got  line
					want line
				}{
					{"jiuye", figures(jy), line{4, 1, 4, 1}},
					{"bangjiao", figures(bj), line{1, 1, 1, 0}},
					{"total", figures(year.Total), line{5, 2, 4, 1}},
					{"jiuye 2026-01", monthFigures(jy, "2026-01"), line{1, 0, 1, 0}},
					{"jiuye 2026-03", monthFigures(jy, "2026-03"), line{2, 1, 3, 0}},
					{"jiuye 2026-04", monthFigures(jy, "2026-04"), line{0, 0, 0, 1}},
					{"jiuye 2026-05", monthFigures(jy, "2026-05"), line{1, 0, 1, 0}},
					{"total 2026-05", monthFigures(year.Total, "2026-05"), line{2, 0, 2, 0}},
					{"total 2026-06", monthFigures(year.Total, "2026-06"), line{0, 1, 0, 0}},
					{"total 2026-12", monthFigures(year.Total, "2026-12"), line{0, 0, 0, 0}},
				} {
					if c.got != c.want {
						t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
					}
				}
				if len(jy.Months) != 12 {
					t.Errorf("jiuye has %d months", len(jy.Months))
				}
				// 15 March to 10 May, in parts of months: 2 and 3 only.
				part, err := compute.fn(assoc.StatsFilter{From: "2026-03-15", To: "2026-05-10"})
				mustOK(t, err)
				if got := figures(part.Total); got != (line{2, 0, 2, 1}) {
					t.Errorf("15 March to 10 May: got %v, want [2 0 2 1]", got)
				}
				// The last day of 2025: service 8 only.
				eve, err := compute.fn(assoc.StatsFilter{From: "2025-12-31", To: "2025-12-31"})
				mustOK(t, err)
				if got := figures(eve.Total); got != (line{1, 0, 1, 0}) {
					t.Errorf("31 December 2025: got %v, want [1 0 1 0]", got)
				}
				// One association asked for: that line, and the total over it.
				one, err := compute.fn(assoc.StatsFilter{AssociationID: w.bangjiao.ID})
				mustOK(t, err)
				if len(one.Associations) != 1 || figures(one.Total) != (line{1, 1, 1, 0}) {
					t.Errorf("bangjiao alone: %+v", one)
				}
			})
		}
	})
}

// sameStats checks that the rollup answers as the raw tables do, over
// periods that fall on whole months and some that do not.
func sameStats(t *testing.T, st *sqlstore.Store, acc assoc.Access, when string) {
	t.Helper()
	for _, f := range []assoc.StatsFilter{{}, {From: "2025-12-01", To: "2026-12-31"}, {From: "2026-03-15", To: "2026-05-10"}, {From: "2026-04-01", To: "2026-04-30"}, {From: "2025-12-31", To: "2026-01-01"}} {
		roll, err := st.AssociationStats(t.Context(), acc, f)
		mustOK(t, err)
		raw, err := st.AssociationStatsRaw(t.Context(), acc, f)
		mustOK(t, err)
		if !reflect.DeepEqual(roll, raw) {
			t.Errorf("%s, %+v: the rollup says\n%+v\nthe cases say\n%+v", when, f, roll, raw)
		}
	}
}

func TestRollupEqualsRawAfterChanges(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeServices(t, st, "rr")
		sameStats(t, st, w.admin, "after the fixture")
		sameStats(t, st, w.jy, "after the fixture, as jiuye")

		c1, err := st.CloseCase(ctx, w.jy, w.ids[1], "已推荐到物业公司")
		mustOK(t, err)
		if c1.Status != assoc.CaseClosed || c1.ClosedAt == nil || c1.Outcome == "" {
			t.Errorf("closed case %+v", c1)
		}
		_, err = st.CloseCase(ctx, w.jy, w.ids[1], "again")
		wantCode(t, "closing twice", err, shequ.ECONFLICT)
		c1, err = st.ReopenCase(ctx, w.jy, w.ids[1], "居民反映工作未落实")
		mustOK(t, err)
		if c1.Status != assoc.CaseOpen || c1.ClosedAt != nil || c1.Outcome != "" {
			t.Errorf("reopened case %+v", c1)
		}
		sameStats(t, st, w.admin, "after close and reopen")

		// Service 3 moves to carol and to April; service 5 loses carol and
		// moves to April; service 2 moves out of March.
		at := time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC)
		_, err = st.UpdateCase(ctx, w.jy, w.ids[3], assoc.CaseChange{PersonID: w.carol.ID, Summary: "失业登记", OpenedAt: at})
		mustOK(t, err)
		_, err = st.UpdateCase(ctx, w.admin, w.ids[5], assoc.CaseChange{Summary: "六家企业到场", Day: "2026-04-02", Place: "社区活动室", Topic: "招聘会", Attendance: 30, Attendees: []int64{w.tr.bob.ID}})
		mustOK(t, err)
		_, err = st.UpdateCase(ctx, w.jy, w.ids[2], assoc.CaseChange{PersonID: w.tr.alice.ID, Summary: "咨询培训补贴", OpenedAt: time.Date(2026, 7, 1, 2, 0, 0, 0, time.UTC)})
		mustOK(t, err)
		sameStats(t, st, w.admin, "after changes")

		// Counted by hand after the changes: jiuye's March has only
		// service 1 (alice); April has 3 (carol) and 5 (bob), and carol's
		// placement.
		year, err := st.AssociationStats(ctx, w.admin, assoc.StatsFilter{})
		mustOK(t, err)
		jy := statsLine(t, year, w.jiuye.ID)
		for month, want := range map[string]line{"2026-03": {1, 0, 1, 0}, "2026-04": {1, 1, 2, 1}, "2026-05": {0, 0, 0, 0}, "2026-07": {1, 0, 1, 0}} {
			if got := monthFigures(jy, month); got != want {
				t.Errorf("jiuye %s after changes: got %v, want %v", month, got, want)
			}
		}
		if got := figures(jy); got != (line{4, 1, 4, 1}) {
			t.Errorf("jiuye's year after changes: got %v, want [4 1 4 1]", got)
		}
	})
}

func TestCasesScopedToTheAssociation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeServices(t, st, "cs")
		// jiuye's member: services 1, 2, 3, 5, 7 and 8.
		mine, err := st.ListCases(ctx, w.jy, assoc.CaseFilter{})
		mustOK(t, err)
		if mine.Total != 6 {
			t.Errorf("jiuye sees %d cases, want 6", mine.Total)
		}
		for _, c := range mine.Items {
			if c.AssociationID != w.jiuye.ID {
				t.Errorf("jiuye sees bangjiao's case %d", c.ID)
			}
		}
		all, err := st.ListCases(ctx, w.admin, assoc.CaseFilter{})
		mustOK(t, err)
		if all.Total != 8 {
			t.Errorf("the administrator sees %d cases, want 8", all.Total)
		}
		for _, c := range []struct {
			what string
			f    assoc.CaseFilter
			want int
		}{
			{"group", assoc.CaseFilter{Kind: assoc.KindGroup}, 2},
			{"open", assoc.CaseFilter{Status: assoc.CaseOpen}, 6},
			{"alice's", assoc.CaseFilter{PersonID: w.tr.alice.ID}, 3},
			{"bob's, attended too", assoc.CaseFilter{PersonID: w.tr.bob.ID}, 2},
			{"March 2026", assoc.CaseFilter{From: "2026-03-01", To: "2026-03-31"}, 3},
			{"bangjiao's", assoc.CaseFilter{AssociationID: w.bangjiao.ID}, 2},
			{"one a page", assoc.CaseFilter{Page: shequ.Page{Limit: 1}}, 8},
		} {
			l, err := st.ListCases(ctx, w.admin, c.f)
			mustOK(t, err)
			if l.Total != c.want {
				t.Errorf("%s: %d cases, want %d", c.what, l.Total, c.want)
			}
		}
		g, err := st.Case(ctx, w.jy, w.ids[5])
		mustOK(t, err)
		if len(g.Attendees) != 2 || g.Attendance != 30 || g.Status != assoc.CaseHeld {
			t.Errorf("group service %+v", g)
		}

		// Another association's member: not found, whatever they try.
		_, err = st.Case(ctx, w.bj, w.ids[1])
		wantCode(t, "bangjiao reads jiuye's case", err, shequ.ENOTFOUND)
		_, err = st.CloseCase(ctx, w.bj, w.ids[1], "结案")
		wantCode(t, "bangjiao closes jiuye's case", err, shequ.ENOTFOUND)
		_, err = st.UpdateCase(ctx, w.bj, w.ids[1], assoc.CaseChange{PersonID: w.tr.alice.ID, Summary: "x"})
		wantCode(t, "bangjiao changes jiuye's case", err, shequ.ENOTFOUND)
		wantCode(t, "bangjiao adds to jiuye's case", st.AddCaseAction(ctx, w.bj, w.ids[1], &assoc.CaseAction{Note: "x"}), shequ.ENOTFOUND)
		c := assoc.Case{AssociationID: w.jiuye.ID, Kind: assoc.KindIndividual, PersonID: w.tr.alice.ID, Summary: "x"}
		wantCode(t, "bangjiao records for jiuye", st.CreateCase(ctx, w.bj, &c), shequ.EFORBIDDEN)
		// A partner reaches no case.
		l, err := st.ListCases(ctx, w.hrA, assoc.CaseFilter{})
		mustOK(t, err)
		if l.Total != 0 {
			t.Errorf("a partner sees %d cases", l.Total)
		}
		_, err = st.Case(ctx, w.hrA, w.ids[1])
		wantCode(t, "a partner reads a case", err, shequ.ENOTFOUND)

		// Statistics: jiuye's member sees jiuye alone.
		s, err := st.AssociationStats(ctx, w.jy, assoc.StatsFilter{})
		mustOK(t, err)
		if len(s.Associations) != 1 || s.Associations[0].AssociationID != w.jiuye.ID || figures(s.Total) != (line{4, 1, 4, 1}) {
			t.Errorf("jiuye's statistics %+v", s)
		}
		_, err = st.AssociationStats(ctx, w.jy, assoc.StatsFilter{AssociationID: w.bangjiao.ID})
		wantCode(t, "jiuye asks for bangjiao's figures", err, shequ.ENOTFOUND)
		_, err = st.AssociationStats(ctx, w.hrA, assoc.StatsFilter{})
		wantCode(t, "a partner asks for figures", err, shequ.EFORBIDDEN)

		// Actions: a dated log with who wrote it.
		mustOK(t, st.AddCaseAction(ctx, w.jy, w.ids[1], &assoc.CaseAction{Note: "电话联系物业公司"}))
		got, err := st.Case(ctx, w.jy, w.ids[1])
		mustOK(t, err)
		if len(got.Actions) != 1 || got.Actions[0].Note != "电话联系物业公司" || got.Actions[0].At.IsZero() {
			t.Errorf("actions %+v", got.Actions)
		}
		if n := auditCount(t, st, "case.action"); n != 1 {
			t.Errorf("%d case.action audit lines", n)
		}
	})
}

func TestCaseValidationStoresNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeServices(t, st, "cv")
		other := makeTree(t, st, "cv2")
		before, err := st.AssociationStats(ctx, w.admin, assoc.StatsFilter{})
		mustOK(t, err)
		audits := auditCount(t, st, "case.create")
		j := w.jiuye.ID
		for _, c := range []struct {
			name  string
			c     assoc.Case
			field string
		}{
			{"no person", assoc.Case{AssociationID: j, Kind: assoc.KindIndividual, Summary: "x"}, "person_id"},
			{"no summary", assoc.Case{AssociationID: j, Kind: assoc.KindIndividual, PersonID: w.tr.alice.ID}, "summary"},
			{"a resident of another community", assoc.Case{AssociationID: j, Kind: assoc.KindIndividual, PersonID: other.alice.ID, Summary: "x"}, "person_id"},
			{"unknown kind", assoc.Case{AssociationID: j, Kind: "visit", Summary: "x"}, "kind"},
			{"unknown association", assoc.Case{AssociationID: 999999, Kind: assoc.KindIndividual, PersonID: w.tr.alice.ID, Summary: "x"}, "association_id"},
			{"group without topic", assoc.Case{AssociationID: j, Kind: assoc.KindGroup, Day: "2026-11-01", Place: "活动室", Summary: "x", Attendance: 5}, "topic"},
			{"group tomorrow", assoc.Case{AssociationID: j, Kind: assoc.KindGroup, Day: "2026-11-29", Place: "活动室", Topic: "讲座", Summary: "x", Attendance: 5}, "date"},
			{"fewer came than named", assoc.Case{AssociationID: j, Kind: assoc.KindGroup, Day: "2026-11-01", Place: "活动室", Topic: "讲座", Summary: "x", Attendance: 1, Attendees: []int64{w.tr.alice.ID, w.tr.bob.ID}}, "attendance"},
			{"an attendee of another community", assoc.Case{AssociationID: j, Kind: assoc.KindGroup, Day: "2026-11-01", Place: "活动室", Topic: "讲座", Summary: "x", Attendance: 5, Attendees: []int64{other.bob.ID}}, "attendees"},
		} {
			cs := c.c
			err := st.CreateCase(ctx, w.admin, &cs)
			var se *shequ.Error
			if !asError(err, &se) || se.Code != shequ.EINVALID || se.Fields[c.field] == "" {
				t.Errorf("%s: got %v, want a message on %s", c.name, err, c.field)
			}
		}
		// A change that fails its checks leaves the case and the figures.
		_, err = st.UpdateCase(ctx, w.admin, w.ids[5], assoc.CaseChange{Summary: "x", Day: "2026-04-02", Place: "活动室", Topic: "招聘会", Attendance: 1, Attendees: []int64{w.tr.alice.ID, w.tr.bob.ID}})
		wantCode(t, "a failed change", err, shequ.EINVALID)
		after, err := st.AssociationStats(ctx, w.admin, assoc.StatsFilter{})
		mustOK(t, err)
		all, err := st.ListCases(ctx, w.admin, assoc.CaseFilter{})
		mustOK(t, err)
		if all.Total != 8 || auditCount(t, st, "case.create") != audits || !reflect.DeepEqual(before, after) {
			t.Errorf("rejected cases left traces: %d cases, figures %+v", all.Total, after.Total)
		}
		g, err := st.Case(ctx, w.admin, w.ids[5])
		mustOK(t, err)
		if g.Day != "2026-03-05" || len(g.Attendees) != 2 {
			t.Errorf("a failed change changed the case: %+v", g)
		}
	})
}

// Two changes of one case at once run one after the other: the rollup
// still equals the raw cases (on PostgreSQL both used to start from the
// same old case and count it out twice).
func TestConcurrentCaseChangesKeepTheRollup(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		w := makeServices(t, st, "cc")
		days := []time.Time{time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC), time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)}
		for round := range 10 {
			var wg sync.WaitGroup
			errs := make([]error, len(days))
			for i, at := range days {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = st.UpdateCase(ctx, w.jy, w.ids[3], assoc.CaseChange{PersonID: w.carol.ID, Summary: fmt.Sprintf("第%d轮", round), OpenedAt: at})
				}()
			}
			wg.Wait()
			for _, err := range errs {
				mustOK(t, err)
			}
		}
		sameStats(t, st, w.admin, "after changes at once")
	})
}
