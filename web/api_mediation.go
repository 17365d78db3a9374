package web

import (
	"context"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
)

// mediationStore is what the mediation API needs.
type mediationStore interface {
	ListMediations(ctx context.Context, acc assoc.Access, f assoc.MediationFilter) (shequ.List[assoc.Mediation], error)
	Mediation(ctx context.Context, acc assoc.Access, id int64) (assoc.Mediation, error)
	CreateMediation(ctx context.Context, acc assoc.Access, m *assoc.Mediation) error
	AddMediationParty(ctx context.Context, acc assoc.Access, id int64, x *assoc.MediationParty) error
	AddMediationSession(ctx context.Context, acc assoc.Access, id int64, x *assoc.MediationSession) error
	RecordMediationOutcome(ctx context.Context, acc assoc.Access, id int64, r assoc.MediationResult) (assoc.Mediation, error)
	AddMediationFollowUp(ctx context.Context, acc assoc.Access, id int64, x *assoc.MediationCheck) error
	MediationStats(ctx context.Context, acc assoc.Access, community int64, from, to time.Time) (assoc.MediationStats, error)
}

type mediationBody struct {
	AssociationID int64  `json:"association_id" doc:"The association that mediates, usually the mediation association"`
	Subject       string `json:"subject" maxLength:"200"`
	Description   string `json:"description,omitempty" maxLength:"4000"`
}

type mediationPartyBody struct {
	PersonID       int64  `json:"person_id,omitempty" doc:"A resident of the community; or name an organisation"`
	Organisation   string `json:"organisation,omitempty" maxLength:"200" doc:"A party that is not a resident, e.g. a property company"`
	Side           string `json:"side" maxLength:"50" doc:"Which side of the dispute, e.g. owners, property_company"`
	Representative bool   `json:"representative,omitempty" doc:"Elected to speak for others of the side"`
	Represents     int    `json:"represents,omitempty" minimum:"0" maximum:"10000" doc:"How many others the representative speaks for"`
}

type mediationSessionBody struct {
	HeldAt         time.Time `json:"held_at"`
	Place          string    `json:"place" maxLength:"200"`
	Attendees      []int64   `json:"attendees,omitempty" doc:"The parties present, by party id"`
	OtherAttendees string    `json:"other_attendees,omitempty" maxLength:"500" doc:"Others present: mediators, officials"`
	Notes          string    `json:"notes,omitempty" maxLength:"4000"`
}

type mediationOutcomeBody struct {
	Outcome   string `json:"outcome" enum:"agreed,failed,withdrawn"`
	Agreement string `json:"agreement,omitempty" maxLength:"8000" doc:"The agreement's text (agreed)"`
	Signed    bool   `json:"signed,omitempty" doc:"The parties signed the agreement"`
	Note      string `json:"note,omitempty" maxLength:"2000" doc:"Why it failed or was withdrawn"`
}

type mediationCheckBody struct {
	Question  string `json:"question" maxLength:"300" doc:"What was checked, e.g. was the lift repaired?"`
	Resolved  bool   `json:"resolved" doc:"The answer: yes or no"`
	CheckedOn string `json:"checked_on,omitempty" doc:"YYYY-MM-DD; today when not given"`
	Note      string `json:"note,omitempty" maxLength:"2000"`
	Close     bool   `json:"close,omitempty" doc:"The check closes the case"`
}

