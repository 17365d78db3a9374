package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/sqlstore"
)

// The resident's pages (a 72-year-old on a cheap phone): the home feed,
// "my matters" with their timelines and the form that submits one, and the
// lost-and-found board; plus what makes the site an installable web app
// that still shows the office's phone number offline (the service worker,
// the manifest and the offline page). The staff pages for the same
// matters are in pages_staff.go.
//
// Every form posts without JavaScript; resident-app.js adds drafts kept on
// the phone, sending again when the network comes back, and photos scaled
// down before they are sent.

func init() {
	// After the alarm pages: what a resident uses most, then the queue for
	// staff, then the board everyone reads.
	at := 1
	for i, n := range navItems {
		if n.key == "nav.myalarm" || n.key == "nav.console" {
			at = i + 1
		}
	}
	type item = struct {
		key  string
		href string
		perm auth.Permission
	}
	navItems = slices.Insert(navItems, at,
		item{"nav.mymatters", "/my/matters", auth.PermMatterOwn},
		item{"nav.matters", "/matters", auth.PermMatterHandle},
		item{"nav.lostfound", "/lostfound", auth.PermBoardRead},
		item{"nav.news", "/news", auth.PermContentRead},
		item{"nav.guides", "/guides", auth.PermContentRead},
		item{"nav.policies", "/policies", auth.PermContentRead},
		item{"nav.notices", "/notices", auth.PermContentWrite},
	)
}

// registerServicePages is called from registerPages: the resident's pages,
// the staff's pages and the web-app files.
func (s *Server) registerServicePages() {
	s.mux.HandleFunc("GET /sw.js", s.serviceWorker)
	s.mux.HandleFunc("GET /manifest.webmanifest", s.manifest)
	s.mux.HandleFunc("GET /offline", s.offlinePage)

	s.pageRoute("GET /my/matters", "/my/matters", auth.PermMatterOwn, s.myMattersPage)
	s.pageRoute("GET /my/matters/new", "/my/matters", auth.PermMatterOwn, s.matterFormPage)
	s.formRoute("POST /my/matters", "/my/matters", auth.PermMatterOwn, maxPhoto+(1<<20), s.matterSubmit)
	s.pageRoute("GET /my/matters/{id}", "/my/matters", auth.PermMatterOwn, s.myMatterPage)
	s.formRoute("POST /my/matters/{id}/{action}", "/my/matters", auth.PermMatterOwn, 64<<10, s.myMatterStep)

	s.pageRoute("GET /lostfound", "/lostfound", auth.PermBoardRead, s.boardPage)
	s.pageRoute("GET /lostfound/new", "/lostfound", auth.PermBoardPost, s.boardFormPage)
	s.formRoute("POST /lostfound", "/lostfound", auth.PermBoardPost, maxPhoto+(1<<20), s.boardSubmit)
	s.pageRoute("GET /lostfound/{id}", "/lostfound", auth.PermBoardRead, s.boardPostPage)
	s.formRoute("POST /lostfound/{id}/{action}", "/lostfound", auth.PermBoardPost, 64<<10, s.boardStep)

	s.registerStaffPages()
	s.registerContentPages()
}

// homePage is "/": the resident's feed for a resident, the overview for
// everyone else.
func (s *Server) homePage(r *http.Request, p *pageData) (string, error) {
	if residentView(p.Actor) {
		return s.residentHomePage(r, p)
	}
	return s.dashboardPage(r, p)
}

// residentView reports whether a is a resident at home rather than staff:
// they get the resident's pages first.
func residentView(a *auth.Actor) bool {
	return a.HouseholdID != 0 && a.Can(auth.PermMatterOwn) && !a.Can(auth.PermMatterHandle) && !a.Can(auth.PermIncidentHandle)
}

// formHandler answers a form post: usually a redirect, or the form again
// with what to fix.
type formHandler func(w http.ResponseWriter, r *http.Request, p *pageData) error

