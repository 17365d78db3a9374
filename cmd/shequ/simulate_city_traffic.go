package main

// The city's traffic: panels' heartbeats and routine tests on their own
// schedules, the storm, alarms timed to the consoles, residents' SOS calls
// and matters; and the measures taken around it (the nodes' CPU, the
// database's size and what its sessions were waiting for).

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
)

// cityPanel is one simulated panel. Only its worker touches it.
type cityPanel struct {
	id        int64
	n, j      int // community, panel number
	node      int
	p         *siatest.Panel
	heartbeat time.Duration // after --speed
	test      time.Duration
	seq       int
}

// cityFrame is one frame to send: a heartbeat (NULL), a routine test
// (RP), an AC loss (AT, the storm) or a fire alarm (FA, timed to the
// consoles).
type cityFrame struct {
	panel *cityPanel
	code  string
}

type cityDue struct {
	at    time.Time
	panel *cityPanel
	code  string
}

type cityHeap []cityDue

func (h cityHeap) Len() int           { return len(h) }
func (h cityHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h cityHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *cityHeap) Push(x any)        { *h = append(*h, x.(cityDue)) }
func (h *cityHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// cityStats are one worker's counts; merged at the end.
type cityStats struct {
	sent, ack, nak, duh, noAnswer, connErrors, late int64
	byCode                                          map[string]int64
	lat, stormLat                                   []time.Duration
	firstNoAnswer                                   string
}

type cityWorker struct {
	addr    string
	node    int
	timeout time.Duration
	due     cityHeap
	extra   chan cityFrame
	probes  *cityProbes
	st      cityStats
}

func (w *cityWorker) run(ctx context.Context) {
	w.st.byCode = map[string]int64{}
	var conn *siatest.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	send := func(f cityFrame, dueAt time.Time) {
		if !dueAt.IsZero() && time.Since(dueAt) > time.Second {
			w.st.late++
		}
		var data string
		switch f.code {
		case "RP":
			data = "#" + f.panel.p.Account + "|Nri0/RP0000"
		case "AT":
			data = "#" + f.panel.p.Account + "|Nri0/AT0000"
		case "FA":
			data = "#" + f.panel.p.Account + "|Nri1/FA01"
		}
		id := sia.IDSIADCS
		if f.code == "NULL" {
			id = sia.IDNULL
		}
		// The sequence starts where the run's seed puts it, not at 0001:
		// a second run would otherwise repeat the first one's frames,
		// which the nodes rightly take for retransmissions and store once.
		f.panel.seq = f.panel.seq%9999 + 1
		frame := f.panel.p.Build(siatest.Message{ID: id, Seq: fmt.Sprintf("%04d", f.panel.seq), Data: data})
		w.st.sent++
		w.st.byCode[f.code]++
		if conn == nil {
			c, err := siatest.Dial("tcp", w.addr)
			if err != nil {
				w.st.connErrors++
				w.unanswered(f, err)
				return
			}
			conn = c
		}
		conn.Key = f.panel.p.Key
		if f.code == "FA" {
			w.probes.start(f.panel.id)
		}
		t0 := time.Now()
		ans, err := conn.Exchange(frame, w.timeout)
		d := time.Since(t0)
		if err != nil {
			w.unanswered(f, err)
			conn.Close()
			conn = nil
			return
		}
		switch ans.Type {
		case "ACK":
			w.st.ack++
			w.st.lat = append(w.st.lat, d)
			if f.code == "AT" {
				w.st.stormLat = append(w.st.stormLat, d)
			}
		case "NAK":
			w.st.nak++
		case "DUH":
			w.st.duh++
		default:
			w.unanswered(f, fmt.Errorf("answer %q", ans.Raw))
		}
	}
	for ctx.Err() == nil {
		// Alarms and the storm first: a panel sends them as they happen.
		select {
		case f := <-w.extra:
			send(f, time.Time{})
			continue
		default:
		}
		if len(w.due) > 0 {
			if d := time.Until(w.due[0].at); d <= 0 {
				x := heap.Pop(&w.due).(cityDue)
				send(cityFrame{panel: x.panel, code: x.code}, x.at)
				every := x.panel.heartbeat
				if x.code == "RP" {
					every = x.panel.test
				}
				x.at = x.at.Add(every)
				if now := time.Now(); x.at.Before(now) {
					x.at = now // far behind: do not burst to catch up
				}
				heap.Push(&w.due, x)
				continue
			} else {
				timer.Reset(d)
			}
		}
		select {
		case <-ctx.Done():
			return
		case f := <-w.extra:
			send(f, time.Time{})
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

func (w *cityWorker) unanswered(f cityFrame, err error) {
	w.st.noAnswer++
	if w.st.firstNoAnswer == "" {
		w.st.firstNoAnswer = fmt.Sprintf("%s %s: %v", f.panel.p.Account, f.code, err)
	}
}

// cityProbes times each fire alarm from its frame to each node's console.
type cityProbes struct {
	nodes int
	mu    sync.Mutex
	open  map[int64]*cityProbe // by panel id
	lat   [][]time.Duration    // by node
}

type cityProbe struct {
	sent time.Time
	seen []bool
	left int
}

func newCityProbes(nodes int) *cityProbes {
	return &cityProbes{nodes: nodes, open: map[int64]*cityProbe{}, lat: make([][]time.Duration, nodes)}
}

// busy says whether panel has an alarm not yet seen on every console.
func (p *cityProbes) busy(panel int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.open[panel]
	return ok
}

func (p *cityProbes) start(panel int64) {
	p.mu.Lock()
	p.open[panel] = &cityProbe{sent: time.Now(), seen: make([]bool, p.nodes), left: p.nodes}
	p.mu.Unlock()
}

func (p *cityProbes) seen(node int, panel int64, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pr, ok := p.open[panel]
	if !ok || pr.seen[node] {
		return
	}
	pr.seen[node] = true
	p.lat[node] = append(p.lat[node], at.Sub(pr.sent))
	if pr.left--; pr.left == 0 {
		delete(p.open, panel)
	}
}

func (p *cityProbes) missing() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]int, p.nodes)
	for _, pr := range p.open {
		for n, s := range pr.seen {
			if !s {
				out[n]++
			}
		}
	}
	return out
}

// console follows node's live stream as city-admin and reports each
// incident's panel to probes, until ctx ends.
func console(ctx context.Context, base, token string, node int, probes *cityProbes, events *atomic.Int64) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/events/stream", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("console on %s: %d %s", base, resp.StatusCode, short(b))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var typ string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			typ = line[len("event: "):]
		case strings.HasPrefix(line, "data: ") && typ == "incident":
			now := time.Now()
			var inc struct {
				PanelID int64 `json:"panel_id"`
			}
			if json.Unmarshal([]byte(line[len("data: "):]), &inc) == nil && inc.PanelID != 0 {
				probes.seen(node, inc.PanelID, now)
			}
			events.Add(1)
		case line == "":
			typ = ""
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("console on %s: stream ended: %v", base, sc.Err())
}

