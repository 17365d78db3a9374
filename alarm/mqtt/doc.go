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
// A crash after a batch was stored and before its PUBACKs went out makes
// the broker send the batch again; the sensors' stored state makes a
// repeated change no report (see Restart), but a batch holding two
// changes of one sensor (open, then closed) would be stored again: the
// second repeat is a change from the first. Telling it apart needs the
// packet ids of the stored messages kept in the same transaction as the
// reports (not done yet).
//
// Delivery is at least once. Duplicates are kept out in two ways: a
// redelivered message flagged DUP whose session, packet id and content
// match one already stored is acknowledged without storing it again; and
// since only changes are reported, a repeat of the state last stored makes
// no report.
//
// # Several nodes
//
// With Config.Elect (the server passes a lease, jobs.Leader) one node of a
// deployment at a time subscribes at the external broker, under the
// deployment's client id, so that each message is handled by one node and
// in the broker's order; why not a shared subscription per node is said at
// Config.Elect. When the subscribing node stops, it finishes the batch
// being stored, confirms its PUBACKs and gives the lease up; the next node
// starts from the stored state. The embedded broker runs on every node.
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
