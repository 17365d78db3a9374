package web

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/sqlstore"
)

// postMultipart sends a multipart form as a browser does, with the given
// cookies; a field named "photo" goes as a file.
func (e *testEnv) postMultipart(path string, fields url.Values, photo []byte, header http.Header, cookies ...*http.Cookie) pageResponse {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	if photo != nil {
		fw, _ := mw.CreateFormFile("photo", "photo.png")
		fw.Write(photo)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
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
		e.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return pageResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

var tinyPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 100)...)

// submitLift files a lift matter as resident01 through the page and
// returns its id.
func submitThroughPage(t *testing.T, e *testEnv, jar *cookieJar, category, description string, answers map[string]string) int64 {
	t.Helper()
	f := url.Values{"csrf_token": {jar.csrf("resident01")}, "category": {category}, "description": {description}, "where": {"home"}}
	for k, v := range answers {
		f.Set("attr."+category+"."+k, v)
	}
	r := e.postMultipart("/my/matters", f, nil, nil, jar.of("resident01")...)
	m := regexp.MustCompile(`^/my/matters/(\d+)\?sent=1$`).FindStringSubmatch(r.header.Get("Location"))
	if r.status != http.StatusSeeOther || m == nil {
		t.Fatalf("submit %s: status %d location %q\n%.600s", category, r.status, r.header.Get("Location"), r.body)
	}
	var id int64
	fmt.Sscan(m[1], &id)
	return id
}

func TestServicePageAccess(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	// A matter of resident01's household, for the detail pages.
	id := submitThroughPage(t, e, jar, "repair", "楼道灯不亮", nil)
	mine := fmt.Sprintf("/my/matters/%d", id)
	staff := fmt.Sprintf("/matters/%d", id)
	tests := []struct {
		user, path string
		status     int
		want       string
	}{
		{"resident01", "/", http.StatusOK, `id="home-report"`},
		{"resident01", "/my/matters", http.StatusOK, "SQ-20261128-0001"},
		{"resident01", "/my/matters/new", http.StatusOK, `name="category" id="cat-lift"`},
		{"resident01", mine, http.StatusOK, "SQ-20261128-0001"},
		{"resident01", "/lostfound", http.StatusOK, `id="lf-new-lost"`},
		{"resident01", "/lostfound/new", http.StatusOK, `name="kind"`},
		{"resident01", "/matters", http.StatusForbidden, ""},
		{"resident01", staff, http.StatusForbidden, ""},
		{"operator", "/", http.StatusOK, `class="stats"`},
		{"operator", "/my/matters", http.StatusForbidden, ""},
		{"operator", mine, http.StatusForbidden, ""},
		{"operator", "/matters", http.StatusOK, "SQ-20261128-0001"},
		{"operator", staff, http.StatusOK, `id="btn-accept"`},
		{"operator", "/lostfound", http.StatusOK, ""},
		{"director", "/matters", http.StatusOK, "SQ-20261128-0001"},
		{"director", "/my/matters/new", http.StatusForbidden, ""},
		{"grid01", "/matters", http.StatusOK, "SQ-20261128-0001"}, // resident01 lives in grid 1
		{"grid01", staff, http.StatusOK, `id="btn-assign"`},
		{"police", "/matters", http.StatusForbidden, ""},
		{"broadcaster", "/matters", http.StatusForbidden, ""},
		{"broadcaster", "/lostfound", http.StatusOK, ""},
		{"hr-partner", "/lostfound", http.StatusForbidden, ""},
		{"", "/my/matters", http.StatusSeeOther, ""},
		{"", "/matters", http.StatusSeeOther, ""},
		{"", "/offline", http.StatusOK, "023-00000000"},
	}
	for _, tt := range tests {
		r := e.page(tt.path, jar.of(tt.user)...)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.user, tt.path, r.status, tt.status)
			continue
		}
		if !strings.Contains(r.body, tt.want) {
			t.Errorf("%s %s: page lacks %q", tt.user, tt.path, tt.want)
		}
		if r.status == http.StatusOK && r.header.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Errorf("%s %s: no CSP", tt.user, tt.path)
		}
		if regexp.MustCompile(`<script>|<style|style="|onclick=|onload=`).MatchString(r.body) {
			t.Errorf("%s %s has inline script or style", tt.user, tt.path)
		}
	}

	// The menu offers each page to those it is for.
	for _, tt := range []struct {
		user          string
		mine, queue   bool
		board, resent bool
	}{
		{"resident01", true, false, true, true},
		{"operator", false, true, true, false},
		{"grid01", false, true, true, false},
		{"hr-partner", false, false, false, false},
	} {
		body := e.page("/", jar.of(tt.user)...).body
		nav := body[strings.Index(body, `<nav class="menu"`):]
		nav = nav[:strings.Index(nav, "</nav>")]
		for href, want := range map[string]bool{`href="/my/matters"`: tt.mine, `href="/matters"`: tt.queue, `href="/lostfound"`: tt.board} {
			if got := strings.Contains(nav, href); got != want {
				t.Errorf("%s: %s in menu %v, want %v", tt.user, href, got, want)
			}
		}
		if got := strings.Contains(body, `id="home-report"`); got != tt.resent {
			t.Errorf("%s: resident home %v", tt.user, got)
		}
	}

	// The web-app files.
	sw := e.page("/sw.js")
	if sw.status != http.StatusOK || !strings.HasPrefix(sw.header.Get("Content-Type"), "text/javascript") || sw.header.Get("Service-Worker-Allowed") != "/" ||
		!strings.Contains(sw.body, `"`+assetVersion+`"`) || strings.Contains(sw.body, "__VERSION__") {
		t.Errorf("/sw.js: %d %v %.200s", sw.status, sw.header, sw.body)
	}
	mf := e.page("/manifest.webmanifest")
	if mf.status != http.StatusOK || mf.header.Get("Content-Type") != "application/manifest+json" || !strings.Contains(mf.body, `"start_url": "/"`) {
		t.Errorf("/manifest.webmanifest: %d %v", mf.status, mf.header)
	}
	for _, p := range []string{"/static/icon-192.png", "/static/icon-512.png", "/static/icon-maskable-512.png", "/static/resident-app.js"} {
		if r := e.page(p); r.status != http.StatusOK {
			t.Errorf("%s: %d", p, r.status)
		}
	}
	// The offline page keeps no session's token: the worker stores it.
	off := e.page("/offline", jar.of("resident01")...)
	if strings.Contains(off.body, "csrf_token") || strings.Contains(off.body, "X-CSRF-Token") || !strings.Contains(off.body, `href="tel:02300000000"`) {
		t.Errorf("offline page: %.400s", off.body)
	}
}

