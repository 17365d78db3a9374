package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/shequ/shequ/alarm"
)

// testLogger logs to the test output when -v is given, else nowhere.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// mosquittoBinary finds mosquitto, or skips the test (fails it under
// CI=true, where CI installs it).
func mosquittoBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mosquitto is not installed, and CI=true requires the broker tests to run (apt-get install mosquitto)")
	}
	t.Skip("mosquitto is not installed (apt-get install mosquitto); skipping the broker tests")
	return ""
}

// mosquitto is a private Mosquitto on a free port with its own persistence
// directory, so a test can stop and restart it without touching the
// system's broker.
type mosquitto struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	cmd  *exec.Cmd
	exit chan struct{}
}

func startMosquitto(t testing.TB) *mosquitto {
	t.Helper()
	bin := mosquittoBinary(t)
	dir := t.TempDir()
	m := &mosquitto{t: t, bin: bin, dir: dir, port: freePort(t)}
	conf := fmt.Sprintf(`listener %d 127.0.0.1
allow_anonymous true
persistence true
persistence_location %s/
autosave_interval 1
max_queued_messages 0
max_inflight_messages 0
user root
log_dest file %s/mosquitto.log
log_type all
`, m.port, dir, dir)
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	m.start()
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "mosquitto.log")); err == nil {
				lines := strings.Split(string(b), "\n")
				if len(lines) > 60 {
					lines = lines[len(lines)-60:]
				}
				t.Logf("mosquitto log (tail):\n%s", strings.Join(lines, "\n"))
			}
		}
	})
	return m
}

func (m *mosquitto) url() string { return "tcp://127.0.0.1:" + strconv.Itoa(m.port) }

func (m *mosquitto) start() {
	m.t.Helper()
	cmd := exec.Command(m.bin, "-c", filepath.Join(m.dir, "mosquitto.conf"))
	if err := cmd.Start(); err != nil {
		m.t.Fatalf("starting mosquitto: %v", err)
	}
	m.cmd = cmd
	m.exit = make(chan struct{})
	go func() { cmd.Wait(); close(m.exit) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", m.port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-m.exit:
			m.t.Fatalf("mosquitto exited at start; see %s/mosquitto.log", m.dir)
		default:
		}
		if time.Now().After(deadline) {
			m.t.Fatalf("mosquitto does not listen on %d: %v", m.port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends Mosquitto with SIGTERM, which saves its database (sessions,
// subscriptions, queued and in-flight messages) before it exits.
func (m *mosquitto) stop() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exit:
	case <-time.After(5 * time.Second):
		m.cmd.Process.Kill()
		<-m.exit
	}
	m.cmd = nil
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// recorder is a Handler keeping what it was given. fail makes the next
// calls fail; block, when set, makes Handle wait for it to be closed.
type recorder struct {
	mu      sync.Mutex
	reports []alarm.Report
	calls   int
	fail    int
	block   chan struct{}
	changed chan struct{}
}

func newRecorder() *recorder { return &recorder{changed: make(chan struct{}, 1)} }

func (r *recorder) Handle(ctx context.Context, reports []alarm.Report) error {
	// Receipts are the store's business (TestReceiptOverStore); a call
	// with nothing else is the worker emptying it when idle.
	reports = slices.DeleteFunc(slices.Clone(reports), alarm.Report.IsBatchReceipt)
	if len(reports) == 0 {
		return nil
	}
	r.mu.Lock()
	block := r.block
	r.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail > 0 {
		r.fail--
		return errors.New("storage unavailable (test)")
	}
	r.reports = append(r.reports, reports...)
	select {
	case r.changed <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) snapshot() []alarm.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alarm.Report(nil), r.reports...)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reports)
}

func (r *recorder) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// waitFor waits until cond holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// registry is a Sensors whose LastState is rebuilt from the reports a
// recorder stored, the way the storage side does it.
type registry struct {
	sensors map[string][2]string // name → kind, zone
	stored  *recorder
	mu      sync.Mutex
	loaded  []string // names LastState was asked for
	failLS  int
	// failSensor is how many asks of Sensor fail (the directory's
	// database down).
	failSensor int
}

func (g *registry) Sensor(ctx context.Context, name string) (string, string, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.failSensor > 0 {
		g.failSensor--
		return "", "", false, errors.New("database down (test)")
	}
	s, ok := g.sensors[name]
	return s[0], s[1], ok, nil
}

func (g *registry) LastState(ctx context.Context, name string) (State, bool, error) {
	g.mu.Lock()
	g.loaded = append(g.loaded, name)
	if g.failLS > 0 {
		g.failLS--
		g.mu.Unlock()
		return State{}, false, errors.New("database down (test)")
	}
	g.mu.Unlock()
	var st State
	found := false
	if g.stored != nil {
		for _, r := range g.stored.snapshot() {
			if r.Account == name {
				st, found = st.Apply(r), true
			}
		}
	}
	return st, found, nil
}

// doors registers n door contacts d0 … d(n-1).
func doors(n int, stored *recorder) *registry {
	g := &registry{sensors: map[string][2]string{}, stored: stored}
	for i := range n {
		g.sensors[fmt.Sprintf("d%d", i)] = [2]string{alarm.SensorDoor, "door"}
	}
	return g
}

// publisher is a test sensor bridge: an MQTT 5 client with a persistent
// session publishing QoS 1, one message at a time, retrying until the
// broker acknowledged it. A retry can deliver a message twice, next to
// itself, as any QoS 1 publisher can.
type publisher struct {
	t  testing.TB
	cm *autopaho.ConnectionManager
}

func newPublisher(t testing.TB, brokerURL, clientID string) *publisher {
	t.Helper()
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     10,
		CleanStartOnInitialConnection: true,
		SessionExpiryInterval:         600,
		ReconnectBackoff:              func(n int) time.Duration { return time.Duration(min(n, 5)) * 50 * time.Millisecond },
		ConnectTimeout:                2 * time.Second,
		ClientConfig:                  paho.ClientConfig{ClientID: clientID},
	}
	ctx, cancel := context.WithCancel(context.Background())
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 2*time.Second)
		cm.Disconnect(dctx)
		dcancel()
		cancel()
	})
	actx, acancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer acancel()
	if err := cm.AwaitConnection(actx); err != nil {
		t.Fatalf("publisher cannot connect to %s: %v", brokerURL, err)
	}
	return &publisher{t: t, cm: cm}
}

