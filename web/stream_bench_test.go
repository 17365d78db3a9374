package web

// BenchmarkEventToConsole measures how long an alarm takes from the
// ingest call to the operators' consoles: the time from calling
// alarm.Ingestor.Store with a burglary report (group commit, incident,
// live_events row, hub wake-up) to each of N subscribers of
// GET /api/v1/events/stream (bearer of the demo operator, over loopback)
// reading the event, with 1 and with 500 subscribers side by side, on
// SQLite and PostgreSQL. Each op is one intrusion; the next is injected
// when every subscriber has seen the previous one. Reported: p50-ms,
// p99-ms and max-ms over all subscribers and intrusions, and commit-ms
// (the Store call alone, median).
//
//	go test -run '^$' -bench EventToConsole -benchtime 30x ./web/

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func BenchmarkEventToConsole(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			st := sqlstoretest.Open(b, dialect, nil)
			ctx := context.Background()
			if _, err := demo.Load(ctx, st, demoPassword); err != nil {
				b.Fatal(err)
			}
			floor := 1
			homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Floor: &floor, Page: shequ.Page{Limit: 64}})
			if err != nil || len(homes.Items) < 64 {
				b.Fatalf("homes: %v", err)
			}
			// One panel per intrusion home, so that each intrusion opens
			// an incident of its own rather than joining one.
			var accounts []string
			for i, h := range homes.Items {
				p := alarm.Panel{HomeID: h.ID, Account: fmt.Sprintf("E%03X", i+1)}
				if err := st.CreatePanel(ctx, auth.Scope{{}}, &p); err != nil {
					b.Fatal(err)
				}
				accounts = append(accounts, p.Account)
			}
			hub := live.NewHub()
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			srv := New(Config{Store: st, Logger: log, Version: "bench", LoginBurst: 1000, Hub: hub})
			hs := httptest.NewServer(srv)
			defer hs.Close()
			defer srv.StopStreams()
			ing := alarm.NewIngestor(st, log, 256)
			ing.Committed = func([]alarm.Outcome) { hub.Changed() }
			ictx, stopIngest := context.WithCancel(ctx)
			ingDone := make(chan struct{})
			go func() { ing.Run(ictx); close(ingDone) }()
			defer func() { stopIngest(); <-ingDone }()

			f := &consoleFixture{b: b, url: hs.URL, token: benchLogin(b, hs.Config.Handler, "operator"), ing: ing, accounts: accounts}
			for _, n := range []int{1, 500} {
				b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { f.run(b, n) })
			}
		})
	}
}

type consoleFixture struct {
	b        *testing.B
	url      string
	token    string
	ing      *alarm.Ingestor
	accounts []string
	seq      int
}

func (f *consoleFixture) run(b *testing.B, n int) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, DisableCompression: true}}
	defer client.CloseIdleConnections()

	// round is the intrusion being waited for; each subscriber reports
	// the time it read the first event of each round.
	var round atomic.Int64
	round.Store(-1)
	type arrival struct {
		round int64
		at    time.Time
	}
	arrivals := make(chan arrival, n*4)
	var ready, wg sync.WaitGroup
	ready.Add(n)
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, f.url+"/api/v1/events/stream", nil)
			req.Header.Set("Authorization", "Bearer "+f.token)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				errs <- fmt.Errorf("stream: %v %v", err, resp)
				ready.Done()
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			seen := int64(-1)
			first := true
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if first {
					// "retry: …": the stream is open.
					first = false
					ready.Done()
				}
				if len(line) > 6 && string(line[:6]) == "data: " {
					if r := round.Load(); r != seen {
						seen = r
						arrivals <- arrival{r, time.Now()}
					}
				}
			}
		}()
	}
	ready.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}

	var lat, commit []time.Duration
	b.ResetTimer()
	for i := range b.N {
		f.seq++
		account := f.accounts[f.seq%len(f.accounts)]
		r := alarm.Report{Source: alarm.SourceSIA, Account: account, Seq: fmt.Sprintf("%04d", f.seq%9999+1),
			Fingerprint: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), f.seq), Code: "BA", Kind: alarm.KindBurglary,
			Zone: "01", ReceivedAt: time.Now()}
		round.Store(int64(i))
		t0 := time.Now()
		if _, err := f.ing.Store(ctx, []alarm.Report{r}); err != nil {
			b.Fatal(err)
		}
		commit = append(commit, time.Since(t0))
		timeout := time.After(20 * time.Second)
		for got := 0; got < n; {
			select {
			case a := <-arrivals:
				if a.round == int64(i) {
					lat = append(lat, a.at.Sub(t0))
					got++
				}
			case <-timeout:
				b.Fatalf("intrusion %d: %d of %d subscribers saw it within 20 s", i, got, n)
			}
		}
	}
	b.StopTimer()
	cancel()
	wg.Wait()

	slices.Sort(lat)
	slices.Sort(commit)
	q := func(ds []time.Duration, x float64) float64 {
		return float64(ds[min(len(ds)-1, int(math.Ceil(x*float64(len(ds))))-1)]) / 1e6
	}
	b.ReportMetric(q(lat, 0.50), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(q(lat, 1), "max-ms")
	b.ReportMetric(q(commit, 0.50), "commit-ms")
}