// formRoute registers a form post that needs a session, perm and the
// session's CSRF token, sent from this site. The body may be a multipart
// form (photos) of at most maxBody bytes.
func (s *Server) formRoute(pattern, navHref string, perm auth.Permission, maxBody int64, h formHandler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		p := s.newPage(r)
		if p.Actor == nil {
			http.Redirect(w, r, "/login?next="+navHref, http.StatusSeeOther)
			return
		}
		s.withCommunity(r, p)
		p.Nav = navFor(p.Actor, navHref)
		p.Self = navHref
		if !p.Actor.Can(perm) {
			s.renderError(w, r, p, http.StatusForbidden, "error.forbidden")
			return
		}
		if err := crossOrigin.Check(r); err != nil {
			s.renderError(w, r, p, http.StatusForbidden, "error.crossorigin")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			err = r.ParseMultipartForm(1 << 20)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.renderError(w, r, p, http.StatusRequestEntityTooLarge, "error.toolarge")
				return
			}
			s.renderError(w, r, p, http.StatusBadRequest, "error.invalid")
			return
		}
		token := r.PostFormValue("csrf_token")
		if token == "" {
			token = r.Header.Get("X-CSRF-Token")
		}
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(p.Actor.Session.CSRFToken)) != 1 {
			s.renderError(w, r, p, http.StatusForbidden, "error.csrf")
			return
		}
		if err := h(w, r, p); err != nil {
			s.renderErr(w, r, p, err)
		}
	})
}

// idOf reads a positive id from the path; anything else is not found.
func idOf(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, shequ.Errorf(shequ.ENOTFOUND, "no such %s", name)
	}
	return id, nil
}

// formPhoto reads the optional photo of a form: nil when none was chosen.
// Its type is judged from its bytes, as the API does.
func formPhoto(r *http.Request) (string, []byte, error) {
	if r.MultipartForm == nil {
		return "", nil, nil
	}
	for _, fh := range r.MultipartForm.File["photo"] {
		if fh.Size == 0 {
			continue
		}
		if fh.Size > maxPhoto {
			return "", nil, errPhoto
		}
		f, err := fh.Open()
		if err != nil {
			return "", nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, maxPhoto+1))
		f.Close()
		if err != nil {
			return "", nil, err
		}
		if len(data) > maxPhoto || !photoTypes[http.DetectContentType(data)] {
			return "", nil, errPhoto
		}
		return http.DetectContentType(data), data, nil
	}
	return "", nil, nil
}

var errPhoto = errors.New("not a photo")

// --- what the pages show of matters ---

// categoryName is a category's name in the page's language.
func categoryName(l *locale, c matter.Category) string {
	if l.Tag == langEn && c.NameEn != "" {
		return c.NameEn
	}
	return c.Name
}

// bilingual picks one side of a text written "中文 / English", as the
// questions of a category often are.
func bilingual(l *locale, s string) string {
	zh, en, ok := strings.Cut(s, " / ")
	if !ok {
		return s
	}
	if l.Tag == langEn {
		return strings.TrimSpace(en)
	}
	return strings.TrimSpace(zh)
}

// valueWord shows an answer: yes and no in the page's language, anything
// else as given.
func valueWord(l *locale, v string) string {
	return l.Or("matter.value."+v, v)
}

// durationWords says a duration the way people say it: minutes, hours
// (up to two days), days.
func durationWords(l *locale, d time.Duration) string {
	switch {
	case d < time.Hour:
		return l.T("matter.dur.min", max(1, int(d/time.Minute)))
	case d < 48*time.Hour:
		return l.T("matter.dur.hour", int(d/time.Hour))
	}
	return l.T("matter.dur.day", int(d/(24*time.Hour)))
}

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

// myCommunity is the actor's (first) community, for its phone number.
func (s *Server) myCommunity(ctx context.Context, a *auth.Actor) (community.Community, error) {
	l, err := s.store.ListCommunities(ctx, a.Scope(auth.PermCommunitiesRead), shequ.Page{Limit: 1})
	if err != nil || len(l.Items) == 0 {
		return community.Community{}, err
	}
	return l.Items[0], nil
}

// residentScope is where a resident acts as the resident: their own
// household only, whatever else they may be.
func residentScope(a *auth.Actor, perm auth.Permission) auth.Scope {
	return ownHousehold(a.Scope(perm))
}

// communityStaff names the staff of a resident's community: who handles
// their matter is theirs to know, the staff list itself is not.
func (s *Server) communityStaff(ctx context.Context, community int64) (map[int64]auth.User, error) {
	if community == 0 {
		return map[int64]auth.User{}, nil
	}
	return s.staffNames(ctx, auth.Scope{{CommunityID: community}})
}

// officePhone is the community office's number, as a tel: link.
type officePhone struct {
	Number string
	Tel    template.URL
}

func phoneOf(c community.Community) officePhone {
	return officePhone{Number: c.Phone, Tel: telURL(c.Phone)}
}

