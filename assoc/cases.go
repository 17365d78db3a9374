package assoc

import (
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// Kinds of service an association gives. An individual service (个别服务)
// is a case about one resident; a group service (集中服务) is an event held
// for many (a talk, a free clinic, a job fair).
const (
	KindIndividual = "individual"
	KindGroup      = "group"
)

// CaseKinds lists the kinds of service.
var CaseKinds = []string{KindIndividual, KindGroup}

// Case statuses. An individual service is open until it is closed with
// an outcome, and may be reopened; a group service is recorded once it
// has been held and has no lifecycle.
const (
	CaseOpen   = "open"
	CaseClosed = "closed"
	CaseHeld   = "held"
)

// CaseStatuses lists the statuses a case may have.
var CaseStatuses = []string{CaseOpen, CaseClosed, CaseHeld}

// Limits of a case's texts and a group service's size.
const (
	MaxCaseText    = 4000
	MaxAttendance  = 10000
	MaxAttendeeIDs = 2000
)

// Case is one service an association gave: an individual service (a
// resident, their need, the actions taken, the outcome) or a group service
// (an event with its date, place, topic and attendance).
type Case struct {
	ID            int64  `json:"id"`
	CommunityID   int64  `json:"community_id"`
	AssociationID int64  `json:"association_id"`
	Kind          string `json:"kind" enum:"individual,group"`
	// PersonID is the resident an individual service is for.
	PersonID   int64  `json:"person_id,omitempty"`
	PersonName string `json:"person_name,omitempty"`
	// Summary is the need (individual) or what the event did (group).
	Summary string `json:"summary"`
	// Day is the date the service counts on in the statistics, in the
	// community's calendar: the day an individual service was opened, the
	// day a group service was held.
	Day        string `json:"date"`
	Place      string `json:"place,omitempty"`
	Topic      string `json:"topic,omitempty"`
	Attendance int    `json:"attendance,omitempty"`
	// Attendees are the residents known to have come, by person id; the
	// attendance may count more people than are named.
	Attendees []int64    `json:"attendees,omitempty"`
	Status    string     `json:"status"`
	Outcome   string     `json:"outcome,omitempty"`
	OpenedAt  time.Time  `json:"opened_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	CreatedBy int64      `json:"created_by,omitempty"`
	CreatedAt time.Time  `json:"created_at,omitzero"`
	UpdatedAt time.Time  `json:"updated_at,omitzero"`
	// Actions are filled when one case is read.
	Actions []CaseAction `json:"actions,omitempty"`
}

// CaseAction is one dated line of what was done on a case, and by whom.
type CaseAction struct {
	ID       int64     `json:"id"`
	CaseID   int64     `json:"case_id"`
	At       time.Time `json:"at"`
	Note     string    `json:"note"`
	UserID   int64     `json:"user_id,omitempty"`
	Username string    `json:"username,omitempty"`
}

// Validate checks a new or changed case at now, in the community's time
// zone loc. An individual service's opening time may be given (a case
// written up afterwards) and then fixes its day; a group service's day
// must be given. Neither may lie in the future or more than a year back.
func (c *Case) Validate(now time.Time, loc *time.Location) error {
	p := shequ.Problems{}
	if c.AssociationID == 0 {
		p.Add("association_id", "say which association gave the service")
	}
	c.Summary = strings.TrimSpace(c.Summary)
	p.RequireText("summary", c.Summary, MaxCaseText)
	c.Place, c.Topic = strings.TrimSpace(c.Place), strings.TrimSpace(c.Topic)
	today := now.In(loc).Format(time.DateOnly)
	yearAgo := now.In(loc).AddDate(-1, 0, 0).Format(time.DateOnly)
	switch c.Kind {
	case KindIndividual:
		if c.PersonID == 0 {
			p.Add("person_id", "say which resident the service is for")
		}
		for field, v := range map[string]string{"place": c.Place, "topic": c.Topic} {
			if v != "" {
				p.Add(field, "only a group service has a %s", field)
			}
		}
		if c.Attendance != 0 || len(c.Attendees) > 0 {
			p.Add("attendance", "only a group service has an attendance")
		}
		c.OpenedAt = recent(p, "opened_at", c.OpenedAt, now)
		c.Day = c.OpenedAt.In(loc).Format(time.DateOnly)
		if c.Status == "" {
			c.Status = CaseOpen
		}
	case KindGroup:
		if c.PersonID != 0 {
			p.Add("person_id", "a group service names its attendees, not one person")
		}
		p.RequireText("topic", c.Topic, 200)
		p.RequireText("place", c.Place, 200)
		c.Day = strings.TrimSpace(c.Day)
		switch {
		case c.Day == "":
			p.Add("date", "say the day the service was held")
		case checkDate(c.Day) != "":
			p.Add("date", "%s", checkDate(c.Day))
		case c.Day > today:
			p.Add("date", "must not be in the future: record a group service once it has been held")
		case c.Day < yearAgo:
			p.Add("date", "must be within the last year")
		}
		seen := map[int64]bool{}
		for _, id := range c.Attendees {
			if id <= 0 || seen[id] {
				p.Add("attendees", "name each attendee once, by person id")
			}
			seen[id] = true
		}
		switch {
		case len(c.Attendees) > MaxAttendeeIDs:
			p.Add("attendees", "name at most %d attendees", MaxAttendeeIDs)
		case c.Attendance == 0 && len(c.Attendees) > 0:
			c.Attendance = len(c.Attendees)
		}
		switch {
		case c.Attendance < 1 || c.Attendance > MaxAttendance:
			p.Add("attendance", "must be between 1 and %d", MaxAttendance)
		case c.Attendance < len(c.Attendees):
			p.Add("attendance", "must be at least the %d attendees named", len(c.Attendees))
		}
		if c.OpenedAt.IsZero() {
			c.OpenedAt = now
		}
		c.OpenedAt = c.OpenedAt.UTC()
		c.Status, c.Outcome = CaseHeld, ""
		if c.Attendees == nil {
			c.Attendees = []int64{}
		}
	default:
		p.Add("kind", "must be one of %s", strings.Join(CaseKinds, ", "))
	}
	return p.Err()
}

// People returns the residents the service served: the person of an
// individual service, the named attendees of a group service.
func (c Case) People() []int64 {
	if c.Kind == KindIndividual {
		if c.PersonID == 0 {
			return nil
		}
		return []int64{c.PersonID}
	}
	return c.Attendees
}

// Close closes an open individual service with its outcome.
func (c Case) Close(outcome string, now time.Time) (Case, error) {
	if c.Kind != KindIndividual {
		return c, shequ.Errorf(shequ.ECONFLICT, "a group service is not opened or closed")
	}
	if c.Status == CaseClosed {
		return c, shequ.Errorf(shequ.ECONFLICT, "the case is closed already")
	}
	outcome = strings.TrimSpace(outcome)
	p := shequ.Problems{}
	p.RequireText("outcome", outcome, MaxCaseText)
	if err := p.Err(); err != nil {
		return c, err
	}
	at := now.UTC()
	c.Status, c.Outcome, c.ClosedAt, c.UpdatedAt = CaseClosed, outcome, &at, at
	return c, nil
}

// Attend names person among a group service's attendees (present) or takes
// them off, keeping the head count at least the names. The caller
// validates the result (Validate) and that the person lives in the
// community.
func (c Case) Attend(person int64, present bool) (Case, error) {
	if c.Kind != KindGroup {
		return c, shequ.Errorf(shequ.ECONFLICT, "only a group service has attendees")
	}
	named := slices.Contains(c.Attendees, person)
	switch {
	case person == 0:
		return c, shequ.Invalid(map[string]string{"person": "choose the resident who came"})
	case present && named:
		return c, shequ.Invalid(map[string]string{"person": "is named already"})
	case present:
		c.Attendees = append(slices.Clone(c.Attendees), person)
		c.Attendance = max(c.Attendance, len(c.Attendees))
	default:
		c.Attendees = slices.DeleteFunc(slices.Clone(c.Attendees), func(x int64) bool { return x == person })
	}
	return c, nil
}

// Reopen opens a closed individual service again; the reason and the old
// outcome go into the returned action line.
func (c Case) Reopen(reason string, now time.Time) (Case, CaseAction, error) {
	if c.Kind != KindIndividual {
		return c, CaseAction{}, shequ.Errorf(shequ.ECONFLICT, "a group service is not opened or closed")
	}
	if c.Status != CaseClosed {
		return c, CaseAction{}, shequ.Errorf(shequ.ECONFLICT, "the case is open")
	}
	reason = strings.TrimSpace(reason)
	p := shequ.Problems{}
	p.RequireText("reason", reason, 2000)
	if err := p.Err(); err != nil {
		return c, CaseAction{}, err
	}
	line := CaseAction{CaseID: c.ID, At: now.UTC(), Note: "重新打开 (reopened): " + reason + " — 原结果 (outcome was): " + c.Outcome}
	c.Status, c.Outcome, c.ClosedAt, c.UpdatedAt = CaseOpen, "", nil, now.UTC()
	return c, line, nil
}

// Validate checks an action line at now; a missing time means now.
func (a *CaseAction) Validate(now time.Time) error {
	p := shequ.Problems{}
	a.Note = strings.TrimSpace(a.Note)
	p.RequireText("note", a.Note, 2000)
	a.At = recent(p, "at", a.At, now)
	return p.Err()
}

// CheckCaseStatus checks a status a list is filtered by.
func CheckCaseStatus(s string) error {
	if s != "" && !slices.Contains(CaseStatuses, s) {
		return shequ.Invalid(map[string]string{"status": "must be one of " + strings.Join(CaseStatuses, ", ")})
	}
	return nil
}

// CheckCaseKind checks a kind a list is filtered by.
func CheckCaseKind(k string) error {
	if k != "" && !slices.Contains(CaseKinds, k) {
		return shequ.Invalid(map[string]string{"kind": "must be one of " + strings.Join(CaseKinds, ", ")})
	}
	return nil
}