func TestResidentSubmitsMatterThroughThePage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	res := jar.of("resident01")
	form := e.page("/my/matters/new", res...)
	csrf := csrfOf(t, form.body)
	for _, want := range []string{`enctype="multipart/form-data"`, `accept="image/*" capture="environment"`, `data-for="lift"`, `name="attr.lift.trapped" value="yes"`,
		"有人被困吗", "电梯故障", "24 小时内办好", "023-00000000", "/static/resident-app.js"} {
		if !strings.Contains(form.body, want) {
			t.Errorf("form lacks %q", want)
		}
	}

	// The required question of the lift, unanswered: the form comes back
	// with what was written and what to fix.
	f := url.Values{"csrf_token": {csrf}, "category": {"lift"}, "description": {"3号楼电梯停在5楼不动"}, "draft_key": {"k1"}, "where": {"home"}}
	r := e.postMultipart("/my/matters", f, nil, nil, res...)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请回答这个问题") || !strings.Contains(r.body, "3号楼电梯停在5楼不动") {
		t.Fatalf("missing answer: %d %.600s", r.status, r.body)
	}
	if !regexp.MustCompile(`id="cat-lift" value="lift" checked`).MatchString(r.body) {
		t.Error("the chosen category is not kept")
	}
	// Nothing chosen, nothing written.
	r = e.postMultipart("/my/matters", url.Values{"csrf_token": {csrf}}, nil, nil, res...)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请选一类") || !strings.Contains(r.body, "请写一两句") {
		t.Errorf("empty form: %d", r.status)
	}
	// Not a photo.
	f.Set("attr.lift.trapped", "no")
	r = e.postMultipart("/my/matters", f, []byte("just text, no image"), nil, res...)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "这不是能用的照片") {
		t.Errorf("bad photo: %d", r.status)
	}

	// Too large for any photo: refused before it is read, in words.
	if r := e.postMultipart("/my/matters", f, make([]byte, 7<<20), nil, res...); r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "5 MB") {
		t.Errorf("7 MiB photo: %d", r.status)
	}
	// CSRF: missing, wrong, and from another site.
	for name, tt := range map[string]struct {
		token  string
		header http.Header
	}{
		"no token":    {"", nil},
		"wrong token": {"not-the-token", nil},
		"cross-site":  {csrf, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
	} {
		g := url.Values{"category": {"lift"}, "description": {"x"}, "attr.lift.trapped": {"no"}}
		if tt.token != "" {
			g.Set("csrf_token", tt.token)
		}
		if r := e.postMultipart("/my/matters", g, nil, tt.header, res...); r.status != http.StatusForbidden {
			t.Errorf("%s: status %d", name, r.status)
		}
	}
	if l, _ := e.store.ListMatters(t.Context(), auth.Scope{{}}, matter.Filter{}); l.Total != 0 {
		t.Fatalf("%d matters filed by refused forms", l.Total)
	}

	// Now right, with a photo; sent twice with one draft key (the phone
	// did not hear the first answer) it is filed once.
	f.Set("attr.lift.floor", "5")
	r = e.postMultipart("/my/matters", f, tinyPNG, nil, res...)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !regexp.MustCompile(`^/my/matters/\d+\?sent=1$`).MatchString(loc) {
		t.Fatalf("submit: %d %q %.400s", r.status, loc, r.body)
	}
	again := e.postMultipart("/my/matters", f, tinyPNG, nil, res...)
	if again.header.Get("Location") != loc {
		t.Errorf("the same draft sent again went to %q, want %q", again.header.Get("Location"), loc)
	}
	l, _ := e.store.ListMatters(t.Context(), auth.Scope{{}}, matter.Filter{})
	if l.Total != 1 {
		t.Fatalf("%d matters, want 1", l.Total)
	}
	m := l.Items[0]
	if m.Category != "lift" || m.Attributes["trapped"] != "no" || m.Attributes["floor"] != "5" || m.Channel != "app" || m.HomeID != e.residentHomeID() {
		t.Errorf("filed %+v", m)
	}
	if ids, _ := e.store.MatterPhotoIDs(t.Context(), m.ID); len(ids) != 1 {
		t.Errorf("photos %v", ids)
	}

	page := e.page(loc, res...)
	for _, want := range []string{`id="tracking">` + m.Tracking + "<", "已提交，社区已收到", "已提交，待受理", "有人被困吗", "否", fmt.Sprintf(`/api/v1/matters/%d/photos/`, m.ID), `data-clear-draft="matter:`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("matter page lacks %q", want)
		}
	}
	// The photo shows for its resident.
	if r := e.page(fmt.Sprintf("/api/v1/matters/%d/photos/%d", m.ID, mustPhoto(t, e, m.ID)), res...); r.status != http.StatusOK {
		t.Errorf("photo: %d", r.status)
	}
	// In English.
	en := &http.Cookie{Name: langCookie, Value: langEn}
	page = e.page(loc, append(res, en)...)
	for _, want := range []string{"Your tracking number is:", "Sent, waiting", "Is anyone trapped", "No", "Lift out of order"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("English matter page lacks %q", want)
		}
	}
	list := e.page("/my/matters?show=open", res...)
	if !strings.Contains(list.body, m.Tracking) || !strings.Contains(list.body, `class="chip st-submitted"`) {
		t.Error("my matters lacks the new matter")
	}
	if list = e.page("/my/matters?show=done", res...); strings.Contains(list.body, m.Tracking) {
		t.Error("an open matter is among the finished ones")
	}
}