// cityTrafficReport is what the traffic part measured.
type cityTrafficReport struct {
	Seconds     float64 `json:"seconds"`
	Nodes       int     `json:"nodes"`
	Panels      int     `json:"panels"`
	Connections int     `json:"connections"`
	Speed       float64 `json:"speed"`
	Seed        uint64  `json:"seed"`
	// Planned is the rate the panels' schedules ask for, frames/s.
	Planned float64   `json:"planned_frames_per_second"`
	SIA     siaReport `json:"sia"`
	// LateShare is the share of scheduled frames sent more than a second
	// after they were due: the simulator or the nodes fell behind.
	LateShare float64             `json:"late_share"`
	Storm     cityStormReport     `json:"storm"`
	Consoles  []cityConsoleReport `json:"consoles"`
	API       cityAPIReport       `json:"api"`
	CPU       []cityCPUReport     `json:"cpu"`
	DB        cityDBReport        `json:"db"`
}

type cityStormReport struct {
	District int           `json:"district"`
	Panels   int           `json:"panels"`
	Window   float64       `json:"window_seconds"`
	ACK      int64         `json:"ack"`
	Latency  latencyReport `json:"ack_latency_ms"`
}

type cityConsoleReport struct {
	Node    string        `json:"node"`
	Events  int64         `json:"incident_events"`
	Latency latencyReport `json:"alarm_to_console_ms"`
	Missing int           `json:"alarms_not_seen"`
	Error   string        `json:"error,omitempty"`
}

