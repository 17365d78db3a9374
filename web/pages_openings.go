package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// The job openings pages, for the HR partner first: its openings with how
// many seekers were offered, interviewed and placed; posting, editing and
// closing one; the job seekers who fit it, as the partner's grant shows
// them (a masked name and the shared fields: never a phone number); and a
// request to the seeker's association to get in touch, which becomes a
// "job offered" follow-up on the seeker's entry for the association to act
// on. Members and administrators see every opening of the community.

func (s *Server) registerOpeningPages() {
	s.pageRoute("GET /openings", "/openings", auth.PermLedgerRead, s.openingsPage)
	s.pageRoute("GET /openings/new", "/openings", auth.PermOpeningsWrite, s.openingNewPage)
	s.formRoute("POST /openings/new", "/openings", auth.PermOpeningsWrite, 32<<10, s.openingNewSubmit)
	s.pageRoute("GET /openings/{id}", "/openings", auth.PermLedgerRead, s.openingPage)
	s.formRoute("POST /openings/{id}", "/openings", auth.PermOpeningsWrite, 32<<10, s.openingEditSubmit)
	s.formRoute("POST /openings/{id}/status", "/openings", auth.PermOpeningsWrite, 16<<10, s.openingStatusSubmit)
	s.formRoute("POST /openings/{id}/contact", "/openings", auth.PermFollowUp, 16<<10, s.openingContactSubmit)
}

type openingRow struct {
	ID                             int64
	Title, Partner, Location       string
	Salary, Status, StatusWord     string
	Positions, Offered, Interviews string
	Placed, Closes                 string
}

type openingsBody struct {
	Status   string
	Statuses []string
	Rows     []openingRow
	Pager    pager
	CanWrite bool
}

var openingStatuses = []string{assoc.OpeningOpen, assoc.OpeningClosed}

func openingRowOf(p *pageData, o assoc.Opening) openingRow {
	row := openingRow{ID: o.ID, Title: o.Title, Partner: o.PartnerName, Location: o.Location, Salary: o.Salary, Status: o.Status,
		StatusWord: p.L.T("openings.status." + o.Status), Positions: p.L.Num(o.Positions), Offered: p.L.Num(o.Offered),
		Interviews: p.L.Num(o.Interviews), Placed: p.L.Num(o.Placed)}
	if !o.ClosesAt.IsZero() {
		row.Closes = o.ClosesAt.In(p.zone).Format(time.DateOnly)
	}
	return row
}

func (s *Server) openingsPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("openings.title")
	b := openingsBody{Statuses: openingStatuses, CanWrite: p.Actor.Can(auth.PermOpeningsWrite)}
	if st := q.Get("status"); st == assoc.OpeningOpen || st == assoc.OpeningClosed {
		b.Status = st
	}
	acc := access(ctx, auth.PermLedgerRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[assoc.Opening], error) {
		return s.store.ListOpenings(ctx, acc, assoc.OpeningFilter{CommunityID: p.communityID, Status: b.Status, Page: pg})
	})
	if err != nil {
		return "", err
	}
	for _, o := range l.Items {
		b.Rows = append(b.Rows, openingRowOf(p, o))
	}
	b.Pager = newPager("/openings", q, []string{"status"}, n, l.Total)
	p.Body = b
	return "assoc/openings", nil
}

// --- the form that posts and edits ---

type openingForm struct {
	ID       int64
	Values   url.Values
	Errors   map[string]string
	Error    string
	Partners []community.Partner
	Partner  int64
}

func (f *openingForm) Value(k string) string { return f.Values.Get(k) }

func (f *openingForm) Messages() formMessages {
	return formMessages{Error: f.Error, Other: f.Errors[""]}
}

