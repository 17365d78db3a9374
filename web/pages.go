package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

//go:embed static templates
var pageFS embed.FS

// Page security headers. The policy allows no inline script or style, so
// every script and style sheet is a file under /static.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"

// textCookie remembers the "large text" choice.
const textCookie = "text"

// prefsMaxAge is how long language and text size are remembered.
const prefsMaxAge = 365 * 24 * 60 * 60

var (
	staticFS = mustSub(pageFS, "static")
	// assetVersion busts caches of /static files: the URLs carry it, so
	// the files can be cached for a year.
	assetVersion = hashFS(staticFS)
	views        = mustParseViews()
)

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}

func hashFS(f fs.FS) string {
	h := sha256.New()
	err := fs.WalkDir(f, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(f, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		panic(err)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// Templates live in folders by audience: common/ (layout, login, error, the
// dashboard), staff/, resident/, field/ and assoc/; parts/ holds the named
// pieces several pages share. A view is named by its path without
// ".html", e.g. "resident/matter" or "common/login".
const (
	layoutTemplate = "templates/common/layout.html"
	partsPattern   = "templates/parts/*.html"
)

var viewFolders = []string{"common", "staff", "resident", "field", "assoc"}

// viewSet holds the pages' templates. The layout and the shared parts are
// parsed once, at start; a page is added to its own copy of them the first
// time it is rendered. Building every page at start (a clone of the layout
// and parts each) took 214 ms of every start and kept 18 MB on an idle
// server (issue 13's aims: a second start to /readyz within 0.3 s, idle
// RSS within 60 MB). TestEveryViewBuilds builds them all, so a broken
// template still fails the tests rather than a first visit.
type viewSet struct {
	base *template.Template
	// views builds each view once, at its first get; the map itself is
	// only read after start, so a look-up takes no lock.
	views map[string]func() *template.Template
}

// mustParseViews parses the layout and the shared parts and finds the
// pages; each page is parsed last, on its own copy of them (get), so
// that every page can define its own "content" and "results". A page
// could override a part; none does today.
func mustParseViews() *viewSet {
	base := template.New("base")
	mustParseFile(base, layoutTemplate)
	parts, err := fs.Glob(pageFS, partsPattern)
	if err != nil {
		panic(err)
	}
	for _, p := range parts {
		mustParseFile(base, p)
	}
	v := &viewSet{base: base, views: map[string]func() *template.Template{}}
	for _, dir := range viewFolders {
		pages, err := fs.Glob(pageFS, "templates/"+dir+"/*.html")
		if err != nil {
			panic(err)
		}
		for _, p := range pages {
			if p != layoutTemplate {
				v.views[strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")] = sync.OnceValue(func() *template.Template {
					t := template.Must(base.Clone())
					mustParseFile(t, p)
					return t
				})
			}
		}
	}
	// A template outside the folders above would silently not be a view.
	all, err := fs.Glob(pageFS, "templates/*")
	if err != nil {
		panic(err)
	}
	for _, p := range all {
		if d := path.Base(p); d != "parts" && !slices.Contains(viewFolders, d) {
			panic(fmt.Sprintf("%s: templates belong in parts/ or one of %v", p, viewFolders))
		}
	}
	return v
}

// get returns the template of the named view, building it at its first
// use; false for a name that is no view. A page that does not parse is
// a programming error, as it was when every page was parsed at start.
func (v *viewSet) get(name string) (*template.Template, bool) {
	build, ok := v.views[name]
	if !ok {
		return nil, false
	}
	return build(), true
}

// names lists the views.
func (v *viewSet) names() []string {
	return slices.Sorted(maps.Keys(v.views))
}

// mustParseFile adds the file at p to t under its path, so that files of
// the same base name in different folders do not replace each other.
func mustParseFile(t *template.Template, p string) {
	b, err := fs.ReadFile(pageFS, p)
	if err != nil {
		panic(err)
	}
	template.Must(t.New(p).Parse(string(b)))
}

// pageData is what every template gets; Body is the page's own data.
type pageData struct {
	L         *locale
	Title     string
	Actor     *auth.Actor
	Community string
	Nav       *navMenu
	// CSRF is the session's token, for forms that post.
	CSRF string
	// Self is this page's address: switching language comes back to it.
	Self  string
	Large bool
	// OOB marks a partial answer to htmx that also refreshes the
	// preferences form, so that it returns to the filtered address.
	OOB   bool
	Asset string
	Body  any

	zone *time.Location
	// communityID is the community the header names: the one whose
	// ledgers and figures a page shows to a user of several.
	communityID int64
}

// Langs lists the switcher's choices.
func (p *pageData) Langs() []*locale {
	out := make([]*locale, len(langOrder))
	for i, tag := range langOrder {
		out[i] = locales[tag]
	}
	return out
}

// HXHeaders is the hx-headers value that lets htmx writes pass the API's
// CSRF check.
func (p *pageData) HXHeaders() string {
	if p.CSRF == "" {
		return ""
	}
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": p.CSRF})
	return string(b)
}

// Date shows t in the community's time zone, in the page's language.
func (p *pageData) Date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(p.zone).Format(p.L.T("format.datetime"))
}

// DatePtr is Date for optional times.
func (p *pageData) DatePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return p.Date(*t)
}

