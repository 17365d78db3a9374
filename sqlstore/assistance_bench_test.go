package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// BenchmarkEligible lists the first page of the targeted relief policy's
// eligible residents, and counts them for the dashboard, in a community of
// 5,000 residents of whom every fourth is in the households-in-difficulty
// ledger.
func BenchmarkEligible(b *testing.B) {
	for _, d := range sqlstoretest.Dialects() {
		b.Run(d, func(b *testing.B) {
			ctx := b.Context()
			st := sqlstoretest.Open(b, d, shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)))
			var w reliefWorld
			var pol assoc.AssistancePolicy
			err := st.Atomic(ctx, func(tx *sqlstore.Store) error {
				w = makeRelief(b, tx, "bench")
				for i := range 5000 {
					p := community.Person{HouseholdID: w.tr.household1.ID, Name: fmt.Sprintf("居民%d", i), BirthDate: fmt.Sprintf("%d-%02d-15", 1930+i%80, 1+i%12), Gender: "male"}
					if i%3 == 0 {
						p.Tags = []string{community.TagLivingAlone}
					}
					if err := tx.CreatePerson(ctx, everywhere, &p); err != nil {
						return err
					}
					if i%4 == 0 {
						e := assoc.LedgerEntry{PersonID: p.ID, Values: map[string]any{"pension": float64(800 + (i*37)%1400)}}
						if err := tx.CreateEntry(ctx, assoc.Everything, w.c, assoc.HouseholdsInDifficulty, &e); err != nil {
							return err
						}
					}
				}
				pol = w.targeted()
				return tx.CreateAssistancePolicy(ctx, w.admin, &pol)
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				l, err := st.Eligible(ctx, w.bf, pol.ID, time.Time{}, shequ.Page{Limit: 50})
				if err != nil || l.Total == 0 {
					b.Fatalf("%d eligible: %v", l.Total, err)
				}
				if _, err := st.EligibleUncovered(ctx, w.bf, w.c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
