package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/media"
)

// open reports whether a matter still waits for the community.
func openMatter(status string) bool {
	return status != matter.Resolved && !matter.Final(status)
}

// matterRow is a matter in a list: the resident's or the staff queue.
type matterRow struct {
	ID                   int64
	Tracking             string
	Category             string
	CategoryName         string
	SLAHours             int
	Summary              string
	Place                string
	Status               string
	StatusWord           string
	Submitted            string
	Due                  string
	Left                 string // "5 hours left", "3 hours overdue"; "" once resolved
	Overdue              bool
	Assignee             string
	Rating               int
	HasNote              bool
	StatusNote           string
	SubmittedAt, DueAtTs time.Time
}

// row describes m at now, in p's language and the community's time zone.
func (s *Server) matterRow(p *pageData, m matter.Matter, cats map[string]matter.Category, staff map[int64]auth.User, now time.Time) matterRow {
	row := matterRow{ID: m.ID, Tracking: m.Tracking, Category: m.Category, CategoryName: m.Category, Summary: summary(m.Description, 80),
		Place: m.Address, Status: m.Status, StatusWord: p.L.Or("matter.status."+m.Status, m.Status),
		Submitted: p.Date(m.CreatedAt), Due: p.Date(m.DueAt), Rating: m.Rating, StatusNote: m.StatusNote, SubmittedAt: m.CreatedAt, DueAtTs: m.DueAt}
	if c, ok := cats[m.Category]; ok {
		row.CategoryName, row.SLAHours = categoryName(p.L, c), c.SLAHours
	}
	if openMatter(m.Status) && !m.DueAt.IsZero() {
		if left := m.DueAt.Sub(now); left >= 0 {
			row.Left = p.L.T("matter.left", durationWords(p.L, left))
		} else {
			row.Left, row.Overdue = p.L.T("matter.overdue.by", durationWords(p.L, -left)), true
		}
	}
	if u, ok := staff[m.AssigneeUserID]; ok && m.AssigneeUserID != 0 {
		row.Assignee = displayName(u)
	}
	return row
}

// summary is the start of a text, cut at a rune boundary.
func summary(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// categories returns the matter categories p's actor may choose from, by
// code.
func (s *Server) categories(ctx context.Context, a *auth.Actor) ([]matter.Category, map[string]matter.Category, error) {
	l, err := s.store.ListCategories(ctx, a.Scope(auth.PermCommunitiesRead), 0, shequ.Page{Limit: shequ.MaxLimit})
	if err != nil {
		return nil, nil, err
	}
	by := make(map[string]matter.Category, len(l.Items))
	for _, c := range l.Items {
		by[c.Code] = c
	}
	return l.Items, by, nil
}

type myMattersBody struct {
	Show  string // open, done or all
	Rows  []matterRow
	Pager pager
	Phone officePhone
}

func (s *Server) myMattersPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("mymatters.title")
	b := myMattersBody{Show: q.Get("show")}
	f := matter.Filter{}
	switch b.Show {
	case "open":
		f.Status = "open"
	case "done":
		f.Status = "closed_any"
	default:
		b.Show = "all"
	}
	_, cats, err := s.categories(ctx, p.Actor)
	if err != nil {
		return "", err
	}
	sc := residentScope(p.Actor, auth.PermMatterRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[matter.Matter], error) {
		f.Page = pg
		return s.store.ListMatters(ctx, sc, f)
	})
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	for _, m := range l.Items {
		b.Rows = append(b.Rows, s.matterRow(p, m, cats, nil, now))
	}
	b.Pager = newPager("/my/matters", q, []string{"show"}, n, l.Total)
	if c, err := s.myCommunity(ctx, p.Actor); err == nil {
		b.Phone = phoneOf(c)
	}
	p.Body = b
	return "resident/matters", nil
}

type matterForm struct {
	Categories  []categoryTile
	Category    string
	Description string
	// Where the problem is: "home" (the resident's flat, named in
	// HomePlace) or "elsewhere" (Place says where). Nothing is chosen
	// until the resident answers: a broken street lamp is not in the flat.
	Where, Place, HomePlace string
	DraftKey                string
	Errors                  map[string]string
	// Error is the message at the top when something must be fixed.
	Error string
	Phone officePhone
}

