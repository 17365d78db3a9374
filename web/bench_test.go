package web

// Benchmarks of the foundation's hot read path, GET /api/v1/homes, against
// a bare net/http handler that writes the very same bytes. They run only
// with -bench; see docs/benchmarks.md and scripts/bench-foundation.sh.
//
// Each dialect's sub-benchmark builds one store holding the demo community
// (672 homes, so 14 pages of 50), signs in as the demo operator, captures
// every page once through the real server, and then measures two sides the
// same way:
//
//	api   the real Server: identify (session lookup), metrics, huma,
//	      authorize, scope, COUNT + SELECT, JSON encoding
//	bare  an http.HandlerFunc that writes the captured page for the offset
//	      asked for, with the captured headers
//
// twice over:
//
//	loopback  through httptest.NewServer and an http.Client over 127.0.0.1,
//	          keep-alive, so HTTP parsing and the socket are counted too
//	inproc    calling ServeHTTP directly with httptest.NewRecorder, which
//	          leaves only the handler's own cost
//
// The number that matters is the ratio api/bare measured in one run, since
// the machines are small and noisy; req/s alone says little.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

const (
	benchPageSize = 50
	// benchParallelism multiplies GOMAXPROCS into the number of goroutines
	// sending requests at once: 32 on a 2-core machine, the connections of
	// issue 13's aims (p99 ≤ 20 ms at 32 connections).
	benchParallelism = 16
)

// benchPage is one captured answer of the real server.
type benchPage struct {
	path   string
	header http.Header
	body   []byte
}

// homesFixture is a server over a demo store and the pages it answered.
type homesFixture struct {
	api   http.Handler
	bare  http.Handler
	token string
	// cookie sends the token as the session cookie, as a browser does,
	// instead of a bearer header.
	cookie bool
	pages  []benchPage
}

// authorize puts the fixture's credentials on r.
func (f *homesFixture) authorize(r *http.Request) {
	if f.cookie {
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: f.token})
		return
	}
	r.Header.Set("Authorization", "Bearer "+f.token)
}

func newHomesFixture(b *testing.B, dialect string) *homesFixture {
	b.Helper()
	st := sqlstoretest.Open(b, dialect, nil)
	ctx := context.Background()
	if _, err := demo.Load(ctx, st, demoPassword); err != nil {
		b.Fatalf("load demo: %v", err)
	}
	srv := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "bench", LoginBurst: 100})
	f := &homesFixture{api: srv}

	f.token = benchLogin(b, srv, "operator")

	// Capture every page once; the total says how many there are.
	byOffset := map[string]int{}
	for offset, total := 0, 1; offset < total; offset += benchPageSize {
		path := "/api/v1/homes?limit=" + strconv.Itoa(benchPageSize) + "&offset=" + strconv.Itoa(offset)
		rec := httptest.NewRecorder()
		f.api.ServeHTTP(rec, f.request(path))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.Bytes())
		}
		var l struct {
			Items []struct{ ID int64 }
			Total int
		}
		if err := jsonUnmarshal(rec.Body.Bytes(), &l); err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
		total = l.Total
		if len(l.Items) == 0 {
			b.Fatalf("GET %s: no items of %d", path, total)
		}
		h := rec.Header().Clone()
		h.Del("Date")
		byOffset[strconv.Itoa(offset)] = len(f.pages)
		f.pages = append(f.pages, benchPage{path: path, header: h, body: bytes.Clone(rec.Body.Bytes())})
	}
	if len(f.pages) < 2 {
		b.Fatalf("only %d page(s) of homes: the benchmark wants several", len(f.pages))
	}

	// The bare side: the same bytes and headers for the offset asked for.
	// It parses the query as the real one must, and writes in one call.
	f.bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, ok := byOffset[r.URL.Query().Get("offset")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		p := &f.pages[i]
		h := w.Header()
		for k, v := range p.header {
			h[k] = v
		}
		w.Write(p.body)
	})
	return f
}

func (f *homesFixture) request(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	f.authorize(r)
	return r
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// BenchmarkHomes measures GET /api/v1/homes?limit=50 paging through the
// demo community, real server against bare handler, on each dialect.
//
//	go test -run '^$' -bench BenchmarkHomes -benchtime=2s ./web/
func BenchmarkHomes(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			f := newHomesFixture(b, dialect)
			b.Run("loopback", func(b *testing.B) {
				apiSrv := httptest.NewServer(f.api)
				defer apiSrv.Close()
				bareSrv := httptest.NewServer(f.bare)
				defer bareSrv.Close()
				b.Run("api", func(b *testing.B) { f.runLoopback(b, apiSrv.URL) })
				b.Run("bare", func(b *testing.B) { f.runLoopback(b, bareSrv.URL) })
			})
			b.Run("inproc", func(b *testing.B) {
				b.Run("api", func(b *testing.B) { f.runInproc(b, f.api) })
				b.Run("bare", func(b *testing.B) { f.runInproc(b, f.bare) })
			})
		})
	}
}

