package mqtt

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shequ/shequ/alarm"
)

// countingHandler stores nothing; it counts, so that the benchmark
// measures the ingestion, not a database.
type countingHandler struct{ n atomic.Int64 }

func (h *countingHandler) Handle(_ context.Context, rs []alarm.Report) error {
	h.n.Add(int64(len(rs)))
	return nil
}

const benchSensors = 64

// preload publishes n state changes (each one a change, so each makes one
// report) spread over benchSensors sensors, from several publishers at once.
func preload(b *testing.B, brokerURL string, n int) {
	b.Helper()
	const conns = 4
	pubs := make([]*publisher, conns)
	for i := range pubs {
		pubs[i] = newPublisher(b, brokerURL, fmt.Sprintf("bench-pub-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, benchSensors)
	for s := range benchSensors {
		count := n / benchSensors
		if s < n%benchSensors {
			count++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := pubs[s%conns]
			topic := fmt.Sprintf("zigbee2mqtt/d%d", s)
			for i := range count {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := p.cm.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(contact(i%2 == 1)), QoS: 1})
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

// BenchmarkIngestMosquitto measures how fast the client consumes state
// changes queued for it at Mosquitto (QoS 1, persistent session, ack after
// Handle), against mosquitto_sub consuming the same queue. Each op is one
// message; see the msg/s metric. The handler only counts. Example:
//
//	go test -run '^$' -bench IngestMosquitto -benchtime 20000x ./alarm/mqtt/
func BenchmarkIngestMosquitto(b *testing.B) {
	b.Run("shequ", func(b *testing.B) {
		m := startMosquitto(b)
		h := &countingHandler{}
		cfg := testConfig(b, m.url(), "bench-shequ")
		// Create the session and its subscription, then leave.
		c := startClient(b, cfg, doors(benchSensors, nil), h)
		c.Close()
		preload(b, m.url(), b.N)

		drain(b, m, cfg, h, &h.n, nil)
	})
	b.Run("mosquitto_sub", func(b *testing.B) {
		sub, err := exec.LookPath("mosquitto_sub")
		if err != nil {
			b.Skip("mosquitto_sub is not installed")
		}
		m := startMosquitto(b)
		port := strconv.Itoa(m.port)
		args := []string{"-h", "127.0.0.1", "-p", port, "-V", "5", "-i", "bench-sub", "-c", "-x", "600", "-q", "1", "-t", "zigbee2mqtt/#"}
		// -E: subscribe and exit, leaving the persistent session.
		if out, err := exec.Command(sub, append(args, "-E")...).CombinedOutput(); err != nil {
			b.Fatalf("mosquitto_sub -E: %v %s", err, out)
		}
		preload(b, m.url(), b.N)

		b.ResetTimer()
		start, broker0 := time.Now(), m.cpu()
		cmd := exec.Command(sub, append(args, "-C", strconv.Itoa(b.N))...)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("mosquitto_sub: %v %s", err, out[:min(len(out), 200)])
		}
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
		b.ReportMetric(float64((m.cpu()-broker0).Microseconds())/float64(b.N), "broker-cpu-µs/msg")
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	})
}

// drainProfile, when given, is where drain writes a CPU profile of the
// drain alone: -test.cpuprofile would be mostly the set-up (the demo, the
// preloading). For example:
//
//	go test -c -o /tmp/m.test ./alarm/mqtt/ && (cd alarm/mqtt && /tmp/m.test -test.run '^$' \
//	  -test.bench 'BenchmarkIngestMosquittoStore/sqlite' -test.benchtime 60000x -drainprofile /tmp/drain.prof)
var drainProfile = flag.String("drainprofile", "", "write a CPU profile of each benchmark's drain to this file")

// drain starts a client with cfg over the backlog preloaded for it and
// waits until h has counted b.N reports (in n). Besides msg/s it reports
// the CPU the test process spent per message meanwhile (the client, the
// pipeline and, with a store, the store's side of the driver; not the
// broker's nor PostgreSQL's), which a loaded machine blurs less than the
// rate, and the broker's (m's) as broker-cpu-µs/msg: with the two cores
// of the machine, the three CPU figures bound the rate any client could
// reach. server, when not nil, is the CPU time the database server's
// processes of the benchmark have used, reported per message as
// server-cpu-µs/msg.
func drain(b *testing.B, m *mosquitto, cfg Config, h Handler, n *atomic.Int64, server func() time.Duration) {
	b.Helper()
	var server0 time.Duration
	if server != nil {
		server0 = server()
	}
	b.ResetTimer()
	if *drainProfile != "" {
		f, err := os.Create(*drainProfile)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	start, cpu0, broker0 := time.Now(), cpuTime(), m.cpu()
	c, err := NewClient(cfg, doors(benchSensors, nil), h)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	deadline := time.Now().Add(5 * time.Minute)
	for n.Load() < int64(b.N) {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d reports", n.Load(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed, cpu, broker := time.Since(start), cpuTime()-cpu0, m.cpu()-broker0
	b.StopTimer()
	cancel()
	<-c.Done()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
	b.ReportMetric(float64(broker.Microseconds())/float64(b.N), "broker-cpu-µs/msg")
	if server != nil {
		b.ReportMetric(float64((server()-server0).Microseconds())/float64(b.N), "server-cpu-µs/msg")
	}
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