type cityAPIReport struct {
	SOS           int64         `json:"sos"`
	SOSOK         int64         `json:"sos_ok"`
	Matters       int64         `json:"matters"`
	MattersOK     int64         `json:"matters_ok"`
	SOSLatency    latencyReport `json:"sos_latency_ms"`
	MatterLatency latencyReport `json:"matter_latency_ms"`
	FirstError    string        `json:"first_error,omitempty"`
}

type cityCPUReport struct {
	Node    string  `json:"node"`
	Source  string  `json:"source"`
	Seconds float64 `json:"cpu_seconds"`
	Cores   float64 `json:"cores"` // CPU seconds per second of the run
}

type cityDBReport struct {
	BytesBefore int64 `json:"bytes_before"`
	BytesAfter  int64 `json:"bytes_after"`
	// BeforeStorm is the size when the storm began (0: no storm).
	BeforeStorm int64             `json:"bytes_before_storm"`
	Tables      []cityTableGrowth `json:"tables_grown"`
	// EventsStored are the ACKed frames that store an event (all but
	// NULL) and the SOS calls answered — stored unless a frame repeats
	// one already stored (a retransmission); BytesPerEvent is the growth
	// of every table but the matters' divided by them.
	EventsStored  int64   `json:"events_stored"`
	BytesPerEvent float64 `json:"bytes_per_event"`
	// BytesPerMatter is the matters' tables' growth per matter.
	BytesPerMatter float64          `json:"bytes_per_matter"`
	Waits          []cityWaitSample `json:"waits"`
	Statements     []cityStatement  `json:"statements,omitempty"`
}

type cityTableGrowth struct {
	Table string `json:"table"`
	Bytes int64  `json:"bytes"`
}

// cityWaitSample counts, over the run's samples of pg_stat_activity, the
// sessions that were active in a wait (or on the CPU: "running").
type cityWaitSample struct {
	What    string  `json:"what"`
	PerPoll float64 `json:"sessions_per_sample"`
}

type cityStatement struct {
	Query   string  `json:"query"`
	Calls   int64   `json:"calls"`
	TotalMS float64 `json:"total_ms"`
	MeanMS  float64 `json:"mean_ms"`
}

