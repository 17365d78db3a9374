package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// The mediation pages of an association's workspace: its cases, and one
// case with its parties, sessions, outcome and follow-up checks, with the
// form for the next step its state allows (assoc.Next decides which).

func (s *Server) registerMediationPages() {
	s.pageRoute("GET /mediations", "/mediations", auth.PermCaseRead, s.mediationsPage)
	s.pageRoute("GET /mediations/new", "/mediations", auth.PermCaseWrite, s.mediationFormPage)
	s.formRoute("POST /mediations/new", "/mediations", auth.PermCaseWrite, 64<<10, s.mediationSubmit)
	s.pageRoute("GET /mediations/{id}", "/mediations", auth.PermCaseRead, s.mediationPage)
	s.formRoute("POST /mediations/{id}/{step}", "/mediations", auth.PermCaseWrite, 64<<10, s.mediationStep)
}

type mediationRow struct {
	ID                 int64
	Subject            string
	Association        string
	Status, StatusWord string
	Parties, Sessions  int
	Updated            string
}

type mediationsBody struct {
	CanOpen   bool
	Q, Status string
	Statuses  []option
	Rows      []mediationRow
	Pager     pager
}

// associationNames names the associations of the page's community.
func (s *Server) associationNames(r *http.Request, p *pageData) (map[int64]string, error) {
	names := map[int64]string{}
	if !p.Actor.Can(auth.PermAssociationsRead) {
		return names, nil
	}
	as, err := s.store.ListAssociations(r.Context(), p.Actor.Scope(auth.PermAssociationsRead), community.Filter{CommunityID: p.communityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	for _, a := range as.Items {
		names[a.ID] = a.Name
		if p.L.Tag == langEn && a.NameEn != "" {
			names[a.ID] = a.NameEn
		}
	}
	return names, nil
}

func (s *Server) mediationsPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	b := mediationsBody{Q: strings.TrimSpace(q.Get("q")), Status: q.Get("status")}
	if !slices.Contains(assoc.MediationStatuses, b.Status) {
		b.Status = ""
	}
	for _, st := range assoc.MediationStatuses {
		b.Statuses = append(b.Statuses, option{Value: st, Label: p.L.T("mediation.status." + st), Checked: st == b.Status})
	}
	names, err := s.associationNames(r, p)
	if err != nil {
		return "", err
	}
	acc := access(ctx, auth.PermCaseRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[assoc.Mediation], error) {
		return s.store.ListMediations(ctx, acc, assoc.MediationFilter{CommunityID: p.communityID, Status: b.Status, Query: b.Q, Page: pg})
	})
	if err != nil {
		return "", err
	}
	for _, m := range l.Items {
		b.Rows = append(b.Rows, mediationRow{ID: m.ID, Subject: m.Subject, Association: names[m.AssociationID], Status: m.Status,
			StatusWord: p.L.T("mediation.status." + m.Status), Parties: m.PartyCount, Sessions: m.SessionCount, Updated: p.Date(m.UpdatedAt)})
	}
	b.Pager = newPager("/mediations", q, []string{"q", "status"}, n, l.Total)
	if p.Actor.Can(auth.PermCaseWrite) {
		// The associations one opens cases for, as serving lists them.
		w := access(ctx, auth.PermCaseWrite)
		b.CanOpen = (w.IsAdmin(p.communityID) && len(names) > 0) || len(w.AssociationsIn(p.communityID)) > 0
	}
	p.Title = p.L.T("mediations.title")
	p.Body = b
	return "assoc/mediations", nil
}

// --- opening a case ---

type mediationForm struct {
	Associations []option
	Form         url.Values
	Errors       map[string]string
	Error        string
}

// Value is what the form held for name, when it comes back.
func (f mediationForm) Value(name string) string { return f.Form.Get(name) }

func (s *Server) newMediationForm(r *http.Request, p *pageData, values url.Values) (*mediationForm, error) {
	f := &mediationForm{Form: values, Errors: map[string]string{}}
	var err error
	if f.Associations, err = s.serving(r, p, access(r.Context(), auth.PermCaseWrite), values.Get("association_id")); err != nil {
		return nil, err
	}
	if len(f.Associations) == 0 {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "you mediate for no association")
	}
	p.Title = p.L.T("mediation.new")
	return f, nil
}

func (s *Server) mediationFormPage(r *http.Request, p *pageData) (string, error) {
	f, err := s.newMediationForm(r, p, r.URL.Query())
	if err != nil {
		return "", err
	}
	p.Body = f
	return "assoc/mediation_new", nil
}

