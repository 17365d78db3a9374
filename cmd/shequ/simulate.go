package main

// shequ simulate drives realistic traffic at a running server, for demos
// and load tests: N alarm panels over SIA DC-09 (TCP, AES-128) sending
// heartbeats, periodic tests, openings and closings and now and then an
// alarm, and M zigbee2mqtt sensors publishing contact and occupancy changes
// and their availability over MQTT. It talks only to the addresses it is
// given, and it stops by itself: after --duration, or after --frames SIA
// frames, whichever comes first.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
)

// simConfig holds the flags of shequ simulate.
type simConfig struct {
	server, user, password string
	sia, mqtt              string
	panels, sensors        int
	duration               time.Duration
	frames                 int
	rate, mqttRate         float64
	alarmRatio             float64
	setup                  bool
	concurrency            int
	supervision            int
	timeout                time.Duration
	strict, json, plain    bool
	acked                  string
	accountBase            int
	sensorPrefix           string
	seed                   uint64
	bareReceiver           string
}

const simAbout = `shequ simulate: drive simulated alarm panels (SIA DC-09 over TCP) and
zigbee2mqtt sensors (MQTT) at a running shequ server, for demos and load
tests. It stops by itself after --duration or --frames.

  # once: register 50 panels and 20 sensors on the demo's ground and first floors
  shequ simulate --setup --user director --password ... --panels 50 --sensors 20 --duration 0
  # a demo: a frame a second from each panel for ten minutes
  shequ simulate --panels 50 --sensors 20 --mqtt tcp://127.0.0.1:1883 --rate 50 --duration 10m
  # a load test: as fast as the server answers, 64 connections, 30 s
  shequ simulate --panels 1000 --concurrency 64 --rate 0 --duration 30s --strict

Panel accounts are 9 followed by five digits (900001, 900002, …, from
--account-base) and each panel's AES-128 key is derived from its account,
so that a run without --setup knows the keys that --setup registered. They
are simulator keys, known to anyone who reads this: never use those
accounts for real panels.`

