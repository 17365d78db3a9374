package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/media"
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

// formPhoto finds the optional photo of a form and checks it: nil when
// none was chosen. Its type is judged from its bytes, as the API does;
// it is put in the media store only once what it goes with is stored.
func formPhoto(r *http.Request) (*multipart.FileHeader, error) {
	if r.MultipartForm == nil {
		return nil, nil
	}
	for _, fh := range r.MultipartForm.File["photo"] {
		if fh.Size == 0 {
			continue
		}
		if fh.Size > maxPhoto {
			return nil, errPhoto
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		head := make([]byte, 512)
		n, err := io.ReadFull(f, head)
		f.Close()
		if err != nil && err != io.ErrUnexpectedEOF {
			return nil, err
		}
		if !media.Photo.Takes(http.DetectContentType(head[:n])) {
			return nil, errPhoto
		}
		return fh, nil
	}
	return nil, nil
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

	ms, err := s.store.ListMatters(ctx, residentScope(a, auth.PermMatterRead), matter.Filter{Page: shequ.Page{Limit: 3}})
	if err != nil {
		return "", err
	}
	// The categories name the matters shown; a home without matters does
	// not read them (every category with its attributes, on each visit).
	var cats map[string]matter.Category
	if len(ms.Items) > 0 {
		if _, cats, err = s.categories(ctx, a); err != nil {
			return "", err
		}
	}
	now := s.clock.Now()
	for _, m := range ms.Items {
		b.Matters = append(b.Matters, s.matterRow(p, m, cats, nil, now))
	}
	open, err := s.store.ListMatters(ctx, residentScope(a, auth.PermMatterRead), matter.Filter{Status: "open", Page: shequ.Page{Limit: 1}})
	if err != nil {
		return "", err
	}
	b.Open = open.Total

	if a.Can(auth.PermBoardRead) {
		posts, err := s.store.ListPosts(ctx, a.Scope(auth.PermBoardRead), lostfound.Filter{Page: shequ.Page{Limit: 2}})
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
	return "resident/home", nil
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

// --- the submit form ---

// --- one matter, as its resident sees it ---

// --- lost and found ---

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
	s.render(w, r, p, "resident/offline", http.StatusOK)
}
