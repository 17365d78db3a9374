package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
)

// The content pages: the news feed residents read (on the home page and
// at /news) with the read confirmation important notices ask for, the
// service guides and the policies; and for staff, composing and
// scheduling notices and following who has not yet confirmed one, to
// knock on their doors. The store (sqlstore/content.go) decides who sees
// what; the Markdown is rendered there through an allow-list.

func (s *Server) registerContentPages() {
	s.pageRoute("GET /news", "/news", auth.PermContentRead, s.newsPage)
	s.pageRoute("GET /news/{id}", "/news", auth.PermContentRead, s.noticePage)
	s.formRoute("POST /news/{id}/confirm", "/news", auth.PermContentConfirm, 16<<10, s.noticeConfirm)
	s.pageRoute("GET /guides", "/guides", auth.PermContentRead, s.guidesPage)
	s.pageRoute("GET /guides/{id}", "/guides", auth.PermContentRead, s.guidePage)
	s.pageRoute("GET /policies", "/policies", auth.PermContentRead, s.policiesPage)
	s.pageRoute("GET /policies/{id}", "/policies", auth.PermContentRead, s.policyPage)

	s.pageRoute("GET /notices", "/notices", auth.PermContentWrite, s.noticesPage)
	s.pageRoute("GET /notices/new", "/notices", auth.PermContentWrite, s.composePage)
	s.formRoute("POST /notices", "/notices", auth.PermContentWrite, 64<<10, s.composeSubmit)
	s.pageRoute("GET /notices/{id}/confirmations", "/notices", auth.PermContentTrack, s.trackPage)
}

// contentScopes are the actor's scopes to read content live and to see it
// in any status (those who write it).
func contentScopes(a *auth.Actor) (auth.Scope, auth.Scope) {
	return a.Scope(auth.PermContentRead), a.Scope(auth.PermContentWrite)
}

// noticeRow is a notice in a list.
type noticeRow struct {
	ID                 int64
	Title, Summary     string
	Category, CatWord  string
	When               string
	Expires            string
	Pinned, Important  bool
	Confirmed          bool
	Status, StatusWord string
	Audience           string
	Confirmations      int
	// Words the cards show beside a pinned or important notice.
	PinnedWord, ConfirmWord string
}

func noticeRow0(p *pageData, n content.Notice) noticeRow {
	r := noticeRow{ID: n.ID, Title: n.Title, Summary: n.Summary, Category: n.Category, CatWord: p.L.Or("news.cat."+n.Category, n.Category),
		When: p.Date(n.PublishAt), Expires: p.DatePtr(n.ExpiresAt), Pinned: n.Pinned, Important: n.Important, Confirmed: n.ConfirmedAt != nil,
		Status: n.Status, StatusWord: p.L.Or("news.status."+n.Status, n.Status)}
	if n.Confirmations != nil {
		r.Confirmations = *n.Confirmations
	}
	if n.Pinned {
		r.PinnedWord = p.L.T("news.pinned")
	}
	if n.Important {
		r.ConfirmWord = p.L.T("news.toconfirm")
		if r.Confirmed {
			r.ConfirmWord = p.L.T("news.confirmed")
		}
	}
	switch n.Audience.Scope {
	case content.AudienceGrids:
		r.Audience = p.L.T("compose.audience.grids.n", len(n.Audience.GridIDs))
	case content.AudienceBuildings:
		r.Audience = p.L.T("compose.audience.buildings.n", len(n.Audience.BuildingIDs))
	default:
		r.Audience = p.L.T("compose.audience.community")
	}
	return r
}

// feedPart is the news on the resident's home page: the latest notices
// (pinned first), important ones not yet confirmed said so.
type feedPart struct {
	Notices []noticeRow
	More    bool
	// Unconfirmed counts the important notices still to confirm.
	Unconfirmed int
}

