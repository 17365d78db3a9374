package mqtt

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

func startBroker(t *testing.T, sensors Sensors, h Handler) *Broker {
	t.Helper()
	cfg := Config{
		Listen:   "127.0.0.1:0",
		RetryMin: 20 * time.Millisecond,
		RetryMax: 100 * time.Millisecond,
		Logger:   testLogger(t),
	}
	b := NewBroker(cfg, sensors, h)
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-b.Done() })
	return b
}

func TestBrokerIngest(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	b := startBroker(t, doors(2, rec), rec)
	brokerURL := "tcp://" + b.Addr()

	// Another subscriber (a home automation, mosquitto_sub) still gets the
	// messages.
	seen := make(chan string, 100)
	// Subscribe returns once the broker has acknowledged the
	// subscription; the test publishes after that.
	subscribed := make(chan error, 1)
	u, _ := url.Parse(brokerURL)
	sub, err := autopaho.NewConnection(context.Background(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 10, CleanStartOnInitialConnection: true,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			_, err := cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "zigbee2mqtt/#", QoS: 1}}})
			select {
			case subscribed <- err:
			default: // a reconnection; the test has gone on
			}
		},
		ClientConfig: paho.ClientConfig{
			ClientID: "watcher",
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
				seen <- pr.Packet.Topic
				return true, nil
			}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Disconnect(context.Background())
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("watcher: subscribe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the watcher did not get subscribed")
	}

	pub := newPublisher(t, brokerURL, "bridge-embedded")
	const changes = 8
	for i := range changes {
		for s := range 2 {
			if err := pub.publish(fmt.Sprintf("zigbee2mqtt/d%d", s), contact(i%2 == 1), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	// publish returned after the PUBACK, which comes after storage.
	if n := rec.count(); n != 2*changes {
		t.Fatalf("%d reports stored when the last PUBACK came, want %d", n, 2*changes)
	}
	got := sequences(rec.snapshot())
	for s := range 2 {
		name := fmt.Sprintf("d%d", s)
		if got[name] != alternating(changes) {
			t.Errorf("%s: got %q", name, got[name])
		}
	}
	waitFor(t, 2*time.Second, "the watcher's copies", func() bool { return len(seen) == 2*changes })
}

// TestBrokerAckAfterStore holds storage: the publisher gets no PUBACK
// until the report is stored.
func TestBrokerAckAfterStore(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.block = make(chan struct{})
	b := startBroker(t, doors(1, rec), rec)
	pub := newPublisher(t, "tcp://"+b.Addr(), "bridge-hold")
	done := make(chan error, 1)
	go func() { done <- pub.publish("zigbee2mqtt/d0", contact(false), false) }()
	select {
	case err := <-done:
		t.Fatalf("PUBACK before storage (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	rec.mu.Lock()
	close(rec.block)
	rec.block = nil
	rec.mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no PUBACK after storage")
	}
	if got := sequences(rec.snapshot())["d0"]; got != "BA" {
		t.Errorf("got %q", got)
	}
}

// TestBrokerHandlerError: storage fails twice, the pipeline retries, the
// publisher gets its PUBACK once the report is stored, and it is stored
// once.
func TestBrokerHandlerError(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	rec.fail = 2
	b := startBroker(t, doors(1, rec), rec)
	pub := newPublisher(t, "tcp://"+b.Addr(), "bridge-fail")
	if err := pub.publish("zigbee2mqtt/d0", contact(false), false); err != nil {
		t.Fatal(err)
	}
	if got := sequences(rec.snapshot())["d0"]; got != "BA" {
		t.Errorf("got %q", got)
	}
	if n := rec.callCount(); n != 3 {
		t.Errorf("Handle called %d times, want 3", n)
	}
}

// TestRun wires both the embedded broker and an external Mosquitto over
// one pipeline, as the server does with --mqtt and --mqtt-listen.
func TestRun(t *testing.T) {
	t.Parallel()
	m := startMosquitto(t)
	rec := newRecorder()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := testConfig(t, m.url(), "shequ-run-test")
	cfg.Listen = listen
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, doors(1, rec), rec) }()

	// The embedded broker may take a moment to listen.
	waitFor(t, 5*time.Second, "the embedded broker", func() bool {
		c, err := net.DialTimeout("tcp", listen, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	embedded := newPublisher(t, "tcp://"+listen, "bridge-run-embedded")
	external := newPublisher(t, m.url(), "bridge-run-external")
	if err := embedded.publish("zigbee2mqtt/d0", contact(false), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the first report", func() bool { return rec.count() == 1 })
	// The external client subscribes in the background; publish until the
	// subscription exists, with the same state (only the change counts).
	waitFor(t, 10*time.Second, "the report through Mosquitto", func() bool {
		if err := external.publish("zigbee2mqtt/d0", contact(true), false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		return rec.count() == 2
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	if got := sequences(rec.snapshot())["d0"]; got != "BA BR" {
		t.Errorf("got %q", got)
	}
}
