package web

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/transfer"
)

// caseStore is what the associations' services and their statistics need.
type caseStore interface {
	CreateCase(ctx context.Context, acc assoc.Access, c *assoc.Case) error
	ListCases(ctx context.Context, acc assoc.Access, f assoc.CaseFilter) (shequ.List[assoc.Case], error)
	Case(ctx context.Context, acc assoc.Access, id int64) (assoc.Case, error)
	UpdateCase(ctx context.Context, acc assoc.Access, id int64, ch assoc.CaseChange) (assoc.Case, error)
	AddCaseAction(ctx context.Context, acc assoc.Access, id int64, x *assoc.CaseAction) error
	CloseCase(ctx context.Context, acc assoc.Access, id int64, outcome string) (assoc.Case, error)
	ReopenCase(ctx context.Context, acc assoc.Access, id int64, reason string) (assoc.Case, error)
	CaseAttendees(ctx context.Context, acc assoc.Access, id int64) ([]assoc.CaseAttendee, error)
	SetCaseAttendee(ctx context.Context, acc assoc.Access, id, person int64, present bool) (assoc.Case, error)
	AssociationStats(ctx context.Context, acc assoc.Access, f assoc.StatsFilter) (assoc.ServiceStats, error)
}

// CaseFields are what a new or changed case says besides its kind and
// association.
type CaseFields struct {
	PersonID   int64     `json:"person_id,omitempty" doc:"Individual: the resident served"`
	Summary    string    `json:"summary" maxLength:"4000" doc:"Individual: the need; group: what the event did"`
	OpenedAt   time.Time `json:"opened_at,omitempty" doc:"Individual: when the case was opened, if not now (within the last year); its day counts in the statistics"`
	Date       string    `json:"date,omitempty" doc:"Group: the day it was held, YYYY-MM-DD in the community's calendar"`
	Place      string    `json:"place,omitempty" maxLength:"200" doc:"Group: where"`
	Topic      string    `json:"topic,omitempty" maxLength:"200" doc:"Group: the topic"`
	Attendance int       `json:"attendance,omitempty" minimum:"0" maximum:"10000" doc:"Group: how many came; the number named when not given"`
	Attendees  []int64   `json:"attendees,omitempty" maxItems:"2000" doc:"Group: the residents known to have come, by person id"`
}

type caseBody struct {
	AssociationID int64  `json:"association_id" doc:"The association giving the service"`
	Kind          string `json:"kind" enum:"individual,group" doc:"individual (个别服务: one resident) or group (集中服务: an event)"`
	CaseFields
}

func (b CaseFields) change() assoc.CaseChange {
	return assoc.CaseChange{PersonID: b.PersonID, Summary: b.Summary, OpenedAt: b.OpenedAt, Day: b.Date, Place: b.Place, Topic: b.Topic, Attendance: b.Attendance, Attendees: b.Attendees}
}

type statsInput struct {
	Community   int64  `query:"community" doc:"Only for users of several communities"`
	From        string `query:"from" doc:"First day, YYYY-MM-DD in the community's calendar; 1 January of this year when not given"`
	To          string `query:"to" doc:"Last day, included; 31 December of this year when not given"`
	Association int64  `query:"association" doc:"Only this association"`
	Format      string `query:"format" enum:"json,csv,xlsx" default:"json" doc:"json, or the table (one row per association and the total) as a CSV or XLSX file"`
	Lang        string `query:"lang" enum:"zh,en" default:"zh" doc:"Language of a file's headers and names"`
}

// statsOutput is the statistics as JSON (Body an assoc.ServiceStats) or
// as a file (Body its bytes, with its type and name).
type statsOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Body               any
}

func (s *Server) registerCaseAPI() {
	handle(s, post("/api/v1/cases", auth.PermCaseWrite), "create-case", "Record a service: an individual service for a resident, or a group service held", "cases", s.createCase)
	handle(s, get("/api/v1/cases", auth.PermCaseRead), "list-cases", "Services of one's associations (an administrator: the community's), latest first", "cases", s.listCases)
	handle(s, get("/api/v1/cases/{id}", auth.PermCaseRead), "get-case", "One service with its actions and attendees", "cases", s.getCase)
	handle(s, put("/api/v1/cases/{id}", auth.PermCaseWrite), "update-case", "Change what a service says (not its kind or association); the statistics follow", "cases", s.updateCase)
	handle(s, post("/api/v1/cases/{id}/actions", auth.PermCaseWrite), "add-case-action", "Add a dated line of what was done", "cases", s.addCaseAction)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/cases/{id}/close", Permission: auth.PermCaseWrite, OK: true}, "close-case", "Close an individual service with its outcome", "cases", s.closeCase)
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/cases/{id}/reopen", Permission: auth.PermCaseWrite, OK: true}, "reopen-case", "Open a closed individual service again, saying why", "cases", s.reopenCase)
	handle(s, get("/api/v1/stats/associations", auth.PermStatsRead), "association-stats",
		"Individual and group services, people served, placements and mediations per association and for the community over a period, with monthly series, and the residents who appear eligible for an assistance policy and are not covered; as JSON, CSV or XLSX", "cases",
		s.associationStats)
}