func (s *Server) feedPart(ctx context.Context, p *pageData) (*feedPart, error) {
	a := p.Actor
	if !a.Can(auth.PermContentRead) {
		return nil, nil
	}
	read, _ := contentScopes(a)
	// The resident's own feed: what is addressed to their home.
	if r := ownHousehold(read); len(r) > 0 {
		read = r
	}
	l, err := s.noticeList(ctx, read, content.NoticeFilter{Page: shequ.Page{Limit: 5}})
	if err != nil {
		return nil, err
	}
	f := &feedPart{More: l.Total > len(l.Items)}
	for _, n := range l.Items {
		row := noticeRow0(p, n)
		if row.Important && !row.Confirmed {
			f.Unconfirmed++
		}
		f.Notices = append(f.Notices, row)
	}
	return f, nil
}

// --- the news ---

type newsBody struct {
	Category   string
	Categories []string
	Rows       []noticeRow
	Pager      pager
}

func (s *Server) newsPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("news.title")
	b := newsBody{Category: q.Get("category"), Categories: content.NoticeCategories}
	if !slices.Contains(b.Categories, b.Category) {
		b.Category = ""
	}
	read, _ := contentScopes(p.Actor)
	if own := ownHousehold(read); len(own) > 0 {
		read = own
	}
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[content.Notice], error) {
		return s.noticeList(ctx, read, content.NoticeFilter{Category: b.Category, Page: pg})
	})
	if err != nil {
		return "", err
	}
	for _, x := range l.Items {
		b.Rows = append(b.Rows, noticeRow0(p, x))
	}
	b.Pager = newPager("/news", q, []string{"category"}, n, l.Total)
	p.Body = b
	return "resident/news", nil
}

type noticeBodyView struct {
	Row         noticeRow
	Author      string
	Body        template.HTML
	Attachments []content.Attachment
	CanConfirm  bool
	ConfirmedAt string
	JustNow     bool
	CanTrack    bool
}

func (s *Server) noticePage(r *http.Request, p *pageData) (string, error) {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	read, write := contentScopes(a)
	n, err := s.store.Notice(ctx, read, write, id)
	if err != nil {
		return "", err
	}
	b := noticeBodyView{Row: noticeRow0(p, n), Author: n.AuthorName, Attachments: n.Attachments, JustNow: r.URL.Query().Get("confirmed") == "1",
		// The store renders the Markdown through an allow-list.
		Body: template.HTML(n.BodyHTML)}
	if n.ConfirmedAt != nil {
		b.ConfirmedAt = p.Date(*n.ConfirmedAt)
	}
	b.CanConfirm = n.Important && n.ConfirmedAt == nil && n.Status == content.StatusLive && len(ownHousehold(a.Scope(auth.PermContentConfirm))) > 0
	b.CanTrack = n.Important && a.Can(auth.PermContentTrack) && len(staffScope(a, auth.PermContentTrack)) > 0
	p.Title = n.Title
	p.Body = b
	return "resident/notice", nil
}

// noticeConfirm records that the resident's household has read an
// important notice.
func (s *Server) noticeConfirm(w http.ResponseWriter, r *http.Request, p *pageData) error {
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	if _, err := s.store.ConfirmNotice(r.Context(), ownHousehold(p.Actor.Scope(auth.PermContentConfirm)), id); err != nil {
		return err
	}
	s.changed()
	next := fmt.Sprintf("/news/%d?confirmed=1", id)
	if r.PostFormValue("back") == "home" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// --- guides and policies ---

type guidesBody struct {
	Category   string
	Categories []string
	Rows       []content.Guide
	Pager      pager
}

func (s *Server) guidesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("guides.title")
	b := guidesBody{Category: q.Get("category"), Categories: content.GuideCategories}
	if !slices.Contains(b.Categories, b.Category) {
		b.Category = ""
	}
	sc := p.Actor.Scope(auth.PermContentRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[content.Guide], error) {
		return s.store.ListGuides(ctx, sc, content.ListFilter{Category: b.Category, Page: pg})
	})
	if err != nil {
		return "", err
	}
	b.Rows = l.Items
	b.Pager = newPager("/guides", q, []string{"category"}, n, l.Total)
	p.Body = b
	return "resident/guides", nil
}

