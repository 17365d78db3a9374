package assoc

import (
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// Mediation (调解): an association brings the parties of a dispute (flat
// owners and a property company over a broken lift, say) to an agreement.
// A case moves through these states:
//
//	open → in_session (first session recorded) → agreed | failed | withdrawn
//	agreed → followed_up (a follow-up check recorded)
//	any concluded state → closed (a follow-up that closes the case)
//
// A case may also be withdrawn before its first session. A step that does
// not fit the state is a conflict and changes nothing.
const (
	MediationOpen       = "open"
	MediationInSession  = "in_session"
	MediationAgreed     = "agreed"
	MediationFailed     = "failed"
	MediationWithdrawn  = "withdrawn"
	MediationFollowedUp = "followed_up"
	MediationClosed     = "closed"
)

// MediationStatuses lists the states of a mediation.
var MediationStatuses = []string{MediationOpen, MediationInSession, MediationAgreed, MediationFailed, MediationWithdrawn, MediationFollowedUp, MediationClosed}

// MediationOutcomes are the ways a mediation concludes.
var MediationOutcomes = []string{MediationAgreed, MediationFailed, MediationWithdrawn}

// Steps a mediation takes; Mediation.Next says where each leads.
const (
	StepAddParty      = "add_party"
	StepAddSession    = "add_session"
	StepFollowUp      = "follow_up"
	StepFollowUpClose = "follow_up_close"
)

// Next returns the state a mediation in state moves to when it takes step
// (one of the Step constants or an outcome), or a conflict saying why the
// step does not fit.
func Next(state, step string) (string, error) {
	conflict := func(why string) (string, error) {
		return state, shequ.Errorf(shequ.ECONFLICT, "the mediation is %s: %s", state, why)
	}
	switch step {
	case StepAddParty, StepAddSession:
		if state != MediationOpen && state != MediationInSession {
			return conflict("parties and sessions are added only before it concludes")
		}
		if step == StepAddSession {
			return MediationInSession, nil
		}
		return state, nil
	case MediationAgreed, MediationFailed:
		if state != MediationInSession {
			if state == MediationOpen {
				return conflict("record a session before its outcome")
			}
			return conflict("its outcome is recorded already")
		}
		return step, nil
	case MediationWithdrawn:
		if state != MediationOpen && state != MediationInSession {
			return conflict("its outcome is recorded already")
		}
		return step, nil
	case StepFollowUp, StepFollowUpClose:
		switch state {
		case MediationOpen, MediationInSession:
			return conflict("follow-ups come after the outcome")
		case MediationClosed:
			return conflict("a closed case takes nothing more")
		}
		switch {
		case step == StepFollowUpClose:
			return MediationClosed, nil
		case state == MediationAgreed:
			return MediationFollowedUp, nil
		}
		return state, nil
	}
	return state, shequ.Invalid(map[string]string{"step": "is not a step of a mediation"})
}

// Mediation is one dispute an association mediates.
type Mediation struct {
	ID            int64  `json:"id"`
	CommunityID   int64  `json:"community_id"`
	AssociationID int64  `json:"association_id"`
	Subject       string `json:"subject"`
	Description   string `json:"description,omitempty"`
	Status        string `json:"status" enum:"open,in_session,agreed,failed,withdrawn,followed_up,closed"`
	// Outcome is how it concluded (agreed, failed, withdrawn); it stays
	// when follow-ups move the status on.
	Outcome     string     `json:"outcome,omitempty"`
	Agreement   string     `json:"agreement,omitempty" doc:"The text of the agreement"`
	Signed      bool       `json:"signed" doc:"The parties signed the agreement"`
	OutcomeNote string     `json:"outcome_note,omitempty" doc:"Why it failed or was withdrawn"`
	ConcludedAt *time.Time `json:"concluded_at,omitempty"`
	CreatedBy   int64      `json:"created_by,omitempty"`
	CreatedAt   time.Time  `json:"created_at,omitzero"`
	UpdatedAt   time.Time  `json:"updated_at,omitzero"`
	// Counts on lists; the full lists when one case is read.
	PartyCount   int                `json:"party_count"`
	SessionCount int                `json:"session_count"`
	Parties      []MediationParty   `json:"parties,omitempty"`
	Sessions     []MediationSession `json:"sessions,omitempty"`
	FollowUps    []MediationCheck   `json:"followups,omitempty"`
}

// Validate checks a new mediation; it starts open.
func (m *Mediation) Validate() error {
	p := shequ.Problems{}
	if m.AssociationID == 0 {
		p.Add("association_id", "say which association mediates")
	}
	m.Subject = strings.TrimSpace(m.Subject)
	p.RequireText("subject", m.Subject, 200)
	m.Description = strings.TrimSpace(m.Description)
	p.OptionalText("description", m.Description, 4000)
	m.Status, m.Outcome, m.Agreement, m.Signed, m.OutcomeNote, m.ConcludedAt = MediationOpen, "", "", false, "", nil
	return p.Err()
}

// MediationParty is one side's person or organisation in a mediation. An
// elected representative speaks for others of their side.
type MediationParty struct {
	ID          int64  `json:"id"`
	MediationID int64  `json:"mediation_id"`
	PersonID    int64  `json:"person_id,omitempty" doc:"A resident of the community"`
	PersonName  string `json:"person_name,omitempty"`
	// Organisation names a party that is not a resident (a property company).
	Organisation   string    `json:"organisation,omitempty"`
	Side           string    `json:"side" doc:"Which side of the dispute, e.g. owners, property_company"`
	Representative bool      `json:"representative" doc:"Elected to speak for others of the side"`
	Represents     int       `json:"represents,omitempty" doc:"How many others a representative speaks for"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
}

// Validate checks a party: a resident or an organisation, never both.
func (x *MediationParty) Validate() error {
	p := shequ.Problems{}
	x.Organisation = strings.TrimSpace(x.Organisation)
	switch {
	case x.PersonID == 0 && x.Organisation == "":
		p.Add("person_id", "name a resident (person_id) or an organisation")
	case x.PersonID != 0 && x.Organisation != "":
		p.Add("organisation", "a party is a resident or an organisation, not both")
	}
	p.OptionalText("organisation", x.Organisation, 200)
	x.Side = strings.TrimSpace(x.Side)
	p.RequireText("side", x.Side, 50)
	switch {
	case x.Represents < 0 || x.Represents > 10000:
		p.Add("represents", "must be between 0 and 10000")
	case x.Representative && x.Represents == 0:
		p.Add("represents", "say how many others the representative speaks for")
	case !x.Representative && x.Represents != 0:
		p.Add("represents", "only a representative speaks for others")
	}
	return p.Err()
}

// MediationSession is one meeting of the parties.
type MediationSession struct {
	ID          int64     `json:"id"`
	MediationID int64     `json:"mediation_id"`
	HeldAt      time.Time `json:"held_at"`
	Place       string    `json:"place"`
	// Attendees are the parties present, by party id.
	Attendees []int64 `json:"attendees"`
	// OtherAttendees names others present (mediators, officials).
	OtherAttendees string    `json:"other_attendees,omitempty"`
	Notes          string    `json:"notes,omitempty"`
	CreatedBy      int64     `json:"created_by,omitempty"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
}

// Validate checks a session at now against the parties of its case.
func (x *MediationSession) Validate(parties []MediationParty, now time.Time) error {
	p := shequ.Problems{}
	switch {
	case x.HeldAt.IsZero():
		p.Add("held_at", "say when the session was held")
	case x.HeldAt.After(now.Add(time.Hour)):
		p.Add("held_at", "record a session once it has been held")
	}
	x.HeldAt = x.HeldAt.UTC()
	x.Place = strings.TrimSpace(x.Place)
	p.RequireText("place", x.Place, 200)
	x.OtherAttendees = strings.TrimSpace(x.OtherAttendees)
	p.OptionalText("other_attendees", x.OtherAttendees, 500)
	x.Notes = strings.TrimSpace(x.Notes)
	p.OptionalText("notes", x.Notes, 4000)
	var seen []int64
	for _, id := range x.Attendees {
		if !slices.ContainsFunc(parties, func(y MediationParty) bool { return y.ID == id }) {
			p.Add("attendees", "party %d is not a party of this mediation", id)
		}
		if slices.Contains(seen, id) {
			p.Add("attendees", "party %d is named twice", id)
		}
		seen = append(seen, id)
	}
	if len(x.Attendees) == 0 && x.OtherAttendees == "" {
		p.Add("attendees", "say who attended")
	}
	if x.Attendees == nil {
		x.Attendees = []int64{}
	}
	return p.Err()
}

// MediationResult is the outcome recorded for a mediation.
type MediationResult struct {
	Outcome   string `json:"outcome" enum:"agreed,failed,withdrawn"`
	Agreement string `json:"agreement,omitempty"`
	Signed    bool   `json:"signed,omitempty"`
	Note      string `json:"note,omitempty"`
}

// Validate checks an outcome: an agreement has its text; a failure or a
// withdrawal says why and has no agreement.
func (r *MediationResult) Validate() error {
	p := shequ.Problems{}
	r.Agreement, r.Note = strings.TrimSpace(r.Agreement), strings.TrimSpace(r.Note)
	switch r.Outcome {
	case MediationAgreed:
		p.RequireText("agreement", r.Agreement, 8000)
	case MediationFailed, MediationWithdrawn:
		p.RequireText("note", r.Note, 2000)
		if r.Agreement != "" || r.Signed {
			p.Add("agreement", "only an agreed mediation has an agreement")
		}
	default:
		p.Add("outcome", "must be one of %s", strings.Join(MediationOutcomes, ", "))
	}
	p.OptionalText("note", r.Note, 2000)
	return p.Err()
}

// MediationCheck is a follow-up on a concluded mediation: a dated check
// whether what was agreed happened ("was the lift repaired?").
type MediationCheck struct {
	ID          int64  `json:"id"`
	MediationID int64  `json:"mediation_id"`
	CheckedOn   string `json:"checked_on" doc:"YYYY-MM-DD"`
	Question    string `json:"question"`
	Resolved    bool   `json:"resolved" doc:"The answer: yes or no"`
	Note        string `json:"note,omitempty"`
	// Close closes the case with this check.
	Close     bool      `json:"close"`
	CreatedBy int64     `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Validate checks a follow-up made on or before today (YYYY-MM-DD); a
// missing day means today.
func (x *MediationCheck) Validate(today string) error {
	p := shequ.Problems{}
	x.CheckedOn = strings.TrimSpace(x.CheckedOn)
	if x.CheckedOn == "" {
		x.CheckedOn = today
	}
	if msg := checkDate(x.CheckedOn); msg != "" {
		p.Add("checked_on", "%s", msg)
	} else if x.CheckedOn > today {
		p.Add("checked_on", "record a check once it is made")
	}
	x.Question = strings.TrimSpace(x.Question)
	p.RequireText("question", x.Question, 300)
	x.Note = strings.TrimSpace(x.Note)
	p.OptionalText("note", x.Note, 2000)
	return p.Err()
}

// checkDate returns a message when s is not a real YYYY-MM-DD date.
func checkDate(s string) string {
	if !datePattern.MatchString(s) {
		return "must be a date like 2026-03-21"
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "is not a real date"
	}
	return ""
}

// MediationCount is the mediations of one association in a period.
type MediationCount struct {
	AssociationID int64  `json:"association_id,omitempty"`
	Name          string `json:"name"`
	// Opened counts cases opened in the period; the outcomes count cases
	// concluded in it, whenever they were opened.
	Opened    int `json:"opened"`
	Agreed    int `json:"agreed"`
	Failed    int `json:"failed"`
	Withdrawn int `json:"withdrawn"`
	Concluded int `json:"concluded"`
	// SuccessRate is agreed / concluded, 0 when none concluded.
	SuccessRate float64 `json:"success_rate"`
}

// AddOutcomes counts conclusions and works the success rate out afresh.
func (c *MediationCount) AddOutcomes(agreed, failed, withdrawn int) {
	c.Agreed += agreed
	c.Failed += failed
	c.Withdrawn += withdrawn
	c.Concluded = c.Agreed + c.Failed + c.Withdrawn
	c.SuccessRate = 0
	if c.Concluded > 0 {
		c.SuccessRate = float64(c.Agreed) / float64(c.Concluded)
	}
}

// MediationStats is the mediations of a community in a period, per
// association and in all.
type MediationStats struct {
	CommunityID  int64            `json:"community_id"`
	From         time.Time        `json:"from"`
	To           time.Time        `json:"to"`
	Associations []MediationCount `json:"associations"`
	Total        MediationCount   `json:"total"`
}