func simulateCmd(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "doors" {
		return simulateDoorsCmd(ctx, args[1:])
	}
	if len(args) > 0 && args[0] == "city" {
		return simulateCityCmd(ctx, args[1:])
	}
	var c simConfig
	f := newFlags("simulate", simAbout)
	f.string(&c.server, "server", "SHEQU_SIM_SERVER", "http://127.0.0.1:8080", "the server's HTTP address, for --setup")
	f.string(&c.user, "user", "SHEQU_SIM_USER", "", "account that registers panels and sensors with --setup: an admin such as the demo's director")
	f.string(&c.password, "password", "SHEQU_SIM_PASSWORD", "", "its password")
	f.string(&c.sia, "sia", "SHEQU_SIM_SIA", "127.0.0.1:6000", "the server's SIA DC-09 receiver (TCP)")
	f.string(&c.mqtt, "mqtt", "SHEQU_SIM_MQTT", "", "MQTT broker the server reads sensors from, e.g. tcp://127.0.0.1:1883; empty sends no sensor traffic")
	f.IntVar(&c.panels, "panels", 10, "number of simulated panels")
	f.IntVar(&c.sensors, "sensors", 0, "number of simulated zigbee2mqtt sensors (needs --mqtt for traffic)")
	f.DurationVar(&c.duration, "duration", 10*time.Second, "how long to send; 0 with --setup only registers")
	f.IntVar(&c.frames, "frames", 0, "stop after this many SIA frames (0: only --duration bounds the run)")
	f.Float64Var(&c.rate, "rate", 10, "SIA frames per second over all panels; 0 sends as fast as the answers come (load test)")
	f.Float64Var(&c.mqttRate, "mqtt-rate", 5, "MQTT messages per second over all sensors; 0 as fast as the broker acknowledges")
	f.Float64Var(&c.alarmRatio, "alarm-ratio", 0.01, "share of SIA frames that are alarms (burglary, fire, panic, tamper)")
	f.BoolVar(&c.setup, "setup", false, "first register the panels (with their AES-128 keys) and sensors on the demo's ground and first-floor homes; those that exist are skipped")
	f.IntVar(&c.concurrency, "concurrency", 0, "TCP connections to the receiver, panels shared among them; 0: one per panel, at most 512")
	f.IntVar(&c.supervision, "supervision", 0, "supervision_seconds given to panels registered with --setup (0: not supervised, so that stopping the simulator raises no communication failures)")
	f.DurationVar(&c.timeout, "timeout", 5*time.Second, "how long to wait for a frame's answer")
	f.BoolVar(&c.strict, "strict", false, "exit non-zero when any frame was not acknowledged (no answer, NAK or DUH)")
	f.BoolVar(&c.json, "json", false, "print the summary as JSON")
	f.BoolVar(&c.plain, "plain", false, "send unencrypted frames and register panels without keys")
	f.string(&c.acked, "acked", "SHEQU_SIM_ACKED", "", "write each acknowledged frame to this file, one a line: ACCOUNT SEQ CODE (CODE NULL is a heartbeat, stored as last-seen time rather than as an event)")
	f.IntVar(&c.accountBase, "account-base", 1, "number of the first panel account (900001)")
	f.StringVar(&c.sensorPrefix, "sensor-prefix", "sim-sensor-", "zigbee2mqtt friendly names of the sensors: PREFIX0001, PREFIX0002, …")
	f.Uint64Var(&c.seed, "seed", 0, "random seed of the traffic; 0 picks one")
	f.StringVar(&c.bareReceiver, "bare-receiver", "", "instead of sending, run a bare SIA receiver on this address for --duration: it knows the simulated panels' keys, decrypts, answers and stores nothing (the bound any store is measured against)")
	if err := f.Parse(args); err != nil {
		return flagErr(err)
	}
	if c.bareReceiver != "" {
		return bareReceiver(ctx, c)
	}
	if err := c.check(); err != nil {
		return err
	}
	sim := newSimulation(c)
	rep, err := sim.run(ctx)
	if rep != nil {
		if c.json {
			enc := json.NewEncoder(os.Stdout)
			enc.SetIndent("", "  ")
			_ = enc.Encode(rep)
		} else {
			rep.print(os.Stdout)
		}
	}
	if err != nil {
		return err
	}
	if c.strict && rep.Sent > 0 {
		if bad := rep.Sent - rep.SIA.ACK; bad > 0 {
			return fmt.Errorf("--strict: %d of %d frames not acknowledged (%d NAK, %d DUH, %d without answer)", bad, rep.Sent, rep.SIA.NAK, rep.SIA.DUH, rep.SIA.NoAnswer)
		}
	}
	if c.strict && rep.MQTT != nil && rep.MQTT.Failed > 0 {
		return fmt.Errorf("--strict: %d MQTT messages not acknowledged", rep.MQTT.Failed)
	}
	return nil
}

func (c *simConfig) check() error {
	switch {
	case c.panels < 0 || c.panels > 99999:
		return errors.New("--panels: 0 to 99999")
	case c.sensors < 0 || c.sensors > 99999:
		return errors.New("--sensors: 0 to 99999")
	case c.accountBase < 1 || c.accountBase+c.panels > 100000:
		return errors.New("--account-base: accounts run from 900001 to 999999")
	case c.rate < 0 || c.mqttRate < 0:
		return errors.New("--rate and --mqtt-rate cannot be negative")
	case c.alarmRatio < 0 || c.alarmRatio > 1:
		return errors.New("--alarm-ratio: 0 to 1")
	case c.duration < 0 || c.duration > 24*time.Hour:
		return errors.New("--duration: 0 to 24h")
	case c.duration == 0 && c.frames == 0 && !c.setup:
		return errors.New("give --duration or --frames: the simulator must know when to stop")
	case c.timeout <= 0:
		return errors.New("--timeout must be positive")
	case c.setup && (c.user == "" || c.password == ""):
		return errors.New("--setup signs in: give --user and --password (SHEQU_SIM_USER, SHEQU_SIM_PASSWORD), an admin such as the demo's director")
	}
	if c.concurrency <= 0 {
		c.concurrency = min(c.panels, 512)
	}
	c.concurrency = min(c.concurrency, c.panels)
	if c.seed == 0 {
		c.seed = uint64(time.Now().UnixNano())
	}
	return nil
}

