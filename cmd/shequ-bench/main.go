// Command shequ-bench measures a built shequ binary from the outside: how
// long it takes from exec to its first ready answer, how much memory it
// holds at idle after each kind of start (the first --demo start on an
// empty store, a --demo start with the demo there, a plain start; issue
// 13's aim is 60 MB, decimal, after any of them), and how many
// GET /api/v1/homes pages it serves over
// loopback next to a bare Go server sending the same bytes, side by side
// in one run. It is what scripts/bench-foundation.sh runs; the numbers go
// to docs/benchmarks.md.
//
//	shequ-bench -bin /tmp/shequ -dialect sqlite
//	shequ-bench -bin /tmp/shequ-old,/tmp/shequ-new -load 0   # starts and memory, A B A B
//	shequ-bench -bin /tmp/shequ -dialect postgres -pg postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go test -run '^$' -bench BenchmarkHomes ./web/ | shequ-bench summarize
//
// It only ever talks to the loopback interface: the servers it starts
// listen on 127.0.0.1, and a PostgreSQL URL on any other host is refused.
// Every wait and every load phase has a time bound.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

const demoPassword = "bench-demo-password-2026"

type options struct {
	bin         string
	dialect     string
	pg          string
	runs        int
	warmup      int
	idle        time.Duration
	loadFor     time.Duration
	rounds      int
	concurrency int
	keep        bool
	probe       bool
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "summarize" {
		if err := summarizeMain(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "shequ-bench summarize:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "bare" {
		if err := bareMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "shequ-bench bare:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.bin, "bin", "", "the shequ binary to measure (go build -o /tmp/shequ ./cmd/shequ); several, comma-separated, are started in turn and compared on start-up and idle memory only")
	flag.StringVar(&o.dialect, "dialect", "sqlite", "sqlite or postgres")
	flag.StringVar(&o.pg, "pg", envOr("SHEQU_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		"PostgreSQL URL of a database to connect to for CREATE/DROP DATABASE; must be on 127.0.0.1 [SHEQU_TEST_POSTGRES]")
	flag.IntVar(&o.runs, "runs", 5, "start-up runs of each kind; the median is reported")
	flag.IntVar(&o.warmup, "warmup", 2000, "requests sent before measuring memory after warm-up")
	flag.DurationVar(&o.idle, "idle", 5*time.Second, "idle time after each start, and after the warm-up, before memory is read")
	flag.DurationVar(&o.loadFor, "load", 3*time.Second, "length of each side's load phase (0 skips the load)")
	flag.IntVar(&o.rounds, "rounds", 3, "load rounds; each round runs the real and the bare server once")
	flag.IntVar(&o.concurrency, "c", 8, "concurrent connections of the load")
	flag.BoolVar(&o.keep, "keep", false, "keep the data directory and database afterwards")
	flag.BoolVar(&o.probe, "probe", false, "only check that the store is reachable (PostgreSQL) and exit")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "shequ-bench: -bin is required")
		os.Exit(2)
	}
	if o.runs < 1 || o.rounds < 1 || o.concurrency < 1 {
		fmt.Fprintln(os.Stderr, "shequ-bench: -runs, -rounds and -c must be at least 1")
		os.Exit(2)
	}
	// The whole measurement is bounded, whatever goes wrong.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "shequ-bench:", err)
		os.Exit(1)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// store is one place a shequ server keeps its data.
type store struct {
	dir   string // --data, always given (logs and the SQLite file go there)
	db    string // --db, for PostgreSQL
	key   string // --key, for PostgreSQL
	drop  func() error
	label string
}

func run(ctx context.Context, o options) error {
	work, err := os.MkdirTemp("", "shequ-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(work)
	}
	var pgAdmin *sql.DB
	if o.dialect == "postgres" {
		if err := loopbackOnly(o.pg); err != nil {
			return err
		}
		if pgAdmin, err = sql.Open("pgx", o.pg); err != nil {
			return err
		}
		defer pgAdmin.Close()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = pgAdmin.PingContext(pctx)
		cancel()
		if err != nil {
			return fmt.Errorf("PostgreSQL at %s: %w", o.pg, err)
		}
	} else if o.dialect != "sqlite" {
		return fmt.Errorf("unknown dialect %q", o.dialect)
	}
	if o.probe {
		return nil
	}
	newStore := func(i int) (*store, error) {
		s := &store{dir: filepath.Join(work, fmt.Sprintf("data%d", i)), drop: func() error { return nil }}
		if err := os.MkdirAll(s.dir, 0o750); err != nil {
			return nil, err
		}
		if o.dialect == "sqlite" {
			s.label = s.dir
			return s, nil
		}
		name := "shequ_bench_" + randHex(6)
		if _, err := pgAdmin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			return nil, fmt.Errorf("create database: %w", err)
		}
		u, _ := url.Parse(o.pg)
		u.Path = "/" + name
		s.db, s.key, s.label = u.String(), randHex(32), name
		s.drop = func() error {
			if o.keep {
				return nil
			}
			dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := pgAdmin.ExecContext(dctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			return err
		}
		return s, nil
	}

	bins := strings.Split(o.bin, ",")
	fmt.Printf("## shequ-bench %s: %s\n\n", o.dialect, strings.Join(bins, ", "))
	// The binaries run from copies made here. How many of an executable's
	// pages a start maps depends on how its file sits in the page cache:
	// the kernel maps what is cached around each page touched, and a file
	// the linker just wrote is cached in larger pieces than one copied
	// (measured: 19.6 MiB of text resident for a fresh build, 18.4 for a
	// copy of the same file). Copies written alike make the binaries
	// compare on their code, not on how they were written.
	runBins := make([]string, len(bins))
	for i, b := range bins {
		if runBins[i], err = copyExecutable(b, filepath.Join(work, fmt.Sprintf("bin%d-%s", i, filepath.Base(b)))); err != nil {
			return err
		}
	}

	// (a) Start-up, exec to the first 200 of /readyz, and the memory each
	// kind of start leaves: RSS after o.idle without a request. With
	// several binaries, each run starts them in turn on stores of their
	// own (A B A B), so that they are measured side by side.
	kinds := []startKind{
		{name: "first (--demo, empty store)", demo: true},
		{name: "again (--demo, demo there)", demo: true},
		{name: "plain (no --demo)"},
	}
	results := make([][]startResult, len(bins)) // [bin][kind*runs]
	var last *server
	var lastStore *store
	for i := range o.runs {
		for b, bin := range bins {
			st, err := newStore(i*len(bins) + b)
			if err != nil {
				return err
			}
			for k, kind := range kinds {
				srv, err := start(ctx, runBins[b], st, kind.demo)
				if err != nil {
					st.drop()
					return fmt.Errorf("%s, run %d, %s start: %w", bin, i+1, kind.name, err)
				}
				time.Sleep(o.idle)
				m, err := smaps(srv.pid())
				if err != nil {
					srv.stop()
					st.drop()
					return err
				}
				results[b] = append(results[b], startResult{kind: k, startup: srv.startup, mem: m})
				fmt.Printf("run %d %s %-28s exec→ready %6.0f ms (logged startup=%s)  RSS %5.1f MiB = %5.1f MB (anon %5.1f, file %5.1f MiB)\n",
					i+1, binLabel(bins, b), kind.name, ms(srv.startup.ready), srv.startup.logged, mib(m.rss), mb(m.rss), mib(m.anon), mib(m.rss-m.anon))
				if i == o.runs-1 && b == len(bins)-1 && !kind.demo {
					last, lastStore = srv, st
					continue
				}
				if err := srv.stop(); err != nil {
					return err
				}
			}
			if st != lastStore {
				if err := st.drop(); err != nil {
					return err
				}
			}
		}
	}
	defer lastStore.drop()
	defer last.stop()
	for b := range bins {
		fmt.Printf("\n| %s %s | median of %d |\n|---|---|\n", o.dialect, binLabel(bins, b), o.runs)
		for k, kind := range kinds {
			var rs []startResult
			for _, r := range results[b] {
				if r.kind == k {
					rs = append(rs, r)
				}
			}
			fmt.Printf("| start-up, %s, exec→/readyz 200 | %.0f ms |\n", kind.name, ms(medianDur(rs)))
		}
		for k, kind := range kinds {
			var rss, anon, file []float64
			for _, r := range results[b] {
				if r.kind == k {
					rss = append(rss, float64(r.mem.rss))
					anon = append(anon, float64(r.mem.anon))
					file = append(file, float64(r.mem.rss-r.mem.anon))
				}
			}
			m := int64(median(rss))
			verdict := "within"
			if m > aimBytes {
				verdict = "**over**"
			}
			fmt.Printf("| idle RSS %s after the %s start | **%.1f MiB = %.1f MB** (%s 60 MB; range %.1f–%.1f MiB; anon %.1f + file %.1f MiB) |\n",
				o.idle, kind.name, mib(m), mb(m), verdict, mib(int64(slices.Min(rss))), mib(int64(slices.Max(rss))),
				mib(int64(median(anon))), mib(int64(median(file))))
		}
	}
	fmt.Println()
	if len(bins) > 1 {
		// The warm-up and the load compare a server with a bare one, not
		// binaries with each other.
		return nil
	}

	// (b) Memory after a warm-up.
	token, err := login(ctx, last.base)
	if err != nil {
		return err
	}
	pages, err := capture(ctx, last.base, token)
	if err != nil {
		return err
	}
	if _, err := load(ctx, last.base, token, pages, o.concurrency, 0, o.warmup); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	rssWarm, _ := rss(last.pid())
	time.Sleep(o.idle)
	rssIdle, _ := rss(last.pid())

	// (c) Loopback load: the real server against a bare one with the same
	// bytes, alternating which goes first in each round.
	type side struct{ reqs, p50, p99 []float64 }
	var api, bare side
	var ratios []float64
	var rssLoad procMem
	if o.loadFor > 0 {
		bs, err := startBare(ctx, work, pages)
		if err != nil {
			return err
		}
		defer bs.stop()
		for r := range o.rounds {
			var ra, rb loadResult
			runSide := func(s *side, base string, into *loadResult) error {
				res, err := load(ctx, base, token, pages, o.concurrency, o.loadFor, 0)
				if err != nil {
					return err
				}
				*into = res
				s.reqs = append(s.reqs, res.perSecond())
				s.p50 = append(s.p50, ms(res.quantile(0.5)))
				s.p99 = append(s.p99, ms(res.quantile(0.99)))
				return nil
			}
			if r%2 == 0 {
				err = errors.Join(runSide(&api, last.base, &ra), runSide(&bare, bs.base, &rb))
			} else {
				err = errors.Join(runSide(&bare, bs.base, &rb), runSide(&api, last.base, &ra))
			}
			if err != nil {
				return fmt.Errorf("load round %d: %w", r+1, err)
			}
			ratios = append(ratios, ra.perSecond()/rb.perSecond())
			fmt.Printf("load round %d: api %8.0f req/s (p50 %.2f ms, p99 %.2f ms)  bare %8.0f req/s (p50 %.2f ms, p99 %.2f ms)  api/bare %.3f\n",
				r+1, ra.perSecond(), ms(ra.quantile(0.5)), ms(ra.quantile(0.99)),
				rb.perSecond(), ms(rb.quantile(0.5)), ms(rb.quantile(0.99)), ra.perSecond()/rb.perSecond())
		}
		rssLoad, _ = rss(last.pid())
	}

	// Summary, as markdown.
	fmt.Printf("| %s, the last plain start | |\n|---|---|\n", o.dialect)
	fmt.Printf("| RSS right after %d warm-up requests | %.1f MiB |\n", o.warmup, mib(rssWarm.rss))
	fmt.Printf("| RSS after warm-up, then idle %s | %.1f MiB (peak %.1f MiB) |\n", o.idle, mib(rssIdle.rss), mib(rssIdle.hwm))
	if o.loadFor > 0 {
		fmt.Printf("| RSS after the load | %.1f MiB (peak %.1f MiB) |\n", mib(rssLoad.rss), mib(rssLoad.hwm))
		fmt.Printf("| loopback load, %d conns, %d rounds × %s a side: api | %.0f req/s, p50 %.2f ms, p99 %.2f ms |\n", o.concurrency, o.rounds, o.loadFor, median(api.reqs), median(api.p50), median(api.p99))
		fmt.Printf("| same: bare (same bytes) | %.0f req/s, p50 %.2f ms, p99 %.2f ms |\n", median(bare.reqs), median(bare.p50), median(bare.p99))
		fmt.Printf("| api/bare throughput, median of the rounds' ratios | %.3f (1 : %.1f), range %.3f – %.3f |\n", median(ratios), 1/median(ratios), slices.Min(ratios), slices.Max(ratios))
	}
	fmt.Println()
	return nil
}

// copyExecutable copies the file at from to a new executable file at to.
func copyExecutable(from, to string) (string, error) {
	in, err := os.Open(from)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return "", err
	}
	return to, out.Close()
}

// loopbackOnly refuses a database URL that is not on this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("refusing PostgreSQL on %q: the benchmark only talks to 127.0.0.1", u.Hostname())
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// --- servers ---

type startup struct {
	ready  time.Duration // exec to the first 200 of /readyz
	logged string        // what the server logged as startup=
}

type server struct {
	cmd     *exec.Cmd
	base    string
	log     *os.File
	startup startup
	done    chan error
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// freeAddr picks a free port on 127.0.0.1.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs bin serve on st and waits, at most a minute, for /readyz.
func start(ctx context.Context, bin string, st *store, demo bool) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{"serve", "--data", st.dir, "--http", addr, "--log-level", "info"}
	if demo {
		args = append(args, "--demo")
	}
	if st.db != "" {
		args = append(args, "--db", st.db, "--key", st.key)
	}
	logf, err := os.Create(filepath.Join(st.dir, fmt.Sprintf("serve-%d.log", time.Now().UnixNano())))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "SHEQU_DEMO_PASSWORD="+demoPassword)
	cmd.Stdout, cmd.Stderr = logf, logf
	s := &server{cmd: cmd, base: "http://" + addr, log: logf, done: make(chan error, 1)}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { s.done <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := t0.Add(time.Minute)
	for {
		if resp, err := client.Get(s.base + "/readyz"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.startup.ready = time.Since(t0)
				break
			}
		}
		select {
		case err := <-s.done:
			s.done <- err
			return nil, fmt.Errorf("server exited before ready (%v); log: %s", err, tail(logf.Name()))
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("not ready within a minute; log: %s", tail(logf.Name()))
		}
		time.Sleep(2 * time.Millisecond)
	}
	// The server logs its own view (store open to listening) once ready.
	for range 50 {
		if b, _ := os.ReadFile(logf.Name()); strings.Contains(string(b), "startup=") {
			line := string(b)[strings.Index(string(b), "startup="):]
			if i := strings.IndexAny(line, " \n"); i > 0 {
				line = line[:i]
			}
			s.startup.logged = strings.TrimPrefix(line, "startup=")
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return s, nil
}

// stop sends SIGTERM and waits up to 40 s, then kills.
func (s *server) stop() error {
	if s == nil || s.cmd.Process == nil {
		return nil
	}
	defer s.log.Close()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		s.done <- err
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			return err
		}
		return nil
	case <-time.After(40 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("server %d did not stop within 40 s; killed", s.pid())
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// --- memory ---

// aimBytes is issue 13's idle memory aim, 60 MB: decimal megabytes,
// 58,594 KiB.
const aimBytes = 60_000_000

type startKind struct {
	name string
	demo bool
}

// startResult is one start of one kind: its time to ready and the memory
// it held after the idle wait.
type startResult struct {
	kind    int
	startup startup
	mem     smapsMem
}

// binLabel names binary b among several as A, B, …; one binary needs no
// name.
func binLabel(bins []string, b int) string {
	if len(bins) == 1 {
		return ""
	}
	return string(rune('A'+b)) + " (" + filepath.Base(bins[b]) + ")"
}

type smapsMem struct{ rss, anon int64 } // bytes

// smaps reads Rss and Anonymous from /proc/PID/smaps_rollup: what the
// process holds, and how much of it is its own memory (heap, stacks,
// SQLite's caches) rather than pages of the executable and other files.
func smaps(pid int) (smapsMem, error) {
	f, err := procKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return smapsMem{}, err
	}
	m := smapsMem{rss: f["Rss:"], anon: f["Anonymous:"]}
	if m.rss == 0 {
		return m, fmt.Errorf("no Rss in smaps_rollup of process %d", pid)
	}
	return m, nil
}

type procMem struct{ rss, hwm int64 } // bytes

// rss reads VmRSS and VmHWM from /proc/PID/status.
func rss(pid int) (procMem, error) {
	f, err := procKB(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMem{}, err
	}
	m := procMem{rss: f["VmRSS:"], hwm: f["VmHWM:"]}
	if m.rss == 0 {
		return m, fmt.Errorf("no VmRSS for process %d", pid)
	}
	return m, nil
}

// procKB reads a /proc file of "Name: N kB" lines into bytes by name
// (the colon kept).
func procKB(path string) (map[string]int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		if kb, err := strconv.ParseInt(f[1], 10, 64); err == nil {
			out[f[0]] = kb << 10
		}
	}
	return out, nil
}

// --- requests ---

// page is one captured answer of the real server.
type page struct {
	Path   string      `json:"path"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"`
}

func login(ctx context.Context, base string) (string, error) {
	body := `{"username":"operator","password":"` + demoPassword + `"}`
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/login", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.Token == "" {
		return "", fmt.Errorf("login: status %d, %v", resp.StatusCode, err)
	}
	return out.Token, nil
}

// capture fetches every page of homes, 50 at a time, once.
func capture(ctx context.Context, base, token string) ([]page, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	var pages []page
	for offset, total := 0, 1; offset < total; offset += 50 {
		path := "/api/v1/homes?limit=50&offset=" + strconv.Itoa(offset)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %d %s %v", path, resp.StatusCode, b, err)
		}
		var l struct{ Total int }
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, err
		}
		total = l.Total
		h := resp.Header.Clone()
		for _, k := range []string{"Date", "Content-Length", "Transfer-Encoding"} {
			h.Del(k) // net/http writes these itself
		}
		pages = append(pages, page{Path: path, Header: h, Body: b})
	}
	if len(pages) < 2 {
		return nil, fmt.Errorf("only %d page(s) of homes", len(pages))
	}
	return pages, nil
}