type categoryTile struct {
	Code, Name, Description string
	SLA                     string
	Questions               []question
	Checked                 bool
}

type question struct {
	Category, Code, Label string
	Datatype              string
	Required              bool
	Options               []option
	Value                 string
	Error                 string
}

type option struct {
	Value, Label string
	Checked      bool
}

// Input is the field's name in the form.
func (q question) Input() string { return "attr." + q.Category + "." + q.Code }

// ID is the field's element id.
func (q question) ID() string { return "q-" + q.Category + "-" + q.Code }

func (s *Server) matterFormPage(r *http.Request, p *pageData) (string, error) {
	f, err := s.newMatterForm(r.Context(), p, r.URL.Query().Get("category"))
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("matterform.title")
	p.Body = f
	return "resident/matter_new", nil
}

func newDraftKey() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) newMatterForm(ctx context.Context, p *pageData, chosen string) (*matterForm, error) {
	list, _, err := s.categories(ctx, p.Actor)
	if err != nil {
		return nil, err
	}
	f := &matterForm{Category: chosen, DraftKey: newDraftKey(), Errors: map[string]string{}}
	for _, c := range list {
		t := categoryTile{Code: c.Code, Name: categoryName(p.L, c), Checked: c.Code == chosen, SLA: p.L.T("matter.sla", durationWords(p.L, time.Duration(c.SLAHours)*time.Hour))}
		if p.L.Tag != langEn || c.NameEn == "" {
			t.Description = c.Description
		}
		attrs := slices.Clone(c.Attributes)
		slices.SortStableFunc(attrs, func(x, y matter.Attribute) int { return x.Order - y.Order })
		for _, at := range attrs {
			q := question{Category: c.Code, Code: at.Code, Label: bilingual(p.L, at.Description), Datatype: at.Datatype, Required: at.Required}
			if q.Label == "" {
				q.Label = at.Code
			}
			for _, v := range at.Values {
				q.Options = append(q.Options, option{Value: v, Label: valueWord(p.L, v)})
			}
			t.Questions = append(t.Questions, q)
		}
		f.Categories = append(f.Categories, t)
	}
	if c, err := s.myCommunity(ctx, p.Actor); err == nil {
		f.Phone = phoneOf(c)
	}
	if hs, err := s.store.ListHomes(ctx, p.Actor.Scope(auth.PermHomesRead), community.Filter{Page: shequ.Page{Limit: 1}}); err == nil && len(hs.Items) == 1 {
		f.HomePlace = strings.TrimSpace(hs.Items[0].BuildingName + " " + hs.Items[0].Door)
	}
	return f, nil
}

// sentDrafts remembers which draft became which matter, so that a form
// sent again — the phone did not hear the answer and retried — lands on
// the matter already filed instead of filing it twice. It lives in memory
// for a day: a restart forgets it, which costs at most a duplicate.
type sentDrafts struct {
	mu sync.Mutex
	m  map[string]*sentDraft
}

type sentDraft struct {
	done chan struct{}
	id   int64
	at   time.Time
}

var drafts = &sentDrafts{m: map[string]*sentDraft{}}

const draftMemory = 24 * time.Hour

// claim returns the entry for key and whether the caller is to file it.
// Others wait for the one filing it to finish.
func (d *sentDrafts) claim(ctx context.Context, key string, now time.Time) (int64, bool, error) {
	for {
		d.mu.Lock()
		e, ok := d.m[key]
		if !ok || (e.id == 0 && isClosed(e.done)) {
			if len(d.m) > 10000 {
				for k, old := range d.m {
					if isClosed(old.done) && now.Sub(old.at) > draftMemory {
						delete(d.m, k)
					}
				}
			}
			d.m[key] = &sentDraft{done: make(chan struct{}), at: now}
			d.mu.Unlock()
			return 0, true, nil
		}
		d.mu.Unlock()
		select {
		case <-e.done:
			if e.id != 0 && now.Sub(e.at) < draftMemory {
				return e.id, false, nil
			}
			if e.id != 0 {
				d.mu.Lock()
				delete(d.m, key)
				d.mu.Unlock()
			}
		case <-ctx.Done():
			return 0, false, ctx.Err()
		}
	}
}