// runLoopback sends the pages round-robin over keep-alive connections and
// checks every answer against the captured page: the bare side must be
// serving what the real one does, and the real one must keep answering.
func (f *homesFixture) runLoopback(b *testing.B, base string) {
	tr := &http.Transport{MaxIdleConns: 64, MaxIdleConnsPerHost: 64, DisableCompression: true, IdleConnTimeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	send := func(p *benchPage, buf *bytes.Buffer) error {
		req, err := http.NewRequest(http.MethodGet, base+p.path, nil)
		if err != nil {
			return err
		}
		f.authorize(req)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		buf.Reset()
		if _, err := buf.ReadFrom(resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || buf.Len() != len(p.body) {
			return fmt.Errorf("GET %s: status %d, %d bytes, want 200 and %d bytes", p.path, resp.StatusCode, buf.Len(), len(p.body))
		}
		return nil
	}
	// Warm up: every page once, and open the connections.
	var buf bytes.Buffer
	for i := range f.pages {
		if err := send(&f.pages[i], &buf); err != nil {
			b.Fatal(err)
		}
	}
	f.run(b, func(p *benchPage, buf *bytes.Buffer) error { return send(p, buf) })
}

// runInproc calls the handler directly with a recorder.
func (f *homesFixture) runInproc(b *testing.B, h http.Handler) {
	serve := func(p *benchPage, _ *bytes.Buffer) error {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, f.request(p.path))
		if rec.Code != http.StatusOK || rec.Body.Len() != len(p.body) {
			return fmt.Errorf("GET %s: status %d, %d bytes, want 200 and %d bytes", p.path, rec.Code, rec.Body.Len(), len(p.body))
		}
		return nil
	}
	var buf bytes.Buffer
	for i := range f.pages {
		if err := serve(&f.pages[i], &buf); err != nil {
			b.Fatal(err)
		}
	}
	f.run(b, serve)
}

// run drives do in parallel over the pages and reports req/s. Each
// goroutine starts on a different page and walks them in turn, so the
// requests in flight ask for different offsets.
func (f *homesFixture) run(b *testing.B, do func(*benchPage, *bytes.Buffer) error) {
	var next atomic.Int64
	var failed atomic.Bool
	var mu sync.Mutex
	var took []time.Duration
	b.ReportAllocs()
	cpu0 := processCPU()
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf bytes.Buffer
		var mine []time.Duration
		i := int(next.Add(3))
		for pb.Next() {
			i++
			start := time.Now()
			if err := do(&f.pages[i%len(f.pages)], &buf); err != nil {
				if failed.CompareAndSwap(false, true) {
					b.Error(err)
				}
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		took = append(took, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	// The process's CPU per request: the handler's own cost in process;
	// over loopback the client's and the server's together.
	b.ReportMetric(float64(processCPU()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-µs/req")
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "req/s")
	}
	// Each request's time from sending to the last byte read, with
	// benchParallelism×GOMAXPROCS of them in flight.
	if len(took) > 0 {
		slices.Sort(took)
		at := func(q float64) float64 { return float64(took[int(q*float64(len(took)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(at(0.50), "p50-ms")
		b.ReportMetric(at(0.99), "p99-ms")
	}
	var size int
	for _, p := range f.pages {
		size += len(p.body)
	}
	b.ReportMetric(float64(size)/float64(len(f.pages)), "B/resp")
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchLogin signs user in on srv, in process, and returns the token.
func benchLogin(b testing.TB, srv http.Handler, user string) string {
	b.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/auth/login",
		bytes.NewReader([]byte(`{"username":"`+user+`","password":"`+demoPassword+`"}`)))
	req.Header.Set("Content-Type", "application/json")
	srv.ServeHTTP(rec, req)
	var login struct{ Token string }
	if rec.Code != http.StatusOK || jsonUnmarshal(rec.Body.Bytes(), &login) != nil || login.Token == "" {
		b.Fatalf("login %s: %d %s", user, rec.Code, rec.Body.Bytes())
	}
	return login.Token
}
