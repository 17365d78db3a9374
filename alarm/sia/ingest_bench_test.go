//go:build unix

package sia_test

// BenchmarkIngestTCP measures SIA ingest over TCP end to end — AES-128
// frames, the receiver, the group commit (alarm.Ingestor) and a durable
// commit in the real store — side by side with the bare receiver (the
// same frames, a Handler that stores nothing), at several numbers of
// connections, on SQLite and PostgreSQL. See docs/benchmarks.md and
// scripts/bench-alarm.sh. Each op is one frame sent and its ACK read;
// frames/s, p50-µs and p99-µs (ACK latency) are reported.
//
//	go test -run '^$' -bench IngestTCP -benchtime 20000x ./alarm/sia/
//
// Every frame is a periodic test report ("Nri0/RP…", stored as an event
// without opening an incident) with its own sequence number and zone, so
// none is taken for a retransmission. The rate=5000 runs pace 64
// connections to 5,000 frames/s overall, for the ACK latency at that load.
//
// The storm loads (storm-conns=64, storm-rate=5000) send an alarm storm
// instead: every frame a burglary ("Nri1/BA…") from one of 64 panels in
// 64 armed homes, so every frame joins (the first opens) its home's
// incident: the incident path, its log, live events and notices.
//
//	go test -run '^$' -bench 'IngestTCP/sqlite$/storm' -benchtime 20000x ./alarm/sia/