// partnersFor lists the partners an administrator posts for; a partner
// posts for itself and gets none.
func (s *Server) partnersFor(r *http.Request, p *pageData) ([]community.Partner, error) {
	if !p.Actor.Can(auth.PermAssociationsRead) {
		return nil, nil
	}
	l, err := s.store.ListPartners(r.Context(), p.Actor.Scope(auth.PermAssociationsRead), community.Filter{CommunityID: p.communityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	return l.Items, err
}

func (s *Server) openingNewPage(r *http.Request, p *pageData) (string, error) {
	ps, err := s.partnersFor(r, p)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("openings.new")
	p.Body = &openingForm{Values: url.Values{"positions": {"1"}}, Errors: map[string]string{}, Partners: ps}
	return "assoc/opening_new", nil
}

// openingFromForm reads the form into o; a bad date or number is an error
// of its field.
func openingFromForm(p *pageData, r *http.Request, o *assoc.Opening, errs map[string]string) {
	f := r.PostForm
	o.Title = strings.TrimSpace(f.Get("title"))
	o.Description = strings.TrimSpace(f.Get("description"))
	o.Skills = strings.TrimSpace(f.Get("skills"))
	o.Location = strings.TrimSpace(f.Get("location"))
	o.Salary = strings.TrimSpace(f.Get("salary"))
	if id, err := strconv.ParseInt(f.Get("partner_id"), 10, 64); err == nil {
		o.PartnerID = id
	}
	o.Positions = 1
	if v := strings.TrimSpace(f.Get("positions")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs["positions"] = p.L.T("openings.error.positions")
		}
		o.Positions = n
	}
	o.ClosesAt = time.Time{}
	if v := strings.TrimSpace(f.Get("closes_at")); v != "" {
		d, err := time.ParseInLocation(time.DateOnly, v, p.zone)
		if err != nil {
			errs["closes_at"] = p.L.T("openings.error.closes_at")
		}
		o.ClosesAt = d
	}
}

func (s *Server) openingNewSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	form := &openingForm{Values: r.PostForm, Errors: map[string]string{}}
	var o assoc.Opening
	openingFromForm(p, r, &o, form.Errors)
	if len(form.Errors) == 0 {
		err := s.store.CreateOpening(r.Context(), access(r.Context(), auth.PermOpeningsWrite), &o)
		if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/openings/%d?done=created", o.ID), "openings.error.", form.Errors); done || err != nil {
			return err
		}
	}
	ps, err := s.partnersFor(r, p)
	if err != nil {
		return err
	}
	form.Partners, form.Partner = ps, o.PartnerID
	form.Error = p.L.T("openings.error")
	p.Title = p.L.T("openings.new")
	p.Body = form
	s.render(w, r, p, "assoc/opening_new", http.StatusUnprocessableEntity)
	return nil
}

// --- one opening ---

type candidateRow struct {
	EntryID int64
	Name    string
	Fields  []fieldValue
	Score   string
}

type fieldValue struct{ Label, Value string }

type openingPageBody struct {
	openingRow
	Description, Skills string
	Form                *openingForm
	Candidates          []candidateRow
	CanWrite, CanReach  bool
	Done                string
}

func (b *openingPageBody) Messages() formMessages {
	return formMessages{Done: b.Done, Error: b.Form.Error, Other: b.Form.Errors[""]}
}

func (s *Server) openingPage(r *http.Request, p *pageData) (string, error) {
	return s.openingView(r, p, nil)
}