// --- the resident's home ---

type residentHomeBody struct {
	Name    string
	Alarm   *homeAlarm
	Matters []matterRow
	Open    int
	Board   []boardRow
	Phone   officePhone
	Feed    *feedPart
}

// homeAlarm is the line about the home's alarm: the alarm page itself is
// /my/alarm.
type homeAlarm struct {
	State   alarm.State
	Class   string
	Urgent  bool // an alarm or a call for help is open
	CanSOS  bool
	Problem bool // the state could not be read
}

func (s *Server) residentHomePage(r *http.Request, p *pageData) (string, error) {
	ctx, a := r.Context(), p.Actor
	p.Title = p.L.T("rhome.title")
	b := residentHomeBody{Name: a.User.DisplayName}
	if b.Name == "" {
		b.Name = a.User.Username
	}
	c, err := s.myCommunity(ctx, a)
	if err != nil {
		return "", err
	}
	b.Phone = phoneOf(c)

	if a.Can(auth.PermAlarmArm) {
		b.Alarm = s.homeAlarm(ctx, a)
	}

	_, cats, err := s.categories(ctx, a)
	if err != nil {
		return "", err
	}
	ms, err := s.store.ListMatters(ctx, residentScope(a, auth.PermMatterRead), sqlstore.MatterFilter{Page: shequ.Page{Limit: 3}})
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	for _, m := range ms.Items {
		b.Matters = append(b.Matters, s.matterRow(p, m, cats, nil, now))
	}
	open, err := s.store.ListMatters(ctx, residentScope(a, auth.PermMatterRead), sqlstore.MatterFilter{Status: "open", Page: shequ.Page{Limit: 1}})
	if err != nil {
		return "", err
	}
	b.Open = open.Total

	if a.Can(auth.PermBoardRead) {
		posts, err := s.store.ListPosts(ctx, a.Scope(auth.PermBoardRead), sqlstore.PostFilter{Page: shequ.Page{Limit: 2}})
		if err != nil {
			return "", err
		}
		for _, post := range posts.Items {
			b.Board = append(b.Board, s.boardRow(p, post, now))
		}
	}
	if b.Feed, err = s.feedPart(ctx, p); err != nil {
		return "", err
	}
	p.Body = b
	return "r_home", nil
}

// homeAlarm reads the home's alarm state for the line on the home page. A
// failure here must not hide the rest of the page.
func (s *Server) homeAlarm(ctx context.Context, a *auth.Actor) *homeAlarm {
	h := &homeAlarm{CanSOS: a.Can(auth.PermSOS)}
	home, err := s.residentHome(ctx, a)
	if err != nil {
		h.Problem = true
		return h
	}
	st, err := s.store.ArmState(ctx, a.Scope(auth.PermAlarmRead), home)
	if err != nil {
		s.log.Error("home alarm state", "err", err)
		h.Problem = true
		return h
	}
	h.State = st.State
	if h.State == "" {
		h.State = alarm.Disarmed
	}
	switch h.State {
	case alarm.ArmedAway, alarm.ArmedHome:
		h.Class = "on"
	case alarm.Triggered, alarm.Pending:
		h.Class, h.Urgent = "alert", true
	default:
		h.Class = "off"
	}
	open, err := s.store.ListIncidents(ctx, a.Scope(auth.PermAlarmRead), alarm.IncidentFilter{Status: "open", HomeID: home, Page: shequ.Page{Limit: 1}})
	if err == nil && open.Total > 0 {
		h.Urgent = true
	}
	return h
}

// --- my matters ---

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
	f := sqlstore.MatterFilter{}
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
	return "r_matters", nil
}

// --- the submit form ---