import (
	"bufio"
	"context"
	"crypto/cipher"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

const (
	ingestPanels = 256
	ingestKeyHex = "00112233445566778899AABBCCDDEEFF"
	// stormPanels is how many panels, each in a home of its own, send the
	// alarm storm.
	stormPanels = 64
)

func ingestAccount(i int) string { return fmt.Sprintf("B%03X", i+1) }

// ingestStore is a store with the demo community and ingestPanels panels
// with AES-128 keys on its ground-floor homes.
func ingestStore(b *testing.B, dialect string, full bool) *sqlstore.Store {
	b.Helper()
	st := sqlstoretest.Open(b, dialect, nil)
	ctx := context.Background()
	if _, err := demo.Load(ctx, st, "bench-password-1"); err != nil {
		b.Fatal(err)
	}
	floor := 1
	homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Floor: &floor, Page: shequ.Page{Limit: ingestPanels}})
	if err != nil || len(homes.Items) == 0 {
		b.Fatalf("homes: %v", err)
	}
	if len(homes.Items) < stormPanels {
		b.Fatalf("%d homes on the ground floor, the storm needs %d", len(homes.Items), stormPanels)
	}
	for i := range ingestPanels {
		p := alarm.Panel{HomeID: homes.Items[i%len(homes.Items)].ID, Account: ingestAccount(i), Key: ingestKeyHex}
		if err := st.CreatePanel(ctx, auth.Scope{{}}, &p); err != nil {
			b.Fatal(err)
		}
	}
	// The storm's homes are armed, as homes that report a burglary are.
	for _, h := range homes.Items[:stormPanels] {
		_, err := st.ChangeArmState(ctx, auth.Scope{{}}, h.ID, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
			a.State, a.Since = alarm.ArmedAway, now
			return a, nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if full {
		// The write pool of SQLite has one connection, so the pragma
		// holds for every commit: each commit fsyncs the WAL.
		if _, err := st.DB().Exec("PRAGMA synchronous=FULL"); err != nil {
			b.Fatal(err)
		}
	}
	return st
}

// ingestRig is a receiver on a free port and what it stores with.
type ingestRig struct {
	addr string
	stop func()
}

func startReceiver(b testing.TB, h sia.Handler) *ingestRig {
	b.Helper()
	key, _ := sia.ParseKey(ingestKeyHex)
	accounts := sia.StaticAccounts{}
	for i := range ingestPanels {
		accounts[ingestAccount(i)] = key
	}
	// Every connection comes from 127.0.0.1: the per-address cap would
	// refuse most of them.
	r := sia.New(sia.Config{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxConns: 4096, MaxConnsPerAddr: 4096}, accounts, h)
	if err := r.Listen(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Serve(ctx); close(done) }()
	return &ingestRig{addr: r.Addr().String(), stop: func() { cancel(); <-done }}
}

// benchPanel builds encrypted frames fast: one cipher, the timestamp
// formatted once a second.
type benchPanel struct {
	event   string // "Nri0/RP" (routine) or "Nri1/BA" (storm), the zone follows
	account string
	block   cipher.Block
	seq     int
	n       int
	tsSec   int64
	ts      string
	content []byte
	body    []byte
	frame   []byte
}

func newBenchPanel(i int, start int, storm bool) *benchPanel {
	key, _ := sia.ParseKey(ingestKeyHex)
	block, _ := sia.NewCipher(key)
	event := "Nri0/RP"
	if storm {
		event = "Nri1/BA"
	}
	return &benchPanel{event: event, account: ingestAccount(i), block: block, seq: start % 9999, n: start}
}

func (p *benchPanel) next() []byte {
	now := time.Now()
	if s := now.Unix(); s != p.tsSec {
		p.tsSec, p.ts = s, siatest.Timestamp(now)
	}
	p.seq = p.seq%9999 + 1
	p.n++
	p.body = append(p.body[:0], `"*SIA-DCS"`...)
	p.body = appendSeq(p.body, p.seq)
	p.body = append(p.body, "L0#"+p.account+"["...)
	p.content = append(p.content[:0], "#"+p.account+"|"+p.event...)
	p.content = strconv.AppendInt(p.content, int64(p.n), 10)
	p.content = append(p.content, ']')
	p.content = append(p.content, p.ts...)
	p.body = sia.AppendEncrypted(p.body, p.block, p.content)
	p.frame = sia.AppendFrame(p.frame[:0], p.body)
	return p.frame
}

func appendSeq(b []byte, seq int) []byte {
	return append(b, byte('0'+seq/1000), byte('0'+seq/100%10), byte('0'+seq/10%10), byte('0'+seq%10))
}

// drive sends b.N frames over conns connections, each frame waiting for
// its ACK; with rate > 0 the connections are paced to rate frames/s
// overall. It reports frames/s and the ACK latency. With storm, every
// frame is a burglary of one of the first stormPanels panels.
func drive(b *testing.B, addr string, conns int, rate float64, runID int, storm bool) {
	b.Helper()
	var left atomic.Int64
	left.Store(int64(b.N))
	lat := make([][]time.Duration, conns)
	var wg sync.WaitGroup
	var failed atomic.Value
	cs := make([]net.Conn, conns)
	for i := range cs {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		cs[i] = c
		defer c.Close()
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Duration(float64(time.Second) * float64(conns) / rate)
	}
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cs[i]
			// Each connection has its panel; its numbering starts where
			// the previous sub-benchmark's cannot have reached.
			panels := ingestPanels
			if storm {
				panels = stormPanels
			}
			p := newBenchPanel(i%panels, runID*10_000_000+i*100_000, storm)
			br := bufio.NewReader(c)
			next := time.Now().Add(time.Duration(i) * interval / time.Duration(conns))
			ls := make([]time.Duration, 0, b.N/conns+1)
			for left.Add(-1) >= 0 {
				if interval > 0 {
					if d := time.Until(next); d > 0 {
						time.Sleep(d)
					}
					next = next.Add(interval)
				}
				f := p.next()
				t0 := time.Now()
				if _, err := c.Write(f); err != nil {
					failed.Store(err.Error())
					return
				}
				ans, err := br.ReadSlice('\r')
				if err != nil || len(ans) < 15 || string(ans[10:14]) != "*ACK" {
					failed.Store(fmt.Sprintf("answer %q, %v", ans, err))
					return
				}
				ls = append(ls, time.Since(t0))
			}
			lat[i] = ls
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if f := failed.Load(); f != nil {
		b.Fatal(f)
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	q := func(x float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(math.Ceil(x*float64(len(all))))-1)]) / 1e3
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "frames/s")
	b.ReportMetric(q(0.50), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	// CPU time of the whole process (senders, receiver, store) per frame:
	// unlike frames/s it does not move with what else the machine runs.
	b.ReportMetric(float64(cpu)/1e3/float64(b.N), "cpu-µs/frame")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countingStore tells how many reports each commit carried and how long
// the commits took: the group commit at work.
type countingStore struct {
	alarm.BatchStore
	commits, reports atomic.Int64
	busy             atomic.Int64 // ns inside Ingest
}

func (c *countingStore) Ingest(ctx context.Context, rs []alarm.Report) ([]alarm.Outcome, error) {
	t0 := time.Now()
	out, err := c.BatchStore.Ingest(ctx, rs)
	c.busy.Add(int64(time.Since(t0)))
	c.commits.Add(1)
	c.reports.Add(int64(len(rs)))
	return out, err
}

func (c *countingStore) reset() { c.commits.Store(0); c.reports.Store(0); c.busy.Store(0) }

func (c *countingStore) report(b *testing.B) {
	if n := c.commits.Load(); n > 0 {
		b.ReportMetric(float64(c.reports.Load())/float64(n), "frames/commit")
		b.ReportMetric(float64(c.busy.Load())/1e3/float64(c.reports.Load()), "store-µs/frame")
	}
}

func BenchmarkIngestTCP(b *testing.B) {
	type variant struct {
		name    string
		dialect string
		full    bool
	}
	variants := []variant{{"sqlite", sqlstore.SQLite, false}, {"postgres", sqlstore.Postgres, false}, {"sqlite-syncfull", sqlstore.SQLite, true}}
	var runID atomic.Int64
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			st := ingestStore(b, v.dialect, v.full)
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			counted := &countingStore{BatchStore: st}
			ing := alarm.NewIngestor(counted, log, 256)
			ictx, stopIngest := context.WithCancel(context.Background())
			ingDone := make(chan struct{})
			go func() { ing.Run(ictx); close(ingDone) }()
			defer func() { stopIngest(); <-ingDone }()
			stored := startReceiver(b, ing)
			defer stored.stop()
			bare := startReceiver(b, sia.HandlerFunc(func(context.Context, []alarm.Report) error { return nil }))
			defer bare.stop()

			type load struct {
				name  string
				conns int
				rate  float64
				storm bool
			}
			loads := []load{{"conns=1", 1, 0, false}, {"conns=8", 8, 0, false}, {"conns=64", 64, 0, false}, {"conns=256", 256, 0, false}, {"rate=5000", 64, 5000, false},
				{"storm-conns=64", stormPanels, 0, true}, {"storm-rate=5000", stormPanels, 5000, true}}
			for _, l := range loads {
				// The two sides one after the other, so that they see
				// the same machine.
				b.Run(l.name+"/store", func(b *testing.B) {
					counted.reset()
					drive(b, stored.addr, l.conns, l.rate, int(runID.Add(1)), l.storm)
					counted.report(b)
				})
				b.Run(l.name+"/bare", func(b *testing.B) { drive(b, bare.addr, l.conns, l.rate, int(runID.Add(1)), l.storm) })
			}
		})
	}
}

