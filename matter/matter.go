// Package matter owns the things residents ask the community to do (事项):
// a matter's categories with their service levels, its workflow from
// submission to closing, and its timeline. It knows nothing of SQL or HTTP;
// the Open311 adapter and the pages sit on top of it.
package matter

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Statuses, in the order a matter usually goes through them.
const (
	Submitted  = "submitted"
	Accepted   = "accepted"
	Assigned   = "assigned"
	InProgress = "in_progress"
	Resolved   = "resolved"
	Closed     = "closed"
	Returned   = "returned" // sent back to the resident for more information
	Rejected   = "rejected"
)

// Final reports whether nothing more happens to a matter in status s.
func Final(s string) bool { return s == Closed || s == Rejected }

// Category is a kind of matter the community handles, with how long it
// should take. Open311 calls it a service.
type Category struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	NameEn      string `json:"name_en,omitempty"`
	Description string `json:"description,omitempty"`
	Group       string `json:"group,omitempty"`
	// SLAHours is the time from submission to resolution the community
	// promises; matters past it are overdue.
	SLAHours int `json:"sla_hours"`
	// Attributes are extra questions the category asks (Open311 metadata).
	Attributes []Attribute `json:"attributes"`
}

// Attribute is one extra question of a category.
type Attribute struct {
	Code        string   `json:"code"`
	Description string   `json:"description"`
	Datatype    string   `json:"datatype"` // string, number, datetime, text, singlevaluelist, multivaluelist
	Required    bool     `json:"required"`
	Values      []string `json:"values,omitempty"`
	Order       int      `json:"order"`
}

// Matter is one request from a resident.
type Matter struct {
	ID          int64             `json:"id"`
	CommunityID int64             `json:"community_id"`
	Tracking    string            `json:"tracking_number"`
	CategoryID  int64             `json:"category_id"`
	Category    string            `json:"category"` // code
	PersonID    int64             `json:"person_id,omitempty"`
	HouseholdID int64             `json:"household_id,omitempty"`
	HomeID      int64             `json:"home_id,omitempty"`
	GridID      int64             `json:"grid_id,omitempty"`
	Description string            `json:"description"`
	Address     string            `json:"address,omitempty"`
	Lat         float64           `json:"lat,omitempty"`
	Lng         float64           `json:"lng,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	Status      string            `json:"status"`
	// Assignee: a staff member (user) or an association.
	AssigneeUserID        int64      `json:"assignee_user_id,omitempty"`
	AssigneeAssociationID int64      `json:"assignee_association_id,omitempty"`
	SubmittedBy           int64      `json:"submitted_by,omitempty"`
	FiledBy               int64      `json:"filed_by,omitempty"` // staff who filed it for the resident
	Channel               string     `json:"channel"`            // app, office, phone, open311
	Rating                int        `json:"rating,omitempty"`
	RatingComment         string     `json:"rating_comment,omitempty"`
	DueAt                 time.Time  `json:"due_at"`
	Overdue               bool       `json:"overdue"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
	ResolvedAt            *time.Time `json:"resolved_at,omitempty"`
	// StatusNote is the last reason or note given with a status change,
	// shown to the resident (Open311 status_notes).
	StatusNote string   `json:"status_note,omitempty"`
	Timeline   []Change `json:"timeline,omitempty"`
}

// Change is one line of a matter's timeline.
type Change struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	UserID int64     `json:"user_id,omitempty"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to,omitempty"`
	Note   string    `json:"note,omitempty"`
}

// Channels a matter may arrive by.
var Channels = []string{"app", "office", "phone", "open311"}

