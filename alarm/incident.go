package alarm

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Incident statuses, in the order an incident moves through them.
const (
	StatusNew          = "new"
	StatusAcknowledged = "acknowledged"
	StatusDispatched   = "dispatched"
	StatusOnSite       = "on_site"
	StatusResolved     = "resolved"
)

// Resolution codes an operator closes an incident with.
var Resolutions = []string{
	"real_intrusion", "false_alarm", "user_error", "medical_help_given", "fire_prevented",
	"resident_safe", "technical_fault", "test", "other",
}

// MaxNotes is how long a report or a resolution's notes may be.
const MaxNotes = 2000

// CorrelationWindow is how long after its last event an open incident of a
// home takes in new events instead of a new incident being opened.
const CorrelationWindow = 10 * time.Minute

// Incident is something an operator must handle: one or more events of a
// home (or a panel) that need a person to look.
type Incident struct {
	ID          int64    `json:"id"`
	CommunityID int64    `json:"community_id"`
	HomeID      int64    `json:"home_id,omitempty"`
	PanelID     int64    `json:"panel_id,omitempty"`
	Kind        Kind     `json:"kind"`
	Priority    Priority `json:"priority"`
	Status      string   `json:"status"`
	Title       string   `json:"title"`
	// Kinds are the alarm kinds raised in the incident, in the order they
	// first came: each brings its own notices, whatever came before it.
	Kinds        []Kind     `json:"kinds,omitempty"`
	OpenedAt     time.Time  `json:"opened_at"`
	LastEventAt  time.Time  `json:"last_event_at"`
	EventCount   int        `json:"event_count"`
	AckAt        *time.Time `json:"acknowledged_at,omitempty"`
	AckBy        int64      `json:"acknowledged_by,omitempty"`
	DispatchedAt *time.Time `json:"dispatched_at,omitempty"`
	DispatchedTo int64      `json:"dispatched_to,omitempty"`
	AcceptedAt   *time.Time `json:"accepted_at,omitempty"`
	ArrivedAt    *time.Time `json:"arrived_at,omitempty"`
	ResolvedAt   *time.Time `json:"resolved_at,omitempty"`
	ResolvedBy   int64      `json:"resolved_by,omitempty"`
	Resolution   string     `json:"resolution,omitempty"`
	Notes        string     `json:"notes,omitempty"`
	// Filled on reads for the console.
	BuildingName string `json:"building_name,omitempty"`
	Door         string `json:"door,omitempty"`
	Floor        int    `json:"floor,omitempty"`
	GridID       int64  `json:"grid_id,omitempty"`
}

// Open reports whether the incident still needs handling.
func (i *Incident) Open() bool { return i.Status != StatusResolved }

// Step is one thing done to an incident.
type Step struct {
	Action     string // ack, dispatch, accept, arrive, report, resolve
	By         int64
	To         int64 // dispatch: the staff member sent
	Resolution string
	Notes      string
	At         time.Time
	// OnlyAssignee limits the step to the staff member dispatched: field
	// staff reach an incident through their dispatch, not their scope.
	OnlyAssignee bool
}

