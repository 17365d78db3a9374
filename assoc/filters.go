package assoc

import (
	"time"

	"github.com/shequ/shequ"
)

// EntryFilter narrows the entries of one ledger.
type EntryFilter struct {
	CommunityID   int64
	Ledger        string
	PersonID      int64
	AssociationID int64
	Status        string
	// Where keeps entries whose field has the value, as typed.
	Where map[string]string
	// Query finds residents by name (not for partners).
	Query string
	shequ.Page
}

// EntryChange is a change to an entry: values given are set (null clears
// one), a status or owner association given replaces the old.
type EntryChange struct {
	Values        map[string]any
	Status        string
	AssociationID int64
}

// GrantFilter narrows the grant list.
type GrantFilter struct {
	CommunityID int64
	PartnerID   int64
	Ledger      string
	LiveOnly    bool
	shequ.Page
}

// OpeningFilter narrows the openings.
type OpeningFilter struct {
	CommunityID int64
	PartnerID   int64
	Status      string
	shequ.Page
}

// OpeningCandidate is a job seeker who may fit an opening, as the reader sees them.
type OpeningCandidate struct {
	Entry LedgerEntry `json:"entry"`
	Score int         `json:"score" doc:"How many of the opening's words the seeker's entry mentions"`
}

// IntakeFilter narrows the intakes.
type IntakeFilter struct {
	CommunityID   int64
	AssociationID int64
	Status        string
	shequ.Page
}

// MediationFilter narrows the mediation list.
type MediationFilter struct {
	CommunityID   int64
	AssociationID int64
	Status        string
	// Query finds cases by words of their subject.
	Query string
	shequ.Page
}

// StatsFilter says which statistics to compute.
type StatsFilter struct {
	CommunityID   int64
	AssociationID int64
	// From and To are days of the community's calendar; this calendar
	// year when not given.
	From, To string
}

// CaseFilter narrows the cases.
type CaseFilter struct {
	CommunityID   int64
	AssociationID int64
	Kind          string
	Status        string
	// PersonID keeps the services of the resident: theirs, or attended.
	PersonID int64
	// From and To keep the services whose day is within them (YYYY-MM-DD).
	From, To string
	shequ.Page
}

// CaseChange is a new version of what a case says: the need and, for an
// individual service, its resident and opening; for a group service, its
// day, place, topic and attendance. Kind, association and status stay.
type CaseChange struct {
	PersonID   int64
	Summary    string
	OpenedAt   time.Time
	Day        string
	Place      string
	Topic      string
	Attendance int
	Attendees  []int64
}

// CaseAttendee is a resident named as having come to a group service.
type CaseAttendee struct {
	PersonID int64
	Name     string
}

// AssistancePolicyFilter narrows the policy list.
type AssistancePolicyFilter struct {
	CommunityID   int64
	AssociationID int64
	shequ.Page
}

// ApplicationFilter narrows the applications.
type ApplicationFilter struct {
	CommunityID int64
	PolicyID    int64
	PersonID    int64
	Status      string
	shequ.Page
}
