package demo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// loadDemo returns a store of dialect d holding the demo, its clock at
// 2026-11-28 09:00 UTC: a copy of the one demoStore loaded, since the
// tests only read it.
func loadDemo(t *testing.T, d string) (*sqlstore.Store, demo.Result) {
	t.Helper()
	st := demoStore.Open(t, d, shequtest.NewClock(demoTime))
	res, ok := demoResults.Load(d)
	if !ok {
		t.Fatalf("no demo result for %s", d)
	}
	return st, res.(demo.Result)
}

var demoTime = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// demoStore is a store per dialect that demo.Load filled.
var demoStore = &sqlstoretest.Template{
	Name:  "demo",
	Clock: shequtest.NewClock(demoTime),
	Build: func(ctx context.Context, st *sqlstore.Store) error {
		res, err := demo.Load(ctx, st, "demo-password-for-tests")
		if err != nil {
			return err
		}
		if !res.Loaded {
			return errors.New("demo.Load loaded nothing into an empty store")
		}
		demoResults.Store(st.Dialect(), res)
		return nil
	},
}

// demoResults holds what demo.Load said for demoStore, by dialect.
var demoResults sync.Map

// The demo's ledgers: entries in each, the job seekers grant to the HR
// partner, and the partner seeing consenting seekers through it; on both
// dialects.
func TestDemoLedgers(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st, res := loadDemo(t, d)
			for _, key := range []string{assoc.JobSeekers, assoc.ElderlyAlone, assoc.HouseholdsInDifficulty, assoc.Disabilities, assoc.HelpEducation} {
				l, err := st.ListEntries(ctx, assoc.Everything, assoc.EntryFilter{CommunityID: res.CommunityID, Ledger: key})
				if err != nil || l.Total == 0 {
					t.Errorf("ledger %s: %d entries, %v", key, l.Total, err)
				}
			}
			grants, err := st.ListLedgerGrants(ctx, assoc.Everything, assoc.GrantFilter{LiveOnly: true})
			if err != nil || grants.Total != 1 || grants.Items[0].Ledger != assoc.JobSeekers || grants.Items[0].PartnerID == 0 {
				t.Fatalf("grants %+v %v", grants, err)
			}
			hr := assoc.Access{Partners: []assoc.Seat{{CommunityID: res.CommunityID, ID: grants.Items[0].PartnerID}}}
			seen, err := st.ListEntries(ctx, hr, assoc.EntryFilter{Ledger: assoc.JobSeekers})
			all, _ := st.ListEntries(ctx, assoc.Everything, assoc.EntryFilter{CommunityID: res.CommunityID, Ledger: assoc.JobSeekers})
			if err != nil || seen.Total == 0 || seen.Total >= all.Total {
				t.Errorf("the HR partner sees %d of %d job seekers: %v", seen.Total, all.Total, err)
			}
			stats, err := st.PlacementStats(ctx, assoc.Everything, res.CommunityID, 2026)
			if err != nil || stats.ResidentsPlaced == 0 {
				t.Errorf("placements %+v %v", stats, err)
			}
		})
	}
}

// The demo's services this year come out at the report's figures, from
// the rollup and from the cases alike, spread over the associations.
func TestDemoServices(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st, res := loadDemo(t, d)
			admin := assoc.Access{Admin: []int64{res.CommunityID}}
			for name, compute := range map[string]func(context.Context, assoc.Access, assoc.StatsFilter) (assoc.ServiceStats, error){
				"rollup": st.AssociationStats, "raw": st.AssociationStatsRaw,
			} {
				s, err := compute(ctx, admin, assoc.StatsFilter{})
				if err != nil {
					t.Fatal(err)
				}
				if s.Total.Individual != 514 || s.Total.Group != 127 {
					t.Errorf("%s: %d individual and %d group services this year, want 514 and 127", name, s.Total.Individual, s.Total.Group)
				}
				if len(s.Associations) != 8 || s.Total.PeopleServed == 0 || s.Total.Placements == 0 {
					t.Errorf("%s: %d associations, %d people served, %d placed", name, len(s.Associations), s.Total.PeopleServed, s.Total.Placements)
				}
				for _, a := range s.Associations {
					if a.Individual == 0 || a.Group == 0 {
						t.Errorf("%s: %s gave %d individual and %d group services", name, a.Key, a.Individual, a.Group)
					}
				}
				months := 0
				for _, m := range s.Total.Months {
					if m.Individual > 0 {
						months++
					}
				}
				if months < 10 {
					t.Errorf("%s: services in %d months only", name, months)
				}
			}
			closed, err := st.ListCases(ctx, admin, assoc.CaseFilter{Status: assoc.CaseClosed})
			if err != nil || closed.Total == 0 || closed.Total >= 514 {
				t.Errorf("%d closed cases: %v", closed.Total, err)
			}
		})
	}
}