func (s *Server) openingView(r *http.Request, p *pageData, form *openingForm) (string, error) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return "", shequ.Errorf(shequ.ENOTFOUND, "no such opening")
	}
	acc := access(ctx, auth.PermLedgerRead)
	o, err := s.store.Opening(ctx, acc, id)
	if err != nil {
		return "", err
	}
	p.Title = o.Title
	b := &openingPageBody{openingRow: openingRowOf(p, o), Description: o.Description, Skills: o.Skills, Done: doneWord(r, p, "openings.done."),
		CanWrite: p.Actor.Can(auth.PermOpeningsWrite), CanReach: p.Actor.Can(auth.PermFollowUp)}
	if form == nil {
		form = &openingForm{ID: o.ID, Errors: map[string]string{}, Partner: o.PartnerID, Values: url.Values{
			"title": {o.Title}, "description": {o.Description}, "skills": {o.Skills}, "location": {o.Location},
			"salary": {o.Salary}, "positions": {strconv.Itoa(o.Positions)}, "closes_at": {b.Closes}}}
	}
	form.ID = o.ID
	b.Form = form
	cs, err := s.store.OpeningCandidates(ctx, acc, id, 20)
	if err != nil {
		return "", err
	}
	if len(cs) > 0 {
		t, err := s.store.LedgerType(ctx, acc, p.communityID, assoc.JobSeekers)
		if err != nil {
			return "", err
		}
		for _, c := range cs {
			row := candidateRow{EntryID: c.Entry.ID, Name: c.Entry.PersonName, Score: p.L.Num(c.Score)}
			for _, f := range t.Fields {
				v, ok := c.Entry.Values[f.Key]
				if !ok || v == nil {
					continue
				}
				row.Fields = append(row.Fields, fieldValue{Label: fieldLabel(p.L, f), Value: valueText(p.L, f, v)})
			}
			b.Candidates = append(b.Candidates, row)
		}
	}
	p.Body = b
	return "assoc/opening", nil
}

func (s *Server) openingID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, shequ.Errorf(shequ.ENOTFOUND, "no such opening")
	}
	return id, nil
}

func (s *Server) openingEditSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := s.openingID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	acc := access(ctx, auth.PermOpeningsWrite)
	o, err := s.store.Opening(ctx, acc, id)
	if err != nil {
		return err
	}
	form := &openingForm{Values: r.PostForm, Errors: map[string]string{}, Partner: o.PartnerID}
	partner := o.PartnerID
	openingFromForm(p, r, &o, form.Errors)
	o.PartnerID = partner
	if len(form.Errors) == 0 {
		err := s.store.UpdateOpening(ctx, acc, &o)
		if done, err := s.afterStep(w, r, p, err, fmt.Sprintf("/openings/%d?done=saved", id), "openings.error.", form.Errors); done || err != nil {
			return err
		}
	}
	form.Error = p.L.T("openings.error")
	p.Self = fmt.Sprintf("/openings/%d", id)
	view, err := s.openingView(r, p, form)
	if err != nil {
		return err
	}
	s.render(w, r, p, view, http.StatusUnprocessableEntity)
	return nil
}

// openingStatusSubmit closes an opening or opens it again.
func (s *Server) openingStatusSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := s.openingID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	acc := access(ctx, auth.PermOpeningsWrite)
	o, err := s.store.Opening(ctx, acc, id)
	if err != nil {
		return err
	}
	st := r.PostFormValue("status")
	if st != assoc.OpeningOpen && st != assoc.OpeningClosed {
		return shequ.Invalid(map[string]string{"status": "must be open or closed"})
	}
	o.Status = st
	if err := s.store.UpdateOpening(ctx, acc, &o); err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/openings/%d?done=%s", id, st), http.StatusSeeOther)
	return nil
}

// openingContactSubmit asks the seeker's association to get in touch
// about the opening: a "job offered" follow-up on the seeker's entry,
// which the association sees with the partner's note. The partner never
// gets the seeker's number; the association calls.
func (s *Server) openingContactSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := s.openingID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	o, err := s.store.Opening(ctx, access(ctx, auth.PermLedgerRead), id)
	if err != nil {
		return err
	}
	entry, err := strconv.ParseInt(r.PostFormValue("entry_id"), 10, 64)
	if err != nil {
		return shequ.Invalid(map[string]string{"entry_id": "choose a job seeker"})
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if note == "" {
		note = p.L.T("openings.contact.default", o.Title)
	}
	f := assoc.FollowUp{Kind: assoc.JobOffered, Note: note, OpeningID: o.ID}
	if err := s.store.AddFollowUp(ctx, access(ctx, auth.PermFollowUp), p.communityID, assoc.JobSeekers, entry, &f); err != nil {
		return err
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/openings/%d?done=contact", id), http.StatusSeeOther)
	return nil
}

// Fields is the form the "opening-fields" part fills in.
func (f *openingForm) Fields() *openingForm { return f }

// Fields is the edit form of the opening's page.
func (b *openingPageBody) Fields() *openingForm { return b.Form }