// finish records what became of a claimed draft; id 0 lets it be tried
// again.
func (d *sentDrafts) finish(key string, id int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e, ok := d.m[key]; ok && !isClosed(e.done) {
		e.id = id
		close(e.done)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// matterSubmit files the resident's matter from the form and goes to its
// page, which shows the tracking number. What was wrong comes back with
// the form, in the resident's language.
func (s *Server) matterSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	if a.User.PersonID == 0 || a.HouseholdID == 0 {
		return shequ.Errorf(shequ.EFORBIDDEN, "your account is not linked to a home")
	}
	f, answers, err := s.readMatterForm(r, p)
	if err != nil {
		return err
	}
	photo, err := formPhoto(r)
	if err != nil {
		f.Errors["photo"] = p.L.T("form.photo.bad")
		return s.matterFormAgain(w, r, p, f)
	}
	if f.checkRequired(p); len(f.Errors) > 0 {
		return s.matterFormAgain(w, r, p, f)
	}

	m := matter.Matter{Category: f.Category, Description: f.Description, Attributes: answers, PersonID: a.User.PersonID, SubmittedBy: a.User.ID, Channel: "app"}
	if f.Where == "elsewhere" {
		// The store names the flat when no place is given.
		m.Address = f.Place
	}
	sent, filed, err := s.fileMatterOnce(ctx, a, f.DraftKey, &m)
	switch {
	case shequ.ErrorCode(err) == shequ.EINVALID:
		f.showRefusal(p, err)
		return s.matterFormAgain(w, r, p, f)
	case err != nil:
		return err
	case !filed:
		http.Redirect(w, r, fmt.Sprintf("/my/matters/%d?sent=1", sent), http.StatusSeeOther)
		return nil
	}
	s.changed()
	if photo != nil {
		if err := s.keepFormPhoto(ctx, photo, a.User.ID, func(ph media.Media) error {
			_, err := s.store.AddMatterPhoto(ctx, a.Scope(auth.PermMatterRead), m.ID, ph)
			return err
		}); err != nil {
			s.log.Error("matter photo", "matter", m.ID, "err", err)
			http.Redirect(w, r, fmt.Sprintf("/my/matters/%d?sent=1&photo=failed", m.ID), http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(w, r, fmt.Sprintf("/my/matters/%d?sent=1", m.ID), http.StatusSeeOther)
	return nil
}

// readMatterForm reads the posted form into a matter form, so that the
// form can be shown again as it was typed, and returns the answers to the
// chosen category's questions by question code.
func (s *Server) readMatterForm(r *http.Request, p *pageData) (*matterForm, map[string]string, error) {
	code := strings.TrimSpace(r.PostFormValue("category"))
	f, err := s.newMatterForm(r.Context(), p, code)
	if err != nil {
		return nil, nil, err
	}
	f.Description = r.PostFormValue("description")
	if w := r.PostFormValue("where"); w == "home" || w == "elsewhere" {
		f.Where = w
	}
	f.Place = strings.TrimSpace(r.PostFormValue("place"))
	if k := r.PostFormValue("draft_key"); k != "" && len(k) <= 64 {
		f.DraftKey = k
	}
	answers := map[string]string{}
	for i := range f.Categories {
		t := &f.Categories[i]
		for j := range t.Questions {
			q := &t.Questions[j]
			v := strings.TrimSpace(r.PostFormValue(q.Input()))
			if q.Datatype == "multivaluelist" {
				v = strings.Join(r.PostForm[q.Input()], ",")
			}
			q.Value = v
			for k := range q.Options {
				q.Options[k].Checked = q.Options[k].Value == v
			}
			if t.Code == code && v != "" {
				answers[q.Code] = v
			}
		}
	}
	return f, answers, nil
}

// checkRequired notes what the form must have before it goes to the store:
// a category and a description.
func (f *matterForm) checkRequired(p *pageData) {
	if f.Category == "" {
		f.Errors["category"] = p.L.T("matterform.category.missing")
	}
	if strings.TrimSpace(f.Description) == "" {
		f.Errors["description"] = p.L.T("matterform.description.missing")
	}
	switch {
	case f.Where == "":
		f.Errors["where"] = p.L.T("matterform.where.missing")
	case f.Where == "elsewhere" && f.Place == "":
		f.Errors["place"] = p.L.T("matterform.place.missing")
	case utf8.RuneCountInString(f.Place) > 200:
		f.Errors["place"] = p.L.T("matterform.place.long")
	}
}

// fileMatterOnce stores m unless its draft was sent already (a double tap,
// a phone resending when it missed the answer): then it stores nothing and
// returns the id of the matter the first sending filed, and false.
func (s *Server) fileMatterOnce(ctx context.Context, a *auth.Actor, draft string, m *matter.Matter) (int64, bool, error) {
	key := fmt.Sprintf("%p/%d/%s", s, a.User.ID, draft)
	id, mine, err := drafts.claim(ctx, key, s.clock.Now())
	if err != nil || !mine {
		return id, false, err
	}
	err = s.store.SubmitMatter(ctx, a.Scope(auth.PermMatterSubmit), m)
	drafts.finish(key, m.ID)
	return m.ID, true, err
}

// showRefusal puts what the store found wrong (an EINVALID error's fields)
// beside the fields of the form, in the reader's language.
func (f *matterForm) showRefusal(p *pageData, err error) {
	for field := range invalidFields(err) {
		switch {
		case field == "description":
			f.Errors["description"] = p.L.T("matterform.description.bad")
		case field == "category":
			f.Errors["category"] = p.L.T("matterform.category.missing")
		case strings.HasPrefix(field, "attribute["):
			attr := strings.TrimSuffix(strings.TrimPrefix(field, "attribute["), "]")
			for i := range f.Categories {
				for j := range f.Categories[i].Questions {
					if q := &f.Categories[i].Questions[j]; f.Categories[i].Code == f.Category && q.Code == attr {
						q.Error = p.L.T("matterform.answer.missing")
					}
				}
			}
		}
	}
}

// matterFormAgain shows the form again as it was sent, with what must be
// fixed.
func (s *Server) matterFormAgain(w http.ResponseWriter, r *http.Request, p *pageData, f *matterForm) error {
	p.Title, p.Self = p.L.T("matterform.title"), "/my/matters/new"
	f.Error = p.L.T("matterform.fix")
	p.Body = f
	s.render(w, r, p, "resident/matter_new", http.StatusUnprocessableEntity)
	return nil
}

type timelineItem struct {
	When   string
	Action string
	Who    string
	Note   string
	Status string // the status it led to, "" when unchanged
	Class  string
}

type answer struct{ Question, Answer string }

type myMatterBody struct {
	Row         matterRow
	Description string
	Answers     []answer
	Photos      []string
	Timeline    []timelineItem
	Sent        bool
	PhotoFailed bool
	Error       string
	CanClose    bool
	CanRate     bool
	CanResubmit bool
	CanReopen   bool
	CanComment  bool
	Phone       officePhone
}

// matterDetails is what both the resident's and the staff's matter pages
// show: the row, the answers, photos and the timeline in words.
func (s *Server) matterDetails(ctx context.Context, p *pageData, m matter.Matter, cats map[string]matter.Category, staff map[int64]auth.User, self int64) (matterRow, []answer, []string, []timelineItem, error) {
	now := s.clock.Now()
	row := s.matterRow(p, m, cats, staff, now)
	var answers []answer
	if c, ok := cats[m.Category]; ok {
		for _, at := range c.Attributes {
			if v, ok := m.Attributes[at.Code]; ok && v != "" {
				answers = append(answers, answer{Question: bilingual(p.L, at.Description), Answer: valueWord(p.L, v)})
			}
		}
	}
	ids, err := s.store.MatterPhotoIDs(ctx, m.ID)
	if err != nil {
		return row, nil, nil, nil, err
	}
	var photos []string
	for _, id := range ids {
		photos = append(photos, fmt.Sprintf("/api/v1/matters/%d/photos/%d", m.ID, id))
	}
	var tl []timelineItem
	for _, e := range m.Timeline {
		it := timelineItem{When: p.Date(e.At), Action: p.L.Or("matter.action."+e.Action, e.Action), Class: e.Action}
		if e.To != "" && e.To != e.From {
			it.Status = p.L.Or("matter.status."+e.To, e.To)
		}
		switch {
		case e.UserID == 0:
		case e.UserID == self:
			it.Who = p.L.T("matter.who.you")
		case e.UserID == m.SubmittedBy:
			it.Who = p.L.T("matter.who.resident")
		default:
			if u, ok := staff[e.UserID]; ok {
				it.Who = displayName(u)
			}
		}
		switch e.Action {
		case "submit":
			it.Note = p.L.Or("matter.channel."+e.Note, "")
		case "assign":
			// The assignee is read from the matter as it is now only for
			// the last assignment; earlier ones keep their note.
			it.Note = e.Note
		case "rate":
			it.Note = strings.TrimSpace(strings.Repeat("★", max(0, min(5, ratingOf(m, e)))) + " " + e.Note)
		default:
			it.Note = e.Note
		}
		tl = append(tl, it)
	}
	// Say whom the matter was assigned to on the last assignment.
	if row.Assignee != "" {
		for i := len(tl) - 1; i >= 0; i-- {
			if m.Timeline[i].Action == "assign" {
				tl[i].Note = strings.TrimSpace("→ " + row.Assignee + " " + tl[i].Note)
				break
			}
		}
	}
	return row, answers, photos, tl, nil
}

func ratingOf(m matter.Matter, e matter.Change) int {
	if e.Action == "rate" {
		return m.Rating
	}
	return 0
}

func (s *Server) myMatterPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.myMatter(r, p, "")
	if err != nil {
		return "", err
	}
	q := r.URL.Query()
	b.Sent, b.PhotoFailed = q.Get("sent") == "1", q.Get("photo") == "failed"
	p.Body = b
	return "resident/matter", nil
}

// myMatter reads a matter of the resident's own household: another
// household's is not found, as if it did not exist.
func (s *Server) myMatter(r *http.Request, p *pageData, msg string) (*myMatterBody, error) {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	m, err := s.store.Matter(ctx, residentScope(a, auth.PermMatterRead), id)
	if err != nil {
		return nil, err
	}
	_, cats, err := s.categories(ctx, a)
	if err != nil {
		return nil, err
	}
	staff, err := s.communityStaff(ctx, m.CommunityID)
	if err != nil {
		return nil, err
	}
	b := &myMatterBody{Description: m.Description, Error: msg}
	if b.Row, b.Answers, b.Photos, b.Timeline, err = s.matterDetails(ctx, p, m, cats, staff, a.User.ID); err != nil {
		return nil, err
	}
	own := len(residentScope(a, auth.PermMatterOwn)) > 0
	b.CanClose = m.Status == matter.Resolved
	b.CanRate = own && (m.Status == matter.Resolved || m.Status == matter.Closed) && m.Rating == 0
	b.CanResubmit = own && m.Status == matter.Returned
	b.CanReopen = own && m.Status == matter.Resolved
	b.CanComment = openMatter(m.Status) && m.Status != matter.Returned
	if c, err := s.myCommunity(ctx, a); err == nil {
		b.Phone = phoneOf(c)
	}
	p.Title = p.L.T("mymatter.title", m.Tracking)
	return b, nil
}

// myMatterStep is the resident's own step: add information, answer a
// return, confirm it is done, rate.
func (s *Server) myMatterStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	step := matter.Step{Action: r.PathValue("action"), By: a.User.ID, Resident: true, Note: strings.TrimSpace(r.PostFormValue("note"))}
	if utf8.RuneCountInString(step.Note) > 2000 {
		step.Note = string([]rune(step.Note)[:2000])
	}
	switch step.Action {
	case "comment", "close", "resubmit", "reopen":
	case "rate":
		step.Rating, _ = strconv.Atoi(r.PostFormValue("rating"))
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	sc := residentScope(a, auth.PermMatterOwn)
	if step.Action == "comment" || step.Action == "close" {
		sc = residentScope(a, auth.PermMatterRead)
	}
	if _, err := s.store.StepMatter(ctx, sc, id, step); err != nil {
		code := shequ.ErrorCode(err)
		if code != shequ.EINVALID && code != shequ.ECONFLICT {
			return err
		}
		msg := p.L.T("mymatter.refused")
		if code == shequ.EINVALID {
			msg = p.L.T("mymatter.invalid." + step.Action)
		}
		b, berr := s.myMatter(r, p, msg)
		if berr != nil {
			return berr
		}
		p.Body, p.Self = b, fmt.Sprintf("/my/matters/%d", id)
		s.render(w, r, p, "resident/matter", errorStatus(err))
		return nil
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/my/matters/%d", id), http.StatusSeeOther)
	return nil
}