// Validate checks a new matter.
func (m *Matter) Validate() error {
	f := map[string]string{}
	m.Description = strings.TrimSpace(m.Description)
	switch n := utf8.RuneCountInString(m.Description); {
	case n == 0:
		f["description"] = "say what the matter is"
	case n > 4000:
		f["description"] = "must be at most 4000 characters"
	}
	if m.CategoryID == 0 && m.Category == "" {
		f["category"] = "is required"
	}
	if utf8.RuneCountInString(m.Address) > 200 {
		f["address"] = "must be at most 200 characters"
	}
	if m.Lat < -90 || m.Lat > 90 || m.Lng < -180 || m.Lng > 180 {
		f["lat"] = "is not a position"
	}
	if m.Channel == "" {
		m.Channel = "app"
	}
	if !slices.Contains(Channels, m.Channel) {
		f["channel"] = "must be app, office, phone or open311"
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	return nil
}

// Validate checks a category.
func (c *Category) Validate() error {
	f := map[string]string{}
	c.Code = strings.TrimSpace(c.Code)
	if c.Code == "" || len(c.Code) > 40 || strings.ContainsAny(c.Code, " /?#&") {
		f["code"] = "use up to 40 letters, digits, dashes or underscores"
	}
	if strings.TrimSpace(c.Name) == "" {
		f["name"] = "is required"
	}
	if c.SLAHours <= 0 || c.SLAHours > 24*365 {
		f["sla_hours"] = "must be between 1 and 8760"
	}
	for i, a := range c.Attributes {
		switch a.Datatype {
		case "string", "number", "datetime", "text", "singlevaluelist", "multivaluelist":
		default:
			f[fmt.Sprintf("attributes[%d].datatype", i)] = "is not an Open311 datatype"
		}
		if a.Code == "" {
			f[fmt.Sprintf("attributes[%d].code", i)] = "is required"
		}
	}
	if c.Attributes == nil {
		c.Attributes = []Attribute{}
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	return nil
}

// CheckAttributes checks the answers to a category's questions.
func (c *Category) CheckAttributes(answers map[string]string) error {
	f := map[string]string{}
	for _, a := range c.Attributes {
		v, ok := answers[a.Code]
		if a.Required && (!ok || strings.TrimSpace(v) == "") {
			f["attribute["+a.Code+"]"] = "is required: " + a.Description
			continue
		}
		if ok && a.Datatype == "singlevaluelist" && len(a.Values) > 0 && !slices.Contains(a.Values, v) {
			f["attribute["+a.Code+"]"] = "must be one of " + strings.Join(a.Values, ", ")
		}
	}
	for k := range answers {
		if !slices.ContainsFunc(c.Attributes, func(a Attribute) bool { return a.Code == k }) {
			f["attribute["+k+"]"] = "is not a question of this category"
		}
	}
	if len(f) > 0 {
		return shequ.Invalid(f)
	}
	return nil
}

// Step is one action on a matter.
type Step struct {
	Action   string // accept, assign, start, resolve, close, reject, return, resubmit, comment, rate
	By       int64
	Resident bool   // the actor is the resident who owns the matter
	Note     string // reason or note; required for reject and return
	// assign
	AssigneeUserID        int64
	AssigneeAssociationID int64
	// rate
	Rating int
	At     time.Time
}

// transitions says from which statuses each staff action may start, and
// where it leads ("" keeps the status).
var transitions = map[string]struct {
	from     []string
	to       string
	resident bool // the resident may take it; staff may not unless also listed in staff
	staff    bool
}{
	"accept":   {[]string{Submitted}, Accepted, false, true},
	"assign":   {[]string{Submitted, Accepted, Assigned, InProgress}, Assigned, false, true},
	"start":    {[]string{Assigned}, InProgress, false, true},
	"resolve":  {[]string{Accepted, Assigned, InProgress}, Resolved, false, true},
	"close":    {[]string{Resolved}, Closed, true, true},
	"reject":   {[]string{Submitted, Accepted, Assigned}, Rejected, false, true},
	"return":   {[]string{Submitted, Accepted}, Returned, false, true},
	"resubmit": {[]string{Returned}, Submitted, true, false},
	"comment":  {[]string{Submitted, Accepted, Assigned, InProgress, Resolved, Returned}, "", true, true},
	"rate":     {[]string{Resolved, Closed}, Closed, true, false},
	// The resident says it was not fixed: back to the office, which sends
	// someone again.
	"reopen": {[]string{Resolved}, Accepted, true, false},
}

// Actions lists the actions a matter knows.
func Actions() []string {
	out := make([]string, 0, len(transitions))
	for a := range transitions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Apply moves a matter by one step, or says why it cannot; a refused step
// leaves the matter as it was.
func (m Matter) Apply(s Step) (Matter, Change, error) {
	t, ok := transitions[s.Action]
	if !ok {
		return m, Change{}, shequ.Errorf(shequ.EINVALID, "unknown action %q", s.Action)
	}
	if s.Resident && !t.resident {
		return m, Change{}, shequ.Errorf(shequ.EFORBIDDEN, "only staff may %s a matter", s.Action)
	}
	if !s.Resident && !t.staff {
		return m, Change{}, shequ.Errorf(shequ.EFORBIDDEN, "only the resident may %s their matter", s.Action)
	}
	if !slices.Contains(t.from, m.Status) {
		return m, Change{}, shequ.Errorf(shequ.ECONFLICT, "a %s matter cannot be %s (allowed from: %s)", m.Status, pastTense(s.Action), strings.Join(t.from, ", "))
	}
	note := strings.TrimSpace(s.Note)
	switch s.Action {
	case "reject", "return":
		if note == "" {
			return m, Change{}, shequ.Invalid(map[string]string{"note": "give the resident a reason"})
		}
	case "comment":
		if note == "" {
			return m, Change{}, shequ.Invalid(map[string]string{"note": "write something"})
		}
	case "reopen":
		if note == "" {
			return m, Change{}, shequ.Invalid(map[string]string{"note": "say what is still wrong"})
		}
		m.ResolvedAt = nil
	case "assign":
		if (s.AssigneeUserID == 0) == (s.AssigneeAssociationID == 0) {
			return m, Change{}, shequ.Invalid(map[string]string{"assignee": "give either a staff member or an association"})
		}
		m.AssigneeUserID, m.AssigneeAssociationID = s.AssigneeUserID, s.AssigneeAssociationID
	case "rate":
		if s.Rating < 1 || s.Rating > 5 {
			return m, Change{}, shequ.Invalid(map[string]string{"rating": "must be 1 to 5"})
		}
		if m.Rating != 0 {
			return m, Change{}, shequ.Errorf(shequ.ECONFLICT, "this matter is rated already")
		}
		m.Rating, m.RatingComment = s.Rating, note
	}
	e := Change{At: s.At, Action: s.Action, UserID: s.By, From: m.Status, Note: note}
	if t.to != "" {
		m.Status = t.to
	}
	e.To = m.Status
	if s.Action == "resolve" {
		at := s.At
		m.ResolvedAt = &at
	}
	if note != "" && s.Action != "comment" {
		m.StatusNote = note
	}
	m.UpdatedAt = s.At
	return m, e, nil
}

func pastTense(a string) string {
	switch a {
	case "resubmit":
		return "resubmitted"
	case "rate":
		return "rated"
	case "start":
		return "started"
	case "return":
		return "returned"
	case "comment":
		return "commented on"
	}
	return strings.TrimSuffix(a, "e") + "ed"
}

// IsOverdue reports whether the matter is past its due time at now.
func (m *Matter) IsOverdue(now time.Time) bool {
	return !m.DueAt.IsZero() && now.After(m.DueAt) && m.Status != Resolved && !Final(m.Status)
}

// TrackingNumber formats the number residents quote: the community's
// code letters, the day and a sequence, e.g. SQ-20261128-0042.
func TrackingNumber(day time.Time, seq int64) string {
	return fmt.Sprintf("SQ-%s-%04d", day.Format("20060102"), seq)
}
