// Package alarm owns the safety core: panels and sensors, the events they
// report in one vocabulary, the home's arm state, incidents made from
// events, and their handling (acknowledge, dispatch, arrive, resolve). It
// knows nothing of SQL, HTTP, SIA framing or MQTT; adapters translate.
package alarm

import "time"

// Kind is what happened, in shequ's one vocabulary. Receivers translate SIA
// and Contact ID codes and sensor states into it.
type Kind string

const (
	KindBurglary      Kind = "burglary"
	KindPerimeter     Kind = "perimeter"  // door or window of the envelope
	KindInterior      Kind = "interior"   // movement inside
	KindEntryExit     Kind = "entry_exit" // entry/exit zone
	KindPanic         Kind = "panic"      // includes the app's SOS
	KindDuress        Kind = "duress"
	KindMedical       Kind = "medical"
	KindEmergency     Kind = "emergency" // personal emergency
	KindFire          Kind = "fire"
	KindTamper        Kind = "tamper"
	KindOpening       Kind = "opening"     // disarm
	KindClosing       Kind = "closing"     // arm away
	KindPartialArm    Kind = "partial_arm" // arm home / stay
	KindACLoss        Kind = "ac_loss"
	KindLowBattery    Kind = "low_battery"
	KindTest          Kind = "test"         // periodic test report
	KindCommFailure   Kind = "comm_failure" // panel or path silent
	KindBypass        Kind = "bypass"
	KindTrouble       Kind = "trouble"     // any other fault
	KindSupervision   Kind = "supervision" // NULL heartbeat
	KindSensorOffline Kind = "sensor_offline"
	KindUnknown       Kind = "unknown"
)

// Priority orders incidents in the operator's queue: a smaller number comes
// first. Life before property before equipment.
type Priority int

const (
	PriorityLife      Priority = 1 // SOS, panic, duress, medical, fire
	PriorityIntrusion Priority = 2
	PriorityTamper    Priority = 3
	PriorityTrouble   Priority = 4
	PriorityNone      Priority = 9 // status only: no incident
)

// PriorityOf returns how urgent an event of kind k is.
func PriorityOf(k Kind) Priority {
	switch k {
	case KindPanic, KindDuress, KindMedical, KindEmergency, KindFire:
		return PriorityLife
	case KindBurglary, KindPerimeter, KindInterior, KindEntryExit:
		return PriorityIntrusion
	case KindTamper:
		return PriorityTamper
	case KindACLoss, KindLowBattery, KindCommFailure, KindTrouble, KindSensorOffline, KindBypass:
		return PriorityTrouble
	}
	return PriorityNone
}

// Source says how an event arrived.
type Source string

const (
	SourceSIA    Source = "sia"    // SIA DC-09 over TCP or UDP
	SourceMQTT   Source = "mqtt"   // a zigbee2mqtt sensor
	SourceApp    Source = "app"    // the resident app (SOS, arm, disarm)
	SourceSystem Source = "system" // supervision timers and the like
)

// Report is one event as a receiver decoded it, before it is stored.
// Account and Seq identify a panel's frame so that a retransmission is
// recognised; Fingerprint is the frame content used with them. A report
// of KindBatchReceipt carries a Receipt instead of an event.
type Report struct {
	Source      Source
	Account     string // panel account (SIA #acct) or sensor name
	Seq         string // SIA sequence number, "" for other sources
	Fingerprint string // digest of the frame content, for retransmissions
	Code        string // SIA two-letter code (Contact ID mapped to it)
	Kind        Kind
	Restore     bool      // the condition ended (closing of an opening, restore)
	Area        string    // partition
	Zone        string    // zone or user number
	Text        string    // free text the panel or sensor sent
	PanelTime   time.Time // the panel's timestamp, zero when none
	ReceivedAt  time.Time
	Receipt     *BatchReceipt // set on reports of KindBatchReceipt only
}