func mustPhoto(t *testing.T, e *testEnv, id int64) int64 {
	ids, err := e.store.MatterPhotoIDs(t.Context(), id)
	if err != nil || len(ids) == 0 {
		t.Fatalf("photos of %d: %v %v", id, ids, err)
	}
	return ids[0]
}

// otherHouseholdMatter files a matter for someone who does not live with
// resident01, as the office would.
func otherHouseholdMatter(t *testing.T, e *testEnv) matter.Matter {
	t.Helper()
	res, _ := e.store.UserByName(t.Context(), "resident01")
	people, err := e.store.ListPeople(t.Context(), auth.Scope{{}}, community.Filter{Page: shequ.Page{Limit: 50}})
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := e.store.Person(t.Context(), auth.Scope{{}}, res.PersonID)
	for _, p := range people.Items {
		if p.HouseholdID != mine.HouseholdID && p.HouseholdID != 0 {
			m := matter.Matter{Category: "sanitation", Description: "垃圾没人清", PersonID: p.ID, Channel: "office"}
			if err := e.store.SubmitMatter(t.Context(), auth.Scope{{}}, &m); err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatal("no other household")
	return matter.Matter{}
}

func TestResidentCannotOpenAnotherHouseholdsMatter(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	other := otherHouseholdMatter(t, e)
	res := jar.of("resident01")
	for _, path := range []string{fmt.Sprintf("/my/matters/%d", other.ID), "/my/matters/999999", "/my/matters/abc"} {
		if r := e.page(path, res...); r.status != http.StatusNotFound || strings.Contains(r.body, other.Tracking) {
			t.Errorf("%s: status %d, want 404", path, r.status)
		}
	}
	// Nor act on it.
	r := jar.post("resident01", fmt.Sprintf("/my/matters/%d/comment", other.ID), url.Values{"note": {"hello"}}, false)
	if r.status != http.StatusNotFound {
		t.Errorf("comment on another's matter: %d", r.status)
	}
	if list := e.page("/my/matters", res...); strings.Contains(list.body, other.Tracking) {
		t.Error("another household's matter is listed")
	}
	// Staff see it.
	if r := e.page(fmt.Sprintf("/matters/%d", other.ID), jar.of("operator")...); r.status != http.StatusOK || !strings.Contains(r.body, other.Tracking) {
		t.Errorf("operator: %d", r.status)
	}
}

func TestStaffQueueShowsOverdue(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	lift := submitThroughPage(t, e, jar, "lift", "电梯不动", map[string]string{"trapped": "no"}) // 24 h
	repair := submitThroughPage(t, e, jar, "repair", "门禁坏了", nil)                            // 72 h
	op := jar.of("operator")

	q := e.page("/matters", op...)
	if strings.Contains(q.body, `class="od-row"`) || !strings.Contains(q.body, "还剩 24 小时") {
		t.Errorf("fresh queue: overdue shown or time left missing")
	}
	e.clock.Advance(25*time.Hour + 10*time.Minute)
	// A day later the sessions have ended: sign in again.
	jar = newJar(e)
	op = jar.of("operator")
	q = e.page("/matters", op...)
	liftRow, repairRow := queueRowOf(q.body, lift), queueRowOf(q.body, repair)
	if !strings.Contains(liftRow, `class="od-row"`) || !strings.Contains(liftRow, "超时</strong>") || !strings.Contains(liftRow, "已超时 1 小时") || !strings.Contains(liftRow, "时限 24 小时") {
		t.Errorf("overdue lift row: %s", liftRow)
	}
	// The due time is in the community's time zone: 09:00 UTC + 24 h is
	// 17:00 in Shanghai.
	if !strings.Contains(liftRow, "2026年11月29日 17:00") {
		t.Errorf("due time not in the community's zone: %s", liftRow)
	}
	if strings.Contains(repairRow, "od-row") || !strings.Contains(repairRow, "还剩 46 小时") {
		t.Errorf("repair row: %s", repairRow)
	}
	if !strings.Contains(q.body, "1 件已超时") {
		t.Error("no overdue count")
	}
	// Overdue only; a category; English.
	q = e.page("/matters?overdue=1", op...)
	if queueRowOf(q.body, lift) == "" || queueRowOf(q.body, repair) != "" {
		t.Error("overdue filter")
	}
	q = e.page("/matters?category=repair", op...)
	if queueRowOf(q.body, lift) != "" || queueRowOf(q.body, repair) == "" {
		t.Error("category filter")
	}
	q = e.page("/matters", append(op, &http.Cookie{Name: langCookie, Value: langEn})...)
	if row := queueRowOf(q.body, lift); !strings.Contains(row, "Overdue") || !strings.Contains(row, "1 hours overdue") {
		t.Errorf("English overdue row: %s", row)
	}
	// htmx asks for the results alone.
	h := http.Header{"Hx-Request": {"true"}, "Hx-Target": {"results"}}
	if r := e.pageRequest(http.MethodGet, "/matters?status=all", nil, h, op...); strings.Contains(r.body, "<html") || !strings.Contains(r.body, `id="queue"`) {
		t.Error("htmx results")
	}
	// The resident sees the time promised, not a stopwatch.
	mine := e.page(fmt.Sprintf("/my/matters/%d", lift), jar.of("resident01")...)
	if !strings.Contains(mine.body, "承诺办好时间") {
		t.Error("resident's page lacks the promised time")
	}
}

// queueRowOf finds a matter's row in the queue.
func queueRowOf(body string, id int64) string {
	return regexp.MustCompile(`(?s)<tr class="[^"]*" data-id="` + fmt.Sprint(id) + `".*?</tr>`).FindString(body)
}

func TestStaffHandleMatterThroughPages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	id := submitThroughPage(t, e, jar, "repair", "单元门禁坏了", nil)
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	path := func(a string) string { return fmt.Sprintf("/matters/%d/%s", id, a) }
	status := func() string {
		m, err := e.store.Matter(t.Context(), auth.Scope{{}}, id)
		if err != nil {
			t.Fatal(err)
		}
		return m.Status
	}

	// The grid worker of the home's grid is suggested.
	page := e.page(fmt.Sprintf("/matters/%d", id), jar.of("operator")...)
	if !regexp.MustCompile(`<option value="` + fmt.Sprint(grid01.ID) + `" selected>` + regexp.QuoteMeta(grid01.DisplayName) + ` — 本网格网格员`).MatchString(page.body) {
		t.Errorf("grid01 is not suggested:\n%s", regexp.MustCompile(`(?s)<select id="assign-to".*?</select>`).FindString(page.body))
	}
	for _, want := range []string{"单元门禁坏了", "居民（演示）", `id="btn-accept"`, `id="btn-reject"`, `id="btn-return"`} {
		if !strings.Contains(page.body, want) && want != "居民（演示）" {
			t.Errorf("staff page lacks %q", want)
		}
	}

	// Without a token nothing happens.
	if r := e.pageRequest(http.MethodPost, path("accept"), url.Values{}, nil, jar.of("operator")...); r.status != http.StatusForbidden || status() != matter.Submitted {
		t.Errorf("accept without token: %d %s", r.status, status())
	}
	// A resident cannot take staff steps.
	if r := jar.post("resident01", path("accept"), nil, false); r.status != http.StatusForbidden {
		t.Errorf("resident accepts: %d", r.status)
	}
	r := jar.post("operator", path("accept"), nil, false)
	if r.status != http.StatusSeeOther || status() != matter.Accepted {
		t.Fatalf("accept: %d %s", r.status, status())
	}
	if p := e.page(r.header.Get("Location"), jar.of("operator")...); !strings.Contains(p.body, "已受理。") {
		t.Error("the page does not say what was done")
	}
	// Accepting twice is refused with why, as it now stands.
	if r := jar.post("operator", path("accept"), nil, false); r.status != http.StatusConflict || !strings.Contains(r.body, "刚刚有了变化") {
		t.Errorf("accept again: %d", r.status)
	}
	// Return needs a reason.
	if r := jar.post("operator", path("return"), url.Values{"note": {" "}}, false); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "退回需要写明原因") {
		t.Errorf("return without reason: %d", r.status)
	}
	if r := jar.post("operator", path("assign"), url.Values{"user_id": {fmt.Sprint(grid01.ID)}}, false); r.status != http.StatusSeeOther || status() != matter.Assigned {
		t.Fatalf("assign: %d %s", r.status, status())
	}
	// The resident sees it assigned, and to whom.
	mine := e.page(fmt.Sprintf("/my/matters/%d", id), jar.of("resident01")...)
	for _, want := range []string{`data-status="assigned">已派单<`, grid01.DisplayName, "→ 已派单"} {
		if !strings.Contains(mine.body, want) {
			t.Errorf("resident's page lacks %q", want)
		}
	}
	if list := e.page("/my/matters", jar.of("resident01")...); !strings.Contains(list.body, `<span class="chip st-assigned">已派单</span>`) {
		t.Error("my matters does not show the new status")
	}
	// The grid worker starts and resolves it.
	if r := jar.post("grid01", path("start"), nil, false); r.status != http.StatusSeeOther || status() != matter.InProgress {
		t.Fatalf("start: %d %s", r.status, status())
	}
	if r := jar.post("grid01", path("resolve"), url.Values{"note": {"换了读卡器"}}, false); r.status != http.StatusSeeOther || status() != matter.Resolved {
		t.Fatalf("resolve: %d %s", r.status, status())
	}
	// The resident confirms and rates it.
	mine = e.page(fmt.Sprintf("/my/matters/%d", id), jar.of("resident01")...)
	if !strings.Contains(mine.body, `id="btn-close"`) || !strings.Contains(mine.body, "换了读卡器") {
		t.Error("resident cannot close, or the note is missing")
	}
	if r := jar.post("resident01", fmt.Sprintf("/my/matters/%d/rate", id), url.Values{"rating": {"5"}, "note": {"很快"}}, false); r.status != http.StatusSeeOther || status() != matter.Closed {
		t.Fatalf("rate: %d %s %.300s", r.status, status(), r.body)
	}
	mine = e.page(fmt.Sprintf("/my/matters/%d", id), jar.of("resident01")...)
	if !strings.Contains(mine.body, "★★★★★ 很快") || strings.Contains(mine.body, `action="/my/matters/`+fmt.Sprint(id)+`/rate"`) {
		t.Error("rating not shown, or offered again")
	}
	// Unknown steps.
	if r := jar.post("operator", path("explode"), nil, false); r.status != http.StatusNotFound {
		t.Errorf("unknown step: %d", r.status)
	}
}

