package mqtt

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
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
	f.sendOn(nil, id, dup, topic, payload)
}

// sendOn sends a delivery as if it came on connection conn.
func (f *feeder) sendOn(conn any, id uint16, dup bool, topic, payload string) {
	d := &delivery{topic: topic, payload: []byte(payload), receivedAt: time.Now(), id: id, dup: dup, conn: conn}
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

// TestPipelineDuplicateRule checks the rule of the package documentation
// ("Acknowledgement"): a packet id acknowledged is free for a new
// message, and only a message sent again first thing on a new connection,
// with the id and content of one stored and acknowledged on an older
// connection, is taken for a stored one, DUP flag or not.
func TestPipelineDuplicateRule(t *testing.T) {
	rec := newRecorder()
	f := newFeeder(t, doors(1, rec), rec)
	acks := 0
	step := func(want string) {
		t.Helper()
		acks++
		waitFor(t, 2*time.Second, "acks", func() bool { return len(f.acked()) == acks })
		if got := sequences(rec.snapshot())["d0"]; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	a, b, c := new(int), new(int), new(int) // three connections
	f.sendOn(a, 1, false, "zigbee2mqtt/d0", contact(false))
	step("BA")
	f.sendOn(a, 2, false, "zigbee2mqtt/d0", contact(true))
	step("BA BR")
	// Packet id 1 reused on the same connection after its PUBACK: a new
	// message, though its content is the same, flagged DUP or not.
	f.sendOn(a, 1, true, "zigbee2mqtt/d0", contact(false))
	step("BA BR BA")
	f.sendOn(a, 2, false, "zigbee2mqtt/d0", contact(true))
	step("BA BR BA BR")
	// The connection broke before the broker read the PUBACKs: on the
	// next one it sends both again first, here without DUP. Comparing
	// states alone would report opening and closing again.
	f.sendOn(b, 1, false, "zigbee2mqtt/d0", contact(false))
	step("BA BR BA BR")
	f.sendOn(b, 2, true, "zigbee2mqtt/d0", contact(true))
	step("BA BR BA BR")
	// A message that is not one of them ends the resends: packet id 1
	// with the same content after it is a new message.
	f.sendOn(b, 3, false, "zigbee2mqtt/d0", contact(false))
	step("BA BR BA BR BA")
	f.sendOn(b, 2, false, "zigbee2mqtt/d0", contact(true))
	step("BA BR BA BR BA BR")
	f.sendOn(b, 1, true, "zigbee2mqtt/d0", contact(false))
	step("BA BR BA BR BA BR BA")
	// The same id with other content first thing on a new connection is
	// a new message too, and ends the resends.
	f.sendOn(c, 2, true, "zigbee2mqtt/d0", `{"contact":true,"linkquality":40}`)
	step("BA BR BA BR BA BR BA BR")
	f.sendOn(c, 1, true, "zigbee2mqtt/d0", contact(false))
	step("BA BR BA BR BA BR BA BR BA")
}

// TestPipelineDuplicateInBatch: a message and its resend on a new
// connection in one batch are stored once; a packet id not acknowledged
// in between cannot have been reused.
func TestPipelineDuplicateInBatch(t *testing.T) {
	rec := newRecorder()
	rec.block = make(chan struct{})
	f := newFeeder(t, doors(1, rec), rec)
	a, b := new(int), new(int)
	f.sendOn(a, 1, false, "zigbee2mqtt/d0", contact(false)) // stored alone, blocked
	time.Sleep(50 * time.Millisecond)
	f.sendOn(a, 2, false, "zigbee2mqtt/d0", contact(true))
	f.sendOn(a, 3, false, "zigbee2mqtt/d0", contact(false))
	f.sendOn(b, 2, false, "zigbee2mqtt/d0", contact(true))
	f.sendOn(b, 3, false, "zigbee2mqtt/d0", contact(false))
	f.sendOn(b, 4, false, "zigbee2mqtt/d0", contact(true))
	rec.mu.Lock()
	close(rec.block)
	rec.block = nil
	rec.mu.Unlock()
	waitFor(t, 2*time.Second, "acks", func() bool { return len(f.acked()) == 6 })
	if got := sequences(rec.snapshot())["d0"]; got != "BA BR BA BR" {
		t.Errorf("got %q, want BA BR BA BR", got)
	}
}

// receiptRecorder keeps the receipts a pipeline sends.
type receiptRecorder struct {
	mu       sync.Mutex
	receipts []alarm.BatchReceipt
	reports  int
}

func (r *receiptRecorder) Handle(_ context.Context, reports []alarm.Report) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range reports {
		if x.IsBatchReceipt() {
			r.receipts = append(r.receipts, *x.Receipt)
		} else {
			r.reports++
		}
	}
	return nil
}

func (r *receiptRecorder) snapshot() []alarm.BatchReceipt {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.receipts)
}

type nopAcker struct{}

func (nopAcker) ackBatch([]uint16) error { return nil }