// --- panels and sensors ---

// simAccount is the SIA account of the n-th simulated panel (n from 1).
func simAccount(n int) string { return fmt.Sprintf("9%05d", n) }

// simKey is the panel's AES-128 key as 32 hex digits, derived from its
// account so that every run agrees with the one that registered it.
func simKey(account string) string {
	sum := sha256.Sum256([]byte("shequ simulate panel key " + account))
	return strings.ToUpper(hex.EncodeToString(sum[:16]))
}

// simPanel is one panel's state. A panel is driven by one worker at a
// time, so it needs no lock.
type simPanel struct {
	p     siatest.Panel
	key   []byte
	seq   int
	armed bool
}

func newSimPanel(n int, plain bool, rng *rand.Rand) *simPanel {
	sp := &simPanel{p: siatest.Panel{Account: simAccount(n)}, seq: rng.IntN(9999)}
	if !plain {
		sp.key, _ = sia.ParseKey(simKey(sp.p.Account))
		sp.p.Key = sp.key
	}
	return sp
}

// next builds the panel's next frame: mostly heartbeats (NULL), now and
// then a periodic test (RP), an opening or closing (OP/CL), and with
// probability alarmRatio an alarm (BA, TA, PA, FA). code names it.
func (sp *simPanel) next(rng *rand.Rand, alarmRatio float64) (code, seq string, frame []byte) {
	sp.seq = sp.seq%9999 + 1
	seq = fmt.Sprintf("%04d", sp.seq)
	r := rng.Float64()
	var data string
	switch {
	case r < alarmRatio:
		switch x := rng.IntN(100); {
		case x < 55:
			code = "BA"
		case x < 75:
			code = "TA"
		case x < 90:
			code = "PA"
		default:
			code = "FA"
		}
		data = fmt.Sprintf("Nri1/%s%02d", code, 1+rng.IntN(16))
	case r < alarmRatio+0.04:
		code = "CL"
		if sp.armed {
			code = "OP"
		}
		sp.armed = !sp.armed
		data = fmt.Sprintf("Nri1/%s%02d", code, 1+rng.IntN(4))
	case r < alarmRatio+0.06:
		code, data = "RP", "Nri0/RP0000"
	default:
		return "NULL", seq, sp.p.Build(siatest.Message{ID: sia.IDNULL, Seq: seq})
	}
	return code, seq, sp.p.Build(siatest.Message{ID: sia.IDSIADCS, Seq: seq, Data: "#" + sp.p.Account + "|" + data})
}

// simSensor is one zigbee2mqtt sensor.
type simSensor struct {
	name, kind, zone string
	active, offline  bool // contact open / motion; availability offline
	battery          int
}

var simSensorKinds = [...][2]string{{"door_contact", "door"}, {"window_contact", "window"}, {"pir", "hallway"}}

func newSimSensor(prefix string, n int) *simSensor {
	k := simSensorKinds[(n-1)%len(simSensorKinds)]
	return &simSensor{name: fmt.Sprintf("%s%04d", prefix, n), kind: k[0], zone: k[1], battery: 100 - n%30}
}

// next returns the sensor's next message: a change of contact or
// occupancy, or now and then a change of availability.
func (s *simSensor) next(rng *rand.Rand) (topic, what string, payload []byte) {
	if s.offline || rng.IntN(100) < 3 {
		s.offline = !s.offline
		state := "online"
		if s.offline {
			state = "offline"
		}
		return "zigbee2mqtt/" + s.name + "/availability", state, []byte(`{"state":"` + state + `"}`)
	}
	s.active = !s.active
	lq := 60 + rng.IntN(150)
	if s.kind == "pir" {
		what = "occupancy=" + strconv.FormatBool(s.active)
		return "zigbee2mqtt/" + s.name, what, fmt.Appendf(nil, `{"occupancy":%t,"battery":%d,"linkquality":%d}`, s.active, s.battery, lq)
	}
	what = "contact=" + strconv.FormatBool(!s.active)
	return "zigbee2mqtt/" + s.name, what, fmt.Appendf(nil, `{"contact":%t,"battery":%d,"linkquality":%d}`, !s.active, s.battery, lq)
}

