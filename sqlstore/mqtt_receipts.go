package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
)

// isMQTTReceipt tells whether r carries the receipt of a batch of MQTT
// messages (alarm.BatchReceipt, its reasoning; alarm/mqtt's doc.go, the
// rule) rather than a sensor report. A receipt is not an event: Ingest
// records it in mqtt_receipts, in the batch's transaction, and stores no
// event for it.
func isMQTTReceipt(r alarm.Report) bool {
	return r.Source == alarm.SourceMQTT && r.IsBatchReceipt()
}

// checkReceipt refuses a receipt the store cannot apply.
func checkReceipt(r alarm.Report) error {
	if r.Receipt == nil {
		return fmt.Errorf("mqtt receipt: the report carries none")
	}
	for i, e := range r.Receipt.Entries {
		if (e.InSession && e.PacketID == 0) || e.Reports < 0 {
			return fmt.Errorf("mqtt receipt of %s: bad entry %d %+v", r.Receipt.Session, i, e)
		}
	}
	return nil
}

// mqttReceipts works out the batch's MQTT receipts, each its session's
// row of mqtt_receipts, and returns the outcomes of the reports not to be
// stored (the receipts, and the reports of messages that were stored
// already; nil when the batch has no receipt) and the rows to write, which
// the caller writes by the end of the transaction (writeReceipt, or with
// the events on PostgreSQL: insertEventsUnnest). A second receipt of a
// session in one batch finds the first one's row written.
//
// The row holds the messages of the last batch stored for the session,
// whose PUBACKs may not have gone out. A message marked for the check
// was stored already when the row has its packet id with the same
// digest. The broker sends the messages it has no PUBACK for again first,
// in their order, so the check ends at the first message that is not in
// the row: from there on the messages are new, even one that reuses a
// packet id of the row (the broker had the PUBACK, and the id was free
// again). A receipt whose checked messages were all in the row leaves the
// row's other messages in it, after its own: they may come in the next
// batch. Any other receipt replaces the row.
func (s *Store) mqttReceipts(ctx context.Context, q querier, reports []alarm.Report) (map[int]alarm.Outcome, []receiptWrite, error) {
	var skip map[int]alarm.Outcome
	var writes []receiptWrite
	for at, r := range reports {
		if !isMQTTReceipt(r) {
			continue
		}
		if skip == nil {
			skip = map[int]alarm.Outcome{}
		}
		skip[at] = alarm.Outcome{}
		if err := checkReceipt(r); err != nil {
			return nil, nil, err
		}
		session, entries := r.Receipt.Session, r.Receipt.Entries
		if i := slices.IndexFunc(writes, func(w receiptWrite) bool { return w.receipt.Session == session }); i >= 0 {
			if err := s.writeReceipt(ctx, q, writes[i]); err != nil {
				return nil, nil, err
			}
			writes = slices.Delete(writes, i, i+1)
		}
		// inRow is the stored receipt's messages, read only when an entry
		// asks for the check.
		var stored []storedMessage
		var inRow map[uint16]uint64
		if slices.ContainsFunc(entries, func(e alarm.ReceiptEntry) bool { return e.Check }) {
			var err error
			if stored, err = s.receiptOf(ctx, q, session); err != nil {
				return nil, nil, err
			}
			inRow = make(map[uint16]uint64, len(stored))
			for _, m := range stored {
				inRow[m.id] = m.digest
			}
		}
		resending := inRow != nil
		next := at + 1
		for _, e := range entries {
			if next+e.Reports > len(reports) {
				return nil, nil, fmt.Errorf("mqtt receipt: %d reports announced, fewer follow", e.Reports)
			}
			// The reports a receipt announces are its own request's sensor
			// reports: a count too high must not reach into the next
			// request of the group commit (another receipt, a panel's frame)
			// and have it skipped as a duplicate.
			for _, f := range reports[next : next+e.Reports] {
				if f.Source != alarm.SourceMQTT || f.IsBatchReceipt() {
					return nil, nil, fmt.Errorf("mqtt receipt: %d reports announced, fewer of its sensors follow", e.Reports)
				}
			}
			if e.Check && resending {
				if d, ok := inRow[e.PacketID]; ok && d == e.Digest {
					for k := next; k < next+e.Reports; k++ {
						skip[k] = alarm.Outcome{Duplicate: true}
					}
				} else {
					resending = false
				}
			}
			next += e.Reports
		}
		var row []storedMessage
		if resending {
			mine := make(map[uint16]bool, len(entries))
			for _, e := range entries {
				if e.InSession {
					mine[e.PacketID] = true
				}
			}
			for _, m := range stored {
				if !mine[m.id] {
					row = append(row, m)
				}
			}
		}
		for _, e := range entries {
			if e.InSession {
				row = append(row, storedMessage{e.PacketID, e.Digest})
			}
		}
		writes = append(writes, receiptWrite{receipt: r.Receipt, messages: formatStored(row), at: r.ReceivedAt.UTC()})
	}
	return skip, writes, nil
}