// TestPipelineReceipt checks the receipts sent with the external broker's
// messages: every QoS 1 message of the session with its digest and report
// count, a message from elsewhere by its count alone, the first
// ReceiveMaximum messages not known here marked for the check (with a
// receipt even when they gave no report), and the receipt emptied once
// the worker is idle with no message left to check.
func TestPipelineReceipt(t *testing.T) {
	rr := &receiptRecorder{}
	cfg := Config{ClientID: "shequ-r", ReceiveMaximum: 2, Logger: testLogger(t)}
	p := newPipeline(cfg, doors(2, nil), rr)
	p.start(context.Background())
	t.Cleanup(p.shutdown)
	conn := new(int)
	send := func(id uint16, topic, payload string, external bool) *delivery {
		d := &delivery{topic: topic, payload: []byte(payload), receivedAt: time.Now(), id: id, conn: conn}
		if external {
			d.acker = nopAcker{}
		} else {
			d.session, d.ack = "bridge", func() {}
		}
		if err := p.enqueue(d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// entry is the receipt's entry of d, which gave n reports.
	entry := func(d *delivery, check bool, n int) alarm.ReceiptEntry {
		return alarm.ReceiptEntry{InSession: true, Check: check, PacketID: d.id, Digest: digest(d), Reports: n}
	}
	batch := func(entries ...alarm.ReceiptEntry) alarm.BatchReceipt {
		return alarm.BatchReceipt{Session: "shequ-r", Entries: entries}
	}
	waitReceipts := func(n int) []alarm.BatchReceipt {
		t.Helper()
		waitFor(t, 2*time.Second, "receipts", func() bool { return len(rr.snapshot()) >= n })
		return rr.snapshot()
	}
	// Closed, as the doors are taken to be: no report, but checked, so
	// sent. Not emptied: one message is still to be checked.
	d := send(1, "zigbee2mqtt/d0", contact(true), true)
	want := []alarm.BatchReceipt{batch(entry(d, true, 0))}
	if got := waitReceipts(1); !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %+v, want %+v", got, want)
	}
	// The last one checked; then, idle, the receipt is emptied.
	d = send(2, "zigbee2mqtt/d0", contact(false), true)
	want = append(want, batch(entry(d, true, 1)), batch())
	if got := waitReceipts(3); !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %+v, want %+v", got, want)
	}
	d = send(3, "zigbee2mqtt/d0", contact(true), true)
	want = append(want, batch(entry(d, false, 1)), batch())
	if got := waitReceipts(5); !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %+v, want %+v", got, want)
	}
	// The embedded broker's messages have no receipt, and a batch with no
	// report and nothing to check is not stored.
	send(1, "zigbee2mqtt/d1", contact(false), false)
	waitFor(t, 2*time.Second, "reports", func() bool { rr.mu.Lock(); defer rr.mu.Unlock(); return rr.reports == 3 })
	send(4, "zigbee2mqtt/d0", contact(true), true)
	time.Sleep(100 * time.Millisecond)
	if got := rr.snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %+v, want %+v", got, want)
	}
}

// TestPipelineReceiptFence: the receipts of a term under a lease carry
// its fence, the emptying one too, so that the store refuses them once
// another node holds the lease (sqlstore's TestMQTTReceiptFenced).
func TestPipelineReceiptFence(t *testing.T) {
	rr := &receiptRecorder{}
	cfg := Config{ClientID: "shequ-f", ReceiveMaximum: 1, Logger: testLogger(t)}
	p := newPipeline(cfg, doors(1, nil), rr)
	p.start(context.Background())
	t.Cleanup(p.shutdown)
	fence := jobs.Fence{Lease: "mqtt-subscriber", Holder: "node-a"}
	tm := p.beginTerm(fence)
	d := &delivery{topic: "zigbee2mqtt/d0", payload: []byte(contact(false)), receivedAt: time.Now(), id: 1, conn: new(int), acker: nopAcker{}, term: tm}
	if err := p.enqueue(d); err != nil {
		t.Fatal(err)
	}
	entry := alarm.ReceiptEntry{InSession: true, Check: true, PacketID: 1, Digest: digest(d), Reports: 1}
	want := []alarm.BatchReceipt{{Session: "shequ-f", Entries: []alarm.ReceiptEntry{entry}, Fence: fence}, {Session: "shequ-f", Fence: fence}}
	waitFor(t, 2*time.Second, "receipts", func() bool { return len(rr.snapshot()) >= 2 })
	if got := rr.snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("receipts %+v, want %+v", got, want)
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

// TestPipelineSensorDirectoryDown: while the directory of sensors cannot
// be asked, a registered sensor's message is not skipped as unknown (and
// acknowledged): its batch is retried and stored once the directory
// answers, and only then acknowledged.
func TestPipelineSensorDirectoryDown(t *testing.T) {
	reg := doors(2, newRecorder())
	reg.failSensor = 2
	rec := newRecorder()
	f := newFeeder(t, reg, rec)
	f.send(1, false, "zigbee2mqtt/d0", contact(false)) // opens
	waitFor(t, 2*time.Second, "acks", func() bool { return len(f.acked()) == 1 })
	if got := sequences(rec.snapshot()); got["d0"] != "BA" || len(got) != 1 {
		t.Errorf("got %v, want d0's opening stored", got)
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	if reg.failSensor != 0 {
		t.Errorf("%d failures of the directory left unasked", reg.failSensor)
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