// --- the run ---

type simulation struct {
	cfg     simConfig
	panels  []*simPanel
	sensors []*simSensor
	left    atomic.Int64 // frames still to send when --frames is given

	ackedMu sync.Mutex
	ackedW  *bufio.Writer
}

func newSimulation(c simConfig) *simulation {
	s := &simulation{cfg: c}
	rng := rand.New(rand.NewPCG(c.seed, 1))
	for i := range c.panels {
		s.panels = append(s.panels, newSimPanel(c.accountBase+i, c.plain, rng))
	}
	for i := range c.sensors {
		s.sensors = append(s.sensors, newSimSensor(c.sensorPrefix, i+1))
	}
	return s
}

// simReport is the summary, printed as text or JSON.
type simReport struct {
	Seconds     float64      `json:"seconds"`
	Panels      int          `json:"panels"`
	Sensors     int          `json:"sensors"`
	Connections int          `json:"connections"`
	Rate        float64      `json:"rate"`
	Seed        uint64       `json:"seed"`
	Setup       *setupReport `json:"setup,omitempty"`
	Sent        int64        `json:"sent"`
	SIA         siaReport    `json:"sia"`
	MQTT        *mqttReport  `json:"mqtt,omitempty"`
}

type setupReport struct {
	Homes          int `json:"homes"`
	PanelsCreated  int `json:"panels_created"`
	PanelsExisted  int `json:"panels_existed"`
	SensorsCreated int `json:"sensors_created"`
	SensorsExisted int `json:"sensors_existed"`
}

type siaReport struct {
	ACK            int64            `json:"ack"`
	NAK            int64            `json:"nak"`
	DUH            int64            `json:"duh"`
	NoAnswer       int64            `json:"no_answer"`
	ConnectErrors  int64            `json:"connect_errors"`
	ByCode         map[string]int64 `json:"by_code"`
	FramesPerSec   float64          `json:"frames_per_second"`
	ACKedPerSec    float64          `json:"acked_per_second"`
	Latency        latencyReport    `json:"ack_latency_ms"`
	FirstNoAnswer  string           `json:"first_no_answer,omitempty"`
	LateSendsShare float64          `json:"late_sends_share"`
}

type mqttReport struct {
	Published  int64            `json:"published"`
	Acked      int64            `json:"acked"`
	Failed     int64            `json:"failed"`
	ByWhat     map[string]int64 `json:"by_what"`
	PerSec     float64          `json:"acked_per_second"`
	Latency    latencyReport    `json:"puback_latency_ms"`
	FirstError string           `json:"first_error,omitempty"`
}

