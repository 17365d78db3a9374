package web

import (
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// pageResponse is what a browser would get for a page, read whole.
type pageResponse struct {
	status int
	header http.Header
	body   string
}

// pageRequest sends a request the way a browser does, with the given
// cookies, and does not follow redirects: the tests look at them.
func (e *testEnv) pageRequest(method, path string, form url.Values, header http.Header, cookies ...*http.Cookie) pageResponse {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := *e.http.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return pageResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (r pageResponse) cookie(name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// webLogin signs user in through the login form and returns the session
// cookie.
func (e *testEnv) webLogin(user string) *http.Cookie {
	e.t.Helper()
	r := e.pageRequest(http.MethodPost, "/login", url.Values{"username": {user}, "password": {demoPassword}}, nil)
	c := r.cookie(sessionCookie)
	if r.status != http.StatusSeeOther || c == nil {
		e.t.Fatalf("web login %s: status %d, cookie %v", user, r.status, c)
	}
	return c
}

// pageAs gets a page as user ("" for nobody), signing them in through
// the form the first time.
func (e *testEnv) pageAs(user, path string) pageResponse {
	e.t.Helper()
	if user == "" {
		return e.page(path)
	}
	if e.cookies == nil {
		e.cookies = map[string]*http.Cookie{}
	}
	if e.cookies[user] == nil {
		e.cookies[user] = e.webLogin(user)
	}
	return e.page(path, e.cookies[user])
}

func (e *testEnv) page(path string, cookies ...*http.Cookie) pageResponse {
	e.t.Helper()
	return e.pageRequest(http.MethodGet, path, nil, nil, cookies...)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token field in page")
	}
	return html.UnescapeString(m[1])
}

func TestMatchLanguage(t *testing.T) {
	tests := []struct{ accept, want string }{
		{"", langHans},
		{"zh-CN,zh;q=0.9", langHans},
		{"zh", langHans},
		{"zh-SG", langHans},
		{"zh-Hans", langHans},
		{"zh-TW,zh;q=0.9,en;q=0.8", langHant},
		{"zh-HK", langHant},
		{"zh-MO", langHant},
		{"zh-Hant", langHant},
		{"en-US,en;q=0.9", langEn},
		{"en-GB", langEn},
		{"fr-FR,en;q=0.5", langEn},
		{"fr-FR", langHans},
		{"not a header;;", langHans},
	}
	for _, tt := range tests {
		if got := matchLanguage(tt.accept); got != tt.want {
			t.Errorf("matchLanguage(%q) = %q, want %q", tt.accept, got, tt.want)
		}
	}
}

func TestLoginPageLanguage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	tests := []struct {
		name, accept, cookie string
		wantLang, wantText   string
	}{
		{"no preference", "", "", langHans, "登录"},
		{"mainland browser", "zh-CN,zh;q=0.9", "", langHans, "用户名"},
		{"Taiwan browser", "zh-TW,zh;q=0.9", "", langHant, "使用者名稱"},
		{"Hong Kong browser", "zh-HK", "", langHant, "登入"},
		{"English browser", "en-US,en;q=0.9", "", langEn, "Sign in"},
		{"cookie beats browser", "zh-TW", langEn, langEn, "Username"},
		{"cookie Traditional", "en", langHant, langHant, "密碼"},
		{"unknown cookie ignored", "en", "klingon", langEn, "Password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.accept != "" {
				h.Set("Accept-Language", tt.accept)
			}
			var cookies []*http.Cookie
			if tt.cookie != "" {
				cookies = append(cookies, &http.Cookie{Name: langCookie, Value: tt.cookie})
			}
			r := e.pageRequest(http.MethodGet, "/login", nil, h, cookies...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			if !strings.Contains(r.body, `<html lang="`+tt.wantLang+`"`) {
				t.Errorf("want <html lang=%q>, page starts %q", tt.wantLang, r.body[:min(200, len(r.body))])
			}
			if !strings.Contains(r.body, tt.wantText) {
				t.Errorf("page lacks %q", tt.wantText)
			}
		})
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	c := e.webLogin("director")
	for _, path := range []string{"/login", "/", "/homes", "/audit"} {
		r := e.page(path, c)
		if path == "/login" {
			r = e.page(path)
		}
		if r.status != http.StatusOK {
			t.Errorf("%s: status %d", path, r.status)
		}
		want := map[string]string{
			"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
			"Cache-Control":           "no-store",
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s: %s = %q, want %q", path, k, got, v)
			}
		}
		// The policy forbids inline script and style; the pages must not
		// need them.
		if regexp.MustCompile(`<script>|<style|style="|onclick=|onload=`).MatchString(r.body) {
			t.Errorf("%s has inline script or style", path)
		}
	}
}

