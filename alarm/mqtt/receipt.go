package mqtt

import (
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/alarm"
)

// ReceiptKind is the Kind of the report that carries a batch's receipt
// to the Handler, ahead of the batch's sensor reports: the packet id and
// content digest of each QoS 1 message of the external broker's session
// in the batch. The store keeps the last receipt of the session in the
// transaction that stores the reports (sqlstore, mqtt_receipts), stores
// no event for it, and leaves out the reports of the messages the
// receipt asks it to check and that its last receipt holds: after a crash
// between the commit and the PUBACKs the broker sends the stored batch
// again, and only the stored receipt can tell those messages from new
// ones. The package documentation ("Acknowledgement") has the rule.
//
// The receipt travels as a report because the Handler (alarm.Ingestor,
// the group commit) takes reports and nothing else, and keeps a Handle
// call's reports together and in order in one transaction.
//
// The report: Source alarm.SourceMQTT, Kind ReceiptKind, Account the
// session (Config.ClientID), ReceivedAt the batch's time, and Fingerprint
// its entries separated by single spaces, one per message of the batch
// that is a QoS 1 message of the session or gave reports, in the
// batch's order: "id:digest:n" (a message of the session: packet id,
// content digest in hexadecimal, and the number of reports it gave),
// prefixed with "?" when the store is to check it, or "n" (n reports of a
// message from elsewhere: the embedded broker, QoS 0). The n reports of
// each entry follow the receipt, entry after entry. An empty Fingerprint
// empties the stored receipt.
const ReceiptKind alarm.Kind = "mqtt_receipt"

// receiptEntry is one message of a receipt.
type receiptEntry struct {
	session bool // a QoS 1 message of the receipt's session
	check   bool
	id      uint16
	sum     uint64
	reports int
}

// receipt returns the report carrying entries for session.
func receipt(session string, entries []receiptEntry, at time.Time) alarm.Report {
	var b strings.Builder
	for i, e := range entries {
		if i > 0 {
			b.WriteByte(' ')
		}
		if e.session {
			if e.check {
				b.WriteByte('?')
			}
			b.WriteString(strconv.Itoa(int(e.id)))
			b.WriteByte(':')
			b.WriteString(strconv.FormatUint(e.sum, 16))
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.reports))
	}
	return alarm.Report{Source: alarm.SourceMQTT, Kind: ReceiptKind, Account: session, Fingerprint: b.String(), ReceivedAt: at}
}

// IsReceipt tells whether r carries a receipt rather than a change of a
// sensor.
func IsReceipt(r alarm.Report) bool {
	return r.Source == alarm.SourceMQTT && r.Kind == ReceiptKind
}