// Apply moves the incident by one step, or says why it cannot: an
// incident only moves forward, and a resolved one is closed for good.
func (i Incident) Apply(s Step) (Incident, error) {
	// Field staff reach only what they are sent to: anything else is not
	// found, resolved or not, so that they cannot probe other incidents.
	if s.OnlyAssignee && (i.DispatchedTo == 0 || i.DispatchedTo != s.By) {
		return i, shequ.Errorf(shequ.ENOTFOUND, "incident %d not found", i.ID)
	}
	if i.Status == StatusResolved {
		return i, shequ.Errorf(shequ.ECONFLICT, "incident %d is already resolved", i.ID)
	}
	at := s.At
	switch s.Action {
	case "ack":
		if i.Status != StatusNew {
			return i, shequ.Errorf(shequ.ECONFLICT, "incident %d is already %s", i.ID, i.Status)
		}
		i.Status, i.AckAt, i.AckBy = StatusAcknowledged, &at, s.By
	case "dispatch":
		if s.To == 0 {
			return i, shequ.Invalid(map[string]string{"user_id": "say whom to send"})
		}
		if i.Status == StatusOnSite {
			return i, shequ.Errorf(shequ.ECONFLICT, "someone is already on site for incident %d", i.ID)
		}
		if i.AckAt == nil {
			// Sending someone is an acknowledgement too.
			i.AckAt, i.AckBy = &at, s.By
		}
		i.Status, i.DispatchedAt, i.DispatchedTo, i.AcceptedAt = StatusDispatched, &at, s.To, nil
	case "accept":
		if i.Status != StatusDispatched || s.By != i.DispatchedTo {
			return i, shequ.Errorf(shequ.ECONFLICT, "incident %d is not dispatched to you", i.ID)
		}
		i.AcceptedAt = &at
	case "arrive":
		if i.Status != StatusDispatched {
			return i, shequ.Errorf(shequ.ECONFLICT, "incident %d has nobody on the way (it is %s)", i.ID, i.Status)
		}
		if i.AcceptedAt == nil {
			i.AcceptedAt = &at
		}
		i.Status, i.ArrivedAt = StatusOnSite, &at
	case "report":
		// What the staff member found on site, for the operator who
		// closes the incident; it moves nothing.
		if s.By != i.DispatchedTo {
			return i, shequ.Errorf(shequ.ECONFLICT, "incident %d: the report is for the staff member sent there", i.ID)
		}
		if i.Status != StatusOnSite {
			return i, shequ.Errorf(shequ.ECONFLICT, "incident %d has nobody on site yet (it is %s)", i.ID, i.Status)
		}
		if strings.TrimSpace(s.Notes) == "" {
			return i, shequ.Invalid(map[string]string{"notes": "say what you found"})
		}
		if utf8.RuneCountInString(s.Notes) > MaxNotes {
			return i, shequ.Invalid(map[string]string{"notes": fmt.Sprintf("must be at most %d characters", MaxNotes)})
		}
	case "resolve":
		if !slices.Contains(Resolutions, s.Resolution) {
			return i, shequ.Invalid(map[string]string{"resolution": "must be one of the resolution codes"})
		}
		if i.AckAt == nil {
			i.AckAt, i.AckBy = &at, s.By
		}
		i.Status, i.ResolvedAt, i.ResolvedBy, i.Resolution, i.Notes = StatusResolved, &at, s.By, s.Resolution, s.Notes
	default:
		return i, shequ.Errorf(shequ.EINVALID, "unknown action %q", s.Action)
	}
	return i, nil
}

// Join adds an event of kind k at t to the incident; a more urgent event
// raises the incident's priority and kind, and an alarm kind not seen in
// it yet is added to its kinds.
func (i Incident) Join(k Kind, t time.Time) Incident {
	if p := PriorityOf(k); p < i.Priority {
		i.Priority, i.Kind = p, k
	}
	if PriorityOf(k) < PriorityNone && !slices.Contains(i.Kinds, k) {
		i.Kinds = append(slices.Clip(i.Kinds), k)
	}
	i.EventCount++
	if t.After(i.LastEventAt) {
		i.LastEventAt = t
	}
	return i
}

// Has reports whether an event of priority p was raised in the incident
// already.
func (i *Incident) Has(p Priority) bool {
	if i.Priority == p {
		return true
	}
	return slices.ContainsFunc(i.Kinds, func(k Kind) bool { return PriorityOf(k) == p })
}

// Others are the incident's kinds other than its headline kind, most
// serious first: what else happened, for the operator's headline.
func (i Incident) Others() []Kind {
	var out []Kind
	for _, k := range i.Kinds {
		if k != i.Kind {
			out = append(out, k)
		}
	}
	slices.SortStableFunc(out, func(a, b Kind) int { return int(PriorityOf(a)) - int(PriorityOf(b)) })
	return out
}

// Correlates reports whether an event at t belongs to this open incident.
func (i *Incident) Correlates(t time.Time) bool {
	return i.Open() && t.Sub(i.LastEventAt) <= CorrelationWindow
}