type loadResult struct {
	n         int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r loadResult) perSecond() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r loadResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(q*float64(len(r.latencies))))]
}

// load sends the pages round-robin from conns goroutines over keep-alive
// connections for d, or until count requests when count > 0, and checks
// every answer's status and length.
func load(ctx context.Context, base, token string, pages []page, conns int, d time.Duration, count int) (loadResult, error) {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	limit := d
	if count > 0 {
		limit = 2 * time.Minute // the bound of a counted run
	}
	lctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	type out struct {
		lat []time.Duration
		err error
	}
	results := make(chan out, conns)
	var sent = make(chan struct{}, max(count, 0))
	for range count {
		sent <- struct{}{}
	}
	close(sent)
	t0 := time.Now()
	for g := range conns {
		go func() {
			var o out
			buf := make([]byte, 32<<10)
			for i := g * 3; lctx.Err() == nil; i++ {
				if count > 0 {
					if _, ok := <-sent; !ok {
						break
					}
				}
				p := &pages[i%len(pages)]
				req, _ := http.NewRequestWithContext(lctx, http.MethodGet, base+p.Path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if lctx.Err() == nil {
						o.err = err
					}
					break
				}
				n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
				resp.Body.Close()
				if err != nil {
					if lctx.Err() == nil {
						o.err = err
					}
					break
				}
				if resp.StatusCode != http.StatusOK || int(n) != len(p.Body) {
					o.err = fmt.Errorf("GET %s: status %d, %d bytes, want 200 and %d", p.Path, resp.StatusCode, n, len(p.Body))
					break
				}
				o.lat = append(o.lat, time.Since(t))
			}
			results <- o
		}()
	}
	var r loadResult
	var errs []error
	for range conns {
		o := <-results
		r.latencies = append(r.latencies, o.lat...)
		errs = append(errs, o.err)
	}
	r.elapsed = time.Since(t0)
	if d > 0 && count == 0 {
		r.elapsed = min(r.elapsed, d)
	}
	r.n = len(r.latencies)
	slices.Sort(r.latencies)
	if err := errors.Join(errs...); err != nil {
		return r, err
	}
	if count > 0 && r.n != count {
		return r, fmt.Errorf("sent %d of %d requests within %s", r.n, count, limit)
	}
	return r, nil
}