func TestLoginSuccess(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	r := e.pageRequest(http.MethodPost, "/login", url.Values{"username": {"operator"}, "password": {demoPassword}}, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("status %d location %q, want 303 to /", r.status, r.header.Get("Location"))
	}
	c := r.cookie(sessionCookie)
	if c == nil {
		t.Fatal("no session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != int(auth.WebSessionTTL/time.Second) {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, Max-Age of the session's life", c)
	}
	home := e.page("/", c)
	if home.status != http.StatusOK {
		t.Fatalf("home: status %d", home.status)
	}
	for _, want := range []string{"监控中心值班员（演示）", "监控中心值班员", `href="/homes"`, "hx-headers="} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home lacks %q", want)
		}
	}
}

func TestLoginGoesBackToTheAskedPage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	r := e.page("/people?tag=elderly")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=%2Fpeople%3Ftag%3Delderly" {
		t.Fatalf("anonymous /people: status %d location %q", r.status, r.header.Get("Location"))
	}
	tests := []struct{ next, want string }{
		{"/people?tag=elderly", "/people?tag=elderly"},
		{"//evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"", "/"},
	}
	for _, tt := range tests {
		r := e.pageRequest(http.MethodPost, "/login", url.Values{"username": {"operator"}, "password": {demoPassword}, "next": {tt.next}}, nil)
		if got := r.header.Get("Location"); r.status != http.StatusSeeOther || got != tt.want {
			t.Errorf("next %q: status %d location %q, want %q", tt.next, r.status, got, tt.want)
		}
	}
}

func TestLoginFailure(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	tests := []struct {
		name, user, password, lang string
		status                     int
		want                       string
	}{
		{"wrong password", "operator", "not-the-password", langHans, http.StatusUnauthorized, "用户名或密码不对"},
		{"wrong password in English", "operator", "not-the-password", langEn, http.StatusUnauthorized, "The username or password is wrong"},
		{"no such user", "nobody", "whatever-password", langHant, http.StatusUnauthorized, "使用者名稱或密碼不對"},
		{"empty", "", "", langEn, http.StatusUnprocessableEntity, "Enter both your username and your password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.pageRequest(http.MethodPost, "/login", url.Values{"username": {tt.user}, "password": {tt.password}},
				nil, &http.Cookie{Name: langCookie, Value: tt.lang})
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			if !strings.Contains(r.body, tt.want) || !strings.Contains(r.body, `role="alert"`) {
				t.Errorf("page lacks the alert %q", tt.want)
			}
			if r.cookie(sessionCookie) != nil {
				t.Error("a failed login set a session cookie")
			}
			if tt.user != "" && !strings.Contains(r.body, `value="`+tt.user+`"`) {
				t.Error("the username was not kept in the form")
			}
		})
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	for i := 0; i < auth.FreeFailures; i++ {
		e.pageRequest(http.MethodPost, "/login", url.Values{"username": {"grid01"}, "password": {"wrong-password"}}, nil)
	}
	r := e.pageRequest(http.MethodPost, "/login", url.Values{"username": {"grid01"}, "password": {demoPassword}},
		nil, &http.Cookie{Name: langCookie, Value: langEn})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many sign-in attempts") {
		t.Errorf("slowed-down sign-in: status %d, want 429 and the message", r.status)
	}
	if r.cookie(sessionCookie) != nil {
		t.Error("a slowed-down sign-in got a session")
	}
}

