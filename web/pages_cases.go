package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
)

// The services of an association's workspace: its individual services
// (个别服务, a case for one resident: the need, dated actions, the outcome)
// and group services (集中服务, an event: day, place, topic, attendance),
// the forms that record them from a phone, and one service's page where
// actions are added and an individual service is closed. The statistics
// count them (pages_stats.go).

func (s *Server) registerCasePages() {
	s.pageRoute("GET /cases", "/cases", auth.PermCaseRead, s.casesPage)
	s.pageRoute("GET /cases/new/{kind}", "/cases", auth.PermCaseWrite, s.caseFormPage)
	s.formRoute("POST /cases/new/{kind}", "/cases", auth.PermCaseWrite, 64<<10, s.caseSubmit)
	s.pageRoute("GET /cases/{id}", "/cases", auth.PermCaseRead, s.casePage)
	s.formRoute("POST /cases/{id}/{step}", "/cases", auth.PermCaseWrite, 16<<10, s.caseStep)
}

type caseRow struct {
	ID                  int64
	Day, Kind, KindWord string
	Who, Summary        string
	Association         string
	Status, StatusWord  string
	Attendance          int
}

type casesBody struct {
	Kind, Status string
	Kinds        []option
	Statuses     []option
	Rows         []caseRow
	Pager        pager
	CanWrite     bool
}

var caseStatuses = []string{assoc.CaseOpen, assoc.CaseClosed, assoc.CaseHeld}

// casesPageSize is the services a page of /cases lists: each is a card of
// five lines on a phone, and fifty were a page of 14,000 pixels.
const casesPageSize = 15

func (s *Server) casesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	b := casesBody{Kind: q.Get("kind"), Status: q.Get("status"), CanWrite: !access(ctx, auth.PermCaseWrite).Empty()}
	if !slices.Contains(assoc.CaseKinds, b.Kind) {
		b.Kind = ""
	}
	if !slices.Contains(caseStatuses, b.Status) {
		b.Status = ""
	}
	for _, k := range assoc.CaseKinds {
		b.Kinds = append(b.Kinds, option{Value: k, Label: p.L.T("case.kind." + k), Checked: k == b.Kind})
	}
	for _, st := range caseStatuses {
		b.Statuses = append(b.Statuses, option{Value: st, Label: p.L.T("case.status." + st), Checked: st == b.Status})
	}
	names, err := s.associationNames(r, p)
	if err != nil {
		return "", err
	}
	acc := access(ctx, auth.PermCaseRead)
	l, n, err := listPageOf(q, casesPageSize, func(pg shequ.Page) (shequ.List[assoc.Case], error) {
		return s.store.ListCases(ctx, acc, assoc.CaseFilter{CommunityID: p.communityID, Kind: b.Kind, Status: b.Status, Page: pg})
	})
	if err != nil {
		return "", err
	}
	for _, c := range l.Items {
		row := caseRow{ID: c.ID, Day: c.Day, Kind: c.Kind, KindWord: p.L.T("case.kind." + c.Kind), Who: c.PersonName, Summary: c.Summary,
			Association: names[c.AssociationID], Status: c.Status, StatusWord: p.L.T("case.status." + c.Status), Attendance: c.Attendance}
		if c.Kind == assoc.KindGroup {
			row.Who = c.Topic
		}
		b.Rows = append(b.Rows, row)
	}
	b.Pager = newPagerOf("/cases", q, []string{"kind", "status"}, n, l.Total, casesPageSize)
	p.Title = p.L.T("cases.title")
	p.Body = b
	return "assoc/cases", nil
}

// --- recording a service ---

type caseForm struct {
	Kind         string
	Group        bool
	Associations []option
	personPick
	Form   url.Values
	Errors map[string]string
	Error  string
	Today  string
}

// Value is what the form held for name, when it comes back.
func (f caseForm) Value(name string) string { return f.Form.Get(name) }

