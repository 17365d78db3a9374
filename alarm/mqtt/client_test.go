package mqtt

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

// TestClientIngest publishes state changes of several sensors with QoS 1
// and checks the handler got exactly the expected reports, in order per
// sensor, and that noise (repeats, unknown sensors, bridge topics, bad
// JSON) made none.
func TestClientIngest(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	rec := newRecorder()
	reg := doors(3, rec)
	reg.sensors["hall"] = [2]string{alarm.SensorPIR, "hallway"}
	startClient(t, testConfig(t, m.url(), "shequ-ingest-test"), reg, rec)
	pub := newPublisher(t, m.url(), "bridge-ingest")

	const changes = 10
	for i := range changes {
		for s := range 3 {
			topic := fmt.Sprintf("zigbee2mqtt/d%d", s)
			if err := pub.publish(topic, contact(i%2 == 1), false); err != nil {
				t.Fatal(err)
			}
			// A repeat of the same state reports nothing.
			if err := pub.publish(topic, contact(i%2 == 1), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	noise := [][2]string{
		{"zigbee2mqtt/bridge/state", `{"state":"online"}`},
		{"zigbee2mqtt/stranger", contact(false)},
		{"zigbee2mqtt/d0", `not json`},
		{"zigbee2mqtt/d0/set", `{"contact":false}`},
		{"zigbee2mqtt/hall", `{"occupancy":true}`},
		{"zigbee2mqtt/hall", `{"occupancy":false}`},
		{"zigbee2mqtt/hall/availability", `{"state":"offline"}`},
		{"zigbee2mqtt/hall/availability", `online`},
		{"zigbee2mqtt/hall", `{"tamper":true,"battery_low":true}`},
	}
	for _, n := range noise {
		if err := pub.publish(n[0], n[1], false); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{
		"d0":   alternating(changes),
		"d1":   alternating(changes),
		"d2":   alternating(changes),
		"hall": "BA BR EM EN TA XT",
	}
	waitFor(t, 10*time.Second, "all reports", func() bool { return rec.count() >= 3*changes+6 })
	time.Sleep(100 * time.Millisecond) // nothing more may come
	got := sequences(rec.snapshot())
	for name, seq := range want {
		if got[name] != seq {
			t.Errorf("%s: got %q, want %q", name, got[name], seq)
		}
	}
	if len(got) != len(want) {
		t.Errorf("reports for %d sensors, want %d: %v", len(got), len(want), got)
	}
	for _, r := range rec.snapshot() {
		if r.Source != alarm.SourceMQTT || r.ReceivedAt.IsZero() || r.Zone == "" {
			t.Fatalf("report fields: %+v", r)
		}
	}
}

// TestClientBrokerRestart stops Mosquitto in the middle of a stream of
// state changes and starts it again: the publisher keeps its messages
// until the broker is back, the broker keeps shequ's session and queue on
// disk, and the client reconnects. Nothing may be lost or doubled.
func TestClientBrokerRestart(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	rec := newRecorder()
	const sensors = 4
	reg := doors(sensors, rec)
	startClient(t, testConfig(t, m.url(), "shequ-restart-test"), reg, rec)
	pub := newPublisher(t, m.url(), "bridge-restart")

	const changes = 60 // per sensor
	errc := make(chan error, 1)
	progress := make(chan int, changes*sensors)
	go func() {
		for i := range changes {
			for s := range sensors {
				if err := pub.publish(fmt.Sprintf("zigbee2mqtt/d%d", s), contact(i%2 == 1), false); err != nil {
					errc <- err
					return
				}
				progress <- i*sensors + s
			}
			time.Sleep(2 * time.Millisecond)
		}
		errc <- nil
	}()
	// Restart the broker once a third has gone through.
	for n := range progress {
		if n >= changes*sensors/3 {
			break
		}
	}
	m.stop()
	time.Sleep(300 * time.Millisecond) // publisher and client retry meanwhile
	m.start()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, "all reports after the restart", func() bool { return rec.count() >= changes*sensors })
	time.Sleep(200 * time.Millisecond)
	got := sequences(rec.snapshot())
	for s := range sensors {
		name := fmt.Sprintf("d%d", s)
		if got[name] != alternating(changes) {
			t.Errorf("%s: got %d reports %q\nwant %q", name, len(got[name])/3+1, got[name], alternating(changes))
		}
	}
}

// TestClientRestart stops shequ's client in the middle, publishes while it
// is away, and starts a new client with the same id whose memory is
// rebuilt from the stored reports: the broker delivers what was queued,
// and the new client reports exactly the changes it missed.
func TestClientRestart(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	rec := newRecorder()
	reg := doors(2, rec)
	cfg := testConfig(t, m.url(), "shequ-client-restart")
	c, err := NewClient(cfg, reg, rec)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := c.AwaitSubscribed(actx); err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(t, m.url(), "bridge-client-restart")
	// Retained availability, as zigbee2mqtt publishes it.
	for _, s := range []string{"d0", "d1"} {
		if err := pub.publish("zigbee2mqtt/"+s+"/availability", `{"state":"online"}`, true); err != nil {
			t.Fatal(err)
		}
	}
	step := func(i int) {
		for _, s := range []string{"d0", "d1"} {
			if err := pub.publish("zigbee2mqtt/"+s, contact(i%2 == 1), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range 5 {
		step(i)
	}
	waitFor(t, 5*time.Second, "first reports", func() bool { return rec.count() == 10 })
	cancel()
	<-c.Done()

	for i := 5; i < 12; i++ { // the client is away
		step(i)
	}
	// The door stays in its last state: a repeat must not be reported.
	step(11)

	c2 := startClient(t, cfg, reg, rec)
	_ = c2
	waitFor(t, 10*time.Second, "reports queued while away", func() bool { return rec.count() >= 24 })
	time.Sleep(200 * time.Millisecond)
	got := sequences(rec.snapshot())
	for _, s := range []string{"d0", "d1"} {
		if got[s] != alternating(12) {
			t.Errorf("%s: got %q, want %q", s, got[s], alternating(12))
		}
	}
}

// TestClientHandlerError makes storage fail: the message is not
// acknowledged, is retried until storage works, and is stored once.
func TestClientHandlerError(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	rec := newRecorder()
	rec.fail = 3
	reg := doors(1, rec)
	startClient(t, testConfig(t, m.url(), "shequ-error-test"), reg, rec)
	pub := newPublisher(t, m.url(), "bridge-error")
	if err := pub.publish("zigbee2mqtt/d0", contact(false), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the report after the failures", func() bool { return rec.count() == 1 })
	if n := rec.callCount(); n != 4 {
		t.Errorf("Handle called %d times, want 4", n)
	}
	time.Sleep(100 * time.Millisecond)
	if got := sequences(rec.snapshot())["d0"]; got != "BA" {
		t.Errorf("got %q", got)
	}
}

// TestClientRedeliveryAfterCrash stops a client whose storage never
// worked: the message was never acknowledged, so the broker delivers it
// again to the next client with the same id.
func TestClientRedeliveryAfterCrash(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	broken := newRecorder()
	broken.fail = 1 << 30
	cfg := testConfig(t, m.url(), "shequ-crash-test")
	c, err := NewClient(cfg, doors(1, nil), broken)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.Start(ctx)
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	if err := c.AwaitSubscribed(actx); err != nil {
		t.Fatal(err)
	}
	pub := newPublisher(t, m.url(), "bridge-crash")
	if err := pub.publish("zigbee2mqtt/d0", contact(false), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "a failed attempt", func() bool { return broken.callCount() >= 2 })
	cancel()
	<-c.Done()

	rec := newRecorder()
	startClient(t, cfg, doors(1, rec), rec)
	waitFor(t, 5*time.Second, "the redelivered message", func() bool { return rec.count() == 1 })
	if got := sequences(rec.snapshot())["d0"]; got != "BA" {
		t.Errorf("got %q", got)
	}
}

// TestSystemMosquitto runs a short ingest against the machine's own
// Mosquitto (127.0.0.1:1883, or SHEQU_TEST_MQTT_URL) under a topic base of
// its own, so that it cannot disturb anything else using that broker. The
// other tests use private Mosquitto instances; this one only shows the
// system broker works too, and skips when it does not listen.
func TestSystemMosquitto(t *testing.T) {
	t.Parallel()
	brokerURL := os.Getenv("SHEQU_TEST_MQTT_URL")
	if brokerURL == "" {
		brokerURL = "tcp://127.0.0.1:1883"
	}
	u, err := url.Parse(brokerURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, time.Second)
	if err != nil {
		t.Skipf("no broker at %s (start it with: mosquitto -d -c /etc/mosquitto/mosquitto.conf): %v", brokerURL, err)
	}
	conn.Close()
	base := fmt.Sprintf("shequtest-%d", time.Now().UnixNano())
	rec := newRecorder()
	cfg := testConfig(t, brokerURL, base)
	cfg.BaseTopic = base
	cfg.SessionExpiry = 10 * time.Second // leave nothing behind for long
	startClient(t, cfg, doors(1, rec), rec)
	pub := newPublisher(t, brokerURL, base+"-pub")
	for i := range 4 {
		if err := pub.publish(base+"/d0", contact(i%2 == 1), false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "reports", func() bool { return rec.count() == 4 })
	if got := sequences(rec.snapshot())["d0"]; got != alternating(4) {
		t.Errorf("got %q", got)
	}
}