type contactView2 struct {
	Name, Phone, Note string
	Tel               template.URL
}

type guideView struct {
	G        content.Guide
	Body     template.HTML
	Contacts []contactView2
}

func contactsOf(cs []content.ServiceContact) []contactView2 {
	var out []contactView2
	for _, c := range cs {
		out = append(out, contactView2{Name: c.Name, Phone: c.Phone, Note: c.Note, Tel: telURL(c.Phone)})
	}
	return out
}

func (s *Server) guidePage(r *http.Request, p *pageData) (string, error) {
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	g, err := s.store.Guide(r.Context(), p.Actor.Scope(auth.PermContentRead), id)
	if err != nil {
		return "", err
	}
	p.Title = g.Name
	p.Body = guideView{G: g, Body: template.HTML(g.BodyHTML), Contacts: contactsOf(g.Contacts)}
	return "resident/guide", nil
}

type policyRow struct {
	P          content.Policy
	From, To   string
	StatusWord string
}

type policiesBody struct {
	Rows  []policyRow
	Pager pager
}

func (s *Server) policiesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("policies.title")
	read, _ := contentScopes(p.Actor)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[content.Policy], error) {
		return s.store.ListPolicies(ctx, read, nil, content.ListFilter{Page: pg})
	})
	if err != nil {
		return "", err
	}
	var b policiesBody
	for _, x := range l.Items {
		b.Rows = append(b.Rows, policyRow{P: x, From: p.Date(x.ValidFrom), To: p.DatePtr(x.ValidUntil), StatusWord: p.L.Or("news.status."+x.Status, x.Status)})
	}
	b.Pager = newPager("/policies", q, nil, n, l.Total)
	p.Body = b
	return "resident/policies", nil
}

type policyView struct {
	Row    policyRow
	Body   template.HTML
	Guides []content.Guide
}

func (s *Server) policyPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	read, write := contentScopes(p.Actor)
	x, err := s.store.Policy(ctx, read, write, id)
	if err != nil {
		return "", err
	}
	v := policyView{Row: policyRow{P: x, From: p.Date(x.ValidFrom), To: p.DatePtr(x.ValidUntil), StatusWord: p.L.Or("news.status."+x.Status, x.Status)}, Body: template.HTML(x.BodyHTML)}
	for _, gid := range x.GuideIDs {
		if g, err := s.store.Guide(ctx, read, gid); err == nil {
			v.Guides = append(v.Guides, g)
		}
	}
	p.Title = x.Title
	p.Body = v
	return "resident/policy", nil
}

// --- staff: notices, composing, confirmations ---

type noticesBody struct {
	Status   string
	Statuses []string
	Rows     []noticeRow
	Pager    pager
	CanTrack bool
	Created  bool
}

var noticeStatuses = []string{content.StatusAll, content.StatusScheduled, content.StatusLive, content.StatusExpired}

func (s *Server) noticesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("notices.title")
	b := noticesBody{Status: q.Get("status"), Statuses: noticeStatuses, CanTrack: p.Actor.Can(auth.PermContentTrack), Created: q.Get("created") == "1"}
	if !slices.Contains(noticeStatuses, b.Status) {
		b.Status = content.StatusAll
	}
	write := staffScope(p.Actor, auth.PermContentWrite)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[content.Notice], error) {
		return s.store.ListNotices(ctx, nil, write, content.NoticeFilter{Status: b.Status, Page: pg})
	})
	if err != nil {
		return "", err
	}
	for _, x := range l.Items {
		b.Rows = append(b.Rows, noticeRow0(p, x))
	}
	b.Pager = newPager("/notices", q, []string{"status"}, n, l.Total)
	p.Body = b
	return "staff/notices", nil
}