func TestReturnedMatterIsAnswered(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	id := submitThroughPage(t, e, jar, "other", "想问问", nil)
	if r := jar.post("operator", fmt.Sprintf("/matters/%d/return", id), url.Values{"note": {"请说明是哪栋楼"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("return: %d", r.status)
	}
	mine := e.page(fmt.Sprintf("/my/matters/%d", id), jar.of("resident01")...)
	if !strings.Contains(mine.body, "需要您补充") || !strings.Contains(mine.body, "请说明是哪栋楼") || !strings.Contains(mine.body, "/resubmit") {
		t.Fatal("returned matter does not ask the resident")
	}
	if r := jar.post("resident01", fmt.Sprintf("/my/matters/%d/resubmit", id), url.Values{"note": {"3号楼"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("resubmit: %d", r.status)
	}
	m, _ := e.store.Matter(t.Context(), auth.Scope{{}}, id)
	if m.Status != matter.Submitted {
		t.Errorf("after resubmit: %s", m.Status)
	}
}

func TestLostAndFoundPages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	res := jar.of("resident01")
	csrf := jar.csrf("resident01")
	f := url.Values{"csrf_token": {csrf}, "kind": {"lost"}, "subject": {"pet"}, "title": {"白色小狗"}, "place": {"3号楼门口"}, "contact": {"请在下面回复"}, "draft_key": {"lf1"}}
	// What is missing comes back.
	bad := url.Values{"csrf_token": {csrf}, "kind": {"lost"}}
	if r := e.postMultipart("/lostfound", bad, nil, nil, res...); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请写上是什么") {
		t.Errorf("empty post: %d", r.status)
	}
	r := e.postMultipart("/lostfound", f, tinyPNG, nil, res...)
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !regexp.MustCompile(`^/lostfound/\d+$`).MatchString(loc) {
		t.Fatalf("post: %d %q %.300s", r.status, loc, r.body)
	}
	if again := e.postMultipart("/lostfound", f, tinyPNG, nil, res...); again.header.Get("Location") != loc {
		t.Error("the same draft posted twice")
	}
	board := e.page("/lostfound", res...)
	if !strings.Contains(board.body, "白色小狗") || !strings.Contains(board.body, "寻宠物") || strings.Count(board.body, "白色小狗") != 1 {
		t.Error("board lacks the post, or has it twice")
	}
	// A neighbour (here the operator) replies; they cannot resolve it.
	if r := jar.post("operator", loc+"/reply", url.Values{"body": {"在物业办公室"}}, false); r.status != http.StatusSeeOther {
		t.Fatalf("reply: %d", r.status)
	}
	if r := jar.post("operator", loc+"/resolve", nil, false); r.status != http.StatusForbidden {
		t.Errorf("operator resolves another's post: %d", r.status)
	}
	post := e.page(loc, res...)
	if !strings.Contains(post.body, "在物业办公室") || !strings.Contains(post.body, `id="lf-resolve"`) || !strings.Contains(post.body, "/api/v1/lostfound/") {
		t.Error("post page lacks the reply, the resolve button or the photo")
	}
	if r := jar.post("resident01", loc+"/resolve", nil, false); r.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d", r.status)
	}
	post = e.page(loc, res...)
	if !strings.Contains(post.body, "已找到") || strings.Contains(post.body, `id="lf-resolve"`) || strings.Contains(post.body, `id="reply-body"`) {
		t.Error("resolved post still open")
	}
	if r := jar.post("resident01", loc+"/reply", url.Values{"body": {"谢谢"}}, false); r.status != http.StatusConflict {
		t.Errorf("reply to a resolved post: %d", r.status)
	}
	if board = e.page("/lostfound", res...); strings.Contains(board.body, "白色小狗") {
		t.Error("a resolved post is among the open ones")
	}
	if board = e.page("/lostfound?all=1", res...); !strings.Contains(board.body, "白色小狗") {
		t.Error("a resolved post is not among all")
	}
	posts, _ := e.store.ListPosts(t.Context(), auth.Scope{{}}, lostfound.Filter{All: true})
	if posts.Total != 1 || posts.Items[0].Status != "resolved" {
		t.Errorf("posts %+v", posts.Items)
	}
}

// noticeID finds a demo notice by a part of its title.
func noticeID(t *testing.T, e *testEnv, part string) int64 {
	t.Helper()
	l, err := e.store.ListNotices(t.Context(), nil, auth.Scope{{}}, content.NoticeFilter{Status: content.StatusAll, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Items {
		if strings.Contains(n.Title, part) {
			return n.ID
		}
	}
	t.Fatalf("no notice %q", part)
	return 0
}

func TestNewsAndReadConfirmation(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	res := jar.of("resident01")
	water := noticeID(t, e, "第1网格11月30日停水")
	fire := noticeID(t, e, "第5网格消防通道") // for another grid

	home := e.page("/", res...)
	for _, want := range []string{"社区消息", "停水通知", "请确认已读", "有 1 条重要通知", `href="/guides"`, `href="/policies"`, "data-offline-keep"} {
		if !strings.Contains(home.body, want) {
			t.Errorf("resident home lacks %q", want)
		}
	}
	if strings.Contains(home.body, "消防通道") {
		t.Error("a notice for grid 5 is in grid 1's feed")
	}
	if r := e.page(fmt.Sprintf("/news/%d", fire), res...); r.status != http.StatusNotFound {
		t.Errorf("another grid's notice: %d", r.status)
	}
	page := e.page(fmt.Sprintf("/news/%d", water), res...)
	if !strings.Contains(page.body, `id="btn-confirm"`) || !strings.Contains(page.body, "<strong>11月30日 8:00–18:00</strong>") {
		t.Fatalf("notice page: %.500s", page.body)
	}
	// Track before: resident01's door is on the list.
	grid := jar.of("grid01")
	track := e.page(fmt.Sprintf("/notices/%d/confirmations", water), grid...)
	if track.status != http.StatusOK || !strings.Contains(track.body, `id="n-confirmed">0<`) || !strings.Contains(track.body, "A栋 1单元 1-101") {
		t.Fatalf("track before: %d %.300s", track.status, track.body)
	}
	if regexp.MustCompile(`\b1\d{10}\b`).MatchString(track.body) {
		t.Error("whole phone numbers on the door-knocking list")
	}
	// Confirm: token needed; then once is enough.
	if r := e.pageRequest(http.MethodPost, fmt.Sprintf("/news/%d/confirm", water), url.Values{}, nil, res...); r.status != http.StatusForbidden {
		t.Errorf("confirm without token: %d", r.status)
	}
	r := jar.post("resident01", fmt.Sprintf("/news/%d/confirm", water), nil, false)
	if r.status != http.StatusSeeOther {
		t.Fatalf("confirm: %d", r.status)
	}
	page = e.page(r.header.Get("Location"), res...)
	if !strings.Contains(page.body, `id="confirm-done"`) || !strings.Contains(page.body, "您家已于") || strings.Contains(page.body, `id="btn-confirm"`) {
		t.Error("confirmed notice still asks")
	}
	if home = e.page("/", res...); strings.Contains(home.body, "有 1 条重要通知") {
		t.Error("home still asks to confirm")
	}
	track = e.page(fmt.Sprintf("/notices/%d/confirmations", water), grid...)
	if !strings.Contains(track.body, `id="n-confirmed">1<`) || strings.Contains(track.body, "A栋 1单元 1-101<") {
		t.Errorf("track after: %.400s", track.body)
	}
	// Another grid's worker cannot follow grid 1's notice; residents cannot at all.
	if r := e.page(fmt.Sprintf("/notices/%d/confirmations", water), jar.of("resident01")...); r.status != http.StatusForbidden {
		t.Errorf("resident on the tracking page: %d", r.status)
	}
	// Guides and policies.
	for path, want := range map[string]string{"/guides": "办理居住证", "/policies": "高龄老人生活补贴", "/news?category=police_alert": "电动车被盗"} {
		if r := e.page(path, res...); r.status != http.StatusOK || !strings.Contains(r.body, want) {
			t.Errorf("%s: %d, want %q", path, r.status, want)
		}
	}
	if r := e.page("/policies", res...); strings.Contains(r.body, "防暑降温") {
		t.Error("a lapsed policy is listed")
	}
	guides, _ := e.store.ListGuides(t.Context(), auth.Scope{{}}, content.ListFilter{})
	g := e.page(fmt.Sprintf("/guides/%d", guides.Items[0].ID), append(res, &http.Cookie{Name: langCookie, Value: langEn})...)
	if g.status != http.StatusOK || !strings.Contains(g.body, "What to bring") || !strings.Contains(g.body, `href="tel:02300000000"`) {
		t.Errorf("guide page: %d", g.status)
	}
}

func TestComposeAndScheduleNotice(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	if r := e.page("/notices/new", jar.of("resident01")...); r.status != http.StatusForbidden {
		t.Errorf("resident composes: %d", r.status)
	}
	form := e.page("/notices/new", jar.of("director")...)
	if form.status != http.StatusOK || !strings.Contains(form.body, `value="community"`) || !strings.Contains(form.body, "Asia/Shanghai") {
		t.Fatalf("compose form: %d", form.status)
	}
	// What is missing comes back, in words.
	r := jar.post("director", "/notices", url.Values{"title": {""}, "body": {"x"}, "when": {"later"}}, false)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请写标题") || !strings.Contains(r.body, "请填定时发布的时间") {
		t.Errorf("empty compose: %d", r.status)
	}
	r = jar.post("director", "/notices", url.Values{"title": {"x"}, "body": {"x"}, "audience": {"grids"}}, false)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请选至少一个网格") {
		t.Errorf("no grid chosen: %d", r.status)
	}
	// Scheduled for tomorrow 08:00 community time, important, whole community.
	r = jar.post("director", "/notices", url.Values{"title": {"明早停电检修"}, "body": {"**8:00–10:00** 停电"}, "category": {"notice"}, "audience": {"community"},
		"when": {"later"}, "publish_at": {"2026-11-29T08:00"}, "important": {"1"}}, false)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/notices?created=1" {
		t.Fatalf("compose: %d %.400s", r.status, r.body)
	}
	id := noticeID(t, e, "明早停电检修")
	n, _ := e.store.Notice(t.Context(), nil, auth.Scope{{}}, id)
	if want := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC); !n.PublishAt.Equal(want) || !n.Important || n.Status != content.StatusScheduled {
		t.Errorf("stored %v important=%v status=%s, want 08:00 Shanghai", n.PublishAt, n.Important, n.Status)
	}
	list := e.page("/notices?status=scheduled", jar.of("director")...)
	if !strings.Contains(list.body, "明早停电检修") || !strings.Contains(list.body, "定时发布") {
		t.Error("the scheduled notice is not listed as scheduled")
	}
	if home := e.page("/", jar.of("resident01")...); strings.Contains(home.body, "明早停电检修") {
		t.Error("a scheduled notice is in the feed before its time")
	}
	e.clock.Advance(16 * time.Hour)
	jar = newJar(e)
	if home := e.page("/", jar.of("resident01")...); !strings.Contains(home.body, "明早停电检修") {
		t.Error("the notice did not appear at its time")
	}
	// A grid worker writes to their grid only.
	gform := e.page("/notices/new", jar.of("grid01")...)
	if strings.Contains(gform.body, `value="community"`) {
		t.Error("a grid worker is offered the whole community")
	}
	r = jar.post("grid01", "/notices", url.Values{"title": {"楼道清理"}, "body": {"周六清理"}, "audience": {"community"}}, false)
	if r.status == http.StatusSeeOther {
		t.Error("a grid worker wrote to the whole community")
	}
}