type latencyReport struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func summarize(ds []time.Duration) latencyReport {
	if len(ds) == 0 {
		return latencyReport{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	at := func(q float64) float64 { return ms(ds[min(len(ds)-1, int(math.Ceil(q*float64(len(ds))))-1)]) }
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return latencyReport{N: len(ds), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: ms(ds[len(ds)-1]), Mean: ms(sum / time.Duration(len(ds)))}
}

func (r *simReport) print(w io.Writer) {
	fmt.Fprintf(w, "shequ simulate: %.1f s, %d panels on %d connections, %d sensors, rate %s, seed %d\n",
		r.Seconds, r.Panels, r.Connections, r.Sensors, rateText(r.Rate), r.Seed)
	if s := r.Setup; s != nil {
		fmt.Fprintf(w, "setup: %d homes; panels %d registered, %d already there; sensors %d registered, %d already there\n",
			s.Homes, s.PanelsCreated, s.PanelsExisted, s.SensorsCreated, s.SensorsExisted)
	}
	if r.Sent > 0 {
		s := r.SIA
		fmt.Fprintf(w, "SIA frames sent:  %d (%.0f/s; ACKed %.0f/s)\n", r.Sent, s.FramesPerSec, s.ACKedPerSec)
		fmt.Fprintf(w, "  answers:        ACK %d, NAK %d, DUH %d, no answer %d (connect errors %d)\n", s.ACK, s.NAK, s.DUH, s.NoAnswer, s.ConnectErrors)
		fmt.Fprintf(w, "  frames:         %s\n", countsText(s.ByCode))
		l := s.Latency
		fmt.Fprintf(w, "  ACK latency ms: p50 %.3f  p90 %.3f  p99 %.3f  max %.3f  (mean %.3f, n %d)\n", l.P50, l.P90, l.P99, l.Max, l.Mean, l.N)
		if s.LateSendsShare > 0.01 {
			fmt.Fprintf(w, "  %.0f %% of frames left more than 10 ms after their slot: the rate was not reached\n", 100*s.LateSendsShare)
		}
		if s.FirstNoAnswer != "" {
			fmt.Fprintf(w, "  first frame without answer: %s\n", s.FirstNoAnswer)
		}
	}
	if m := r.MQTT; m != nil {
		fmt.Fprintf(w, "MQTT messages:    %d published, %d acknowledged (%.0f/s), %d failed\n", m.Published, m.Acked, m.PerSec, m.Failed)
		fmt.Fprintf(w, "  messages:       %s\n", countsText(m.ByWhat))
		l := m.Latency
		fmt.Fprintf(w, "  PUBACK ms:      p50 %.3f  p90 %.3f  p99 %.3f  max %.3f\n", l.P50, l.P90, l.P99, l.Max)
		if m.FirstError != "" {
			fmt.Fprintf(w, "  first error: %s\n", m.FirstError)
		}
	}
}

func rateText(r float64) string {
	if r == 0 {
		return "unbounded"
	}
	return strconv.FormatFloat(r, 'f', -1, 64) + "/s"
}

func countsText(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

func (s *simulation) run(ctx context.Context) (*simReport, error) {
	c := s.cfg
	rep := &simReport{Panels: c.panels, Sensors: c.sensors, Connections: c.concurrency, Rate: c.rate, Seed: c.seed, SIA: siaReport{ByCode: map[string]int64{}}}
	if c.setup {
		su, err := s.setup(ctx)
		rep.Setup = su
		if err != nil {
			return rep, fmt.Errorf("setup: %w", err)
		}
	}
	if c.duration == 0 && c.frames == 0 {
		return rep, nil // --setup alone
	}
	if c.acked != "" {
		f, err := os.Create(c.acked)
		if err != nil {
			return rep, err
		}
		defer f.Close()
		s.ackedW = bufio.NewWriterSize(f, 64<<10)
		defer s.ackedW.Flush()
	}
	if c.frames > 0 {
		s.left.Store(int64(c.frames))
	} else {
		s.left.Store(math.MaxInt64)
	}
	runCtx := ctx
	if c.duration > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}

	start := time.Now()
	var wg sync.WaitGroup
	workers := make([]*siaWorker, c.concurrency)
	for i := range workers {
		w := &siaWorker{sim: s, rng: rand.New(rand.NewPCG(c.seed, uint64(100+i))), byCode: map[string]int64{}, finished: make(chan struct{})}
		for j := i; j < len(s.panels); j += c.concurrency {
			w.panels = append(w.panels, s.panels[j])
		}
		if c.rate > 0 {
			w.interval = time.Duration(float64(time.Second) * float64(c.concurrency) / c.rate)
		}
		workers[i] = w
		wg.Add(1)
		go func() { defer wg.Done(); w.run(runCtx) }()
	}
	var mq *mqttWorker
	if c.mqtt != "" && len(s.sensors) > 0 {
		mq = &mqttWorker{sim: s, rng: rand.New(rand.NewPCG(c.seed, 7)), byWhat: map[string]int64{}}
		wg.Add(1)
		// The sensors stop when the panels do (--frames), or at the end
		// of --duration when there are no panels.
		mctx, mcancel := context.WithCancel(runCtx)
		defer mcancel()
		go func() { defer wg.Done(); mq.run(mctx) }()
		if len(workers) > 0 {
			go func() {
				for _, w := range workers {
					<-w.done()
				}
				mcancel()
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	rep.Seconds = math.Round(elapsed.Seconds()*100) / 100

	var lat []time.Duration
	var late int64
	for _, w := range workers {
		rep.Sent += w.sent
		rep.SIA.ACK += w.ack
		rep.SIA.NAK += w.nak
		rep.SIA.DUH += w.duh
		rep.SIA.NoAnswer += w.noAnswer
		rep.SIA.ConnectErrors += w.connErrors
		late += w.late
		for k, v := range w.byCode {
			rep.SIA.ByCode[k] += v
		}
		lat = append(lat, w.latency...)
		if rep.SIA.FirstNoAnswer == "" {
			rep.SIA.FirstNoAnswer = w.firstNoAnswer
		}
	}
	rep.SIA.Latency = summarize(lat)
	rep.SIA.FramesPerSec = math.Round(float64(rep.Sent) / elapsed.Seconds())
	rep.SIA.ACKedPerSec = math.Round(float64(rep.SIA.ACK) / elapsed.Seconds())
	if rep.Sent > 0 {
		rep.SIA.LateSendsShare = math.Round(1000*float64(late)/float64(rep.Sent)) / 1000
	}
	if mq != nil {
		m := &mqttReport{Published: mq.published, Acked: mq.acked, Failed: mq.failed, ByWhat: mq.byWhat, FirstError: mq.firstErr}
		m.Latency = summarize(mq.latency)
		if mq.elapsed > 0 {
			m.PerSec = math.Round(float64(mq.acked) / mq.elapsed.Seconds())
		}
		rep.MQTT = m
	} else if c.mqtt == "" && len(s.sensors) > 0 && !c.json {
		fmt.Fprintln(os.Stderr, "shequ simulate: no --mqtt broker given: the sensors send nothing")
	}
	return rep, nil
}

// take reserves one frame of the --frames budget.
func (s *simulation) take() bool { return s.left.Add(-1) >= 0 }

func (s *simulation) recordACK(account, seq, code string) {
	if s.ackedW == nil {
		return
	}
	s.ackedMu.Lock()
	s.ackedW.WriteString(account + " " + seq + " " + code + "\n")
	s.ackedMu.Unlock()
}

// siaWorker drives its panels over one TCP connection, one frame at a time,
// each waiting for its answer as panels do.
type siaWorker struct {
	sim      *simulation
	panels   []*simPanel
	rng      *rand.Rand
	interval time.Duration
	finished chan struct{}

	sent, ack, nak, duh, noAnswer, connErrors, late int64
	byCode                                          map[string]int64
	latency                                         []time.Duration
	firstNoAnswer                                   string
}

func (w *siaWorker) done() chan struct{} { return w.finished }

func (w *siaWorker) run(ctx context.Context) {
	defer close(w.done())
	cfg := w.sim.cfg
	var conn *siatest.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	// Workers start spread over one interval, so that a fixed rate is
	// not sent in bursts of one frame per connection.
	next := time.Now()
	if w.interval > 0 {
		next = next.Add(time.Duration(w.rng.Int64N(int64(w.interval))))
	}
	for i := 0; ctx.Err() == nil; i++ {
		if w.interval > 0 {
			if d := time.Until(next); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
			} else if d < -10*time.Millisecond {
				w.late++
				if d < -time.Second {
					next = time.Now() // far behind: do not burst to catch up
				}
			}
			next = next.Add(w.interval)
		}
		if !w.sim.take() {
			return
		}
		p := w.panels[i%len(w.panels)]
		code, seq, frame := p.next(w.rng, cfg.alarmRatio)
		w.sent++
		w.byCode[code]++
		if conn == nil {
			c, err := siatest.Dial("tcp", cfg.sia)
			if err != nil {
				w.connErrors++
				w.unanswered(p, seq, code, err)
				// Wait a little before dialling again; a server that is
				// down must not turn the simulator into a busy loop.
				select {
				case <-ctx.Done():
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			conn = c
		}
		conn.Key = p.key
		t0 := time.Now()
		ans, err := conn.Exchange(frame, cfg.timeout)
		d := time.Since(t0)
		if err != nil {
			w.unanswered(p, seq, code, err)
			conn.Close()
			conn = nil
			continue
		}
		switch ans.Type {
		case "ACK":
			w.ack++
			w.latency = append(w.latency, d)
			w.sim.recordACK(p.p.Account, seq, code)
		case "NAK":
			w.nak++
		case "DUH":
			w.duh++
		default:
			w.unanswered(p, seq, code, fmt.Errorf("answer %q", ans.Raw))
		}
	}
}

func (w *siaWorker) unanswered(p *simPanel, seq, code string, err error) {
	w.noAnswer++
	if w.firstNoAnswer == "" {
		w.firstNoAnswer = fmt.Sprintf("%s %s %s: %v", p.p.Account, seq, code, err)
	}
}

// mqttWorker publishes the sensors' messages at QoS 1 over one connection.
type mqttWorker struct {
	sim                      *simulation
	rng                      *rand.Rand
	published, acked, failed int64
	byWhat                   map[string]int64
	latency                  []time.Duration
	elapsed                  time.Duration
	firstErr                 string
}

func (m *mqttWorker) fail(err error) {
	m.failed++
	if m.firstErr == "" {
		m.firstErr = err.Error()
	}
}

func (m *mqttWorker) run(ctx context.Context) {
	cfg := m.sim.cfg
	u, err := url.Parse(cfg.mqtt)
	if err != nil {
		m.fail(fmt.Errorf("--mqtt: %w", err))
		return
	}
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cm, err := autopaho.NewConnection(cctx, autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     20,
		CleanStartOnInitialConnection: true,
		ConnectTimeout:                5 * time.Second,
		ReconnectBackoff:              func(n int) time.Duration { return time.Duration(min(n+1, 10)) * 100 * time.Millisecond },
		ClientConfig:                  paho.ClientConfig{ClientID: fmt.Sprintf("shequ-sim-%d-%d", os.Getpid(), cfg.seed%100000)},
	})
	if err != nil {
		m.fail(err)
		return
	}
	defer func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = cm.Disconnect(dctx)
		dcancel()
	}()
	// The connection is awaited even when the panels are done meanwhile
	// (--frames can take less time than connecting): a connection that
	// never came is a failure, one that came late is not.
	actx, acancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	err = cm.AwaitConnection(actx)
	acancel()
	if err != nil {
		m.fail(fmt.Errorf("MQTT broker %s: %w", cfg.mqtt, err))
		return
	}
	var interval time.Duration
	if cfg.mqttRate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.mqttRate)
	}
	start := time.Now()
	next := start
	// At least one message goes out once connected, so that a short run
	// still shows whether the broker acknowledges.
	for i := 0; i == 0 || ctx.Err() == nil; i++ {
		if interval > 0 {
			if d := time.Until(next); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-ctx.Done():
					t.Stop()
					m.elapsed = time.Since(start)
					return
				case <-t.C:
				}
			} else if d < -time.Second {
				next = time.Now()
			}
			next = next.Add(interval)
		}
		s := m.sim.sensors[i%len(m.sim.sensors)]
		topic, what, payload := s.next(m.rng)
		m.published++
		m.byWhat[what]++
		pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.timeout)
		t0 := time.Now()
		_, err := cm.Publish(pctx, &paho.Publish{Topic: topic, Payload: payload, QoS: 1})
		d := time.Since(t0)
		pcancel()
		if err != nil {
			m.fail(fmt.Errorf("%s: %w", topic, err))
			continue
		}
		m.acked++
		m.latency = append(m.latency, d)
	}
	m.elapsed = time.Since(start)
}