func (t *cityTrafficReport) print(w io.Writer) {
	fmt.Fprintf(w, "traffic: %.1f s, %d nodes, %d panels on %d connections, speed %g (planned %.0f frames/s), seed %d\n",
		t.Seconds, t.Nodes, t.Panels, t.Connections, t.Speed, t.Planned, t.Seed)
	s := t.SIA
	fmt.Fprintf(w, "SIA frames sent:  %d (%.0f/s; ACKed %.0f/s; sent over a second late %.1f%%)\n", s.ACK+s.NAK+s.DUH+s.NoAnswer, s.FramesPerSec, s.ACKedPerSec, 100*t.LateShare)
	fmt.Fprintf(w, "  answers:        ACK %d, NAK %d, DUH %d, no answer %d (connect errors %d)\n", s.ACK, s.NAK, s.DUH, s.NoAnswer, s.ConnectErrors)
	fmt.Fprintf(w, "  frames:         %s\n", countsText(s.ByCode))
	l := s.Latency
	fmt.Fprintf(w, "  ACK latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (n %d)\n", l.P50, l.P90, l.P99, l.Max, l.N)
	if s.FirstNoAnswer != "" {
		fmt.Fprintf(w, "  first without answer: %s\n", s.FirstNoAnswer)
	}
	if st := t.Storm; st.Panels > 0 {
		fmt.Fprintf(w, "storm: district %d, %d panels over %.0f s: ACK %d, ACK ms p50 %.1f p99 %.1f max %.1f\n",
			st.District, st.Panels, st.Window, st.ACK, st.Latency.P50, st.Latency.P99, st.Latency.Max)
	}
	for _, c := range t.Consoles {
		fmt.Fprintf(w, "console on %s: %d incident events; alarm frame to console ms p50 %.1f p99 %.1f max %.1f (n %d, not seen %d)%s\n",
			c.Node, c.Events, c.Latency.P50, c.Latency.P99, c.Latency.Max, c.Latency.N, c.Missing, errText(c.Error))
	}
	a := t.API
	fmt.Fprintf(w, "API: SOS %d/%d ok (ms p50 %.1f p99 %.1f), matters %d/%d ok (ms p50 %.1f p99 %.1f)%s\n",
		a.SOSOK, a.SOS, a.SOSLatency.P50, a.SOSLatency.P99, a.MattersOK, a.Matters, a.MatterLatency.P50, a.MatterLatency.P99, errText(a.FirstError))
	for _, c := range t.CPU {
		fmt.Fprintf(w, "CPU %s: %.1f s (%.2f cores) from %s\n", c.Node, c.Seconds, c.Cores, c.Source)
	}
	d := t.DB
	fmt.Fprintf(w, "database: %s before, %s after (+%s); %d event frames and SOS calls answered: %.0f B each; %.0f B/matter\n",
		bytesText(d.BytesBefore), bytesText(d.BytesAfter), bytesText(d.BytesAfter-d.BytesBefore), d.EventsStored, d.BytesPerEvent, d.BytesPerMatter)
	for _, g := range d.Tables {
		fmt.Fprintf(w, "  grew: %-32s %s\n", g.Table, bytesText(g.Bytes))
	}
	for _, x := range d.Waits {
		fmt.Fprintf(w, "  pg_stat_activity: %-40s %.2f sessions/sample\n", x.What, x.PerPoll)
	}
	for _, x := range d.Statements {
		fmt.Fprintf(w, "  pg_stat_statements: %8d calls %10.0f ms (mean %.2f) %s\n", x.Calls, x.TotalMS, x.MeanMS, x.Query)
	}
}

func errText(s string) string {
	if s == "" {
		return ""
	}
	return "; error: " + s
}

// cityPanels reads the simulated panels of the first --communities
// communities.
func cityPanels(ctx context.Context, conn *pgx.Conn, c cityConfig) ([]*cityPanel, error) {
	rng := rand.New(rand.NewPCG(c.seed, 11))
	rows, err := conn.Query(ctx, "SELECT id, account FROM alarm_panels WHERE account LIKE 'C%' AND length(account) = 9 ORDER BY account")
	if err != nil {
		return nil, fmt.Errorf("simulated panels: %w", err)
	}
	defer rows.Close()
	var out []*cityPanel
	for rows.Next() {
		var id int64
		var account string
		if err := rows.Scan(&id, &account); err != nil {
			return nil, err
		}
		n, err1 := strconv.Atoi(account[1:6])
		j, err2 := strconv.Atoi(account[6:])
		if err1 != nil || err2 != nil || n > c.communities {
			continue
		}
		key, _ := sia.ParseKey(simKey(account))
		out = append(out, &cityPanel{id: id, n: n, j: j, p: &siatest.Panel{Account: account, Key: key}, seq: rng.IntN(9999)})
	}
	return out, rows.Err()
}

