package mqtt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
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

			drain(b, cfg, h, &h.n)
			b.ReportMetric(float64(h.n.Load())/float64(max(h.calls.Load(), 1)), "reports/Handle")
		})
	}
}