// publish sends one QoS 1 message and returns once the broker acknowledged
// it, retrying across broker restarts for up to 20 s.
func (p *publisher) publish(topic, payload string, retain bool) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = p.cm.AwaitConnection(ctx)
		_, err := p.cm.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("publish %s: %w", topic, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contact(closed bool) string {
	return fmt.Sprintf(`{"contact":%v,"battery":90,"linkquality":100}`, closed)
}

// sequences groups reports by sensor as "BA BR BA …".
func sequences(rs []alarm.Report) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		if out[r.Account] != "" {
			out[r.Account] += " "
		}
		out[r.Account] += r.Code
	}
	return out
}

// alternating is the code sequence of n state changes open, closed, …
func alternating(n int) string {
	codes := make([]string, n)
	for i := range codes {
		if i%2 == 0 {
			codes[i] = CodeBurglary
		} else {
			codes[i] = CodeBurglaryRestore
		}
	}
	return strings.Join(codes, " ")
}

// testConfig is a Config with short timings for tests.
func testConfig(t testing.TB, brokerURL, clientID string) Config {
	return Config{
		URL:          brokerURL,
		ClientID:     clientID,
		KeepAlive:    5 * time.Second,
		ReconnectMin: 100 * time.Millisecond,
		ReconnectMax: 500 * time.Millisecond,
		RetryMin:     20 * time.Millisecond,
		RetryMax:     100 * time.Millisecond,
		Logger:       testLogger(t),
	}
}

func startClient(t testing.TB, cfg Config, sensors Sensors, h Handler) *Client {
	t.Helper()
	c, err := NewClient(cfg, sensors, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	t.Cleanup(func() { cancel(); <-c.Done() })
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := c.AwaitSubscribed(actx); err != nil {
		t.Fatalf("client not subscribed: %v", err)
	}
	return c
}

// cpu is the CPU time the broker has used so far (see processCPU).
func (m *mosquitto) cpu() time.Duration { return processCPU(m.cmd.Process.Pid) }
