package mqtt

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// storingHandler stores through the group commit into a real store and
// counts what was stored.
type storingHandler struct {
	ing   *alarm.Ingestor
	n     atomic.Int64
	calls atomic.Int64
}

func (h *storingHandler) Handle(ctx context.Context, rs []alarm.Report) error {
	if err := h.ing.Handle(ctx, rs); err != nil {
		return err
	}
	h.n.Add(int64(len(rs)))
	h.calls.Add(1)
	return nil
}

// BenchmarkIngestMosquittoStore is BenchmarkIngestMosquitto's shequ side
// with the real store behind it: the reports go through alarm.Ingestor
// into SQLite or PostgreSQL (sensors d0…d63 registered on the demo's
// homes) before the messages are acknowledged. Compare its msg/s with
// BenchmarkIngestMosquitto in the same run:
//
//	go test -run '^$' -bench 'IngestMosquitto' -benchtime 20000x ./alarm/mqtt/
func BenchmarkIngestMosquittoStore(b *testing.B) {
	// The store's migrations log to the default logger, which would split
	// the benchmark's result line.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			m := startMosquitto(b)
			st := sqlstoretest.Open(b, dialect, nil)
			ctx := context.Background()
			if _, err := demo.Load(ctx, st, "bench-password-1"); err != nil {
				b.Fatal(err)
			}
			floor := 1
			homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Floor: &floor, Page: shequ.Page{Limit: benchSensors}})
			if err != nil || len(homes.Items) == 0 {
				b.Fatalf("homes: %v", err)
			}
			for i := range benchSensors {
				x := alarm.Sensor{HomeID: homes.Items[i%len(homes.Items)].ID, Kind: alarm.SensorDoor, Zone: "door", MQTTName: fmt.Sprintf("d%d", i)}
				if err := st.CreateSensor(ctx, auth.Scope{{}}, &x); err != nil {
					b.Fatal(err)
				}
			}
			ing := alarm.NewIngestor(st, testLogger(b), 256)
			ictx, stopIngest := context.WithCancel(ctx)
			ingDone := make(chan struct{})
			go func() { ing.Run(ictx); close(ingDone) }()
			defer func() { stopIngest(); <-ingDone }()
			h := &storingHandler{ing: ing}

			cfg := testConfig(b, m.url(), "bench-store")
			c := startClient(b, cfg, doors(benchSensors, nil), h)
			c.Close()
			preload(b, m.url(), b.N)

			var server func() time.Duration
			if dialect == sqlstore.Postgres {
				server = func() time.Duration { return backendsCPU(b, st.DB()) }
			}
			drain(b, m, cfg, h, &h.n, server)
			b.ReportMetric(float64(h.n.Load())/float64(max(h.calls.Load(), 1)), "reports/Handle")
		})
	}
}

// backendsCPU is the CPU time used so far by the PostgreSQL server
// processes serving db's database (the benchmark's own, made for it),
// read from /proc: the server is on this machine. Zero when it cannot be
// read.
func backendsCPU(b *testing.B, db *sql.DB) time.Duration {
	rows, err := db.Query("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		b.Logf("backends: %v", err)
		return 0
	}
	defer rows.Close()
	var total time.Duration
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Logf("backends: %v", err)
			return 0
		}
		total += processCPU(pid)
	}
	return total
}

// processCPU is the CPU time process pid has used, read from /proc; zero
// when it cannot be read (gone, or not on this machine).
func processCPU(pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// After the command's closing parenthesis: state is field 3, utime
	// and stime fields 14 and 15, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