func (s *Server) createCase(ctx context.Context, in *bodyInput[caseBody]) (*itemBody[assoc.Case], error) {
	b := in.Body
	c := assoc.Case{AssociationID: b.AssociationID, Kind: b.Kind, PersonID: b.PersonID, Summary: b.Summary, OpenedAt: b.OpenedAt,
		Day: b.Date, Place: b.Place, Topic: b.Topic, Attendance: b.Attendance, Attendees: b.Attendees}
	err := s.store.CreateCase(ctx, access(ctx, auth.PermCaseWrite), &c)
	return item(c, err)
}

type caseListInput struct {
	PageParams
	Association int64  `query:"association"`
	Kind        string `query:"kind" enum:"individual,group,"`
	Status      string `query:"status" enum:"open,closed,held,"`
	Person      int64  `query:"person" doc:"Services of this resident: theirs, or attended"`
	From        string `query:"from" doc:"First day, YYYY-MM-DD"`
	To          string `query:"to" doc:"Last day, included"`
}

func (s *Server) listCases(ctx context.Context, in *caseListInput) (*listBody[assoc.Case], error) {
	return list(s.store.ListCases(ctx, access(ctx, auth.PermCaseRead), assoc.CaseFilter{CommunityID: in.Community, AssociationID: in.Association,
		Kind: in.Kind, Status: in.Status, PersonID: in.Person, From: in.From, To: in.To, Page: in.page()}))
}

func (s *Server) getCase(ctx context.Context, in *IDParam) (*itemBody[assoc.Case], error) {
	return item(s.store.Case(ctx, access(ctx, auth.PermCaseRead), in.ID))
}

func (s *Server) updateCase(ctx context.Context, in *idBodyInput[CaseFields]) (*itemBody[assoc.Case], error) {
	return item(s.store.UpdateCase(ctx, access(ctx, auth.PermCaseWrite), in.ID, in.Body.change()))
}

// The anonymous bodies below keep, by their nameHint, the schema names
// huma gave them when the inputs were anonymous too: the API document
// stays the same.

type caseActionInput struct {
	IDParam
	Body struct {
		Note string    `json:"note" maxLength:"2000"`
		At   time.Time `json:"at,omitempty" doc:"When it was done; now when not given"`
	} `nameHint:"Add-case-actionRequest"`
}

func (s *Server) addCaseAction(ctx context.Context, in *caseActionInput) (*itemBody[assoc.CaseAction], error) {
	x := assoc.CaseAction{Note: in.Body.Note, At: in.Body.At}
	err := s.store.AddCaseAction(ctx, access(ctx, auth.PermCaseWrite), in.ID, &x)
	return item(x, err)
}

type caseCloseInput struct {
	IDParam
	Body struct {
		Outcome string `json:"outcome" maxLength:"4000"`
	} `nameHint:"Close-caseRequest"`
}

func (s *Server) closeCase(ctx context.Context, in *caseCloseInput) (*itemBody[assoc.Case], error) {
	return item(s.store.CloseCase(ctx, access(ctx, auth.PermCaseWrite), in.ID, in.Body.Outcome))
}

type caseReopenInput struct {
	IDParam
	Body struct {
		Reason string `json:"reason" maxLength:"2000"`
	} `nameHint:"Reopen-caseRequest"`
}

func (s *Server) reopenCase(ctx context.Context, in *caseReopenInput) (*itemBody[assoc.Case], error) {
	return item(s.store.ReopenCase(ctx, access(ctx, auth.PermCaseWrite), in.ID, in.Body.Reason))
}

// associationStats answers the statistics as JSON, or as a CSV or XLSX
// table, which is recorded as an export.
func (s *Server) associationStats(ctx context.Context, in *statsInput) (*statsOutput, error) {
	st, err := s.store.AssociationStats(ctx, access(ctx, auth.PermStatsRead), assoc.StatsFilter{CommunityID: in.Community, AssociationID: in.Association, From: in.From, To: in.To})
	if err != nil {
		return nil, err
	}
	if in.Format == "" || in.Format == "json" {
		return &statsOutput{Body: st}, nil
	}
	format := transfer.Format(in.Format)
	var buf bytes.Buffer
	if err := transfer.WriteTable(&buf, format, transfer.StatsTable(st, transfer.Lang(in.Lang))); err != nil {
		return nil, fmt.Errorf("export statistics: %w", err)
	}
	if err := s.store.RecordExport(ctx, st.CommunityID, "association_stats", len(st.Associations)+1, false); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("association-stats-%s-%s.%s", st.Period.From, st.Period.To, format)
	return &statsOutput{
		ContentType:        format.ContentType(),
		ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": name}),
		CacheControl:       "no-store",
		Body:               buf.Bytes(),
	}, nil
}