// --- the bare server ---

// startBare runs this program as "shequ-bench bare" in a process of its
// own, like the real server, serving the captured pages.
func startBare(ctx context.Context, work string, pages []page) (*server, error) {
	file := filepath.Join(work, "pages.json")
	b, err := json.Marshal(pages)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, "bare.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "bare", "-pages", file, "-http", addr)
	cmd.Stdout, cmd.Stderr = logf, logf
	s := &server{cmd: cmd, base: "http://" + addr, log: logf, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { s.done <- cmd.Wait() }()
	client := &http.Client{Timeout: time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := client.Get(s.base + pages[0].Path); err == nil {
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && int(n) == len(pages[0].Body) {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("bare server not up; log: %s", tail(logf.Name()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// bareMain is a plain net/http server: for each page's path it writes the
// captured headers and bytes, nothing else. It stops by itself after an
// hour at most.
func bareMain(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	file := fs.String("pages", "", "captured pages (JSON)")
	addr := fs.String("http", "127.0.0.1:0", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
		return fmt.Errorf("bare listens on loopback only, not %q", *addr)
	}
	b, err := os.ReadFile(*file)
	if err != nil {
		return err
	}
	var pages []page
	if err := json.Unmarshal(b, &pages); err != nil {
		return err
	}
	byOffset := map[string]*page{}
	for i := range pages {
		u, err := url.Parse(pages[i].Path)
		if err != nil {
			return err
		}
		byOffset[u.Query().Get("offset")] = &pages[i]
	}
	srv := &http.Server{
		Addr:              *addr,
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := byOffset[r.URL.Query().Get("offset")]
			if !ok || r.URL.Path != "/api/v1/homes" {
				http.NotFound(w, r)
				return
			}
			h := w.Header()
			for k, v := range p.Header {
				h[k] = v
			}
			w.Write(p.Body)
		}),
	}
	go func() {
		time.Sleep(time.Hour)
		srv.Close()
	}()
	sig := make(chan os.Signal, 1)
	go func() {
		<-sig
		srv.Close()
	}()
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// --- statistics ---

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mib(b int64) float64        { return float64(b) / (1 << 20) }
func mb(b int64) float64         { return float64(b) / 1e6 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func medianDur(v []startResult) time.Duration {
	f := make([]float64, len(v))
	for i, s := range v {
		f[i] = float64(s.startup.ready)
	}
	return time.Duration(median(f))
}

// --- go test -bench output ---

// summarizeMain reads the output of one or more runs of
// "go test -bench BenchmarkHomes" and prints, per dialect and transport,
// the median req/s of each side and the median over the runs of the
// api/bare ratio, pairing each api result with the bare one of its run.
func summarizeMain(in io.Reader, out io.Writer) error {
	type leaf struct {
		reqs, bytes, allocs []float64
	}
	leaves := map[string]*leaf{} // "sqlite/loopback/api"
	var order []string
	b, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkHomes/") {
			continue
		}
		name := strings.TrimPrefix(f[0], "BenchmarkHomes/")
		if i := strings.LastIndex(name, "-"); i > 0 {
			name = name[:i] // the -GOMAXPROCS suffix
		}
		l := leaves[name]
		if l == nil {
			l = &leaf{}
			leaves[name] = l
			order = append(order, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "req/s":
				l.reqs = append(l.reqs, v)
			case "B/op":
				l.bytes = append(l.bytes, v)
			case "allocs/op":
				l.allocs = append(l.allocs, v)
			}
		}
	}
	fmt.Fprintln(out, "| dialect / transport | api req/s | bare req/s | api/bare (median of runs) | range of the runs | runs | api B/op | api allocs/op | bare allocs/op |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, name := range order {
		prefix, ok := strings.CutSuffix(name, "/api")
		if !ok {
			continue
		}
		api, bare := leaves[name], leaves[prefix+"/bare"]
		if bare == nil {
			continue
		}
		n := min(len(api.reqs), len(bare.reqs))
		var ratios []float64
		for i := range n {
			ratios = append(ratios, api.reqs[i]/bare.reqs[i])
		}
		if n == 0 {
			continue
		}
		fmt.Fprintf(out, "| %s | %.0f | %.0f | %.3f (1 : %.1f) | %.3f – %.3f | %d | %.0f | %.0f | %.0f |\n", prefix,
			median(api.reqs), median(bare.reqs), median(ratios), 1/median(ratios), slices.Min(ratios), slices.Max(ratios), n,
			median(api.bytes), median(api.allocs), median(bare.allocs))
	}
	return nil
}