func (s *Server) registerMediationAPI() {
	handle(s, get("/api/v1/mediations", auth.PermCaseRead), "list-mediations", "Mediation cases of one's association (administrators: the community's), newest first", "mediation", s.listMediations)
	handle(s, post("/api/v1/mediations", auth.PermCaseWrite), "create-mediation", "Open a mediation case", "mediation", s.createMediation)
	handle(s, get("/api/v1/mediations/{id}", auth.PermCaseRead), "get-mediation", "A mediation case with its parties, sessions and follow-ups", "mediation", s.getMediation)
	handle(s, post("/api/v1/mediations/{id}/parties", auth.PermCaseWrite), "add-mediation-party", "Add a party (a resident or an organisation) before the case concludes", "mediation", s.addMediationParty)
	handle(s, post("/api/v1/mediations/{id}/sessions", auth.PermCaseWrite), "add-mediation-session", "Record a session the parties held; the first puts the case in session", "mediation", s.addMediationSession)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/mediations/{id}/outcome", Permission: auth.PermCaseWrite, OK: true}, "record-mediation-outcome",
		"Conclude a case in session: agreed (with the agreement, signed or not), failed or withdrawn", "mediation", s.recordMediationOutcome)
	handle(s, post("/api/v1/mediations/{id}/followups", auth.PermCaseWrite), "add-mediation-followup", "Record a follow-up check on a concluded case (was the lift repaired?)", "mediation", s.addMediationFollowUp)
}

type mediationListInput struct {
	PageParams
	Association int64  `query:"association"`
	Status      string `query:"status" enum:"open,in_session,agreed,failed,withdrawn,followed_up,closed,"`
	Q           string `query:"q" maxLength:"50" doc:"Words of the subject"`
}

func (s *Server) listMediations(ctx context.Context, in *mediationListInput) (*listBody[assoc.Mediation], error) {
	return list(s.store.ListMediations(ctx, access(ctx, auth.PermCaseRead), assoc.MediationFilter{CommunityID: in.Community, AssociationID: in.Association, Status: in.Status, Query: in.Q, Page: in.page()}))
}

func (s *Server) createMediation(ctx context.Context, in *bodyInput[mediationBody]) (*itemBody[assoc.Mediation], error) {
	m := assoc.Mediation{AssociationID: in.Body.AssociationID, Subject: in.Body.Subject, Description: in.Body.Description}
	err := s.store.CreateMediation(ctx, access(ctx, auth.PermCaseWrite), &m)
	return item(m, err)
}

func (s *Server) getMediation(ctx context.Context, in *IDParam) (*itemBody[assoc.Mediation], error) {
	return item(s.store.Mediation(ctx, access(ctx, auth.PermCaseRead), in.ID))
}

func (s *Server) addMediationParty(ctx context.Context, in *idBodyInput[mediationPartyBody]) (*itemBody[assoc.MediationParty], error) {
	b := in.Body
	x := assoc.MediationParty{PersonID: b.PersonID, Organisation: b.Organisation, Side: b.Side, Representative: b.Representative, Represents: b.Represents}
	err := s.store.AddMediationParty(ctx, access(ctx, auth.PermCaseWrite), in.ID, &x)
	return item(x, err)
}

func (s *Server) addMediationSession(ctx context.Context, in *idBodyInput[mediationSessionBody]) (*itemBody[assoc.MediationSession], error) {
	b := in.Body
	x := assoc.MediationSession{HeldAt: b.HeldAt, Place: b.Place, Attendees: b.Attendees, OtherAttendees: b.OtherAttendees, Notes: b.Notes}
	err := s.store.AddMediationSession(ctx, access(ctx, auth.PermCaseWrite), in.ID, &x)
	return item(x, err)
}

func (s *Server) recordMediationOutcome(ctx context.Context, in *idBodyInput[mediationOutcomeBody]) (*itemBody[assoc.Mediation], error) {
	b := in.Body
	return item(s.store.RecordMediationOutcome(ctx, access(ctx, auth.PermCaseWrite), in.ID, assoc.MediationResult{Outcome: b.Outcome, Agreement: b.Agreement, Signed: b.Signed, Note: b.Note}))
}

func (s *Server) addMediationFollowUp(ctx context.Context, in *idBodyInput[mediationCheckBody]) (*itemBody[assoc.MediationCheck], error) {
	b := in.Body
	x := assoc.MediationCheck{Question: b.Question, Resolved: b.Resolved, CheckedOn: b.CheckedOn, Note: b.Note, Close: b.Close}
	err := s.store.AddMediationFollowUp(ctx, access(ctx, auth.PermCaseWrite), in.ID, &x)
	return item(x, err)
}