type matterForm struct {
	Categories  []categoryTile
	Category    string
	Description string
	DraftKey    string
	Errors      map[string]string
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
	return "r_matter_new", nil
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
	code := strings.TrimSpace(r.PostFormValue("category"))
	f, err := s.newMatterForm(ctx, p, code)
	if err != nil {
		return err
	}
	f.Description = r.PostFormValue("description")
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

	fail := func(status int) error {
		p.Title, p.Self = p.L.T("matterform.title"), "/my/matters/new"
		f.Error = p.L.T("matterform.fix")
		p.Body = f
		s.render(w, r, p, "r_matter_new", status)
		return nil
	}
	ct, photo, err := formPhoto(r)
	if err != nil {
		f.Errors["photo"] = p.L.T("form.photo.bad")
		return fail(http.StatusUnprocessableEntity)
	}
	if code == "" {
		f.Errors["category"] = p.L.T("matterform.category.missing")
	}
	if strings.TrimSpace(f.Description) == "" {
		f.Errors["description"] = p.L.T("matterform.description.missing")
	}
	if len(f.Errors) > 0 {
		return fail(http.StatusUnprocessableEntity)
	}

	key := fmt.Sprintf("%p/%d/%s", s, a.User.ID, f.DraftKey)
	id, mine, err := drafts.claim(ctx, key, s.clock.Now())
	if err != nil {
		return err
	}
	if !mine {
		http.Redirect(w, r, fmt.Sprintf("/my/matters/%d?sent=1", id), http.StatusSeeOther)
		return nil
	}
	m := matter.Matter{Category: code, Description: f.Description, Attributes: answers, PersonID: a.User.PersonID, SubmittedBy: a.User.ID, Channel: "app"}
	err = s.store.SubmitMatter(ctx, a.Scope(auth.PermMatterSubmit), &m)
	drafts.finish(key, m.ID)
	if err != nil {
		if shequ.ErrorCode(err) != shequ.EINVALID {
			return err
		}
		var fields map[string]string
		var se *shequ.Error
		if errors.As(err, &se) {
			fields = se.Fields
		}
		for field := range fields {
			switch {
			case field == "description":
				f.Errors["description"] = p.L.T("matterform.description.bad")
			case field == "category":
				f.Errors["category"] = p.L.T("matterform.category.missing")
			case strings.HasPrefix(field, "attribute["):
				attr := strings.TrimSuffix(strings.TrimPrefix(field, "attribute["), "]")
				for i := range f.Categories {
					for j := range f.Categories[i].Questions {
						if q := &f.Categories[i].Questions[j]; f.Categories[i].Code == code && q.Code == attr {
							q.Error = p.L.T("matterform.answer.missing")
						}
					}
				}
			}
		}
		return fail(http.StatusUnprocessableEntity)
	}
	s.changed()
	if photo != nil {
		if _, err := s.store.AddMatterPhoto(ctx, a.Scope(auth.PermMatterRead), m.ID, ct, photo, a.User.ID); err != nil {
			s.log.Error("matter photo", "matter", m.ID, "err", err)
			http.Redirect(w, r, fmt.Sprintf("/my/matters/%d?sent=1&photo=failed", m.ID), http.StatusSeeOther)
			return nil
		}
	}
	http.Redirect(w, r, fmt.Sprintf("/my/matters/%d?sent=1", m.ID), http.StatusSeeOther)
	return nil
}

// --- one matter, as its resident sees it ---

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
	return "r_matter", nil
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
	case "comment", "close", "resubmit":
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
		s.render(w, r, p, "r_matter", errorStatus(err))
		return nil
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/my/matters/%d", id), http.StatusSeeOther)
	return nil
}

// --- lost and found ---

type boardRow struct {
	ID                  int64
	Kind, KindWord      string
	Subject             string
	Title, Place        string
	When                string
	Status, StatusWord  string
	Author              string
	Replies, PhotoCount int
	Photo               string
}

func (s *Server) boardRow(p *pageData, post lostfound.Post, now time.Time) boardRow {
	row := boardRow{ID: post.ID, Kind: post.Kind, KindWord: p.L.T("lostfound.kind." + post.Kind + "." + post.Subject), Subject: post.Subject,
		Title: post.Title, Place: post.Place, When: p.Date(post.HappenedAt), Status: post.StatusAt(now), Author: post.Author,
		Replies: len(post.Replies), PhotoCount: len(post.Photos)}
	row.StatusWord = p.L.T("lostfound.status." + row.Status)
	if len(post.Photos) > 0 {
		row.Photo = fmt.Sprintf("/api/v1/lostfound/%d/photos/%d", post.ID, post.Photos[0])
	}
	return row
}

type boardBody struct {
	Kind    string
	All     bool
	Rows    []boardRow
	Pager   pager
	CanPost bool
}

