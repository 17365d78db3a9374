// Package mqtt ingests zigbee2mqtt-style sensors: door and window contacts
// and motion detectors publishing JSON state to zigbee2mqtt/<friendly_name>
// and their availability to zigbee2mqtt/<friendly_name>/availability. It
// turns changes of state into alarm.Reports and hands them to a Handler
// (alarm.Ingestor); it stores nothing itself.
//
// Messages come from an external broker (Client, --mqtt URL) or from an
// embedded broker that sensors publish to directly (Broker, --mqtt-listen
// ADDR); Run starts either or both over one pipeline.
//
// # Translation
//
// Translate is pure: it compares a message with the sensor's previous State
// and reports only what changed. contact false (open) is an alarm of the
// door's entry/exit zone or of the window's perimeter, contact true its
// restore; occupancy true is interior movement and false its restore;
// tamper, battery_low (or battery at or below 10 %, restored at 20 %) and
// availability offline are tamper, low battery and sensor offline, each
// with its restore. SIA codes: BA/BR, TA/TR, XT/XR (transmitter battery)
// and EM/EN (device missing / communications re-established) for offline
// and online. A repeated state — a retained copy, a duplicate delivery, a
// periodic report — makes no report.
//
// # Acknowledgement
//
// One worker takes messages in the order they arrive, translates a batch,
// calls Handler.Handle once for the batch and acknowledges the batch's
// messages only after Handle returned nil. If Handle (or Sensors.LastState)
// fails, the batch is retried with backoff (RetryMin doubling to RetryMax)
// and nothing after it is acknowledged meanwhile; if the process stops
// first, the messages were never acknowledged and come again.
//
// With an external broker the client writes the PUBACKs of a stored batch
// itself, in order, in one write (paho would acknowledge each message on
// receipt), so a QoS 1 message
// whose reports were not stored is redelivered by the broker from the
// persistent session when shequ reconnects. With the embedded broker the
// ingestion runs in mochi's OnPublish hook before the broker acknowledges:
// the publisher's PUBACK is sent after storage, and a message that was not
// stored stays with the publisher until it reconnects.
//
// Delivery is at least once, so a stored message may come again: after a
// crash between the commit of its batch and its PUBACK, or when the
// connection broke before the broker read the PUBACK. Comparing states
// does not recognise it: a batch holding two changes of one sensor (open,
// then closed) sent again after its storage would report both again, each
// being a change from the one before. What recognises it is the message's
// packet id and content, under three facts of MQTT 5: a packet id stays
// the message's until the sender has our PUBACK, and may then be given to
// a new message (§2.2.1); a message is sent again only when the session
// resumes on a new connection (§4.4); and what is sent again comes first,
// in the original order (§4.4, §4.6). The DUP flag is not relied on: it
// should mark a resend, but a broker may resend without it. So:
//
//   - A packet id that was acknowledged on this connection belongs to a
//     new message, whatever its content: the sender reused it.
//   - On a new connection, while the deliveries are messages stored and
//     acknowledged on an older connection (same session, packet id and
//     content digest), they are resends whose PUBACKs were lost, and are
//     acknowledged without being stored. The first delivery that is not
//     one ends the resends: every older PUBACK has arrived, those
//     messages are forgotten, and their ids are free.
//   - The same packet id twice in a batch, with the same content, is one
//     message: not acknowledged in between, the id cannot have been
//     reused.
//
// The worker keeps this memory itself (stored deliveries by session and
// packet id, for DedupWindow). A crash, or another node taking over,
// loses it; for the external broker's session it is kept in the store
// too. Each batch goes to the Handler with a receipt ahead of its reports
// (alarm.BatchReceipt): the packet id and digest of its messages, which
// the store keeps, in the transaction that stores the reports, as the
// session's receipt, replacing the one before: when a batch is stored the
// PUBACKs of the batch before it have been written, so only the last
// stored batch can be committed and not acknowledged. After a start (or a
// new term, see Several nodes) the first ReceiveMaximum deliveries not
// in memory, the most the broker can have sent without our PUBACK, are
// marked in the receipt for the store to check: a marked message whose
// packet id and digest the stored receipt holds was stored before, and
// its reports are left out (with the same outcome as a panel's
// retransmission); the check ends, for good, at the first marked message
// the receipt does not hold, which is then new even if it reuses one of
// the receipt's packet ids. A resend split over several batches keeps the
// receipt's messages not seen yet in it until then.
//
// A receipt whose PUBACKs have gone out could make a new message taken
// for a stored one after a crash, had the broker given one of its packet
// ids to a message with the same topic and payload sent first on the
// next connection. So when the worker has been idle for half a second
// it empties the receipt; under load the next batch's receipt replaces it
// at no cost. Not while deliveries are still checked (the receipt may
// hold messages of the process before that are still to come), so after
// a start or a new term it stays until ReceiveMaximum deliveries have
// come. What is left: a crash in that time, or in the moment between the
// PUBACKs and the next batch or the emptying, followed by a broker
// that reuses an id for an identical message as the first one of the
// next connection (Mosquitto numbers its packet ids in turn, so it
// reuses an id only 65,535 messages later); and a crash after the
// connection broke with PUBACKs unread and before the resends came,
// which leaves only the last batch in the receipt. The cost is one
// statement a batch (an upsert of the session's row; on PostgreSQL part
// of the statement that inserts the batch's events), one read of the
// receipt for each batch with messages to check (stored even when it
// gives no report), and a transaction to empty it when idle.
//
// The embedded broker's sessions live in this process: after a crash the
// publishers find no session, and a publisher that finds none discards
// what it had in flight (§3.2.2.1.2), so their messages need no receipt;
// the memory covers a reconnect.
//
// # Several nodes
//
// With Config.Elect (the server passes a lease, jobs.Leader) one node of a
// deployment at a time subscribes at the external broker, under the
// deployment's client id, so that each message is handled by one node and
// in the broker's order; why not a shared subscription per node is said at
// Config.Elect. When the subscribing node stops, it finishes the batch
// being stored, confirms its PUBACKs and gives the lease up; the next node
// starts from the stored state. A node that loses the lease without
// knowing it (paused past it) may still hold a batch the next node has
// received again: each receipt carries the term's lease (jobs.Fence from
// lead's context, alarm.BatchReceipt.Fence), and the store writes the
// receipt, and commits the batch, only while the lease is the node's,
// keeping it from changing hands until that commit. The embedded broker
// runs on every node.
//
// # Restart
//
// The state of each sensor is kept in memory and updated only after its
// reports are stored, so it always equals what storage holds. After a
// start the first message of a sensor is compared with Sensors.LastState,
// which the storage side builds from the sensor's stored events (see
// State.Apply). A sensor with nothing stored is taken to be in its normal
// state (closed, still, untampered, battery fine, online): a first "open"
// is reported, a first "closed" is not. Treating the first message as a
// silent baseline instead would swallow a door opened while shequ was down
// and delivered from the broker's queue on return.
package mqtt