// RoleNames lists the actor's roles in the page's language.
func (p *pageData) RoleNames() string {
	if p.Actor == nil {
		return ""
	}
	var names []string
	for _, r := range p.Actor.Roles() {
		names = append(names, p.L.Or("role."+string(r), string(r)))
	}
	return strings.Join(names, p.L.T("list.sep"))
}

// navEntry is one destination of the menu: the page, who sees it, where
// it sits. A new page joins the menus with one entry in navItems; nav.go
// builds each person's menu from them.
type navEntry struct {
	key, href string
	// perm is what the entry needs; the handler checks the same
	// permission, since hiding a link is not protection.
	perm auth.Permission
	// unless hides the item from those who have this permission too: they
	// get another item to the same page.
	unless auth.Permission
	// group is the heading the entry sits under in the menu (navGroups).
	group string
	// roles, when set, keeps the entry to these roles: perm must come
	// from a grant of one of them. A resident may read homes (their own),
	// but /homes is a staff page.
	roles []auth.Role
	// bar puts the entry on the phone's bottom bar of these roles, in
	// this order (1 first); the bar has room for navBarMax.
	bar map[auth.Role]int
	// everywhere keeps the entry to those whose perm reaches every
	// community: the deployment's own pages.
	everywhere bool
	// short is the key of the bar's shorter label, when the menu's is too
	// long for a fifth of a phone at 200 % text.
	short string
}

// navGroups are the menu's headings, in order.
var navGroups = []string{"alarm", "work", "community", "assoc", "info", "broadcast", "admin"}

// staffRoles are every role but the resident's.
var staffRoles = slices.DeleteFunc(slices.Clone(auth.Roles), func(r auth.Role) bool { return r == auth.RoleResident })

