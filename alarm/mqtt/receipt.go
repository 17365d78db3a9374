package mqtt

import (
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
)

// receipt returns the report that carries a batch's receipt to the
// Handler, ahead of the batch's sensor reports (alarm.BatchReceipt): one
// entry per message of the batch that is a QoS 1 message of the external
// broker's session (Config.ClientID) or gave reports, in the batch's
// order. The store keeps the session's messages of the last receipt in
// the transaction that stores the reports (sqlstore, mqtt_receipts), and
// leaves out the reports of the messages the receipt asks it to check
// and that its last receipt holds: after a crash between the commit and
// the PUBACKs the broker sends the stored batch again, and only the
// stored receipt can tell those messages from new ones. The package
// documentation ("Acknowledgement") has the rule. No entries: the stored
// receipt is emptied. fence is the subscriber's lease of the term the
// messages came in (zero without Config.Elect's lease): the store takes
// the receipt, and the batch with it, only while that lease holds.
func receipt(session string, entries []alarm.ReceiptEntry, fence jobs.Fence, at time.Time) alarm.Report {
	return alarm.Report{
		Source:     alarm.SourceMQTT,
		Kind:       alarm.KindBatchReceipt,
		ReceivedAt: at,
		Receipt:    &alarm.BatchReceipt{Session: session, Entries: entries, Fence: fence},
	}
}
