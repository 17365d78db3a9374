package sqlstore_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestMQTTReceipts stores batches of an armed home's window sensor with
// the receipt alarm/mqtt sends ahead of them, and finds each change stored
// once: a batch sent again after a crash between commit and PUBACK (two
// changes of the window, open then closed: an intrusion) stores nothing
// and doubles no incident or job, also when the broker sends it again over two batches;
// a checked message that is not in the stored receipt ends the check, so
// a later one reusing a packet id of the receipt is new; a packet id the
// ingestion does not ask to check (it acknowledged it itself) is a new
// message; an emptied receipt recognises nothing.
func TestMQTTReceipts(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			start := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
			st := sqlstoretest.Open(t, d, shequtest.NewClock(start))
			ctx := t.Context()
			tr := makeTree(t, st, "rc")
			mustOK(t, st.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home1.ID, Kind: alarm.SensorWindow, Zone: "kitchen", MQTTName: "window"}))
			_, err := st.ChangeArmState(ctx, everywhere, tr.home1.ID, "arm", func(a alarm.ArmState, now time.Time) (alarm.ArmState, error) {
				a.State, a.Since = alarm.ArmedAway, now
				return a, nil
			})
			mustOK(t, err)

			at := start
			window := func(restore bool) alarm.Report {
				at = at.Add(time.Second)
				code := "BA"
				if restore {
					code = "BR"
				}
				return alarm.Report{Source: alarm.SourceMQTT, Account: "window", Kind: alarm.KindPerimeter, Code: code, Restore: restore, ReceivedAt: at}
			}
			receipt := func(entries ...alarm.ReceiptEntry) alarm.Report {
				return alarm.Report{Source: alarm.SourceMQTT, Kind: alarm.KindBatchReceipt, ReceivedAt: at,
					Receipt: &alarm.BatchReceipt{Session: "shequ-test", Entries: entries}}
			}
			// checked and unchecked are messages of the session, packet id
			// and digest, that gave n reports; other is one from elsewhere.
			checked := func(id uint16, digest uint64, n int) alarm.ReceiptEntry {
				return alarm.ReceiptEntry{InSession: true, Check: true, PacketID: id, Digest: digest, Reports: n}
			}
			unchecked := func(id uint16, digest uint64, n int) alarm.ReceiptEntry {
				return alarm.ReceiptEntry{InSession: true, PacketID: id, Digest: digest, Reports: n}
			}
			other := func(n int) alarm.ReceiptEntry { return alarm.ReceiptEntry{Reports: n} }
			// ingest stores a batch and returns its outcomes (outcomeLetters).
			ingest := func(reports ...alarm.Report) string {
				t.Helper()
				out, err := st.Ingest(ctx, reports)
				mustOK(t, err)
				return outcomeLetters(out)
			}
			state := func() string {
				t.Helper()
				var events, incidents, counted, jobs int
				mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM alarm_events WHERE source = 'mqtt'").Scan(&events))
				mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*), COALESCE(SUM(event_count), 0) FROM incidents").Scan(&incidents, &counted))
				mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox").Scan(&jobs))
				return fmt.Sprintf("%d events, %d incidents counting %d, %d jobs", events, incidents, counted, jobs)
			}

			// A first batch after a start: checked, and not in the
			// (missing) receipt, so stored. Message 3 gave no report.
			if got := ingest(receipt(checked(1, 0xfedcba9876543210, 1), checked(2, 0xb2, 1), checked(3, 0xc3, 0)), window(false), window(true)); got != "-ss" {
				t.Fatalf("first batch: %s", got)
			}
			stored := state()
			if stored != "2 events, 1 incidents counting 2, 4 jobs" {
				t.Errorf("the intrusion made %s", stored)
			}
			// The process died before the PUBACKs: the broker sends the
			// batch again, to the next process, which checks it.
			if got := ingest(receipt(checked(1, 0xfedcba9876543210, 1), checked(2, 0xb2, 1), checked(3, 0xc3, 0)), window(false), window(true)); got != "-dd" {
				t.Errorf("batch sent again: %s", got)
			}
			// Again, and now over two batches.
			if got := ingest(receipt(checked(1, 0xfedcba9876543210, 1)), window(false)); got != "-d" {
				t.Errorf("first half sent again: %s", got)
			}
			if got := state(); got != stored {
				t.Errorf("sent again, %s became %s", stored, got)
			}
			if got := ingest(receipt(checked(2, 0xb2, 1), checked(3, 0xc3, 0), checked(4, 0xd4, 1)), window(true), window(false)); got != "-ds" {
				t.Errorf("second half sent again, then a new message: %s", got)
			}
			if got := state(); got == stored {
				t.Errorf("the new opening made nothing: %s", got)
			}
			stored = state()
			// The receipt now holds 2, 3 and 4. A checked message not in
			// it ends the check: packet id 2 with the same content after
			// it is a new message reusing the id.
			if got := ingest(receipt(checked(9, 0xe9, 1), checked(2, 0xb2, 1)), window(true), window(false)); got != "-ss" {
				t.Errorf("after a new message: %s", got)
			}
			// Unchecked, a stored packet id and content is a new message:
			// the ingestion acknowledged it itself.
			if got := ingest(receipt(unchecked(2, 0xb2, 1)), window(true)); got != "-s" {
				t.Errorf("unchecked: %s", got)
			}
			// Emptied once the PUBACKs went out: nothing is recognised.
			if got := ingest(receipt()); got != "-" {
				t.Errorf("empty receipt: %s", got)
			}
			if got := ingest(receipt(checked(2, 0xb2, 1)), window(false)); got != "-s" {
				t.Errorf("after the receipt was emptied: %s", got)
			}
			if got := state(); got == stored {
				t.Errorf("the new changes made nothing: %s", got)
			}
			// Reports of other messages in the batch (another session, QoS
			// 0) are counted in the receipt and stored.
			if got := ingest(receipt(unchecked(5, 0xf5, 0), other(1), checked(6, 0xa6, 0)), window(true)); got != "-s" {
				t.Errorf("a report from elsewhere: %s", got)
			}
			// A receipt announcing reports that do not follow is refused,
			// and changes nothing.
			before := state()
			if _, err := st.Ingest(ctx, []alarm.Report{receipt(checked(7, 0xb7, 2)), window(false)}); err == nil {
				t.Error("a receipt announcing more reports than follow was taken")
			}
			// …nor reach into the next request of the group commit: a
			// panel's frame after it is not the receipt's to skip.
			frame := alarm.Report{Source: alarm.SourceSIA, Account: "RC01", Seq: "0001", Code: "BA", Kind: alarm.KindBurglary, ReceivedAt: at}
			if _, err := st.Ingest(ctx, []alarm.Report{receipt(checked(7, 0xb7, 2)), window(false), frame}); err == nil {
				t.Error("a receipt announcing a panel's frame as its own was taken")
			}
			if _, err := st.Ingest(ctx, []alarm.Report{receipt(checked(0, 0xb7, 0))}); err == nil {
				t.Error("a receipt with a message of the session without packet id was taken")
			}
			if _, err := st.Ingest(ctx, []alarm.Report{receipt(other(-1))}); err == nil {
				t.Error("a receipt with a negative report count was taken")
			}
			if _, err := st.Ingest(ctx, []alarm.Report{{Source: alarm.SourceMQTT, Kind: alarm.KindBatchReceipt, ReceivedAt: at}}); err == nil {
				t.Error("a receipt report without a receipt was taken")
			}
			if got := state(); got != before {
				t.Errorf("a refused receipt changed %s to %s", before, got)
			}
		})
	}
}

