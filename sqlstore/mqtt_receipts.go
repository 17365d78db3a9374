package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/shequ/shequ/alarm"
)

// mqttReceiptKind marks the report in which alarm/mqtt hands over the
// receipt of a batch of MQTT messages (its receipt.go has the format and
// the reasoning, its doc.go the rule). A receipt is not an event: Ingest
// records it in mqtt_receipts, in the batch's transaction, and stores no
// event for it.
const mqttReceiptKind alarm.Kind = "mqtt_receipt"

// isMQTTReceipt tells whether r is a receipt rather than a sensor report.
func isMQTTReceipt(r alarm.Report) bool {
	return r.Source == alarm.SourceMQTT && r.Kind == mqttReceiptKind
}

// receiptEntry is one message of a receipt: a QoS 1 message of the
// receipt's session (packet id and digest), or a message from elsewhere
// (other), and the number of reports it gave, which follow the receipt in
// the order of its entries.
type receiptEntry struct {
	other   bool
	check   bool // the sender could not tell whether the message was stored already
	id      uint16
	digest  string
	reports int
}

// parseReceipt reads a receipt's entries: "[?]id:digest:n" for a message
// of the session ("?" asks for the check), "n" for one from elsewhere,
// separated by single spaces.
func parseReceipt(s string) ([]receiptEntry, error) {
	if s == "" {
		return nil, nil
	}
	fields := strings.Split(s, " ")
	out := make([]receiptEntry, 0, len(fields))
	for _, f := range fields {
		var e receiptEntry
		parts := strings.Split(f, ":")
		switch len(parts) {
		case 1:
			e.other = true
		case 3:
			idText, found := strings.CutPrefix(parts[0], "?")
			e.check = found
			id, err := strconv.ParseUint(idText, 10, 16)
			if err != nil || id == 0 || parts[1] == "" {
				return nil, fmt.Errorf("mqtt receipt: bad entry %q", f)
			}
			e.id, e.digest = uint16(id), parts[1]
		default:
			return nil, fmt.Errorf("mqtt receipt: bad entry %q", f)
		}
		n, err := strconv.Atoi(parts[len(parts)-1])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("mqtt receipt: bad entry %q", f)
		}
		e.reports = n
		out = append(out, e)
	}
	return out, nil
}

// mqttReceipts records the batch's MQTT receipts, each in its session's
// row of mqtt_receipts, and returns the outcomes of the reports not to be
// stored: the receipts, and the reports of messages that were stored
// already. Nil when the batch has no receipt.
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
func (s *Store) mqttReceipts(ctx context.Context, q querier, reports []alarm.Report) (map[int]alarm.Outcome, error) {
	var skip map[int]alarm.Outcome
	for at, r := range reports {
		if !isMQTTReceipt(r) {
			continue
		}
		if skip == nil {
			skip = map[int]alarm.Outcome{}
		}
		skip[at] = alarm.Outcome{}
		entries, err := parseReceipt(r.Fingerprint)
		if err != nil {
			return nil, err
		}
		var stored []storedMessage
		checked := false
		for _, e := range entries {
			if e.check {
				if stored, err = s.receiptOf(ctx, q, r.Account); err != nil {
					return nil, err
				}
				checked = true
				break
			}
		}
		var inRow map[uint16]string
		if checked {
			inRow = make(map[uint16]string, len(stored))
		}
		for _, m := range stored {
			inRow[m.id] = m.digest
		}
		resending := checked
		next := at + 1
		for _, e := range entries {
			if next+e.reports > len(reports) {
				return nil, fmt.Errorf("mqtt receipt: %d reports announced, fewer follow", e.reports)
			}
			if e.check && resending {
				if d, ok := inRow[e.id]; ok && d == e.digest {
					for k := next; k < next+e.reports; k++ {
						skip[k] = alarm.Outcome{Duplicate: true}
					}
				} else {
					resending = false
				}
			}
			next += e.reports
		}
		var row strings.Builder
		row.Grow(len(r.Fingerprint))
		add := func(id uint16, digest string) {
			if row.Len() > 0 {
				row.WriteByte(' ')
			}
			row.WriteString(strconv.Itoa(int(id)))
			row.WriteByte(':')
			row.WriteString(digest)
		}
		if resending {
			mine := make(map[uint16]bool, len(entries))
			for _, e := range entries {
				if !e.other {
					mine[e.id] = true
				}
			}
			for _, m := range stored {
				if !mine[m.id] {
					add(m.id, m.digest)
				}
			}
		}
		for _, e := range entries {
			if !e.other {
				add(e.id, e.digest)
			}
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO mqtt_receipts (session, messages, stored_at) VALUES ($1, $2, $3)
			ON CONFLICT (session) DO UPDATE SET messages = excluded.messages, stored_at = excluded.stored_at`,
			r.Account, row.String(), r.ReceivedAt.UTC()); err != nil {
			return nil, fmt.Errorf("mqtt receipt: %w", err)
		}
	}
	return skip, nil
}

// storedMessage is a message of a stored receipt.
type storedMessage struct {
	id     uint16
	digest string
}

// receiptOf returns the messages of session's row, in order.
func (s *Store) receiptOf(ctx context.Context, q querier, session string) ([]storedMessage, error) {
	var messages string
	err := q.QueryRowContext(ctx, "SELECT messages FROM mqtt_receipts WHERE session = $1", session).Scan(&messages)
	if err != nil && err != sql.ErrNoRows {
		return nil, fmt.Errorf("mqtt receipt: %w", err)
	}
	if messages == "" {
		return nil, nil
	}
	fields := strings.Split(messages, " ")
	out := make([]storedMessage, 0, len(fields))
	for _, f := range fields {
		idText, digest, ok := strings.Cut(f, ":")
		id, err := strconv.ParseUint(idText, 10, 16)
		if !ok || err != nil {
			return nil, fmt.Errorf("mqtt receipt of %s: bad entry %q", session, f)
		}
		out = append(out, storedMessage{uint16(id), digest})
	}
	return out, nil
}
