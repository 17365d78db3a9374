package alarm

import "github.com/shequ/shequ/jobs"

// KindBatchReceipt is the Kind of a report that carries a BatchReceipt
// (Report.Receipt) instead of an event: the store records the receipt in
// the transaction that stores the batch's other reports, stores no event
// for it, and leaves out the reports the receipt shows were stored
// before. It travels as a report because the Handler (Ingestor, the group
// commit) takes reports and nothing else, and keeps a Handle call's
// reports together and in order in one transaction.
const KindBatchReceipt Kind = "batch_receipt"

// BatchReceipt tells the store which messages a batch of reports came
// from, for a receiver that acknowledges messages to their sender only
// after storing them (MQTT QoS 1: PUBACK after commit). After a crash
// between the commit and the acknowledgements the sender sends the
// stored messages again, and only the receipt stored with them can tell
// them from new ones. alarm/mqtt's package documentation
// ("Acknowledgement") has the rule; sqlstore (mqtt_receipts.go) applies
// it.
//
// The report carrying it comes ahead of the batch's reports: the reports
// of its entries follow it, entry after entry, in the entries' order. A
// receipt with no entries empties the session's stored receipt.
type BatchReceipt struct {
	Session string // the sender's session (the MQTT client id) the receipt is kept for
	Entries []ReceiptEntry
	// Fence, when set, is the lease the receiver holds the session under
	// (with several nodes, one subscribes at a time): the store writes the
	// receipt, and so commits the batch, only while the lease is still
	// Fence.Holder's, and keeps it from changing hands until the commit.
	// A node that lost the lease while it stored a batch (paused past its
	// lease) must not store it beside the new holder, which receives the
	// same messages again: its receipt and the reports would then be
	// stored twice. Zero: one receiver, no lease.
	Fence jobs.Fence
}

// ReceiptEntry is one message of a batch.
type ReceiptEntry struct {
	// InSession: a message of the receipt's session, known by PacketID
	// and Digest and kept in the stored receipt. Otherwise a message from
	// elsewhere (another session, QoS 0), which is only counted.
	InSession bool
	// Check asks the store whether the message was stored before: the
	// receiver could not tell (it was not in its memory after a start).
	Check    bool
	PacketID uint16 // never 0 in the session
	Digest   uint64 // of the message's content
	Reports  int    // how many reports the message gave, following the receipt
}

// IsBatchReceipt tells whether r carries a receipt rather than an event.
func (r Report) IsBatchReceipt() bool { return r.Kind == KindBatchReceipt }