func TestLogout(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	c := e.webLogin("operator")
	home := e.page("/", c)
	token := csrfOf(t, home.body)

	for _, bad := range []url.Values{{}, {"csrf_token": {"forged"}}} {
		r := e.pageRequest(http.MethodPost, "/logout", bad, nil, c)
		if r.status != http.StatusForbidden {
			t.Errorf("logout with %v: status %d, want 403", bad, r.status)
		}
	}
	if r := e.page("/", c); r.status != http.StatusOK {
		t.Fatalf("session ended by a logout without the token: status %d", r.status)
	}

	r := e.pageRequest(http.MethodPost, "/logout", url.Values{"csrf_token": {token}}, nil, c)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("logout: status %d location %q", r.status, r.header.Get("Location"))
	}
	if gone := r.cookie(sessionCookie); gone == nil || gone.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", gone)
	}
	if r := e.page("/", c); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("old cookie after logout: status %d location %q, want a redirect to /login", r.status, r.header.Get("Location"))
	}
}

func TestNavigationByRole(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	all := []string{"/homes", "/people", "/devices", "/associations", "/audit", "/users"}
	tests := []struct {
		user string
		want []string
	}{
		{"director", all},
		{"operator", []string{"/homes", "/people", "/devices", "/associations"}},
		// A resident may read their own home and household, but these
		// are staff pages: their menu has only resident pages.
		{"resident01", nil},
		{"broadcaster", []string{"/devices"}},
		{"hr-partner", nil},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			r := e.page("/", e.webLogin(tt.user))
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			nav := r.body[strings.Index(r.body, `<nav class="menu"`):]
			nav = nav[:strings.Index(nav, "</nav>")]
			for _, href := range all {
				shown := strings.Contains(nav, `href="`+href+`"`)
				if want := slices.Contains(tt.want, href); shown != want {
					t.Errorf("menu item %s shown=%v, want %v", href, shown, want)
				}
			}
		})
	}
}

func TestPagePermissions(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	tests := []struct {
		user, path string
		status     int
	}{
		{"director", "/", http.StatusOK},
		{"director", "/homes", http.StatusOK},
		{"director", "/people", http.StatusOK},
		{"director", "/devices", http.StatusOK},
		{"director", "/associations", http.StatusOK},
		{"director", "/audit", http.StatusOK},
		{"director", "/users", http.StatusOK},
		{"resident01", "/", http.StatusOK},
		{"resident01", "/homes", http.StatusOK},
		{"resident01", "/audit", http.StatusForbidden},
		{"resident01", "/users", http.StatusForbidden},
		{"resident01", "/devices", http.StatusForbidden},
		{"operator", "/audit", http.StatusForbidden},
		{"broadcaster", "/people", http.StatusForbidden},
		{"broadcaster", "/devices", http.StatusOK},
		{"hr-partner", "/homes", http.StatusForbidden},
		{"", "/", http.StatusSeeOther},
		{"", "/audit", http.StatusSeeOther},
	}
	for _, tt := range tests {
		r := e.pageAs(tt.user, tt.path)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.user, tt.path, r.status, tt.status)
		}
		if r.status == http.StatusForbidden && !strings.Contains(r.body, "没有权限") {
			t.Errorf("%s %s: the 403 page does not say why", tt.user, tt.path)
		}
	}
}

