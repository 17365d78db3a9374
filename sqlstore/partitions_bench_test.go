package sqlstore_test

import (
	"testing"
	"time"

	"github.com/shequ/shequ/retention"
	"github.com/shequ/shequ/shequtest"
)

// benchRows is the size of the year the benchmarks fill (SHEQU_YEAR_ROWS,
// default 300,000 rows a table).
func benchRows() int {
	if n := yearSize(); n != 60_000 {
		return n
	}
	return 300_000
}

// BenchmarkMigratePartitions times migration 00031 on a year of data
// (SHEQU_YEAR_ROWS rows in each of the five tables) beside "bare copy":
// copying the same five tables with CREATE TABLE … AS, no indexes — the
// least moving the rows can cost. Run with -benchtime=1x, alternated.
func BenchmarkMigratePartitions(b *testing.B) {
	n := benchRows()
	for _, name := range []string{"migration", "bare-copy"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				clock := shequtest.NewClock(time.Now().UTC())
				st, _ := openAt(b, 30, clock)
				db := st.DB()
				fillYear(b, db, clock.Now(), n)
				b.StartTimer()
				if name == "migration" {
					if _, err := st.Migrate(b.Context()); err != nil {
						b.Fatal(err)
					}
					continue
				}
				for table := range partitionedTables {
					if _, err := db.Exec(`CREATE TABLE ` + table + `_copy AS SELECT * FROM ` + table); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(5*n), "rows")
		})
	}
}

// BenchmarkRetentionMonths times retention taking the oldest two months
// of a year of alarm events (SHEQU_YEAR_ROWS rows): "delete" on the plain
// table of version 30, row by row in batches as before; "drop" on the
// partitioned table, two partitions dropped. Run with -benchtime=1x,
// alternated.
func BenchmarkRetentionMonths(b *testing.B) {
	n := benchRows()
	pol, _ := retention.Lookup("alarm_events")
	for _, name := range []string{"delete", "drop"} {
		b.Run(name, func(b *testing.B) {
			var rows int
			for range b.N {
				b.StopTimer()
				clock := shequtest.NewClock(time.Now().UTC())
				st, _ := openAt(b, 30, clock)
				fillYear(b, st.DB(), clock.Now(), n)
				if name == "drop" {
					if _, err := st.Migrate(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
				start := clock.Now().AddDate(-1, 0, 0)
				cutoff := time.Date(start.Year(), start.Month()+2, 1, 0, 0, 0, 0, time.UTC)
				b.StartTimer()
				res, err := st.ApplyRetention(b.Context(), pol, cutoff)
				if err != nil {
					b.Fatal(err)
				}
				rows = res.Rows
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