// composeForm is the notice being written, as the form shows it.
type composeForm struct {
	Title, Body, Category string
	Categories            []string
	Audience              string
	Grids                 []targetOption
	Buildings             []targetOption
	// WholeCommunity says whether the writer may address everyone.
	WholeCommunity bool
	When           string // now or later
	PublishAt      string // datetime-local, in the community's zone
	ExpiresAt      string
	Pinned         bool
	Important      bool
	// Broadcast is the tick "also read on the loudspeakers".
	Broadcast bool
	Errors    map[string]string
	Error     string
	Zone      string
}

type targetOption struct {
	ID      int64
	Name    string
	Checked bool
}

const localFormat = "2006-01-02T15:04"

func (s *Server) newComposeForm(ctx context.Context, p *pageData) (*composeForm, error) {
	a := p.Actor
	f := &composeForm{Category: content.CategoryNotice, Categories: content.NoticeCategories, Audience: content.AudienceCommunity, When: "now",
		Errors: map[string]string{}, Zone: p.zone.String()}
	write := staffScope(a, auth.PermContentWrite)
	for _, r := range write {
		if r.GridID == 0 {
			f.WholeCommunity = true
		}
	}
	if !f.WholeCommunity {
		f.Audience = content.AudienceGrids
	}
	gs, err := s.store.ListGrids(ctx, write, community.Filter{Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	for _, g := range gs.Items {
		f.Grids = append(f.Grids, targetOption{ID: g.ID, Name: g.Name})
	}
	bs, err := s.store.ListBuildings(ctx, write, community.Filter{Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	for _, b := range bs.Items {
		f.Buildings = append(f.Buildings, targetOption{ID: b.ID, Name: b.Name})
	}
	// A grid worker's one grid is ticked for them.
	if !f.WholeCommunity && len(f.Grids) == 1 {
		f.Grids[0].Checked = true
	}
	return f, nil
}

func (s *Server) composePage(r *http.Request, p *pageData) (string, error) {
	f, err := s.newComposeForm(r.Context(), p)
	if err != nil {
		return "", err
	}
	p.Title = p.L.T("compose.title")
	p.Body = f
	return "staff/notice_new", nil
}

// composeSubmit writes the notice, now or for later, and goes to the list
// of notices.
func (s *Server) composeSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx := r.Context()
	f, err := s.newComposeForm(ctx, p)
	if err != nil {
		return err
	}
	form := r.PostForm
	f.Title, f.Body, f.Category = strings.TrimSpace(form.Get("title")), form.Get("body"), form.Get("category")
	f.Audience, f.When, f.PublishAt, f.ExpiresAt = form.Get("audience"), form.Get("when"), form.Get("publish_at"), form.Get("expires_at")
	f.Pinned, f.Important, f.Broadcast = form.Get("pinned") == "1", form.Get("important") == "1", form.Get("broadcast") == "1"
	ids := func(name string, opts []targetOption) []int64 {
		var out []int64
		for i := range opts {
			opts[i].Checked = slices.Contains(form[name], strconv.FormatInt(opts[i].ID, 10))
			if opts[i].Checked {
				out = append(out, opts[i].ID)
			}
		}
		return out
	}
	grids, buildings := ids("grid", f.Grids), ids("building", f.Buildings)

	n := content.Notice{Title: f.Title, Body: f.Body, Category: f.Category, Pinned: f.Pinned, Important: f.Important, Broadcast: f.Broadcast,
		AuthorName: p.Actor.User.DisplayName}
	switch f.Audience {
	case content.AudienceGrids:
		n.Audience = content.Grids(grids...)
		if len(grids) == 0 {
			f.Errors["audience"] = p.L.T("compose.error.audience")
		}
	case content.AudienceBuildings:
		n.Audience = content.Buildings(buildings...)
		if len(buildings) == 0 {
			f.Errors["audience"] = p.L.T("compose.error.audience")
		}
	default:
		f.Audience = content.AudienceCommunity
		n.Audience = content.Community()
	}
	parse := func(field, v string) *time.Time {
		if strings.TrimSpace(v) == "" {
			return nil
		}
		t, err := time.ParseInLocation(localFormat, v, p.zone)
		if err != nil {
			f.Errors[field] = p.L.T("compose.error.time")
			return nil
		}
		return &t
	}
	now := s.clock.Now()
	if f.When == "later" {
		at := parse("publish_at", f.PublishAt)
		switch {
		case at == nil && f.Errors["publish_at"] == "":
			f.Errors["publish_at"] = p.L.T("compose.error.when")
		case at != nil && !at.After(now):
			f.Errors["publish_at"] = p.L.T("compose.error.past")
		case at != nil:
			n.PublishAt = *at
		}
	} else {
		f.When = "now"
	}
	n.ExpiresAt = parse("expires_at", f.ExpiresAt)
	if f.Title == "" {
		f.Errors["title"] = p.L.T("compose.error.title")
	}
	if strings.TrimSpace(f.Body) == "" {
		f.Errors["body"] = p.L.T("compose.error.body")
	}
	fail := func(status int) error {
		p.Title, p.Self = p.L.T("compose.title"), "/notices/new"
		f.Error = p.L.T("matterform.fix")
		p.Body = f
		s.render(w, r, p, "staff/notice_new", status)
		return nil
	}
	if len(f.Errors) > 0 {
		return fail(http.StatusUnprocessableEntity)
	}
	if n.CommunityID, err = s.transferCommunity(ctx, auth.PermContentWrite, 0); err != nil {
		return err
	}
	if err := s.store.CreateNotice(ctx, p.Actor.Scope(auth.PermContentWrite), &n); err != nil {
		var se *shequ.Error
		if !errors.As(err, &se) || (se.Code != shequ.EINVALID && se.Code != shequ.EFORBIDDEN) {
			return err
		}
		if se.Code == shequ.EFORBIDDEN {
			f.Errors["audience"] = p.L.T("compose.error.reach")
			return fail(http.StatusForbidden)
		}
		for field := range se.Fields {
			key := field
			if strings.HasPrefix(field, "audience") {
				key = "audience"
			}
			f.Errors[key] = p.L.Or("compose.error."+key, p.L.T("compose.error.other"))
		}
		return fail(http.StatusUnprocessableEntity)
	}
	s.changed()
	http.Redirect(w, r, "/notices?created=1", http.StatusSeeOther)
	return nil
}

type trackBody struct {
	Row         noticeRow
	Confirmed   int
	Unconfirmed int
	Rows        []trackRow
	Pager       pager
}

type trackRow struct {
	Place, Grid, Household string
	Floor                  int
	Residents              []content.Resident
}

// trackPage lists the households of an important notice's audience, in
// the caller's area, that have not confirmed it: where to knock.
func (s *Server) trackPage(r *http.Request, p *pageData) (string, error) {
	ctx, q, a := r.Context(), r.URL.Query(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return "", err
	}
	track := staffScope(a, auth.PermContentTrack)
	if len(track) == 0 {
		return "", shequ.Errorf(shequ.EFORBIDDEN, "following confirmations is for staff")
	}
	n, err := s.store.Notice(ctx, a.Scope(auth.PermContentRead), track, id)
	if err != nil {
		return "", err
	}
	l, pn, err := listPage(q, func(pg shequ.Page) (shequ.List[content.UnconfirmedHousehold], error) {
		return s.store.UnconfirmedHouseholds(ctx, track, id, pg)
	})
	if err != nil {
		return "", err
	}
	b := trackBody{Row: noticeRow0(p, n), Unconfirmed: l.Total}
	if n.Confirmations != nil {
		b.Confirmed = *n.Confirmations
	}
	for _, h := range l.Items {
		place := strings.TrimSpace(h.BuildingName + " " + h.Entrance + " " + h.Door)
		b.Rows = append(b.Rows, trackRow{Place: place, Grid: h.GridName, Household: h.HouseholdName, Floor: h.Floor, Residents: h.Residents})
	}
	b.Pager = newPager(fmt.Sprintf("/notices/%d/confirmations", id), q, nil, pn, l.Total)
	p.Title = p.L.T("track.title", n.Title)
	p.Body = b
	return "staff/notice_track", nil
}