// serving lists the associations acc records services for in the page's
// community: an administrator's all, a member's own.
func (s *Server) serving(r *http.Request, p *pageData, acc assoc.Access, chosen string) ([]option, error) {
	names, err := s.associationNames(r, p)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if acc.IsAdmin(p.communityID) {
		for id := range names {
			ids = append(ids, id)
		}
	} else {
		ids = acc.AssociationsIn(p.communityID)
	}
	var out []option
	for _, id := range ids {
		v := strconv.FormatInt(id, 10)
		out = append(out, option{Value: v, Label: names[id], Checked: v == chosen || len(ids) == 1})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Label < out[j].Label })
	return out, nil
}

func (s *Server) newCaseForm(r *http.Request, p *pageData, values url.Values) (*caseForm, error) {
	kind := r.PathValue("kind")
	if !slices.Contains(assoc.CaseKinds, kind) {
		return nil, shequ.Errorf(shequ.ENOTFOUND, "no such kind of service")
	}
	acc := access(r.Context(), auth.PermCaseWrite)
	f := &caseForm{Kind: kind, Group: kind == assoc.KindGroup, Form: values, Errors: map[string]string{}, Today: s.clock.Now().In(p.zone).Format(time.DateOnly)}
	var err error
	if f.Associations, err = s.serving(r, p, acc, values.Get("association_id")); err != nil {
		return nil, err
	}
	if len(f.Associations) == 0 {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "you record services for no association")
	}
	if !f.Group {
		if f.personPick, err = s.pickPerson(r, p, values, "/cases/new/"+kind); err != nil {
			return nil, err
		}
	}
	p.Title = p.L.T("caseform.title." + kind)
	return f, nil
}

func (s *Server) caseFormPage(r *http.Request, p *pageData) (string, error) {
	f, err := s.newCaseForm(r, p, r.URL.Query())
	if err != nil {
		return "", err
	}
	p.Body = f
	return "assoc/case_new", nil
}

// caseSubmit records the service and goes to its page, or shows the form
// again with what to fix beside each field.
func (s *Server) caseSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	form := r.PostForm
	f, err := s.newCaseForm(r, p, form)
	if err != nil {
		return err
	}
	c := assoc.Case{Kind: f.Kind, Summary: form.Get("summary")}
	c.AssociationID, _ = strconv.ParseInt(form.Get("association_id"), 10, 64)
	for _, o := range f.Associations {
		if o.Checked && c.AssociationID == 0 {
			c.AssociationID, _ = strconv.ParseInt(o.Value, 10, 64)
		}
	}
	if f.Group {
		c.Day, c.Place, c.Topic = form.Get("date"), form.Get("place"), form.Get("topic")
		if a := strings.TrimSpace(form.Get("attendance")); a != "" {
			if c.Attendance, err = strconv.Atoi(a); err != nil {
				f.Errors["attendance"] = p.L.T("case.error.attendance")
			}
		}
	} else {
		c.PersonID = f.PersonID
		if c.PersonID == 0 {
			f.Errors["person"] = p.L.T("ledgerform.error.person")
		}
	}
	if len(f.Errors) == 0 {
		err = s.store.CreateCase(r.Context(), access(r.Context(), auth.PermCaseWrite), &c)
		if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/cases/%d?done=created", c.ID), "case.error.", f.Errors); done || err != nil {
			return err
		}
		if _, ok := f.Errors["person_id"]; ok {
			f.Errors["person"] = p.L.T("case.error.person")
		}
	}
	f.Error = p.L.T("ledgerform.fix")
	p.Body, p.Self = f, "/cases/new/"+f.Kind
	s.render(w, r, p, "assoc/case_new", http.StatusUnprocessableEntity)
	return nil
}

// --- one service ---

type actionRow struct {
	At, Who, Note string
}

type attendeeRow struct {
	ID   int64
	Name string
}

type caseView struct {
	ID                 int64
	Kind, KindWord     string
	Group              bool
	Who                string
	Association        string
	Summary            string
	Day, Place, Topic  string
	Attendance         int
	Status, StatusWord string
	Outcome            string
	Closed             string
	Actions            []actionRow
	CanAct, CanClose   bool
	CanReopen          bool
	// A group service's named attendees, and the resident search of the
	// form that adds one ("person-search" and "person-choice" read it).
	Attendees []attendeeRow
	personPick
	Form        url.Values
	Errors      map[string]string
	Done, Error string
}

// Value is what a form on the page held for name, when it comes back.
func (v caseView) Value(name string) string { return v.Form.Get(name) }

