package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// cityPanels is the number of panels of `shequ simulate city` at 1,000
// communities.
const cityPanels = 224000

// cityNow is the benchmarks' clock: every panel was last heard then.
var cityNow = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

// cityStore opens a store of dialect with cityPanels synthetic panels,
// all in one home (the chores read alarm_panels alone), each with a
// sealed key, made by one INSERT so that the log of key changes fills as
// it would.
func cityStore(b *testing.B, dialect string) *sqlstore.Store {
	b.Helper()
	clock := shequtest.NewClock(cityNow)
	st := sqlstoretest.Open(b, dialect, clock)
	tr := makeTree(b, st, "cb")
	sealed := sqlstoretest.TestCipher(b).Seal("0123456789abcdef")
	_, err := st.DB().ExecContext(b.Context(), `INSERT INTO alarm_panels (community_id, home_id, account, key_enc, supervision_seconds, last_seen_at, created_at)
		WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1)
		SELECT $2, $3, 'C' || n, $4, 300, $5, $5 FROM g`, cityPanels, tr.community.ID, tr.home1.ID, sealed, clock.Now())
	mustOK(b, err)
	return st
}

// BenchmarkCityPanelKeys is a SIA receiver's half-minute reload at city
// scale: the full read it did before (full) and the read of the log's new
// entries it does now (since), side by side, with nothing changed and
// with ten panels' keys changed since the last reload.
//
//	go test -run '^$' -bench 'BenchmarkCityPanelKeys' -benchtime 5x ./sqlstore/
func BenchmarkCityPanelKeys(b *testing.B) {
	for _, d := range sqlstoretest.Dialects() {
		b.Run(d, func(b *testing.B) {
			st := cityStore(b, d)
			ctx := b.Context()
			b.Run("full", func(b *testing.B) {
				for b.Loop() {
					keys, err := st.PanelKeys(ctx)
					mustOK(b, err)
					if len(keys) != cityPanels {
						b.Fatalf("%d keys", len(keys))
					}
				}
			})
			b.Run("since_nothing", func(b *testing.B) {
				mark, err := st.PanelKeyMark(ctx)
				mustOK(b, err)
				for b.Loop() {
					keys, _, _, err := st.PanelKeysSince(ctx, mark)
					mustOK(b, err)
					if len(keys) != 0 {
						b.Fatalf("%d keys", len(keys))
					}
				}
			})
			b.Run("since_10_changed", func(b *testing.B) {
				sealed := sqlstoretest.TestCipher(b).Seal("fedcba9876543210")
				for b.Loop() {
					b.StopTimer()
					mark, err := st.PanelKeyMark(ctx)
					mustOK(b, err)
					_, err = st.DB().ExecContext(ctx, "UPDATE alarm_panels SET key_enc = $1 WHERE account IN ('C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C8', 'C9', 'C10')", sealed)
					mustOK(b, err)
					b.StartTimer()
					keys, _, _, err := st.PanelKeysSince(ctx, mark)
					mustOK(b, err)
					if len(keys) != 10 {
						b.Fatalf("%d keys", len(keys))
					}
				}
			})
		})
	}
}

// BenchmarkCitySupervision is the five-second supervision sweep at city
// scale with no panel overdue: the read of every supervised panel it did
// before (scan, the old statement and check, reproduced here) and
// CheckSupervision now (indexed), side by side.
//
//	go test -run '^$' -bench 'BenchmarkCitySupervision' -benchtime 10x ./sqlstore/
func BenchmarkCitySupervision(b *testing.B) {
	for _, d := range sqlstoretest.Dialects() {
		b.Run(d, func(b *testing.B) {
			st := cityStore(b, d)
			ctx := b.Context()
			b.Run("scan", func(b *testing.B) {
				for b.Loop() {
					rows, err := st.DB().QueryContext(ctx, "SELECT id, community_id, home_id, account, supervision_seconds, last_seen_at, created_at FROM alarm_panels WHERE supervision_seconds > 0 AND comm_failed = FALSE")
					mustOK(b, err)
					n, due := 0, 0
					for rows.Next() {
						var id, c, h int64
						var account string
						var secs int
						var seen, created time.Time
						mustOK(b, rows.Scan(&id, &c, &h, &account, &secs, &seen, &created))
						if cityNow.Sub(seen) > time.Duration(secs)*time.Second {
							due++
						}
						n++
					}
					rows.Close()
					if n != cityPanels || due != 0 {
						b.Fatalf("%d panels, %d due", n, due)
					}
				}
			})
			b.Run("indexed", func(b *testing.B) {
				for b.Loop() {
					out, err := st.CheckSupervision(ctx)
					mustOK(b, err)
					if len(out) != 0 {
						b.Fatalf("%d overdue", len(out))
					}
				}
			})
		})
	}
}
