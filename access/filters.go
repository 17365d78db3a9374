package access

import (
	"time"

	"github.com/shequ/shequ"
)

// DoorFilter narrows a list of doors.
type DoorFilter struct {
	CommunityID int64
	BuildingID  int64
	shequ.Page
}

// CredentialFilter narrows a list of credentials; revoked ones only with All.
type CredentialFilter struct {
	CommunityID int64
	HouseholdID int64
	PersonID    int64
	All         bool
	shequ.Page
}

// PassFilter narrows a list of passes.
type PassFilter struct {
	CommunityID int64
	HouseholdID int64
	Active      bool
	shequ.Page
}

// LogFilter narrows a search of the access log.
type LogFilter struct {
	CommunityID int64     `json:"community_id,omitempty"`
	DoorID      int64     `json:"door_id,omitempty"`
	PersonID    int64     `json:"person_id,omitempty"`
	HouseholdID int64     `json:"household_id,omitempty"`
	From        time.Time `json:"from,omitzero"`
	Until       time.Time `json:"until,omitzero"`
	shequ.Page  `json:"-"`
}

// Log events: a decision, or what the controller reported.
const (
	EventDecision    = "decision"
	EventOpened      = "opened"
	EventClosed      = "closed"
	EventForced      = "forced"
	EventHeldOpen    = "held_open"
	EventTamper      = "tamper"
	EventFireRelease = "fire_release"
	EventFireRestore = "fire_restore"
)

// DoorEvents are the events a controller may report.
var DoorEvents = []string{EventOpened, EventClosed, EventForced, EventHeldOpen, EventTamper}

// Alarming reports whether a door event needs an operator.
func Alarming(event string) bool {
	return event == EventForced || event == EventHeldOpen || event == EventTamper
}

// LogEntry is one line of the access log.
type LogEntry struct {
	ID           int64     `json:"id"`
	CommunityID  int64     `json:"community_id"`
	DoorID       int64     `json:"door_id"`
	DoorName     string    `json:"door_name"`
	At           time.Time `json:"at"`
	Event        string    `json:"event"`
	Kind         string    `json:"kind,omitempty"`
	Granted      bool      `json:"granted"`
	Reason       string    `json:"reason,omitempty"`
	PersonID     int64     `json:"person_id,omitempty"`
	PersonName   string    `json:"person_name,omitempty"`
	HouseholdID  int64     `json:"household_id,omitempty"`
	CredentialID int64     `json:"credential_id,omitempty"`
	PassID       int64     `json:"pass_id,omitempty"`
	VisitorName  string    `json:"visitor_name,omitempty"`
	Offline      bool      `json:"offline"`
	Source       string    `json:"source,omitempty"`
}

// Command is what shequ tells a controller outside a decision: release
// (unlock and stay unlocked, for a fire) or lock (back to normal).
type Command struct {
	DoorID      int64  `json:"door_id"`
	CommunityID int64  `json:"community_id"`
	Action      string `json:"action"`
}