// navItems are the menu in order within each group, with the permission
// each needs.
var navItems = []navEntry{
	{key: "nav.home", href: "/", group: "community", bar: map[auth.Role]int{
		auth.RoleResident: 1, auth.RoleAdmin: 1, auth.RoleGridWorker: 3, auth.RoleBuildingHead: 2, auth.RoleOperator: 4,
		auth.RolePolice: 2, auth.RoleAssociationMember: 4, auth.RoleAssociationChair: 4, auth.RoleBroadcastManager: 3, auth.RolePartner: 2,
	}},
	{key: "nav.console", href: "/console", perm: auth.PermAlarmRead, group: "alarm", roles: staffRoles, short: "nav.bar.console",
		bar: map[auth.Role]int{auth.RoleOperator: 1, auth.RolePolice: 1, auth.RoleAdmin: 2}},
	{key: "nav.myalarm", href: "/my/alarm", perm: auth.PermSOS, group: "alarm", short: "nav.bar.myalarm",
		bar: map[auth.Role]int{auth.RoleResident: 2}},
	{key: "nav.mykeys", href: "/my/keys", perm: auth.PermAccessOwn, group: "alarm"},
	{key: "nav.access", href: "/access", perm: auth.PermAccessManage, group: "alarm", roles: staffRoles},
	{key: "nav.accesslog", href: "/access/log", perm: auth.PermAccessRead, unless: auth.PermAccessOwn, group: "alarm", roles: staffRoles},
	{key: "nav.dispatches", href: "/my/dispatches", perm: auth.PermIncidentAttend, group: "alarm", short: "nav.bar.dispatches",
		bar: map[auth.Role]int{auth.RoleGridWorker: 1, auth.RoleBuildingHead: 1}},
	{key: "nav.mymatters", href: "/my/matters", perm: auth.PermMatterOwn, group: "work", short: "nav.bar.mymatters",
		bar: map[auth.Role]int{auth.RoleResident: 3}},
	{key: "nav.matters", href: "/matters", perm: auth.PermMatterHandle, group: "work", short: "nav.bar.matters",
		bar: map[auth.Role]int{auth.RoleGridWorker: 2, auth.RoleOperator: 2, auth.RoleAdmin: 3}},
	{key: "nav.lostfound", href: "/lostfound", perm: auth.PermBoardRead, group: "work"},
	{key: "nav.homes", href: "/homes", perm: auth.PermHomesRead, group: "community", roles: staffRoles,
		bar: map[auth.Role]int{auth.RoleOperator: 3, auth.RolePolice: 3, auth.RoleBuildingHead: 3}},
	{key: "nav.people", href: "/people", perm: auth.PermPeopleRead, group: "community", roles: staffRoles,
		bar: map[auth.Role]int{auth.RolePolice: 4}},
	{key: "nav.devices", href: "/devices", perm: auth.PermDevicesRead, group: "community", roles: staffRoles},
	{key: "nav.associations", href: "/associations", perm: auth.PermAssociationsRead, group: "assoc", roles: staffRoles},
	{key: "nav.workspace", href: "/ledgers", perm: auth.PermLedgerWrite, group: "assoc", short: "nav.bar.ledgers",
		bar: map[auth.Role]int{auth.RoleAssociationMember: 1, auth.RoleAssociationChair: 1}},
	{key: "nav.shared", href: "/ledgers", perm: auth.PermLedgerRead, unless: auth.PermLedgerWrite, group: "assoc", short: "nav.bar.ledgers",
		bar: map[auth.Role]int{auth.RolePartner: 1}},
	{key: "nav.cases", href: "/cases", perm: auth.PermCaseRead, group: "assoc",
		bar: map[auth.Role]int{auth.RoleAssociationMember: 2, auth.RoleAssociationChair: 2}},
	{key: "nav.mediations", href: "/mediations", perm: auth.PermCaseRead, group: "assoc",
		bar: map[auth.Role]int{auth.RoleAssociationMember: 3, auth.RoleAssociationChair: 3}},
	{key: "nav.stats", href: "/stats", perm: auth.PermStatsRead, group: "assoc", bar: map[auth.Role]int{auth.RoleAdmin: 4}},
	{key: "nav.news", href: "/news", perm: auth.PermContentRead, group: "info", short: "nav.bar.news",
		bar: map[auth.Role]int{auth.RoleResident: 4}},
	{key: "nav.guides", href: "/guides", perm: auth.PermContentRead, group: "info"},
	{key: "nav.policies", href: "/policies", perm: auth.PermContentRead, group: "info"},
	{key: "nav.notices", href: "/notices", perm: auth.PermContentWrite, group: "info", short: "nav.bar.notices",
		bar: map[auth.Role]int{auth.RoleBroadcastManager: 2}},
	{key: "nav.mybroadcast", href: "/my/broadcast", perm: auth.PermBroadcastDedicate, unless: auth.PermBroadcastRead, group: "broadcast"},
	{key: "nav.broadcast", href: "/broadcast", perm: auth.PermBroadcastRead, group: "broadcast",
		bar: map[auth.Role]int{auth.RoleBroadcastManager: 1}},
	{key: "nav.audit", href: "/audit", perm: auth.PermAuditRead, group: "admin"},
	{key: "nav.users", href: "/users", perm: auth.PermUsersManage, group: "admin"},
	{key: "nav.jobs", href: "/jobs", perm: auth.PermJobsManage, group: "admin", everywhere: true},
	{key: "nav.ops", href: "/ops", perm: auth.PermJobsManage, group: "admin", everywhere: true},
	{key: "nav.privacy", href: "/privacy/requests", perm: auth.PermPrivacyReview, group: "admin"},
	{key: "nav.assistance", href: "/assistance", perm: auth.PermAssistanceRead, group: "assoc"},
	{key: "nav.openings", href: "/openings", perm: auth.PermOpeningsWrite, group: "assoc"},
	{key: "nav.alarms", href: "/alarms", perm: auth.PermAlarmRead, unless: auth.PermSOS, group: "alarm", roles: staffRoles},
	{key: "nav.autoarm", href: "/my/autoarm", perm: auth.PermSOS, group: "alarm"},
	{key: "nav.map", href: "/map", perm: auth.PermDevicesRead, group: "community", roles: staffRoles},
	{key: "nav.footage", href: "/footage", perm: auth.PermFootageRequest, group: "alarm", roles: staffRoles},
	{key: "nav.footage.warnings", href: "/footage/warnings", perm: auth.PermWarningRequest, group: "alarm", roles: staffRoles},
	{key: "nav.warnings", href: "/warnings", perm: auth.PermWarningRead, unless: auth.PermWarningRequest, group: "info"},
}