func TestPeopleAreMasked(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	// The operator may see whole numbers through the API; lists still mask.
	r := e.page("/people", e.webLogin("operator"))
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	if !strings.Contains(r.body, "****") {
		t.Error("no masked number on /people")
	}
	if m := regexp.MustCompile(`\b1\d{10}\b|\b\d{17}[\dX]\b`).FindString(r.body); m != "" {
		t.Errorf("whole number %q on /people", m)
	}
	if !strings.Contains(r.body, "第 1 页，共 15 页 · 共 741 条") || !strings.Contains(r.body, `href="/people?page=2"`) {
		t.Error("/people lacks its paging")
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	c := e.webLogin("director")
	en := &http.Cookie{Name: langCookie, Value: langEn}

	r := e.page("/homes?floor=1", c, en)
	floors := regexp.MustCompile(`class="floor">(-?\d+)<`).FindAllStringSubmatch(r.body, -1)
	if len(floors) == 0 {
		t.Fatal("no homes on floor 1")
	}
	for _, f := range floors {
		if f[1] != "1" {
			t.Fatalf("floor filter let floor %s through", f[1])
		}
	}

	r = e.page("/homes?floor=ground", c, en)
	if !strings.Contains(r.body, "The floor must be a whole number") {
		t.Error("a bad floor is not explained")
	}

	r = e.page("/devices?kind=speaker", c, en)
	if n := strings.Count(r.body, `<li class="tile `); n != 14 {
		t.Errorf("/devices?kind=speaker: %d tiles, want 14", n)
	}
	r = e.page("/people?q=no-such-name-anywhere", c, en)
	if !strings.Contains(r.body, "No residents match") {
		t.Error("empty /people does not say so")
	}

	// A page past the end shows the last page.
	r = e.page("/people?page=99", c, en)
	if !strings.Contains(r.body, "Page 15 of 15") || !strings.Contains(r.body, `href="/people?page=14"`) {
		t.Error("page 99 did not show the last page")
	}

	// htmx asks for the results only; the preferences form comes along so
	// that switching language returns to the filtered list.
	h := http.Header{"Hx-Request": {"true"}, "Hx-Target": {"results"}}
	r = e.pageRequest(http.MethodGet, "/devices?kind=speaker&status=", nil, h, c, en)
	if strings.Contains(r.body, "<html") || !strings.Contains(r.body, `class="wall-tiles"`) {
		t.Error("htmx request got the whole page or no tiles")
	}
	if !strings.Contains(r.body, `hx-swap-oob="true"`) || !strings.Contains(r.body, `name="next" value="/devices?kind=speaker&amp;status="`) {
		t.Error("htmx answer lacks the refreshed preferences form")
	}
	// A history restore needs the whole page.
	h.Set("HX-History-Restore-Request", "true")
	if r = e.pageRequest(http.MethodGet, "/devices", nil, h, c); !strings.Contains(r.body, "<html") {
		t.Error("history restore did not get the whole page")
	}
	// htmx without a session is sent to the login page, not given it.
	r = e.pageRequest(http.MethodGet, "/devices", nil, http.Header{"Hx-Request": {"true"}, "Hx-Target": {"results"}})
	if r.header.Get("HX-Redirect") != "/login?next=%2Fdevices" {
		t.Errorf("anonymous htmx: HX-Redirect %q", r.header.Get("HX-Redirect"))
	}
}

func TestOtherPagesRender(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	c := e.webLogin("director")
	tests := []struct{ path, want string }{
		{"/associations", "就业"},
		{"/users", "resident01"},
		{"/audit", "auth.login"},
	}
	for _, tt := range tests {
		r := e.page(tt.path, c)
		if r.status != http.StatusOK || !strings.Contains(r.body, tt.want) {
			t.Errorf("%s: status %d, want 200 with %q", tt.path, r.status, tt.want)
		}
	}
	// The resident sees their own household only.
	r := e.page("/homes", e.webLogin("resident01"))
	if n := strings.Count(r.body, `class="floor"`); n != 1 {
		t.Errorf("resident01 sees %d homes, want 1", n)
	}
}

func TestPrefs(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	r := e.pageRequest(http.MethodPost, "/prefs", url.Values{"lang": {langEn}, "next": {"/homes?floor=1"}}, nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/homes?floor=1" {
		t.Fatalf("status %d location %q", r.status, r.header.Get("Location"))
	}
	c := r.cookie(langCookie)
	if c == nil || c.Value != langEn || c.MaxAge < 364*24*60*60 {
		t.Fatalf("lang cookie %+v: want en for a year", c)
	}
	if r := e.page("/login", c); !strings.Contains(r.body, `<html lang="en"`) {
		t.Error("the chosen language is not used")
	}

	r = e.pageRequest(http.MethodPost, "/prefs", url.Values{"text": {"large"}, "next": {"https://evil.example/"}}, nil)
	if r.header.Get("Location") != "/" {
		t.Errorf("prefs sent to %q", r.header.Get("Location"))
	}
	large := r.cookie(textCookie)
	if large == nil || large.Value != "large" {
		t.Fatalf("text cookie %+v", large)
	}
	if r := e.page("/login", large); !strings.Contains(r.body, `class="large"`) {
		t.Error("large text not applied")
	}

	// A form posted from another site is refused.
	h := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	if r := e.pageRequest(http.MethodPost, "/prefs", url.Values{"lang": {langEn}}, h); r.status != http.StatusForbidden {
		t.Errorf("cross-site prefs: status %d", r.status)
	}
	if r := e.pageRequest(http.MethodPost, "/login", url.Values{"username": {"operator"}, "password": {demoPassword}}, h); r.status != http.StatusForbidden || r.cookie(sessionCookie) != nil {
		t.Errorf("cross-site login: status %d", r.status)
	}
}

func TestStatic(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	tests := []struct{ path, ctype string }{
		{"/static/htmx.min.js", "text/javascript"},
		{"/static/app.css", "text/css"},
		{"/static/icon.svg", "image/svg+xml"},
	}
	for _, tt := range tests {
		r := e.page(tt.path + "?v=" + assetVersion)
		if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), tt.ctype) {
			t.Errorf("%s: status %d type %q", tt.path, r.status, r.header.Get("Content-Type"))
		}
		if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
			t.Errorf("%s: Cache-Control %q", tt.path, cc)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: no nosniff", tt.path)
		}
	}
	if r := e.page("/static/app.css?v=" + assetVersion); r.body != string(appCSS) {
		t.Errorf("/static/app.css: %d bytes, want the %d of the joined style sheet", len(r.body), len(appCSS))
	}
	if r := e.page("/static/app.css"); strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Error("an unversioned URL is cached for good")
	}
	if r := e.page("/static/"); r.status != http.StatusNotFound {
		t.Errorf("/static/: status %d, want no listing", r.status)
	}
	if r := e.page("/static/nothing.js"); r.status != http.StatusNotFound {
		t.Errorf("missing file: status %d", r.status)
	}
}