// receiptWrite is a session's row of mqtt_receipts to be written.
type receiptWrite struct {
	receipt  *alarm.BatchReceipt
	messages string
	at       time.Time
	now      time.Time // the node's time, for the fence
}

// args are the write's parameters for receiptSQL's statement.
func (w receiptWrite) args() []any {
	if f := w.receipt.Fence; f != (jobs.Fence{}) {
		return []any{f.Lease, f.Holder, w.now, f.Term, w.receipt.Session, w.messages, w.at}
	}
	return []any{w.receipt.Session, w.messages, w.at}
}

const (
	// writeReceiptSQL and writeFencedReceiptSQL replace the session's row;
	// receiptSQL picks one for a write.
	writeReceiptSQL = `INSERT INTO mqtt_receipts (session, messages, stored_at) VALUES ($1, $2, $3)
		ON CONFLICT (session) DO UPDATE SET messages = excluded.messages, stored_at = excluded.stored_at`
	// writeFencedReceiptSQL writes the row only while the lease holds:
	// the fence of the other lease-holding writes (checkFence, with
	// leaseHeldSQL's condition) in the receipt's own statement, which
	// saves the batch a round trip. The receipt is the batch's last write
	// (see Ingest), so on PostgreSQL the lease row is locked shared, as
	// checkFence locks it, from then until the commit: another node's
	// take-over waits for the batch's commit.
	writeFencedReceiptSQL = `INSERT INTO mqtt_receipts (session, messages, stored_at) SELECT %s FROM leases WHERE ` + leaseHeldSQL + `%s
		ON CONFLICT (session) DO UPDATE SET messages = excluded.messages, stored_at = excluded.stored_at`
)

// fencedReceiptSQL is writeFencedReceiptSQL for each dialect: PostgreSQL
// needs the selected parameters' types.
var fencedReceiptSQL = map[string]string{
	SQLite:   fmt.Sprintf(writeFencedReceiptSQL, "$5, $6, $7", ""),
	Postgres: fmt.Sprintf(writeFencedReceiptSQL, "$5::text, $6::text, $7::timestamptz", " FOR SHARE"),
}

// receiptSQL is the statement that writes w, and how many parameters it
// takes: fenced by the receipt's lease when it has one
// (alarm.BatchReceipt.Fence).
func (s *Store) receiptSQL(w receiptWrite) (string, int) {
	if w.receipt.Fence != (jobs.Fence{}) {
		return fencedReceiptSQL[s.dialect], 7
	}
	return writeReceiptSQL, 3
}

// writeReceipt replaces the session's row: a node that lost the receipt's
// lease stores neither the receipt nor, since the error fails the
// transaction, the batch's reports.
func (s *Store) writeReceipt(ctx context.Context, q querier, w receiptWrite) error {
	w.now = s.now()
	query, _ := s.receiptSQL(w)
	res, err := q.ExecContext(ctx, query, w.args()...)
	if err != nil {
		return fmt.Errorf("mqtt receipt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("mqtt receipt: %w", err)
	}
	return w.written(n)
}

// written checks the rows a write of the receipt changed: none when its
// fence refused it.
func (w receiptWrite) written(n int64) error {
	if n == 0 {
		return fenceLost(w.receipt.Fence, "the batch is not stored")
	}
	return nil
}

// storedMessage is a message of a stored receipt.
type storedMessage struct {
	id     uint16
	digest uint64
}

// formatStored writes the messages of a session's row as mqtt_receipts
// stores them: "id:digest" (digest in hexadecimal) separated by single
// spaces. parseStored reads it back.
func formatStored(messages []storedMessage) string {
	var b strings.Builder
	for i, m := range messages {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(m.id)))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(m.digest, 16))
	}
	return b.String()
}

// parseStored reads a row's messages (see formatStored).
func parseStored(messages string) ([]storedMessage, error) {
	if messages == "" {
		return nil, nil
	}
	fields := strings.Split(messages, " ")
	out := make([]storedMessage, 0, len(fields))
	for _, f := range fields {
		idText, digestText, ok := strings.Cut(f, ":")
		id, err := strconv.ParseUint(idText, 10, 16)
		if !ok || err != nil {
			return nil, fmt.Errorf("bad entry %q", f)
		}
		digest, err := strconv.ParseUint(digestText, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("bad entry %q", f)
		}
		out = append(out, storedMessage{uint16(id), digest})
	}
	return out, nil
}

// receiptOf returns the messages of session's row, in order.
func (s *Store) receiptOf(ctx context.Context, q querier, session string) ([]storedMessage, error) {
	var messages string
	err := q.QueryRowContext(ctx, "SELECT messages FROM mqtt_receipts WHERE session = $1", session).Scan(&messages)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("mqtt receipt: %w", err)
	}
	out, err := parseStored(messages)
	if err != nil {
		return nil, fmt.Errorf("mqtt receipt of %s: %w", session, err)
	}
	return out, nil
}
