package evidence

import (
	"time"

	"github.com/shequ/shequ"
)

// The statuses of a warning notice.
const (
	WarningRequested = "requested" // waiting for the director
	WarningPublished = "published"
	WarningRefused   = "refused"
	WarningExpired   = "expired"   // its time ran out: taken down
	WarningWithdrawn = "withdrawn" // taken down by the director before
)

// MaxWarningDays is how long a warning notice may stay up.
const MaxWarningDays = 90

// Warning is a public warning notice with a captured face: a camera's
// snapshot or a picture the police bring. Faces are sensitive personal
// information: the face is shown only on the notice itself, to the
// community's residents and staff, while it is published; lists never
// carry it.
type Warning struct {
	ID             int64      `json:"id"`
	CommunityID    int64      `json:"community_id"`
	Title          string     `json:"title"`
	Body           string     `json:"body"`
	Reason         string     `json:"reason,omitempty" doc:"Why the face is to be shown: the case, the danger (kept on record; staff only)"`
	CaseNumber     string     `json:"case_number,omitempty"`
	Status         string     `json:"status"`
	RequestedBy    int64      `json:"requested_by,omitempty"`
	RequesterName  string     `json:"requester_name,omitempty"`
	RequestedAt    time.Time  `json:"requested_at"`
	DecidedBy      int64      `json:"decided_by,omitempty"`
	DeciderName    string     `json:"decider_name,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	DecisionReason string     `json:"decision_reason,omitempty"`
	PublishedAt    *time.Time `json:"published_at,omitempty"`
	ExpiresAt      time.Time  `json:"expires_at"`
	TakenDownAt    *time.Time `json:"taken_down_at,omitempty"`
	// PhotoID is the face, in the media store; 0 in lists.
	PhotoID int64 `json:"photo_id,omitempty"`
}

// Live reports whether the notice is up at now.
func (w *Warning) Live(now time.Time) bool {
	return w.Status == WarningPublished && now.Before(w.ExpiresAt)
}

// Validate checks a new request for a notice at now.
func (w *Warning) Validate(now time.Time) error {
	p := shequ.Problems{}
	p.RequireText("title", w.Title, 60)
	p.RequireText("body", w.Body, 1000)
	p.RequireText("reason", w.Reason, 500)
	p.OptionalText("case_number", w.CaseNumber, 64)
	switch {
	case w.ExpiresAt.IsZero():
		p.Add("expires_at", "is required: a warning is taken down when it runs out")
	case !w.ExpiresAt.After(now):
		p.Add("expires_at", "must be in the future")
	case w.ExpiresAt.After(now.AddDate(0, 0, MaxWarningDays)):
		p.Add("expires_at", "at most %d days ahead", MaxWarningDays)
	}
	return p.Err()
}
