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

// Who consented to a welfare watch.
const (
	ConsentResident = "resident"
	ConsentFamily   = "family"
)

// WelfareWatch is the welfare check of a living-alone elder: with consent,
// no door passage for Days opens a visit by their grid worker. It is off
// unless switched on, and the resident may switch it off at any time.
type WelfareWatch struct {
	PersonID    int64      `json:"person_id"`
	CommunityID int64      `json:"community_id"`
	Enabled     bool       `json:"enabled"`
	Days        int        `json:"days"`
	ConsentBy   string     `json:"consent_by"`
	ConsentNote string     `json:"consent_note,omitempty"`
	Since       time.Time  `json:"since"`
	ChangedAt   time.Time  `json:"changed_at"`
	ChangedBy   string     `json:"changed_by,omitempty"`
	LastCheckAt *time.Time `json:"last_check_at,omitempty"`
}

// Validate checks a watch being switched on.
func (w *WelfareWatch) Validate() error {
	p := shequ.Problems{}
	if w.PersonID == 0 {
		p.Add("person_id", "is required")
	}
	if w.Days == 0 {
		w.Days = 3
	}
	if w.Days < 1 || w.Days > 30 {
		p.Add("days", "must be between 1 and 30")
	}
	if w.ConsentBy != ConsentResident && w.ConsentBy != ConsentFamily {
		p.Add("consent_by", "say who consented: resident or family")
	}
	p.OptionalText("consent_note", w.ConsentNote, 200)
	return p.Err()
}

// WelfareDue reports whether a watch calls for a visit at now: no passage
// since the later of the last passage, the watch's start and the last
// check, for Days.
func WelfareDue(w WelfareWatch, lastPassage *time.Time, now time.Time) bool {
	if !w.Enabled {
		return false
	}
	from := w.Since
	if lastPassage != nil && lastPassage.After(from) {
		from = *lastPassage
	}
	if w.LastCheckAt != nil && w.LastCheckAt.After(from) {
		from = *w.LastCheckAt
	}
	return now.Sub(from) >= time.Duration(w.Days)*24*time.Hour
}