func TestDateInCommunityZone(t *testing.T) {
	at := time.Date(2026, 11, 28, 1, 5, 0, 0, time.UTC)
	tests := []struct{ lang, want string }{
		{langEn, "28 Nov 2026, 09:05"},
		{langHans, "2026年11月28日 09:05"},
		{langHant, "2026年11月28日 09:05"},
	}
	for _, tt := range tests {
		p := &pageData{L: locales[tt.lang], zone: zoneOf("")}
		if got := p.Date(at); got != tt.want {
			t.Errorf("%s: Date = %q, want %q", tt.lang, got, tt.want)
		}
	}
	if got := locales[langEn].Num(12345); got != "12,345" {
		t.Errorf("Num(12345) = %q", got)
	}
}

// TestCatalogs checks that the three catalogs have the same keys with the
// same formatting verbs, and that every key the pages use exists.
// TestLocaleLayout checks that the catalogs of a language merge from its
// capability files and that the loader refuses what would lose a message.
func TestLocaleLayout(t *testing.T) {
	good := func() fstest.MapFS {
		f := fstest.MapFS{}
		for _, tag := range langOrder {
			f[tag+"/common.json"] = &fstest.MapFile{Data: []byte(`{"lang.self": "` + tag + `", "nav.home": "h"}`)}
			f[tag+"/alarm.json"] = &fstest.MapFile{Data: []byte(`{"alarm.title": "a"}`)}
		}
		return f
	}
	got, err := loadLocales(good())
	if err != nil {
		t.Fatal(err)
	}
	if l := got[langEn]; l.Name != langEn || l.T("nav.home") != "h" || l.T("alarm.title") != "a" || l.file["alarm.title"] != "alarm.json" {
		t.Errorf("merged catalog: %v from %v", l.msgs, l.file)
	}

	tests := []struct {
		name string
		edit func(fstest.MapFS)
		want string
	}{
		{"key in two files", func(f fstest.MapFS) {
			f["zh-Hant/stats.json"] = &fstest.MapFile{Data: []byte(`{"stats.title": "s", "alarm.title": "b"}`)}
		}, `"alarm.title" is also in`},
		{"key twice in a file", func(f fstest.MapFS) {
			f["en/alarm.json"] = &fstest.MapFile{Data: []byte(`{"alarm.title": "a", "alarm.title": "b"}`)}
		}, "given twice"},
		{"flat catalog", func(f fstest.MapFS) {
			f["en.json"] = &fstest.MapFile{Data: []byte(`{"nav.new": "n"}`)}
		}, "locales/en.json"},
		{"not JSON", func(f fstest.MapFS) {
			f["en/alarm.txt"] = &fstest.MapFile{Data: []byte(`alarm.title = a`)}
		}, "not a .json"},
		{"not strings", func(f fstest.MapFS) {
			f["en/alarm.json"] = &fstest.MapFile{Data: []byte(`{"alarm.title": 1}`)}
		}, "alarm.title"},
		{"a language missing", func(f fstest.MapFS) {
			delete(f, langHant+"/common.json")
			delete(f, langHant+"/alarm.json")
		}, "no catalog"},
	}
	for _, tt := range tests {
		f := good()
		tt.edit(f)
		if _, err := loadLocales(f); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want one saying %q", tt.name, err, tt.want)
		}
	}
}