// mediationSubmit opens the case and goes to its page, where its parties
// are added, or shows the form again with what to fix.
func (s *Server) mediationSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	form := r.PostForm
	f, err := s.newMediationForm(r, p, form)
	if err != nil {
		return err
	}
	m := assoc.Mediation{Subject: form.Get("subject"), Description: form.Get("description")}
	m.AssociationID, _ = strconv.ParseInt(form.Get("association_id"), 10, 64)
	for _, o := range f.Associations {
		if o.Checked && m.AssociationID == 0 {
			m.AssociationID, _ = strconv.ParseInt(o.Value, 10, 64)
		}
	}
	err = s.store.CreateMediation(r.Context(), access(r.Context(), auth.PermCaseWrite), &m)
	if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/mediations/%d?done=created", m.ID), "mediation.error.", f.Errors); done || err != nil {
		return err
	}
	f.Error = p.L.T("ledgerform.fix")
	p.Body, p.Self = f, "/mediations/new"
	s.render(w, r, p, "assoc/mediation_new", http.StatusUnprocessableEntity)
	return nil
}

// --- one case ---

type partyRow struct {
	ID         int64
	Name, Side string
	Represents int
	Org        bool
}

type sessionRow struct {
	At, Place, Attendees, Notes string
}

type checkRow struct {
	On, Question, Answer, Note string
	Resolved, Closed           bool
}

// mediationForms are the steps a case's state allows, each with what was
// typed when it comes back with problems.
type mediationForms struct {
	Party, Session, Outcome bool
	FollowUp                bool
	Sides                   []option
	Form                    url.Values
	Errors                  map[string]string
	Parties                 []option
	Outcomes                []option
	Now, Today              string
}

// Value is what the form held for name, when it comes back.
func (f mediationForms) Value(name string) string { return f.Form.Get(name) }

type mediationBodyView struct {
	ID                 int64
	Subject            string
	Description        string
	Association        string
	Status, StatusWord string
	Outcome            string
	Agreement          string
	Signed             bool
	OutcomeNote        string
	Opened, Concluded  string
	Parties            []partyRow
	Sessions           []sessionRow
	Checks             []checkRow
	Done, Error        string
	Forms              mediationForms
	// The resident search of the party form (the "person-search" and
	// "person-choice" templates read these and Errors).
	personPick
	Errors map[string]string
}

// mediationSides are the sides the party form offers; the API takes any.
var mediationSides = []string{"owners", "tenants", "neighbours", "property_company", "other"}

func (s *Server) mediationPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.mediationView(r, p, nil)
	if err != nil {
		return "", err
	}
	b.Done = doneWord(r, p, "mediation.done.")
	p.Body = b
	return "assoc/mediation", nil
}

func (s *Server) mediationView(r *http.Request, p *pageData, form url.Values) (*mediationBodyView, error) {
	ctx := r.Context()
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	m, err := s.store.Mediation(ctx, access(ctx, auth.PermCaseRead), id)
	if err != nil {
		return nil, err
	}
	names, err := s.associationNames(r, p)
	if err != nil {
		return nil, err
	}
	b := &mediationBodyView{ID: m.ID, Subject: m.Subject, Description: m.Description, Association: names[m.AssociationID], Status: m.Status,
		StatusWord: p.L.T("mediation.status." + m.Status), Agreement: m.Agreement, Signed: m.Signed, OutcomeNote: m.OutcomeNote,
		Opened: p.Date(m.CreatedAt), Concluded: p.DatePtr(m.ConcludedAt)}
	if m.Outcome != "" {
		b.Outcome = p.L.T("mediation.status." + m.Outcome)
	}
	party := map[int64]string{}
	for _, x := range m.Parties {
		row := partyRow{ID: x.ID, Name: x.PersonName, Side: p.L.Or("mediation.side."+x.Side, x.Side), Org: x.Organisation != ""}
		if row.Org {
			row.Name = x.Organisation
		}
		if x.Representative {
			row.Represents = x.Represents
		}
		party[x.ID] = row.Name
		b.Parties = append(b.Parties, row)
	}
	for _, x := range m.Sessions {
		var who []string
		for _, a := range x.Attendees {
			who = append(who, party[a])
		}
		if x.OtherAttendees != "" {
			who = append(who, x.OtherAttendees)
		}
		b.Sessions = append(b.Sessions, sessionRow{At: p.Date(x.HeldAt), Place: x.Place, Attendees: strings.Join(who, p.L.T("list.sep")), Notes: x.Notes})
	}
	for _, x := range m.FollowUps {
		b.Checks = append(b.Checks, checkRow{On: x.CheckedOn, Question: x.Question, Answer: p.L.T("yesno." + strconv.FormatBool(x.Resolved)), Note: x.Note, Resolved: x.Resolved, Closed: x.Close})
	}
	if p.Actor.Can(auth.PermCaseWrite) && !access(ctx, auth.PermCaseWrite).Empty() {
		can := func(step string) bool { _, err := assoc.Next(m.Status, step); return err == nil }
		now := s.clock.Now().In(p.zone)
		f := mediationForms{Party: can(assoc.StepAddParty), Session: can(assoc.StepAddSession), Outcome: can(assoc.MediationWithdrawn), FollowUp: can(assoc.StepFollowUp),
			Form: form, Errors: map[string]string{}, Now: now.Format(localFormat), Today: now.Format(time.DateOnly)}
		if f.Party {
			values := form
			if values == nil {
				values = r.URL.Query()
			}
			if b.personPick, err = s.pickPerson(r, p, values, fmt.Sprintf("/mediations/%d", m.ID)); err != nil {
				return nil, err
			}
			for _, side := range mediationSides {
				f.Sides = append(f.Sides, option{Value: side, Label: p.L.T("mediation.side." + side), Checked: form != nil && form.Get("side") == side})
			}
		}
		for _, x := range b.Parties {
			id := strconv.FormatInt(x.ID, 10)
			f.Parties = append(f.Parties, option{Value: id, Label: x.Name, Checked: form != nil && slices.Contains(form["attendee"], id)})
		}
		for _, o := range assoc.MediationOutcomes {
			if can(o) {
				f.Outcomes = append(f.Outcomes, option{Value: o, Label: p.L.T("mediation.status." + o), Checked: form != nil && form.Get("outcome") == o})
			}
		}
		b.Forms = f
	}
	b.Errors = b.Forms.Errors
	p.Title = m.Subject
	return b, nil
}