func (s *Server) boardPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("lostfound.title")
	b := boardBody{Kind: q.Get("kind"), All: q.Get("all") == "1", CanPost: p.Actor.Can(auth.PermBoardPost)}
	if b.Kind != "lost" && b.Kind != "found" {
		b.Kind = ""
	}
	sc := p.Actor.Scope(auth.PermBoardRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[lostfound.Post], error) {
		return s.store.ListPosts(ctx, sc, sqlstore.PostFilter{Kind: b.Kind, All: b.All, Page: pg})
	})
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	for _, post := range l.Items {
		b.Rows = append(b.Rows, s.boardRow(p, post, now))
	}
	b.Pager = newPager("/lostfound", q, []string{"kind", "all"}, n, l.Total)
	p.Body = b
	return "r_lostfound", nil
}

type boardForm struct {
	Kind, Subject, Title, Description, Place, Contact string
	DraftKey                                          string
	Errors                                            map[string]string
	Error                                             string
}

func (s *Server) boardFormPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("lostfound.new.title")
	kind := r.URL.Query().Get("kind")
	if kind != "found" {
		kind = "lost"
	}
	p.Body = &boardForm{Kind: kind, Subject: "item", DraftKey: newDraftKey(), Errors: map[string]string{}}
	return "r_lostfound_new", nil
}

func (s *Server) boardSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	f := &boardForm{Kind: r.PostFormValue("kind"), Subject: r.PostFormValue("subject"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Place: r.PostFormValue("place"), Contact: strings.TrimSpace(r.PostFormValue("contact")), DraftKey: r.PostFormValue("draft_key"), Errors: map[string]string{}}
	fail := func() error {
		p.Title, p.Self = p.L.T("lostfound.new.title"), "/lostfound/new"
		f.Error = p.L.T("matterform.fix")
		p.Body = f
		s.render(w, r, p, "r_lostfound_new", http.StatusUnprocessableEntity)
		return nil
	}
	ct, photo, err := formPhoto(r)
	if err != nil {
		f.Errors["photo"] = p.L.T("form.photo.bad")
		return fail()
	}
	if utf8.RuneCountInString(f.Contact) > 100 {
		f.Errors["contact"] = p.L.T("lostfound.contact.bad")
		return fail()
	}
	cs := a.Scope(auth.PermBoardPost).Communities()
	if len(cs) != 1 {
		return shequ.Errorf(shequ.EINVALID, "say which community's board")
	}
	key := fmt.Sprintf("%p/%d/lf/%s", s, a.User.ID, f.DraftKey)
	if f.DraftKey != "" {
		id, mine, err := drafts.claim(ctx, key, s.clock.Now())
		if err != nil {
			return err
		}
		if !mine {
			http.Redirect(w, r, fmt.Sprintf("/lostfound/%d", id), http.StatusSeeOther)
			return nil
		}
	}
	post := lostfound.Post{CommunityID: cs[0], AuthorID: a.User.ID, Author: a.User.DisplayName, Kind: f.Kind, Subject: f.Subject, Title: f.Title,
		Description: f.Description, Place: f.Place, Contact: f.Contact}
	err = s.store.CreatePost(ctx, a.Scope(auth.PermBoardPost), &post)
	if f.DraftKey != "" {
		drafts.finish(key, post.ID)
	}
	if err != nil {
		var se *shequ.Error
		if !errors.As(err, &se) || se.Code != shequ.EINVALID {
			return err
		}
		for field := range se.Fields {
			switch field {
			case "title", "place", "description":
				f.Errors[field] = p.L.T("lostfound." + field + ".bad")
			case "kind", "subject":
				f.Errors["kind"] = p.L.T("lostfound.kind.bad")
			}
		}
		return fail()
	}
	s.changed()
	if photo != nil {
		if _, err := s.store.AddPostPhoto(ctx, a.Scope(auth.PermBoardPost), post.ID, a.User.ID, ct, photo); err != nil {
			s.log.Error("post photo", "post", post.ID, "err", err)
		}
	}
	http.Redirect(w, r, fmt.Sprintf("/lostfound/%d", post.ID), http.StatusSeeOther)
	return nil
}

type boardPostBody struct {
	Row         boardRow
	Description string
	Contact     string
	Photos      []string
	Replies     []boardReply
	Mine        bool
	CanReply    bool
	CanResolve  bool
	Error       string
}

type boardReply struct {
	Author, When, Body string
	Mine               bool
}