// pageFunc fills in a page and names the view that shows it.
type pageFunc func(r *http.Request, p *pageData) (view string, err error)

func (s *Server) registerPages() {
	static := http.FileServerFS(staticFS)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r) // no directory listings
			return
		}
		if r.URL.Query().Get("v") == assetVersion {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "public, max-age=3600")
		}
		if r.URL.Path == "app.css" {
			serveAppCSS(w, r) // joined from static/css (assets.go)
			return
		}
		static.ServeHTTP(w, r)
	})))

	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.loginSubmit)
	s.mux.HandleFunc("POST /logout", s.logoutSubmit)
	s.mux.HandleFunc("POST /prefs", s.prefsSubmit)

	s.mux.HandleFunc("GET /{$}", s.homeRoute) // homecache.go
	s.pageRoute("GET /homes", "/homes", auth.PermHomesRead, s.homesPage)
	s.pageRoute("GET /people", "/people", auth.PermPeopleRead, s.peoplePage)
	s.pageRoute("GET /devices", "/devices", auth.PermDevicesRead, s.devicesPage)
	s.pageRoute("GET /associations", "/associations", auth.PermAssociationsRead, s.associationsPage)
	s.pageRoute("GET /audit", "/audit", auth.PermAuditRead, s.auditPage)
	s.pageRoute("GET /users", "/users", auth.PermUsersManage, s.usersPage)
	s.registerAlarmPages()
	s.registerFieldPages()
	s.registerServicePages()
	s.registerAssocPages()
	s.registerJobsPages()
	s.registerOpsPages()
	s.registerPrivacyPages()
	s.registerBroadcastPages()
	s.registerAccessPages()
	s.registerWorkPages()
	s.registerEvidencePages()
}

func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	// Pages hold personal data and differ by session and language.
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Cookie, Accept-Language, HX-Request")
}

// newPage starts the data of a page for r, signed in or not.
func (s *Server) newPage(r *http.Request) *pageData {
	p := &pageData{L: pickLocale(r), Actor: auth.ActorFrom(r.Context()), Self: "/", Asset: assetVersion, zone: defaultZone}
	if r.Method == http.MethodGet {
		p.Self = r.URL.RequestURI()
	}
	if c, err := r.Cookie(textCookie); err == nil && c.Value == "large" {
		p.Large = true
	}
	if p.Actor != nil {
		p.CSRF = p.Actor.Session.CSRFToken
	}
	return p
}

