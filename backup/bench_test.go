package backup_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/backup"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// BenchmarkBackupWhileIngesting takes backups (database, 20 media files,
// sealed key) of the demo community while 16 panels send frames one after
// another, and reports how long a backup takes and the panels' ACK
// latency with no backup running and while one runs, side by side:
//
//	go test -run '^$' -bench BackupWhileIngesting -benchtime 5x ./backup/
func BenchmarkBackupWhileIngesting(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			ctx := context.Background()
			st := sqlstoretest.Open(b, dialect, nil)
			if _, err := demo.Load(ctx, st, "backup-password-1"); err != nil {
				b.Fatal(err)
			}
			blobs, _ := disk.New(filepath.Join(b.TempDir(), "media"))
			addMedia(b, st, blobs, 20)
			addr := startAlarmCentre(b, st)
			var mu sync.Mutex
			type sample struct {
				at  time.Time
				lat time.Duration
			}
			var samples []sample
			var failed error
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range panels {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key, _ := sia.ParseKey(panelKey)
					p := &siatest.Panel{Account: account(i), Key: key}
					c, err := siatest.Dial("tcp", addr)
					if err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
						return
					}
					c.Key = key
					defer c.Close()
					for n := 1; ; n++ {
						select {
						case <-stop:
							return
						default:
						}
						t0 := time.Now()
						if a, err := c.Exchange(p.SIA("Nri0/RP"+strconv.Itoa(n)), 10*time.Second); err != nil || a.Type != "ACK" {
							mu.Lock()
							failed = fmt.Errorf("panel %s frame %d: %v %s", p.Account, n, err, a.Raw)
							mu.Unlock()
							return
						}
						mu.Lock()
						samples = append(samples, sample{t0, time.Since(t0)})
						mu.Unlock()
					}
				}()
			}
			idleFrom := time.Now()
			time.Sleep(2 * time.Second)
			idleTo := time.Now()
			target := backup.Dir(b.TempDir())
			o := backup.Options{DB: st, Blobs: blobs, KeyText: []byte("k\n"), Passphrase: passphrase, ScryptWorkFactor: 10}
			var windows [][2]time.Time
			b.ResetTimer()
			for range b.N {
				from := time.Now()
				if _, _, err := backup.Run(ctx, o, target); err != nil {
					b.Fatal(err)
				}
				windows = append(windows, [2]time.Time{from, time.Now()})
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			if failed != nil {
				b.Fatal(failed)
			}
			var idle, during []time.Duration
			for _, s := range samples {
				if !s.at.Before(idleFrom) && s.at.Before(idleTo) {
					idle = append(idle, s.lat)
				}
				for _, w := range windows {
					if !s.at.Before(w[0]) && s.at.Before(w[1]) {
						during = append(during, s.lat)
					}
				}
			}
			q := func(l []time.Duration, x float64) float64 {
				if len(l) == 0 {
					return 0
				}
				slices.Sort(l)
				return float64(l[int(x*float64(len(l)-1))].Microseconds()) / 1000
			}
			var span time.Duration
			for _, w := range windows {
				span += w[1].Sub(w[0])
			}
			b.ReportMetric(float64(len(idle))/idleTo.Sub(idleFrom).Seconds(), "frames/s-idle")
			b.ReportMetric(float64(len(during))/span.Seconds(), "frames/s-backup")
			b.ReportMetric(q(idle, 0.5), "p50-ms-idle")
			b.ReportMetric(q(during, 0.5), "p50-ms-backup")
			b.ReportMetric(q(idle, 0.99), "p99-ms-idle")
			b.ReportMetric(q(during, 0.99), "p99-ms-backup")
		})
	}
}
