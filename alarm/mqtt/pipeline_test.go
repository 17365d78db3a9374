package mqtt

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

// feeder drives a pipeline directly, without a broker.
type feeder struct {
	t    *testing.T
	p    *pipeline
	mu   sync.Mutex
	acks []uint16
}

func newFeeder(t *testing.T, sensors Sensors, h Handler) *feeder {
	cfg := Config{RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond, Logger: testLogger(t)}
	f := &feeder{t: t, p: newPipeline(cfg, sensors, h)}
	f.p.start(context.Background())
	t.Cleanup(f.p.shutdown)
	return f
}

func (f *feeder) send(id uint16, dup bool, topic, payload string) {
	d := &delivery{topic: topic, payload: []byte(payload), receivedAt: time.Now(), id: id, dup: dup}
	d.ack = func() {
		f.mu.Lock()
		f.acks = append(f.acks, id)
		f.mu.Unlock()
	}
	if err := f.p.enqueue(d); err != nil {
		f.t.Fatal(err)
	}
}

func (f *feeder) acked() []uint16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]uint16(nil), f.acks...)
}

func TestPipelineDuplicateRedelivery(t *testing.T) {
	rec := newRecorder()
	f := newFeeder(t, doors(1, rec), rec)
	f.send(1, false, "zigbee2mqtt/d0", contact(false))
	f.send(2, false, "zigbee2mqtt/d0", contact(true))
	waitFor(t, 2*time.Second, "two acks", func() bool { return len(f.acked()) == 2 })
	// The acknowledgements were lost: the broker sends both again, flagged
	// DUP. Comparing states alone would report open and closed again.
	f.send(1, true, "zigbee2mqtt/d0", contact(false))
	f.send(2, true, "zigbee2mqtt/d0", contact(true))
	// A new message reusing packet id 1 is not a duplicate.
	f.send(1, false, "zigbee2mqtt/d0", contact(false))
	waitFor(t, 2*time.Second, "five acks", func() bool { return len(f.acked()) == 5 })
	if got := sequences(rec.snapshot())["d0"]; got != "BA BR BA" {
		t.Errorf("got %q, want BA BR BA", got)
	}
	// DUP with the same id but other content is a different message.
	f.send(1, true, "zigbee2mqtt/d0", contact(true))
	waitFor(t, 2*time.Second, "six acks", func() bool { return len(f.acked()) == 6 })
	if got := sequences(rec.snapshot())["d0"]; got != "BA BR BA BR" {
		t.Errorf("got %q, want BA BR BA BR", got)
	}
}

func TestPipelineAcksOnlyAfterStorage(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	f := newFeeder(t, doors(2, rec), rec)
	f.send(1, false, "zigbee2mqtt/d0", contact(false))
	f.send(2, false, "zigbee2mqtt/unknown", contact(false)) // skipped, acked in order
	f.send(3, false, "zigbee2mqtt/d1", `{"contact":`)       // bad JSON, skipped
	f.send(4, false, "zigbee2mqtt/d1", contact(false))
	time.Sleep(100 * time.Millisecond)
	if a := f.acked(); len(a) != 0 {
		t.Fatalf("acknowledged %v before storage", a)
	}
	rec.mu.Lock()
	close(rec.block)
	rec.block = nil
	rec.mu.Unlock()
	waitFor(t, 2*time.Second, "acks", func() bool { return len(f.acked()) == 4 })
	if a := f.acked(); a[0] != 1 || a[1] != 2 || a[2] != 3 || a[3] != 4 {
		t.Errorf("acks out of order: %v", a)
	}
	if got := sequences(rec.snapshot()); got["d0"] != "BA" || got["d1"] != "BA" || len(got) != 2 {
		t.Errorf("got %v", got)
	}
}

func TestPipelineLastState(t *testing.T) {
	stored := newRecorder()
	// Storage already holds: d0 opened; d1 opened then closed, tampered.
	stored.reports = []alarm.Report{
		{Account: "d0", Kind: alarm.KindEntryExit},
		{Account: "d1", Kind: alarm.KindEntryExit},
		{Account: "d1", Kind: alarm.KindEntryExit, Restore: true},
		{Account: "d1", Kind: alarm.KindTamper},
	}
	reg := doors(3, stored)
	reg.failLS = 2 // the database is down at first
	rec := newRecorder()
	f := newFeeder(t, reg, rec)
	f.send(1, false, "zigbee2mqtt/d0", contact(false))                    // still open: nothing
	f.send(2, false, "zigbee2mqtt/d1", `{"contact":true,"tamper":false}`) // tamper restored
	f.send(3, false, "zigbee2mqtt/d2", contact(true))                     // nothing stored, closed: nothing
	f.send(4, false, "zigbee2mqtt/d0", contact(true))                     // closes
	waitFor(t, 2*time.Second, "acks", func() bool { return len(f.acked()) == 4 })
	got := sequences(rec.snapshot())
	if got["d0"] != "BR" || got["d1"] != "TR" || got["d2"] != "" {
		t.Errorf("got %v", got)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	// Two failed attempts, then each sensor once.
	if n := len(reg.loaded); n != 5 {
		t.Errorf("LastState called %d times (%v), want 5", n, reg.loaded)
	}
}

func TestPipelineShutdownLeavesUnstoredUnacked(t *testing.T) {
	rec := newRecorder()
	rec.fail = 1 << 30
	cfg := Config{RetryMin: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond, Logger: testLogger(t)}
	p := newPipeline(cfg, doors(1, rec), rec)
	p.start(context.Background())
	acked := false
	p.enqueue(&delivery{topic: "zigbee2mqtt/d0", payload: []byte(contact(false)), id: 1, ack: func() { acked = true }})
	waitFor(t, 2*time.Second, "attempts", func() bool { return rec.callCount() >= 3 })
	p.shutdown()
	if acked {
		t.Fatal("a message whose reports were not stored was acknowledged")
	}
	if err := p.enqueue(&delivery{topic: "zigbee2mqtt/d0"}); err == nil {
		t.Fatal("enqueue after shutdown succeeded")
	}
}

func TestBackoff(t *testing.T) {
	c := Config{ReconnectMin: time.Second, ReconnectMax: 30 * time.Second}
	want := []time.Duration{0, 1, 2, 4, 8, 16, 30, 30}
	for n, w := range want {
		if got := c.backoff(n); got != w*time.Second {
			t.Errorf("backoff(%d) = %s, want %s", n, got, w*time.Second)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.BaseTopic != "zigbee2mqtt" || c.ClientID == "" || c.ClientID[:6] != "shequ-" || c.ReconnectMin != time.Second || c.ReconnectMax != 30*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	for _, bad := range []string{"", "127.0.0.1:1883", "http://x", "tcp://"} {
		if _, err := parseBrokerURL(bad); err == nil {
			t.Errorf("parseBrokerURL(%q) accepted", bad)
		}
	}
	if _, err := parseBrokerURL("tcp://127.0.0.1:1883"); err != nil {
		t.Error(err)
	}
}