func TestCatalogs(t *testing.T) {
	verbs := regexp.MustCompile(`%(\[\d+\])?[dsvq]`)
	base := locales[langHans]
	for _, tag := range langOrder {
		l := locales[tag]
		for k, msg := range base.msgs {
			other, ok := l.msgs[k]
			if !ok {
				t.Errorf("%s lacks %q", tag, k)
				continue
			}
			if a, b := verbs.FindAllString(msg, -1), verbs.FindAllString(other, -1); !slices.Equal(a, b) {
				t.Errorf("%s %q has verbs %v, %s has %v", langHans, k, a, tag, b)
			}
			if strings.TrimSpace(other) == "" {
				t.Errorf("%s %q is empty", tag, k)
			}
			if l.file[k] != base.file[k] {
				t.Errorf("%q is in %s/%s but in %s/%s", k, langHans, base.file[k], tag, l.file[k])
			}
		}
		for k := range l.msgs {
			if _, ok := base.msgs[k]; !ok {
				t.Errorf("%s has %q, %s lacks it", tag, k, langHans)
			}
		}
	}

	used := map[string]bool{}
	// Keys written in the templates: .L.T "key" and $.L.T "key".
	keyInTemplate := regexp.MustCompile(`L\.T "([a-z0-9_.]+)"`)
	err := fs.WalkDir(pageFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(pageFS, p)
		for _, m := range keyInTemplate.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Keys built in Go and in templates from values.
	for _, n := range navItems {
		used[n.key] = true
	}
	for _, r := range auth.Roles {
		used["role."+string(r)] = true
	}
	for _, k := range community.DeviceKinds {
		used["kind."+k] = true
	}
	for _, s := range community.DeviceStatuses {
		used["status."+s] = true
	}
	for _, tag := range community.KnownTags {
		used["tag."+tag] = true
	}
	for _, k := range []string{"forbidden", "notfound", "invalid", "internal", "csrf", "crossorigin"} {
		used["error."+k] = true
		used["error."+k+".title"] = true
	}
	for _, k := range []string{"login.title", "login.missing", "login.bad", "login.toomany", "login.disabled", "login.failed",
		"lang.self", "format.datetime", "list.sep", "homes.floor.invalid", "gender.male", "gender.female"} {
		used[k] = true
	}
	for k := range used {
		if !base.Has(k) {
			t.Errorf("key %q is used but not in the catalogs", k)
		}
	}
	if len(used) < 50 {
		t.Errorf("found only %d used keys: the template scan is broken", len(used))
	}
}