func driveCity(ctx context.Context, c cityConfig, log *slog.Logger) (*cityTrafficReport, error) {
	nodes := len(c.servers)
	rep := &cityTrafficReport{Nodes: nodes, Speed: c.speed, Seed: c.seed, Connections: nodes * c.conns}
	conn, err := pgx.Connect(ctx, c.store.dsn())
	if err != nil {
		return rep, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.Background())
	panels, err := cityPanels(ctx, conn, c)
	if err != nil {
		return rep, err
	}
	if len(panels) == 0 {
		return rep, fmt.Errorf("no simulated panels in the database: run with --setup first")
	}
	rep.Panels = len(panels)
	rng := rand.New(rand.NewPCG(c.seed, 3))

	// Sign in: city-admin on every node for its console, each resident
	// with an account on one node.
	client := &http.Client{Timeout: 30 * time.Second}
	login := func(base, user string) (string, error) {
		api := &simAPI{base: strings.TrimRight(base, "/"), client: client}
		var out struct{ Token string }
		code, body, err := api.do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": c.password}, &out)
		if err != nil {
			return "", fmt.Errorf("sign in as %s at %s: %w", user, base, err)
		}
		if code != http.StatusOK || out.Token == "" {
			return "", fmt.Errorf("sign in as %s at %s: %d %s", user, base, code, short(body))
		}
		return out.Token, nil
	}
	adminTokens := make([]string, nodes)
	for i, s := range c.servers {
		if adminTokens[i], err = login(s, cityAdmin); err != nil {
			return rep, err
		}
	}
	type resident struct {
		api *simAPI
	}
	var residents []resident
	for n := 1; n <= c.accounts; n++ {
		base := strings.TrimRight(c.servers[n%nodes], "/")
		tok, err := login(base, cityResident(n))
		if err != nil {
			return rep, err
		}
		residents = append(residents, resident{api: &simAPI{base: base, token: tok, client: client}})
	}

	// Panels to workers: panel k reports to node k mod nodes, over one of
	// that node's connections.
	workers := make([]*cityWorker, nodes*c.conns)
	probes := newCityProbes(nodes)
	for i := range workers {
		workers[i] = &cityWorker{addr: c.sias[i%nodes], node: i % nodes, timeout: c.timeout, extra: make(chan cityFrame, 4096), probes: probes}
	}
	workerOf := map[int64]*cityWorker{}
	start := time.Now()
	var planned float64
	for k, p := range panels {
		p.node = k % nodes
		w := workers[p.node+nodes*((k/nodes)%c.conns)]
		workerOf[p.id] = w
		p.heartbeat = time.Duration(float64(cityPeriod(c, p.n, p.j)) / c.speed)
		p.test = time.Duration(float64(c.testEvery) / c.speed)
		planned += 1/p.heartbeat.Seconds() + 1/p.test.Seconds()
		w.due = append(w.due,
			cityDue{at: start.Add(time.Duration(rng.Int64N(int64(p.heartbeat)))), panel: p, code: "NULL"},
			cityDue{at: start.Add(time.Duration(rng.Int64N(int64(p.test)))), panel: p, code: "RP"})
	}
	for _, w := range workers {
		heap.Init(&w.due)
	}
	rep.Planned = math.Round(planned)

	// The storm's district and its panels.
	var stormPanels, others []*cityPanel
	for _, p := range panels {
		if (p.n-1)/c.districtSize+1 == c.stormDistrict {
			stormPanels = append(stormPanels, p)
		} else {
			others = append(others, p)
		}
	}
	if len(others) == 0 {
		others = panels
	}
	if c.stormPanels < len(stormPanels) {
		rng.Shuffle(len(stormPanels), func(i, j int) { stormPanels[i], stormPanels[j] = stormPanels[j], stormPanels[i] })
		stormPanels = stormPanels[:c.stormPanels]
	}
	if c.stormPanels == 0 || c.stormAt >= c.duration {
		stormPanels = nil
	}
	rep.Storm = cityStormReport{District: c.stormDistrict, Panels: len(stormPanels), Window: c.stormWindow.Seconds()}

	// Measures before.
	cpu0 := make([]float64, nodes)
	cpuSource := make([]string, nodes)
	for i := range nodes {
		cpu0[i], cpuSource[i] = nodeCPU(ctx, client, c, i)
	}
	sizes0, err := tableSizes(ctx, conn)
	if err != nil {
		return rep, err
	}
	if rep.DB.BytesBefore, err = databaseSize(ctx, conn); err != nil {
		return rep, err
	}
	_, statementsErr := conn.Exec(ctx, "SELECT pg_stat_statements_reset()")

	runCtx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	consCtx, consCancel := context.WithCancel(ctx)
	defer consCancel()
	consoleEvents := make([]atomic.Int64, nodes)
	consoleErr := make([]string, nodes)
	var consWG sync.WaitGroup
	for i := range nodes {
		consWG.Add(1)
		go func() {
			defer consWG.Done()
			if err := console(consCtx, strings.TrimRight(c.servers[i], "/"), adminTokens[i], i, probes, &consoleEvents[i]); err != nil {
				consoleErr[i] = err.Error()
			}
		}()
	}
	time.Sleep(300 * time.Millisecond) // the streams are open before the first alarm

	start = time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		// The schedules were laid out from the first start; shift them.
		shift := time.Since(start)
		for i := range w.due {
			w.due[i].at = w.due[i].at.Add(shift)
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.run(runCtx) }()
	}

	var side sync.WaitGroup
	// The storm.
	var beforeStorm atomic.Int64
	if len(stormPanels) > 0 {
		side.Add(1)
		go func() {
			defer side.Done()
			if !sleepCtx(runCtx, c.stormAt) {
				return
			}
			if n, err := databaseSizeDSN(runCtx, c.store.dsn()); err == nil {
				beforeStorm.Store(n)
			}
			t0 := time.Now()
			for i, p := range stormPanels {
				at := t0.Add(time.Duration(float64(c.stormWindow) * float64(i) / float64(len(stormPanels))))
				if !sleepCtx(runCtx, time.Until(at)) {
					return
				}
				select {
				case workerOf[p.id].extra <- cityFrame{panel: p, code: "AT"}:
				case <-runCtx.Done():
					return
				}
			}
		}()
	}
	// Fire alarms, each timed to the consoles.
	if c.alarmRate > 0 {
		side.Add(1)
		go func() {
			defer side.Done()
			arng := rand.New(rand.NewPCG(c.seed, 5))
			every := time.Duration(float64(time.Second) / c.alarmRate)
			for sleepCtx(runCtx, every) {
				p := others[arng.IntN(len(others))]
				if probes.busy(p.id) {
					continue
				}
				select {
				case workerOf[p.id].extra <- cityFrame{panel: p, code: "FA"}:
				default: // its connection is backed up: skip rather than queue
				}
			}
		}()
	}
	// Residents' SOS calls and matters.
	var api cityAPIReport
	var apiMu sync.Mutex
	var sosLat, matterLat []time.Duration
	if len(residents) > 0 && c.sosPerMin+c.mattersPerMin > 0 {
		side.Add(1)
		go func() {
			defer side.Done()
			rrng := rand.New(rand.NewPCG(c.seed, 9))
			every := time.Duration(float64(time.Minute) / ((c.sosPerMin + c.mattersPerMin) * c.speed))
			sem := make(chan struct{}, 16)
			var calls sync.WaitGroup
			defer calls.Wait()
			for i := 0; sleepCtx(runCtx, every); i++ {
				r := residents[rrng.IntN(len(residents))]
				isSOS := rrng.Float64()*(c.sosPerMin+c.mattersPerMin) < c.sosPerMin
				select {
				case sem <- struct{}{}:
				case <-runCtx.Done():
					return
				}
				calls.Add(1)
				go func() {
					defer calls.Done()
					defer func() { <-sem }()
					path, body := "/api/v1/matters", map[string]any{"category": "repair", "description": fmt.Sprintf("楼道灯坏了（模拟 %d）", i)}
					if isSOS {
						path, body = "/api/v1/sos", map[string]any{"note": fmt.Sprintf("simulated SOS %d", i)}
					}
					t0 := time.Now()
					code, b, err := r.api.do(context.WithoutCancel(runCtx), http.MethodPost, path, body, nil)
					d := time.Since(t0)
					apiMu.Lock()
					defer apiMu.Unlock()
					ok := err == nil && code/100 == 2
					if isSOS {
						api.SOS++
						if ok {
							api.SOSOK++
							sosLat = append(sosLat, d)
						}
					} else {
						api.Matters++
						if ok {
							api.MattersOK++
							matterLat = append(matterLat, d)
						}
					}
					if !ok && api.FirstError == "" {
						api.FirstError = fmt.Sprintf("POST %s: %d %v %s", path, code, err, short(b))
					}
				}()
			}
		}()
	}
	// What the database's sessions wait for, once a second.
	waits := map[string]int{}
	var polls int
	side.Add(1)
	go func() {
		defer side.Done()
		wconn, err := pgx.Connect(runCtx, c.store.dsn())
		if err != nil {
			return
		}
		defer wconn.Close(context.Background())
		for sleepCtx(runCtx, time.Second) {
			rows, err := wconn.Query(runCtx, `SELECT coalesce(wait_event_type || ':' || wait_event, 'running') FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid() AND backend_type = 'client backend'`)
			if err != nil {
				continue
			}
			ws, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				continue
			}
			polls++
			for _, w := range ws {
				waits[w]++
			}
		}
	}()

	wg.Wait()
	elapsed := time.Since(start)
	side.Wait()
	// Alarms sent at the end get a few seconds to reach the consoles.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if slices.Max(append(probes.missing(), 0)) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	consCancel()
	consWG.Wait()
	rep.Seconds = math.Round(elapsed.Seconds()*100) / 100

	// Merge.
	rep.SIA.ByCode = map[string]int64{}
	var lat, stormLat []time.Duration
	var sent, late int64
	for _, w := range workers {
		s := w.st
		sent += s.sent
		late += s.late
		rep.SIA.ACK += s.ack
		rep.SIA.NAK += s.nak
		rep.SIA.DUH += s.duh
		rep.SIA.NoAnswer += s.noAnswer
		rep.SIA.ConnectErrors += s.connErrors
		for k, v := range s.byCode {
			rep.SIA.ByCode[k] += v
		}
		lat = append(lat, s.lat...)
		stormLat = append(stormLat, s.stormLat...)
		if rep.SIA.FirstNoAnswer == "" {
			rep.SIA.FirstNoAnswer = s.firstNoAnswer
		}
	}
	rep.SIA.Latency = summarize(lat)
	rep.SIA.FramesPerSec = math.Round(float64(sent) / elapsed.Seconds())
	rep.SIA.ACKedPerSec = math.Round(float64(rep.SIA.ACK) / elapsed.Seconds())
	if sent > 0 {
		rep.LateShare = math.Round(1000*float64(late)/float64(sent)) / 1000
	}
	rep.Storm.ACK = int64(len(stormLat))
	rep.Storm.Latency = summarize(stormLat)
	missing := probes.missing()
	for i := range nodes {
		rep.Consoles = append(rep.Consoles, cityConsoleReport{Node: c.servers[i], Events: consoleEvents[i].Load(),
			Latency: summarize(probes.lat[i]), Missing: missing[i], Error: consoleErr[i]})
	}
	api.SOSLatency, api.MatterLatency = summarize(sosLat), summarize(matterLat)
	rep.API = api
	for i := range nodes {
		cpu1, _ := nodeCPU(ctx, client, c, i)
		secs := cpu1 - cpu0[i]
		rep.CPU = append(rep.CPU, cityCPUReport{Node: c.servers[i], Source: cpuSource[i], Seconds: math.Round(secs*10) / 10,
			Cores: math.Round(100*secs/elapsed.Seconds()) / 100})
	}

	// The database's growth.
	sizes1, err := tableSizes(ctx, conn)
	if err != nil {
		return rep, err
	}
	if rep.DB.BytesAfter, err = databaseSize(ctx, conn); err != nil {
		return rep, err
	}
	rep.DB.BeforeStorm = beforeStorm.Load()
	var grown, matterGrown int64
	for t, after := range sizes1 {
		d := after - sizes0[t]
		if d == 0 {
			continue
		}
		if strings.HasPrefix(t, "matter") {
			matterGrown += d
		} else {
			grown += d
		}
		rep.DB.Tables = append(rep.DB.Tables, cityTableGrowth{Table: t, Bytes: d})
	}
	slices.SortFunc(rep.DB.Tables, func(a, b cityTableGrowth) int { return int(b.Bytes - a.Bytes) })
	if len(rep.DB.Tables) > 12 {
		rep.DB.Tables = rep.DB.Tables[:12]
	}
	for code, n := range rep.SIA.ByCode {
		if code != "NULL" {
			rep.DB.EventsStored += n
		}
	}
	rep.DB.EventsStored += api.SOSOK
	if rep.DB.EventsStored > 0 {
		rep.DB.BytesPerEvent = math.Round(float64(grown) / float64(rep.DB.EventsStored))
	}
	if api.MattersOK > 0 {
		rep.DB.BytesPerMatter = math.Round(float64(matterGrown) / float64(api.MattersOK))
	}
	for w, n := range waits {
		rep.DB.Waits = append(rep.DB.Waits, cityWaitSample{What: w, PerPoll: math.Round(100*float64(n)/float64(max(polls, 1))) / 100})
	}
	slices.SortFunc(rep.DB.Waits, func(a, b cityWaitSample) int { return int(100 * (b.PerPoll - a.PerPoll)) })
	if len(rep.DB.Waits) > 8 {
		rep.DB.Waits = rep.DB.Waits[:8]
	}
	if statementsErr == nil {
		rep.DB.Statements = topStatements(ctx, conn)
	}
	log.Debug("simulate city: traffic done", "seconds", rep.Seconds)
	return rep, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nodeCPU returns node i's CPU seconds so far: from /proc when --pids
