// Command devicebench measures device health checking at a community's
// scale: N devices (default 1,000) each checked once per interval (default
// 60 s) by the device scheduler, against local test servers — RTSP
// cameras (rtsptest, OPTIONS + DESCRIBE), an HTTP server and a TCP
// listener — with a share of devices pointing at a closed port, results
// stored in a real store (SQLite file, or PostgreSQL with -dsn). After one
// interval of warm-up it reports, over the measured window: checks per
// second (mean, max: a burst shows as a max far above the mean), checks
// in flight at most, CPU time of the process (which includes the test
// servers' side) and memory.
//
//	go run ./cmd/devicebench -for 3m
//	go run ./cmd/devicebench -for 3m -dsn 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/rtsp/rtsptest"
	"github.com/shequ/shequ/sqlstore"
)

func main() {
	n := flag.Int("devices", 1000, "devices to check")
	interval := flag.Duration("interval", 60*time.Second, "check interval of every device")
	measure := flag.Duration("for", 3*time.Minute, "measured window, after one interval of warm-up")
	dsn := flag.String("dsn", "", "store: a postgres:// URL (database emptied of nothing: use a scratch one) or an SQLite path; default a temporary SQLite file")
	concurrency := flag.Int("concurrency", 0, "checks in flight at most (0: the scheduler's default)")
	downShare := flag.Float64("down", 0.05, "share of devices pointing at a closed port")
	flag.Parse()
	if err := run(*n, *interval, *measure, *dsn, *concurrency, *downShare); err != nil {
		fmt.Fprintln(os.Stderr, "devicebench:", err)
		os.Exit(1)
	}
}

// counting wraps the prober to count finished checks per second and the
// checks in flight.
type counting struct {
	inner    device.Checker
	inFlight atomic.Int64
	peak     atomic.Int64
	mu       sync.Mutex
	perSec   map[int64]int
	statuses map[string]int
}

func (c *counting) Probe(ctx context.Context, t device.Target) device.Result {
	n := c.inFlight.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	r := c.inner.Probe(ctx, t)
	c.inFlight.Add(-1)
	c.mu.Lock()
	c.perSec[time.Now().Unix()]++
	c.statuses[r.Status]++
	c.mu.Unlock()
	return r
}

func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss // KiB on Linux
}

func run(n int, interval, measure time.Duration, dsn string, concurrency int, downShare float64) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	key := make([]byte, pii.KeySize)
	_, _ = rand.Read(key)
	cipher, err := pii.New(key)
	if err != nil {
		return err
	}
	if dsn == "" {
		dir, err := os.MkdirTemp("", "devicebench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dsn = filepath.Join(dir, "bench.db")
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Cipher: cipher, Logger: quiet})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}

	// The devices' far ends.
	stream, err := rtsptest.Encode()
	if err != nil {
		return err
	}
	var cams []*rtsptest.Server
	for range 4 {
		s, err := rtsptest.Listen(stream)
		if err != nil {
			return err
		}
		defer s.Stop()
		cams = append(cams, s)
	}
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(web, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	// One community of ten buildings.
	all := auth.Scope{{}}
	c := community.Community{Code: fmt.Sprintf("bench%d", time.Now().UnixNano()%1e6), Name: "测试社区"}
	if err := st.CreateCommunity(ctx, all, &c); err != nil {
		return err
	}
	g := community.Grid{CommunityID: c.ID, Code: "G1", Name: "第1网格"}
	if err := st.CreateGrid(ctx, all, &g); err != nil {
		return err
	}
	var buildings []int64
	for i := range 10 {
		b := community.Building{CommunityID: c.ID, GridID: g.ID, Name: fmt.Sprintf("%d栋", i+1), Floors: 6}
		if err := st.CreateBuilding(ctx, all, &b); err != nil {
			return err
		}
		buildings = append(buildings, b.ID)
	}
	secs := int(interval / time.Second)
	down := int(float64(n) * downShare)
	kinds := map[string]int{}
	for i := range n {
		d := community.Device{CommunityID: c.ID, Name: fmt.Sprintf("设备%04d", i+1), BuildingID: buildings[i%len(buildings)]}
		var ck device.Check
		switch {
		case i < down:
			d.Kind, ck = community.DeviceWiFiAP, device.Check{Kind: device.CheckTCP, Address: closedAddr}
		case i%10 < 4:
			d.Kind, ck = community.DeviceCamera, device.Check{Kind: device.CheckRTSP, URL: cams[i%len(cams)].URL()}
		case i%10 < 6:
			d.Kind, ck = community.DeviceWiFiAP, device.Check{Kind: device.CheckHTTP, URL: "http://" + web.Addr().String() + "/status"}
		default:
			d.Kind, ck = community.DeviceDoorController, device.Check{Kind: device.CheckTCP, Address: tcp.Addr().String()}
		}
		ck.IntervalSeconds = secs
		if err := st.CreateDevice(ctx, all, &d); err != nil {
			return err
		}
		if _, err := st.SetDeviceCheck(ctx, all, d.ID, &ck); err != nil {
			return err
		}
		kinds[ck.Kind]++
	}
	fmt.Printf("devices: %d (%v), interval %s, %d pointing at a closed port; store %s\n", n, kinds, interval, down, st.Dialect())

	clock := shequ.SystemClock{}
	checker := &counting{inner: &device.Prober{Now: clock.Now}, perSec: map[int64]int{}, statuses: map[string]int{}}
	s := &device.Scheduler{Store: st, Checker: checker, Clock: clock, Log: quiet, Concurrency: concurrency,
		Policy: device.Policy{Grace: 10 * interval, ClearAfter: interval}}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Run(runCtx); close(done) }()

	time.Sleep(interval) // warm-up: every device checked once
	runtime.GC()
	var ms runtime.MemStats
	cpu0, t0 := cpu(), time.Now()
	var heapMax, sysMax uint64
	checker.peak.Store(0)
	for time.Since(t0) < measure {
		time.Sleep(time.Second)
		runtime.ReadMemStats(&ms)
		heapMax, sysMax = max(heapMax, ms.HeapInuse), max(sysMax, ms.Sys)
	}
	cpuUsed, wall := cpu()-cpu0, time.Since(t0)
	stop()
	<-done

	checker.mu.Lock()
	defer checker.mu.Unlock()
	var counts []int
	total := 0
	for sec := t0.Unix() + 1; sec < t0.Add(wall).Unix(); sec++ {
		counts = append(counts, checker.perSec[sec])
		total += checker.perSec[sec]
	}
	sort.Ints(counts)
	mean := float64(total) / float64(len(counts))
	fmt.Printf("measured %s: %d checks, %.1f/s mean (expected %.1f/s), per second min %d, median %d, p99 %d, max %d; at most %d in flight\n",
		wall.Round(time.Second), total, mean, float64(n)/interval.Seconds(), counts[0], counts[len(counts)/2], counts[len(counts)*99/100], counts[len(counts)-1], checker.peak.Load())
	fmt.Printf("results: %v\n", checker.statuses)
	fmt.Printf("CPU: %.2f s over %s = %.1f %% of one core (process, test servers included)\n", cpuUsed.Seconds(), wall.Round(time.Second), 100*cpuUsed.Seconds()/wall.Seconds())
	fmt.Printf("memory: heap in use at most %.1f MiB, Go runtime total %.1f MiB, max RSS %.1f MiB\n", float64(heapMax)/(1<<20), float64(sysMax)/(1<<20), float64(maxRSS())/1024)
	return nil
}