// mediationStep records the next step of a case — a session, its
// outcome, a follow-up check — and comes back to the case.
func (s *Server) mediationStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	acc := access(ctx, auth.PermCaseWrite)
	form := r.PostForm
	errs := map[string]string{}
	step := r.PathValue("step")
	switch step {
	case "parties":
		x := assoc.MediationParty{Organisation: form.Get("organisation"), Side: form.Get("side"), Representative: form.Get("representative") == "1"}
		if form.Get("kind") == "resident" {
			x.Organisation = ""
			if x.PersonID, _ = strconv.ParseInt(form.Get("person_id"), 10, 64); x.PersonID == 0 {
				errs["person"] = p.L.T("ledgerform.error.person")
			}
		} else if strings.TrimSpace(x.Organisation) == "" {
			errs["organisation"] = p.L.T("mediation.error.organisation")
		}
		if v := strings.TrimSpace(form.Get("represents")); v != "" {
			var err error
			if x.Represents, err = strconv.Atoi(v); err != nil {
				errs["represents"] = p.L.T("mediation.error.represents")
			}
		}
		if len(errs) == 0 {
			err = s.store.AddMediationParty(ctx, acc, id, &x)
		}
	case "sessions":
		x := assoc.MediationSession{Place: form.Get("place"), OtherAttendees: form.Get("other_attendees"), Notes: form.Get("notes")}
		if at, err := time.ParseInLocation(localFormat, form.Get("held_at"), p.zone); err == nil {
			x.HeldAt = at
		} else {
			errs["held_at"] = p.L.T("mediation.error.held_at")
		}
		for _, v := range form["attendee"] {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				x.Attendees = append(x.Attendees, n)
			}
		}
		if len(errs) == 0 {
			err = s.store.AddMediationSession(ctx, acc, id, &x)
		}
	case "outcome":
		res := assoc.MediationResult{Outcome: form.Get("outcome"), Agreement: form.Get("agreement"), Signed: form.Get("signed") == "1", Note: form.Get("note")}
		_, err = s.store.RecordMediationOutcome(ctx, acc, id, res)
	case "followups":
		x := assoc.MediationCheck{Question: form.Get("question"), Resolved: form.Get("resolved") == "true", CheckedOn: form.Get("checked_on"), Note: form.Get("note"), Close: form.Get("close") == "1"}
		if r := form.Get("resolved"); r != "true" && r != "false" {
			errs["resolved"] = p.L.T("mediation.error.resolved")
		}
		if len(errs) == 0 {
			err = s.store.AddMediationFollowUp(ctx, acc, id, &x)
		}
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such step")
	}
	if len(errs) == 0 {
		if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/mediations/%d?done=%s", id, step), "mediation.error.", errs); done || err != nil {
			return err
		}
		if msg, ok := errs["person_id"]; ok {
			errs["person"] = msg
		}
	}
	b, err := s.mediationView(r, p, form)
	if err != nil {
		return err
	}
	b.Forms.Errors, b.Errors, b.Error = errs, errs, p.L.T("ledgerform.fix")
	p.Body, p.Self = b, fmt.Sprintf("/mediations/%d", id)
	s.render(w, r, p, "assoc/mediation", http.StatusUnprocessableEntity)
	return nil
}