// BenchmarkIngestStore is the serial part of BenchmarkIngestTCP alone:
// Store.Ingest, on the one writer, called with batches of a fixed size of
// the same periodic test reports from the panels in turn (each its own seq, so
// none is a retransmission), and storm-batch=7, 16 and 64: burglaries from
// the storm's 64 armed homes in turn, a home at most once a batch. cpu-µs/frame here is what one frame costs the
// writer; 20,000 frames/s on one writer needs it under 50 µs.
//
//	go test -run '^$' -bench IngestStore -benchtime 20000x ./alarm/sia/
func BenchmarkIngestStore(b *testing.B) {
	for _, dialect := range []string{sqlstore.SQLite, sqlstore.Postgres} {
		b.Run(dialect, func(b *testing.B) {
			st := ingestStore(b, dialect, false)
			var f frameSource
			type load struct {
				size  int
				storm bool
			}
			for _, l := range []load{{1, false}, {16, false}, {64, false}, {7, true}, {16, true}, {stormPanels, true}} {
				name := fmt.Sprintf("batch=%d", l.size)
				if l.storm {
					name = "storm-" + name
				}
				b.Run(name, func(b *testing.B) { ingestBatches(b, st, &f, l.size, l.storm) })
			}
		})
	}
}

// BenchmarkIngestStoreOriginIndex measures what the storm's index pages
// cost the writer on SQLite (docs/benchmarks.md, "Alarm storm"). A storm
// batch holds each home at most once (a panel waits for its ACK), so the
// index of alarm_events by home (alarm_events_origin) has a page of its
// own written for every frame. by-seq replaces it, in an experiment, by
// an index led by the sequence number, which the benchmark's frames take
// from one counter, so that a batch's entries share pages: the
// difference between the two is what the pages by home cost. (by-seq is
// not a schema the product could use: panels number their frames each on
// its own.) Both stores are set up first and then measured in turn.
//
//	go test -run '^$' -bench 'IngestStoreOriginIndex' -benchtime 32000x -count 3 ./alarm/sia/
func BenchmarkIngestStoreOriginIndex(b *testing.B) {
	byHome := ingestStore(b, sqlstore.SQLite, false)
	bySeq := ingestStore(b, sqlstore.SQLite, false)
	for _, q := range []string{"DROP INDEX alarm_events_origin", "CREATE INDEX alarm_events_by_seq ON alarm_events (seq, home_id, account, incident_id)"} {
		if _, err := bySeq.DB().ExecContext(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
	var f frameSource
	b.Run("by-home", func(b *testing.B) { ingestBatches(b, byHome, &f, 32, true) })
	b.Run("by-seq", func(b *testing.B) { ingestBatches(b, bySeq, &f, 32, true) })
}

// frameSource numbers the benchmarks' frames and takes the storm's
// panels in turn.
type frameSource struct {
	seq   int
	storm int // the storm's next panel
}

// ingestBatches stores b.N frames in batches of size: burglaries from the
// storm's 64 armed homes in turn (a home at most once a batch when size
// is at most 64), or periodic tests from the panels in turn, each with a
// sequence number of its own, so that none is a retransmission.
func ingestBatches(b *testing.B, st *sqlstore.Store, f *frameSource, size int, storm bool) {
	ctx := context.Background()
	batch := make([]alarm.Report, size)
	b.ResetTimer()
	cpu0 := cpuTime()
	for done := 0; done < b.N; done += size {
		for i := range batch {
			f.seq++
			s := strconv.Itoa(f.seq)
			if storm {
				f.storm = (f.storm + 1) % stormPanels
				batch[i] = alarm.Report{Source: alarm.SourceSIA, Account: ingestAccount(f.storm), Seq: s, Fingerprint: s,
					Code: "BA", Kind: alarm.KindBurglary, Zone: s, ReceivedAt: time.Now()}
				continue
			}
			batch[i] = alarm.Report{Source: alarm.SourceSIA, Account: ingestAccount(f.seq % ingestPanels), Seq: s, Fingerprint: s,
				Code: "RP", Kind: alarm.KindTest, Zone: s, ReceivedAt: time.Now()}
		}
		if _, err := st.Ingest(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/1e3/float64(b.N), "cpu-µs/frame")
}