// withCommunity names the actor's community in the header and takes its
// time zone. With several communities the first one sets the zone.
func (s *Server) withCommunity(r *http.Request, p *pageData) {
	l, err := s.store.ListCommunities(r.Context(), p.Actor.Scope(auth.PermCommunitiesRead), shequ.Page{Limit: 1})
	if err != nil {
		s.log.Error("page community", "err", err)
		return
	}
	if len(l.Items) == 0 {
		return
	}
	c := l.Items[0]
	p.Community = communityName(p.L, c)
	p.zone = zoneOf(c.Timezone)
	p.communityID = c.ID
}

func communityName(l *locale, c community.Community) string {
	if l.Tag == langEn && c.NameEn != "" {
		return c.NameEn
	}
	return c.Name
}

// pageRoute registers a page that needs a session and, unless perm is
// empty, a permission.
func (s *Server) pageRoute(pattern, navHref string, perm auth.Permission, h pageFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.signedInPage(w, r, navHref, perm)
		if !ok {
			return
		}
		view, err := h(r, p)
		if err != nil {
			s.renderErr(w, r, p, err)
			return
		}
		s.render(w, r, p, view, http.StatusOK)
	})
}

// signedInPage starts a page that needs a session and, unless perm is
// empty, a permission; without them it answers (the login page, or a 403)
// and reports false.
func (s *Server) signedInPage(w http.ResponseWriter, r *http.Request, navHref string, perm auth.Permission) (*pageData, bool) {
	pageHeaders(w)
	p := s.newPage(r)
	if p.Actor == nil {
		target := "/login"
		if r.URL.Path != "/" {
			target += "?next=" + url.QueryEscape(r.URL.RequestURI())
		}
		if r.Header.Get("HX-Request") == "true" {
			// htmx would swap the login page into a table.
			w.Header().Set("HX-Redirect", target)
			w.WriteHeader(http.StatusUnauthorized)
			return nil, false
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil, false
	}
	s.withCommunity(r, p)
	p.Nav = navFor(p.Actor, navHref)
	if perm != "" && !p.Actor.Can(perm) {
		s.renderError(w, r, p, http.StatusForbidden, "error.forbidden")
		return nil, false
	}
	return p, true
}

// downloadFunc writes a file for a page's link; an error becomes the
// error page.
type downloadFunc func(w http.ResponseWriter, r *http.Request, p *pageData) error

// downloadRoute registers a file download (an export) that needs what a
// page needs.
func (s *Server) downloadRoute(pattern, navHref string, perm auth.Permission, h downloadFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.signedInPage(w, r, navHref, perm)
		if !ok {
			return
		}
		if err := h(w, r, p); err != nil {
			s.renderErr(w, r, p, err)
		}
	})
}

// wantsResults reports whether r is htmx asking for a list's results only.
// History restores get the whole page.
func wantsResults(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-History-Restore-Request") != "true" &&
		r.Header.Get("HX-Target") == "results"
}

// render executes a view into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, p *pageData, view string, status int) {
	b, err := execute(r, p, view)
	if err != nil {
		s.log.Error("render page", "view", view, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	writePage(w, status, b)
}

// execute renders a view for r: the whole page, or its results for htmx.
func execute(r *http.Request, p *pageData, view string) ([]byte, error) {
	t, ok := views.get(view)
	if !ok {
		return nil, fmt.Errorf("no such view %q", view)
	}
	name := "layout"
	if wantsResults(r) && t.Lookup("results") != nil {
		name, p.OOB = "results", true
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writePage sends a rendered page.
func writePage(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(b)
}

type errorBody struct {
	Message string
}

// renderError shows a whole error page, also to htmx, which then replaces
// the page with it (see the HX-Retarget below).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, p *pageData, status int, key string) {
	p.Title = p.L.T(key + ".title")
	p.Body = errorBody{Message: p.L.T(key)}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Retarget", "body")
		w.Header().Set("HX-Reswap", "innerHTML")
		r.Header.Del("HX-Target")
	}
	s.render(w, r, p, "common/error", status)
}

// errorPages names the message of the error page for each code a page can
// explain to its reader; the status is the API's, from statusOf.
var errorPages = map[string]string{
	shequ.ENOTFOUND:  "error.notfound",
	shequ.EFORBIDDEN: "error.forbidden",
	shequ.EINVALID:   "error.invalid",
}

// renderErr turns a store error into an error page. Any other code is a
// failure of ours: logged, and shown as internal.
func (s *Server) renderErr(w http.ResponseWriter, r *http.Request, p *pageData, err error) {
	code := shequ.ErrorCode(err)
	key, ok := errorPages[code]
	if !ok {
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
		code, key = shequ.EINTERNAL, "error.internal"
	}
	s.renderError(w, r, p, statusOf[code], key)
}

// --- signing in and out ---

type loginBody struct {
	Username string
	Next     string
	Error    string
}

// localPath returns next when it is a path on this site, "/" otherwise, so
// that the login form cannot be used to send people elsewhere.
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	p := s.newPage(r)
	next := localPath(r.URL.Query().Get("next"))
	if p.Actor != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p.Title = p.L.T("login.title")
	p.Body = loginBody{Next: next}
	s.render(w, r, p, "common/login", http.StatusOK)
}