// names it, else from its /metrics.
func nodeCPU(ctx context.Context, client *http.Client, c cityConfig, i int) (float64, string) {
	if len(c.pids) > i {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.pids[i]))
		if err == nil {
			// Fields after the command's closing parenthesis: utime and
			// stime are the 12th and 13th, in clock ticks (100 a second
			// on Linux).
			if k := strings.LastIndexByte(string(b), ')'); k > 0 {
				f := strings.Fields(string(b)[k+1:])
				if len(f) > 13 {
					u, _ := strconv.ParseFloat(f[11], 64)
					s, _ := strconv.ParseFloat(f[12], 64)
					return (u + s) / 100, "/proc"
				}
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.servers[i], "/")+"/metrics", nil)
	if err != nil {
		return 0, "none"
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "none"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			x, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return x, "/metrics"
		}
	}
	return 0, "none"
}

// tableSizes returns pg_total_relation_size of each table of the schema.
func tableSizes(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, fmt.Errorf("table sizes: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

func databaseSizeDSN(ctx context.Context, dsn string) (int64, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	return databaseSize(ctx, conn)
}

// topStatements returns the statements that took the most time since the
// reset at the start, when pg_stat_statements is there.
func topStatements(ctx context.Context, conn *pgx.Conn) []cityStatement {
	rows, err := conn.Query(ctx, `SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 140), calls, total_exec_time, mean_exec_time
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 12`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []cityStatement
	for rows.Next() {
		var s cityStatement
		if rows.Scan(&s.Query, &s.Calls, &s.TotalMS, &s.MeanMS) == nil {
			s.TotalMS, s.MeanMS = math.Round(s.TotalMS), math.Round(s.MeanMS*100)/100
			out = append(out, s)
		}
	}
	return out
}