// TestMQTTReceiptFenced: with several nodes one subscribes at a time,
// under a lease, and its receipts carry the lease (alarm.BatchReceipt's
// Fence). A node that lost the lease while it was paused, and wakes up
// with a batch in hand after another node took over and received the same
// messages, stores neither the batch nor its receipt: the change would be
// stored twice, and the receipt the new holder relies on replaced. The
// new holder's delivery of messages the old one stored is recognised by
// the receipt, so each change is stored once.
func TestMQTTReceiptFenced(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			start := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
			clock := shequtest.NewClock(start)
			dsn := sqlstoretest.DSN(t, d)
			a, b := sqlstoretest.OpenDSN(t, dsn, clock), sqlstoretest.OpenDSN(t, dsn, clock)
			ctx := t.Context()
			tr := makeTree(t, a, "fence")
			mustOK(t, a.CreateSensor(ctx, everywhere, &alarm.Sensor{HomeID: tr.home1.ID, Kind: alarm.SensorDoor, Zone: "door", MQTTName: "door"}))
			const lease = "mqtt-subscriber"
			var fenceA, fenceB jobs.Fence // with their terms, once taken

			// The door's changes: message n (packet id n, digest n) opens
			// the door when odd and closes it when even.
			door := func(n int) alarm.Report {
				restore := n%2 == 0
				code := "BA"
				if restore {
					code = "BR"
				}
				return alarm.Report{Source: alarm.SourceMQTT, Account: "door", Kind: alarm.KindEntryExit, Code: code, Restore: restore, ReceivedAt: clock.Now()}
			}
			// batch is a batch of messages with its receipt, fenced by f;
			// check: the receiver asks the store whether they were stored.
			batch := func(f jobs.Fence, check bool, msgs ...int) []alarm.Report {
				rc := &alarm.BatchReceipt{Session: "shequ-cluster", Fence: f}
				var reports []alarm.Report
				for _, n := range msgs {
					rc.Entries = append(rc.Entries, alarm.ReceiptEntry{InSession: true, Check: check, PacketID: uint16(n), Digest: uint64(n), Reports: 1})
					reports = append(reports, door(n))
				}
				return append([]alarm.Report{{Source: alarm.SourceMQTT, Kind: alarm.KindBatchReceipt, ReceivedAt: clock.Now(), Receipt: rc}}, reports...)
			}
			stored := func() string {
				t.Helper()
				var events int
				var messages string
				mustOK(t, a.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM alarm_events WHERE source = 'mqtt'").Scan(&events))
				mustOK(t, a.DB().QueryRowContext(ctx, "SELECT messages FROM mqtt_receipts WHERE session = 'shequ-cluster'").Scan(&messages))
				return fmt.Sprintf("%d events, receipt %q", events, messages)
			}

			termA, got, err := a.AcquireLease(ctx, lease, "a", 10*time.Second)
			if err != nil || !got {
				t.Fatalf("a takes the lease: %v %v", got, err)
			}
			fenceA = jobs.Fence{Lease: lease, Holder: "a", Term: termA}
			out, err := a.Ingest(ctx, batch(fenceA, true, 1, 2))
			if err != nil || outcomeLetters(out) != "-ss" {
				t.Fatalf("a's first batch: %s %v", outcomeLetters(out), err)
			}
			// a is paused past its lease, its PUBACKs of 1 and 2 lost with
			// its connection; b takes over, and the broker sends b the
			// two again, then message 3.
			clock.Advance(11 * time.Second)
			termB, got, err := b.AcquireLease(ctx, lease, "b", 10*time.Second)
			if err != nil || !got {
				t.Fatalf("b takes the lease: %v %v", got, err)
			}
			fenceB = jobs.Fence{Lease: lease, Holder: "b", Term: termB}
			out, err = b.Ingest(ctx, batch(fenceB, true, 1, 2, 3))
			if err != nil || outcomeLetters(out) != "-dds" {
				t.Fatalf("b's first batch: %s %v", outcomeLetters(out), err)
			}
			want := stored()
			if want != `3 events, receipt "1:1 2:2 3:3"` {
				t.Errorf("after b's batch: %s", want)
			}
			// a wakes up with message 3, received before it was paused,
			// and stores it as its own: refused, whole.
			out, err = a.Ingest(ctx, batch(fenceA, false, 3))
			if shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("a's batch after it lost the lease: %s %v, want a conflict", outcomeLetters(out), err)
			}
			// So is its emptying of the receipt, which would make b take
			// a resend of 1, 2 or 3 for a new message.
			if _, err := a.Ingest(ctx, batch(fenceA, false)); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("a's empty receipt after it lost the lease: %v, want a conflict", err)
			}
			if got := stored(); got != want {
				t.Errorf("after a's stale writes: %s, want %s", got, want)
			}
			// b goes on.
			out, err = b.Ingest(ctx, batch(fenceB, false, 4))
			if err != nil || outcomeLetters(out) != "-s" {
				t.Fatalf("b's next batch: %s %v", outcomeLetters(out), err)
			}
			if got := stored(); got != `4 events, receipt "4:4"` {
				t.Errorf("after b's next batch: %s", got)
			}
			// b stops and gives the lease back; a, still in its old term
			// with message 3, takes the lease again before it notices: a
			// term of its own, and the old term's batch is still refused.
			mustOK(t, b.ReleaseLease(ctx, lease, "b"))
			if _, got, err := a.AcquireLease(ctx, lease, "a", 10*time.Second); err != nil || !got {
				t.Fatalf("a takes the lease again: %v %v", got, err)
			}
			if _, err := a.Ingest(ctx, batch(fenceA, false, 3)); shequ.ErrorCode(err) != shequ.ECONFLICT {
				t.Errorf("a's old term's batch once a holds the lease again: %v, want a conflict", err)
			}
			if got := stored(); got != `4 events, receipt "4:4"` {
				t.Errorf("after a's old term's batch: %s", got)
			}
		})
	}
}

// outcomeLetters tells, for each report of a batch, whether it was left
// out as stored before ("d"), stored ("s") or neither ("-": the receipt).
func outcomeLetters(out []alarm.Outcome) string {
	s := ""
	for _, o := range out {
		switch {
		case o.Duplicate:
			s += "d"
		case o.EventID != 0:
			s += "s"
		default:
			s += "-"
		}
	}
	return s
}