func (s *Server) casePage(r *http.Request, p *pageData) (string, error) {
	b, err := s.caseOf(r, p, nil)
	if err != nil {
		return "", err
	}
	b.Done = doneWord(r, p, "case.done.")
	p.Body = b
	return "assoc/case", nil
}

func (s *Server) caseOf(r *http.Request, p *pageData, form url.Values) (*caseView, error) {
	ctx := r.Context()
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	c, err := s.store.Case(ctx, access(ctx, auth.PermCaseRead), id)
	if err != nil {
		return nil, err
	}
	names, err := s.associationNames(r, p)
	if err != nil {
		return nil, err
	}
	b := &caseView{ID: c.ID, Kind: c.Kind, KindWord: p.L.T("case.kind." + c.Kind), Group: c.Kind == assoc.KindGroup, Who: c.PersonName,
		Association: names[c.AssociationID], Summary: c.Summary, Day: c.Day, Place: c.Place, Topic: c.Topic, Attendance: c.Attendance,
		Status: c.Status, StatusWord: p.L.T("case.status." + c.Status), Outcome: c.Outcome, Closed: p.DatePtr(c.ClosedAt), Form: form, Errors: map[string]string{}}
	who, err := s.memberNames(ctx, c.CommunityID)
	if err != nil {
		return nil, err
	}
	for _, a := range c.Actions {
		b.Actions = append(b.Actions, actionRow{At: p.Date(a.At), Who: who.of(a.UserID, a.Username), Note: a.Note})
	}
	write := access(ctx, auth.PermCaseWrite)
	b.CanAct = p.Actor.Can(auth.PermCaseWrite) && (write.IsAdmin(c.CommunityID) || slices.Contains(write.AssociationsIn(c.CommunityID), c.AssociationID))
	b.CanClose = b.CanAct && c.Kind == assoc.KindIndividual && c.Status == assoc.CaseOpen
	b.CanReopen = b.CanAct && c.Kind == assoc.KindIndividual && c.Status == assoc.CaseClosed
	if b.Group {
		named, err := s.store.CaseAttendees(ctx, access(ctx, auth.PermCaseRead), id)
		if err != nil {
			return nil, err
		}
		for _, x := range named {
			b.Attendees = append(b.Attendees, attendeeRow{ID: x.PersonID, Name: x.Name})
		}
		if b.CanAct {
			values := form
			if values == nil {
				values = r.URL.Query()
			}
			if b.personPick, err = s.pickPerson(r, p, values, fmt.Sprintf("/cases/%d", id)); err != nil {
				return nil, err
			}
		}
	}
	p.Title = p.L.T("case.title", b.KindWord, c.Day)
	return b, nil
}

// caseStep adds an action line to a service or closes an individual one
// with its outcome, and comes back to it.
func (s *Server) caseStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	acc := access(ctx, auth.PermCaseWrite)
	form := r.PostForm
	step := r.PathValue("step")
	switch step {
	case "actions":
		err = s.store.AddCaseAction(ctx, acc, id, &assoc.CaseAction{Note: form.Get("note")})
	case "close":
		_, err = s.store.CloseCase(ctx, acc, id, form.Get("outcome"))
	case "reopen":
		_, err = s.store.ReopenCase(ctx, acc, id, form.Get("reason"))
	case "attendees":
		if v := form.Get("remove"); v != "" {
			gone, _ := strconv.ParseInt(v, 10, 64)
			_, err = s.store.SetCaseAttendee(ctx, acc, id, gone, false)
		} else {
			person, _ := strconv.ParseInt(form.Get("person_id"), 10, 64)
			_, err = s.store.SetCaseAttendee(ctx, acc, id, person, true)
		}
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such step")
	}
	errs := map[string]string{}
	if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/cases/%d?done=%s", id, step), "case.error.", errs); done || err != nil {
		return err
	}
	b, err := s.caseOf(r, p, form)
	if err != nil {
		return err
	}
	b.Errors, b.Error = errs, p.L.T("ledgerform.fix")
	p.Body, p.Self = b, fmt.Sprintf("/cases/%d", id)
	s.render(w, r, p, "assoc/case", http.StatusUnprocessableEntity)
	return nil
}