func (s *Server) boardPost(r *http.Request, p *pageData, msg string) (*boardPostBody, error) {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	post, err := s.store.Post(ctx, a.Scope(auth.PermBoardRead), id)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	b := &boardPostBody{Row: s.boardRow(p, post, now), Description: post.Description, Contact: post.Contact, Mine: post.AuthorID == a.User.ID, Error: msg}
	open := b.Row.Status == "open"
	b.CanReply = open && a.Can(auth.PermBoardPost)
	b.CanResolve = open && (b.Mine || a.Can(auth.PermBoardModerate))
	for _, ph := range post.Photos {
		b.Photos = append(b.Photos, fmt.Sprintf("/api/v1/lostfound/%d/photos/%d", post.ID, ph))
	}
	for _, rp := range post.Replies {
		b.Replies = append(b.Replies, boardReply{Author: rp.Author, When: p.Date(rp.CreatedAt), Body: rp.Body, Mine: rp.AuthorID == a.User.ID})
	}
	p.Title = post.Title
	return b, nil
}

func (s *Server) boardPostPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.boardPost(r, p, "")
	if err != nil {
		return "", err
	}
	p.Body = b
	return "r_lostfound_post", nil
}

// boardStep replies to a post or marks one's own post resolved.
func (s *Server) boardStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	sc := a.Scope(auth.PermBoardPost)
	switch r.PathValue("action") {
	case "reply":
		_, err = s.store.ReplyToPost(ctx, sc, id, a.User.ID, strings.TrimSpace(r.PostFormValue("body")))
	case "resolve":
		err = s.store.ClosePost(ctx, sc, id, a.User.ID, a.Can(auth.PermBoardModerate), false)
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	if err != nil {
		code := shequ.ErrorCode(err)
		if code != shequ.EINVALID && code != shequ.ECONFLICT {
			return err
		}
		msg := p.L.T("lostfound.refused")
		if code == shequ.EINVALID {
			msg = p.L.T("lostfound.reply.bad")
		}
		b, berr := s.boardPost(r, p, msg)
		if berr != nil {
			return berr
		}
		p.Body, p.Self = b, fmt.Sprintf("/lostfound/%d", id)
		s.render(w, r, p, "r_lostfound_post", errorStatus(err))
		return nil
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/lostfound/%d", id), http.StatusSeeOther)
	return nil
}

// --- the web app: service worker, manifest, offline page ---

// serviceWorker serves sw.js from the root, so that its scope is the whole
// site, with this build's asset version in it: a new build is a new
// worker, which drops the old caches.
func (s *Server) serviceWorker(w http.ResponseWriter, r *http.Request) {
	b, err := pageFS.ReadFile("static/sw.js")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	b = []byte(strings.ReplaceAll(string(b), "__VERSION__", assetVersion))
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Service-Worker-Allowed", "/")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

func (s *Server) manifest(w http.ResponseWriter, r *http.Request) {
	b, err := pageFS.ReadFile("static/manifest.webmanifest")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/manifest+json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

type offlineBody struct {
	Phone     officePhone
	Community string
}

// offlinePage is what the service worker shows when there is no network:
// the office's phone number, and the way back to the last news it kept.
// It needs no session: the worker fetches it once, when it is installed.
func (s *Server) offlinePage(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	p := s.newPage(r)
	// The page that asks the worker to keep this one says in which
	// language and text size: the worker's own requests carry neither.
	q := r.URL.Query()
	if l, ok := locales[q.Get("lang")]; ok {
		p.L = l
	}
	switch q.Get("text") {
	case "large":
		p.Large = true
	case "normal":
		p.Large = false
	}
	p.Self = "/offline"
	p.Title = p.L.T("offline.title")
	b := offlineBody{}
	var c community.Community
	if p.Actor != nil {
		s.withCommunity(r, p)
		c, _ = s.myCommunity(r.Context(), p.Actor)
	} else if l, err := s.store.ListCommunities(r.Context(), auth.Scope{{}}, shequ.Page{Limit: 2}); err == nil && len(l.Items) == 1 {
		// One community on this server: its number is no secret.
		c = l.Items[0]
		p.Community = communityName(p.L, c)
	}
	b.Phone, b.Community = phoneOf(c), p.Community
	// The worker keeps this page; it must not keep a session's token.
	p.Actor, p.CSRF = nil, ""
	p.Body = b
	s.render(w, r, p, "r_offline", http.StatusOK)
}

func init() {
	// The parts the service pages, the console and the field staff's
	// pages share go into each of them.
	for name, t := range views {
		if strings.HasPrefix(name, "r_") || strings.HasPrefix(name, "s_") || strings.HasPrefix(name, "f_") || name == "console" {
			template.Must(t.ParseFS(pageFS, "templates/parts/*.html"))
		}
	}
}
