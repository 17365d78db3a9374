package evidence

import (
	"time"

	"github.com/shequ/shequ"
)

// The statuses of a footage request.
const (
	StatusRequested    = "requested"
	StatusApproved     = "approved" // approved, being exported
	StatusRefused      = "refused"
	StatusExported     = "exported"
	StatusExportFailed = "export_failed"
)

// Limits of a request: the window a recorder is asked for at once, and
// how many cameras one package holds.
const (
	MaxWindow  = 2 * time.Hour
	MaxCameras = 16
	// MaxAge is how far back footage is asked for: recorders keep a
	// month or so, and a request further back only fails.
	MaxAge = 90 * 24 * time.Hour
)

// FootageRequest is a request for footage of some cameras over a window.
type FootageRequest struct {
	ID             int64      `json:"id"`
	CommunityID    int64      `json:"community_id"`
	RequestedBy    int64      `json:"requested_by"`
	RequesterName  string     `json:"requester_name"`
	Reason         string     `json:"reason"`
	CaseNumber     string     `json:"case_number"`
	CameraIDs      []int64    `json:"camera_ids"`
	From           time.Time  `json:"from"`
	Until          time.Time  `json:"until"`
	Status         string     `json:"status"`
	DecidedBy      int64      `json:"decided_by,omitempty"`
	DeciderName    string     `json:"decider_name,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	DecisionReason string     `json:"decision_reason,omitempty"`
	ExportedAt     *time.Time `json:"exported_at,omitempty"`
	ExportError    string     `json:"export_error,omitempty"`
	// LegalHold keeps the export from retention deletion until released.
	LegalHold  bool          `json:"legal_hold"`
	ReleasedAt *time.Time    `json:"released_at,omitempty"`
	CreatedAt  time.Time     `json:"created_at"`
	Exports    []FootageFile `json:"exports"`
}

// FootageFile is the footage of one camera of a request, in the media store.
type FootageFile struct {
	DeviceID   int64     `json:"camera_id"`
	CameraName string    `json:"camera_name"`
	MediaID    int64     `json:"media_id"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"`
	Adapter    string    `json:"adapter"`
}

// Validate checks a new request at now.
func (r *FootageRequest) Validate(now time.Time) error {
	p := shequ.Problems{}
	p.RequireText("reason", r.Reason, 500)
	p.RequireText("case_number", r.CaseNumber, 64)
	switch n := len(r.CameraIDs); {
	case n == 0:
		p.Add("camera_ids", "name at least one camera")
	case n > MaxCameras:
		p.Add("camera_ids", "at most %d cameras in one request", MaxCameras)
	}
	seen := map[int64]bool{}
	for _, id := range r.CameraIDs {
		if seen[id] {
			p.Add("camera_ids", "camera %d is named twice", id)
		}
		seen[id] = true
	}
	switch {
	case r.From.IsZero():
		p.Add("from", "is required")
	case r.Until.IsZero():
		p.Add("until", "is required")
	case !r.Until.After(r.From):
		p.Add("until", "must be after from")
	case r.Until.Sub(r.From) > MaxWindow:
		p.Add("until", "a window is at most %s; ask for the rest in another request", MaxWindow)
	case r.Until.After(now):
		p.Add("until", "footage not yet recorded cannot be asked for")
	case r.From.Before(now.Add(-MaxAge)):
		p.Add("from", "recorders do not keep footage that old")
	}
	return p.Err()
}

// Decision is the director's answer to a request.
type Decision struct {
	Approve bool
	Reason  string
}

// Validate checks a decision: a refusal says why.
func (d Decision) Validate() error {
	p := shequ.Problems{}
	if d.Approve {
		p.OptionalText("reason", d.Reason, 500)
	} else {
		p.RequireText("reason", d.Reason, 500)
	}
	return p.Err()
}