// bareReceiver serves SIA DC-09 for the simulated panels with a handler
// that stores nothing, for --duration, and prints what it did.
func bareReceiver(ctx context.Context, c simConfig) error {
	if c.duration <= 0 || c.duration > 24*time.Hour {
		return errors.New("--bare-receiver needs a --duration (at most 24h)")
	}
	accounts := sia.StaticAccounts{}
	for i := range c.panels {
		account := simAccount(c.accountBase + i)
		if c.plain {
			accounts[account] = nil
			continue
		}
		accounts[account], _ = sia.ParseKey(simKey(account))
	}
	log := (&storeConfig{logLevel: "warn"}).logger()
	// The simulator's connections all come from one address.
	r := sia.New(sia.Config{Addr: c.bareReceiver, Logger: log, MaxConns: 4096, MaxConnsPerAddr: 4096}, accounts,
		sia.HandlerFunc(func(context.Context, []alarm.Report) error { return nil }))
	if err := r.Listen(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bare SIA receiver listening addr=%s panels=%d duration=%s\n", r.Addr(), c.panels, c.duration)
	ctx, cancel := context.WithTimeout(ctx, c.duration)
	defer cancel()
	if err := r.Serve(ctx); err != nil {
		return err
	}
	st := r.Stats()
	fmt.Fprintf(os.Stderr, "bare SIA receiver stopped: frames %d, ACK %d, NAK %d, DUH %d, corrupt %d, connections %d\n", st.Frames, st.ACK, st.NAK, st.DUH, st.Corrupt, st.Connections)
	return nil
}

// --- setup over the API ---

type simAPI struct {
	base   string
	token  string
	client *http.Client
}

func (a *simAPI) do(ctx context.Context, method, path string, body, out any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, b, nil
}

func (s *simulation) setup(ctx context.Context) (*setupReport, error) {
	c := s.cfg
	api := &simAPI{base: strings.TrimRight(c.server, "/"), client: &http.Client{Timeout: 30 * time.Second}}
	var login struct{ Token string }
	code, body, err := api.do(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"username": c.user, "password": c.password}, &login)
	if err != nil {
		return nil, fmt.Errorf("sign in at %s: %w", api.base, err)
	}
	if code != http.StatusOK || login.Token == "" {
		return nil, fmt.Errorf("sign in as %s: %d %s", c.user, code, short(body))
	}
	api.token = login.Token

	// The demo puts alarm panels on the ground and first floors.
	var homes []int64
	for _, floor := range []int{1, 2} {
		for offset, total := 0, 1; offset < total; {
			var page struct {
				Items []struct{ ID int64 }
				Total int
			}
			path := fmt.Sprintf("/api/v1/homes?floor=%d&limit=500&offset=%d", floor, offset)
			code, body, err := api.do(ctx, http.MethodGet, path, nil, &page)
			if err != nil {
				return nil, err
			}
			if code != http.StatusOK {
				return nil, fmt.Errorf("GET %s: %d %s", path, code, short(body))
			}
			for _, h := range page.Items {
				homes = append(homes, h.ID)
			}
			total = page.Total
			if len(page.Items) == 0 {
				break
			}
			offset += len(page.Items)
		}
	}
	rep := &setupReport{Homes: len(homes)}
	if len(homes) == 0 {
		return rep, errors.New("no ground or first-floor homes reachable: is the demo loaded (serve --demo) and is the user an admin of it?")
	}
	create := func(path string, body any, created, existed *int) error {
		code, b, err := api.do(ctx, http.MethodPost, path, body, nil)
		switch {
		case err != nil:
			return err
		case code == http.StatusOK || code == http.StatusCreated:
			*created++
		case code == http.StatusConflict:
			*existed++
		default:
			return fmt.Errorf("POST %s: %d %s", path, code, short(b))
		}
		return nil
	}
	for i, p := range s.panels {
		key := ""
		if !c.plain {
			key = simKey(p.p.Account)
		}
		body := map[string]any{"home_id": homes[i%len(homes)], "account": p.p.Account, "key": key, "supervision_seconds": c.supervision}
		if err := create("/api/v1/alarm/panels", body, &rep.PanelsCreated, &rep.PanelsExisted); err != nil {
			return rep, err
		}
	}
	for i, x := range s.sensors {
		// Sensors go on other homes than the first panels, round the
		// list from its end.
		home := homes[len(homes)-1-i%len(homes)]
		body := map[string]any{"home_id": home, "kind": x.kind, "zone": x.zone, "mqtt_name": x.name}
		if err := create("/api/v1/alarm/sensors", body, &rep.SensorsCreated, &rep.SensorsExisted); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