// crossOrigin rejects form posts sent from other sites. The login form
// needs it most: a forged login would sign a person into someone else's
// account.
var crossOrigin = http.NewCrossOriginProtection()

func (s *Server) loginSubmit(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	p := s.newPage(r)
	p.Actor, p.CSRF, p.Self = nil, "", "/login"
	if err := crossOrigin.Check(r); err != nil {
		s.renderError(w, r, p, http.StatusForbidden, "error.crossorigin")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, p, http.StatusBadRequest, "error.invalid")
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	body := loginBody{Username: username, Next: localPath(r.PostForm.Get("next"))}
	p.Title = p.L.T("login.title")

	status := http.StatusOK
	if username == "" || password == "" {
		body.Error, status = p.L.T("login.missing"), http.StatusUnprocessableEntity
	} else {
		token, sess, err := s.login(r.Context(), username, password, "web")
		if err == nil {
			http.SetCookie(w, s.sessionCookie(token, sess.ExpiresAt))
			http.Redirect(w, r, body.Next, http.StatusSeeOther)
			return
		}
		code := shequ.ErrorCode(err)
		switch code {
		case shequ.EUNAUTHORIZED:
			body.Error = p.L.T("login.bad")
		case shequ.ETOOMANY:
			body.Error = p.L.T("login.toomany")
		case shequ.EFORBIDDEN:
			body.Error = p.L.T("login.disabled")
		default:
			s.log.Error("page login", "err", err)
			code, body.Error = shequ.EINTERNAL, p.L.T("login.failed")
		}
		status = statusOf[code]
	}
	p.Body = body
	s.render(w, r, p, "common/login", status)
}

func (s *Server) logoutSubmit(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	p := s.newPage(r)
	if p.Actor == nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || r.PostForm.Get("csrf_token") != p.Actor.Session.CSRFToken {
		s.withCommunity(r, p)
		p.Nav = navFor(p.Actor, "")
		s.renderError(w, r, p, http.StatusForbidden, "error.csrf")
		return
	}
	if err := s.store.RevokeSession(r.Context(), p.Actor.Session.ID); err != nil {
		s.renderErr(w, r, p, err)
		return
	}
	http.SetCookie(w, s.sessionCookie("", time.Unix(0, 0)))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// prefsSubmit remembers the language or the text size and goes back to the
// page the form was on. It needs no session: the login page has it too.
func (s *Server) prefsSubmit(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w)
	if err := crossOrigin.Check(r); err != nil {
		s.renderError(w, r, s.newPage(r), http.StatusForbidden, "error.crossorigin")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, s.newPage(r), http.StatusBadRequest, "error.invalid")
		return
	}
	if lang := r.PostForm.Get("lang"); lang != "" {
		if _, ok := locales[lang]; ok {
			http.SetCookie(w, s.prefCookie(langCookie, lang))
		}
	}
	switch r.PostForm.Get("text") {
	case "large":
		http.SetCookie(w, s.prefCookie(textCookie, "large"))
	case "normal":
		c := s.prefCookie(textCookie, "")
		c.MaxAge = -1
		http.SetCookie(w, c)
	}
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) prefCookie(name, value string) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: prefsMaxAge, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}
