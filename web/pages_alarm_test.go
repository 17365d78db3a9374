package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/sqlstore"
)

// alarmSensor is the window sensor the tests put in resident01's home.
const alarmSensor = "r01_kitchen"

// addSensor registers a window contact in resident01's home.
func (e *testEnv) addSensor() {
	e.t.Helper()
	home := e.residentHomeID()
	if got := e.do("director", "POST", "/api/v1/alarm/sensors", map[string]any{"home_id": home, "kind": "window_contact", "zone": "kitchen window", "zone_name": "厨房窗", "mqtt_name": alarmSensor}, nil); got != 201 {
		e.t.Fatalf("create sensor: %d", got)
	}
}

// openWindow reports the kitchen window opening, as zigbee2mqtt would,
// through an ingestor that wakes the live streams after its commit.
func (e *testEnv) openWindow(ctx context.Context) []alarm.Outcome {
	e.t.Helper()
	ing := alarm.NewIngestor(e.store, e.server.log, 64)
	ing.Committed = func([]alarm.Outcome) { e.server.hub.Changed() }
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go ing.Run(ctx)
	out, err := ing.Store(ctx, []alarm.Report{{Source: alarm.SourceMQTT, Account: alarmSensor, Kind: alarm.KindPerimeter, Code: "BA", ReceivedAt: e.clock.Now()}})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// intrusion arms resident01's home at once and opens its window; it
// returns the incident.
func (e *testEnv) intrusion() alarm.Incident {
	e.t.Helper()
	e.addSensor()
	home := e.residentHomeID()
	if got := e.do("resident01", "POST", fmt.Sprintf("/api/v1/homes/%d/alarm/arm", home), map[string]any{"mode": "away", "exit_delay_seconds": 0}, nil); got != 200 {
		e.t.Fatalf("arm: %d", got)
	}
	out := e.openWindow(e.t.Context())
	if len(out) != 1 || out[0].Incident == nil {
		e.t.Fatalf("no incident from the window: %+v", out)
	}
	return *out[0].Incident
}

func (e *testEnv) incidentNow(id int64) alarm.Incident {
	e.t.Helper()
	inc, err := e.store.Incident(e.t.Context(), auth.Scope{{}}, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// cookies signs users in once each.
type cookieJar struct {
	e  *testEnv
	by map[string]*http.Cookie
}

func (j *cookieJar) of(user string) []*http.Cookie {
	if user == "" {
		return nil
	}
	if j.by[user] == nil {
		j.by[user] = j.e.webLogin(user)
	}
	return []*http.Cookie{j.by[user]}
}

func newJar(e *testEnv) *cookieJar { return &cookieJar{e: e, by: map[string]*http.Cookie{}} }

// post sends a form as user with the session's CSRF token, the way the
// page's form does; htmx adds the headers htmx sends.
func (j *cookieJar) post(user, path string, form url.Values, htmx bool) pageResponse {
	j.e.t.Helper()
	cs := j.of(user)
	if form == nil {
		form = url.Values{}
	}
	if !form.Has("csrf_token") {
		form.Set("csrf_token", j.csrf(user))
	}
	var h http.Header
	if htmx {
		h = http.Header{"Hx-Request": {"true"}}
	}
	return j.e.pageRequest(http.MethodPost, path, form, h, cs...)
}

func (j *cookieJar) csrf(user string) string {
	j.e.t.Helper()
	return csrfOf(j.e.t, j.e.page("/", j.of(user)...).body)
}

func TestAlarmPageAccess(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	tests := []struct {
		user, path string
		status     int
	}{
		{"operator", "/console", http.StatusOK},
		{"director", "/console", http.StatusOK},
		{"police", "/console", http.StatusOK}, // watches, cannot act
		{"grid01", "/console", http.StatusOK}, // their grid's alarms
		{"resident01", "/console", http.StatusForbidden},
		{"broadcaster", "/console", http.StatusForbidden},
		{"hr-partner", "/console", http.StatusForbidden},
		{"", "/console", http.StatusSeeOther},
		{"resident01", "/console/queue", http.StatusForbidden},
		{"operator", "/console/queue", http.StatusOK},

		{"resident01", "/my/alarm", http.StatusOK},
		{"resident01", "/my/alarm/state", http.StatusOK},
		{"operator", "/my/alarm", http.StatusForbidden},
		{"director", "/my/alarm", http.StatusForbidden}, // may arm, but has no home
		{"grid01", "/my/alarm", http.StatusForbidden},
		{"", "/my/alarm", http.StatusSeeOther},
		{"", "/my/alarm/state", http.StatusSeeOther},
	}
	for _, tt := range tests {
		r := e.page(tt.path, jar.of(tt.user)...)
		if r.status != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.user, tt.path, r.status, tt.status)
		}
		if r.status == http.StatusOK && r.header.Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Errorf("%s %s: no CSP", tt.user, tt.path)
		}
		if regexp.MustCompile(`<script>|<style|style="|onclick=|onload=`).MatchString(r.body) {
			t.Errorf("%s %s has inline script or style", tt.user, tt.path)
		}
	}

	// An htmx request without a session is sent to sign in, not given a
	// sign-in page to swap into the queue.
	r := e.pageRequest(http.MethodGet, "/console/queue", nil, http.Header{"Hx-Request": {"true"}})
	if r.status != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("HX-Redirect"), "/login") {
		t.Errorf("anonymous htmx queue: %d %q", r.status, r.header.Get("HX-Redirect"))
	}

	// The menu offers each page to those it is for.
	menus := []struct {
		user       string
		console, m bool
	}{
		{"operator", true, false},
		{"director", true, false},
		{"resident01", false, true},
		{"broadcaster", false, false},
	}
	for _, tt := range menus {
		body := e.page("/", jar.of(tt.user)...).body
		nav := body[strings.Index(body, `<nav class="menu"`):]
		nav = nav[:strings.Index(nav, "</nav>")]
		if got := strings.Contains(nav, `href="/console"`); got != tt.console {
			t.Errorf("%s: console in menu %v", tt.user, got)
		}
		if got := strings.Contains(nav, `href="/my/alarm"`); got != tt.m {
			t.Errorf("%s: my alarm in menu %v", tt.user, got)
		}
	}
}

// queueRow finds an incident's row in the console's queue.
func queueRow(body string, id int64) string {
	m := regexp.MustCompile(`(?s)<a class="inc [^"]*"[^>]*data-id="` + fmt.Sprint(id) + `".*?</a>`).FindString(body)
	return m
}

func TestConsoleQueue(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	empty := e.page("/console", jar.of("operator")...)
	if !strings.Contains(empty.body, "目前没有未处理的报警") || !strings.Contains(empty.body, "<title>报警台 ·") {
		t.Errorf("empty console: %.300s", empty.body)
	}

	inc := e.intrusion()
	r := e.page("/console", jar.of("operator")...)
	row := queueRow(r.body, inc.ID)
	if row == "" {
		t.Fatalf("incident %d not in the queue", inc.ID)
	}
	for _, want := range []string{`class="inc p-intrusion"`, `data-kind="perimeter"`, `data-status="new"`, "入侵", "门窗被打开", "新报警", "刚刚", `aria-current="true"`} {
		if !strings.Contains(row, want) {
			t.Errorf("queue row lacks %q: %s", want, row)
		}
	}
	if !strings.Contains(r.body, "<title>(1) 报警台 ·") {
		t.Error("the title does not count the waiting alarm")
	}

	// The selected incident: the home, who lives there with whole numbers
	// to call, the timeline, and whom to send: grid01 first.
	home, err := e.store.Home(t.Context(), auth.Scope{{}}, inc.HomeID)
	if err != nil {
		t.Fatal(err)
	}
	people, err := e.store.ListPeople(t.Context(), auth.Scope{{}}, community.Filter{HomeID: inc.HomeID, Page: shequ.Page{Limit: 50}})
	if err != nil || len(people.Items) == 0 {
		t.Fatalf("people of the home: %v %d", err, len(people.Items))
	}
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	detail := r.body[strings.Index(r.body, `id="detail"`):]
	if strings.Contains(detail, "在岗") {
		t.Error("nobody is on duty, yet someone is offered as near")
	}
	for _, want := range []string{
		`data-id="` + fmt.Sprint(inc.ID) + `"`, home.BuildingName, home.Door,
		people.Items[0].Name, people.Items[0].Phone, `href="tel:` + people.Items[0].Phone + `"`,
		people.Items[0].Contacts[0].Phone, "紧急联系人",
		"确认收到 <kbd>A</kbd>", "派 " + grid01.DisplayName + " 前往 <kbd>D</kbd>", "本网格网格员", "处理完毕 <kbd>R</kbd>",
		`value="false_alarm"`, "误报", "经过",
	} {
		if !strings.Contains(detail, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	// The whole numbers were read on the record.
	l, err := e.store.ListAudit(t.Context(), auth.Scope{{}}, audit.Filter{Action: "person.read_pii", Page: shequ.Page{Limit: 50}})
	if err != nil || l.Total != len(people.Items) {
		t.Errorf("audit of the numbers read: %v, %d entries for %d people", err, l.Total, len(people.Items))
	}
	// Someone on duty nearby comes second, with the distance.
	grid02, _ := e.store.UserByName(t.Context(), "grid02")
	bld, err := e.store.Building(t.Context(), auth.Scope{{}}, home.BuildingID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetPosition(t.Context(), grid02.ID, bld.Lat, bld.Lng+0.001, true); err != nil {
		t.Fatal(err)
	}
	r = e.page(fmt.Sprintf("/console?id=%d", inc.ID), jar.of("operator")...)
	opts := regexp.MustCompile(`<option value="\d+">([^<]*)</option>`).FindAllStringSubmatch(r.body[strings.Index(r.body, `id="send-other"`):], 2)
	if len(opts) != 2 || !strings.HasPrefix(opts[0][1], grid01.DisplayName) || !strings.HasPrefix(opts[1][1], grid02.DisplayName) || !strings.Contains(opts[1][1], "在岗，约 9") {
		t.Errorf("whom to send: %v", opts)
	}

	// A refresh of the state reads no personal data.
	l, _ = e.store.ListAudit(t.Context(), auth.Scope{{}}, audit.Filter{Action: "person.read_pii", Page: shequ.Page{Limit: 1}})
	before := l.Total
	st := e.page(fmt.Sprintf("/console/incidents/%d/state", inc.ID), jar.of("operator")...)
	if st.status != 200 || !strings.Contains(st.body, `id="incident-state"`) || strings.Contains(st.body, people.Items[0].Phone) {
		t.Errorf("state fragment: %d", st.status)
	}
	if l, _ := e.store.ListAudit(t.Context(), auth.Scope{{}}, audit.Filter{Action: "person.read_pii", Page: shequ.Page{Limit: 1}}); l.Total != before {
		t.Errorf("a state refresh was audited as a read of numbers")
	}

	// The police officer watches without buttons, and sees numbers whole
	// too (the role may); the grid worker sees it as well.
	police := e.page("/console", jar.of("police")...)
	if !strings.Contains(police.body, queueRow(r.body, inc.ID)[:40]) || strings.Contains(police.body, `id="btn-ack"`) || !strings.Contains(police.body, "处理由监控中心负责") {
		t.Error("police console: want the alarm, no buttons")
	}

	// Ageing: stronger after one minute unacknowledged, strongest after three.
	for _, tt := range []struct {
		advance time.Duration
		class   string
		age     string
	}{
		{90 * time.Second, "age-1", "1 分钟"},
		{2 * time.Minute, "age-2", "3 分钟"},
	} {
		e.clock.Advance(tt.advance)
		q := e.page("/console/queue", jar.of("operator")...)
		row := queueRow(q.body, inc.ID)
		if !strings.Contains(row, `class="inc p-intrusion `+tt.class+`"`) || !strings.Contains(row, tt.age) {
			t.Errorf("after %v: row %s, want %s and %s", tt.advance, row, tt.class, tt.age)
		}
	}
	if q := e.page("/console/queue", jar.of("operator")...); !strings.Contains(q.body, "等待过久") || !strings.Contains(q.body, `data-title="(1) 报警台 · `) {
		t.Error("an overdue alarm does not say so in words")
	}

	// A call for help goes before the intrusion, in red.
	var sos alarm.Incident
	if got := e.do("resident01", "POST", "/api/v1/sos", nil, &sos); got != 201 {
		t.Fatalf("sos: %d", got)
	}
	if sos.ID != inc.ID {
		// A call for help from the same home joins its open incident and
		// raises it; otherwise it comes first.
		q := e.page("/console/queue", jar.of("operator")...).body
		if strings.Index(q, fmt.Sprintf(`data-id="%d"`, sos.ID)) > strings.Index(q, fmt.Sprintf(`data-id="%d"`, inc.ID)) {
			t.Error("the call for help is not first")
		}
	}
	q := e.page("/console/queue", jar.of("operator")...)
	if row := queueRow(q.body, sos.ID); !strings.Contains(row, "p-life") || !strings.Contains(row, "生命") {
		t.Errorf("SOS row: %s", row)
	}

	// English works too.
	en := e.pageRequest(http.MethodGet, "/console", nil, nil, append(jar.of("operator"), &http.Cookie{Name: langCookie, Value: langEn})...)
	for _, want := range []string{"Alarm console", "Life", "Acknowledge <kbd>A</kbd>", "Who lives there"} {
		if !strings.Contains(en.body, want) {
			t.Errorf("English console lacks %q", want)
		}
	}
}

func TestConsoleSteps(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	inc := e.intrusion()
	path := func(a string) string { return fmt.Sprintf("/console/incidents/%d/%s", inc.ID, a) }
	grid01, _ := e.store.UserByName(t.Context(), "grid01")

	// Refused: no CSRF token, a forged one, another site, a role that may
	// only watch, a resident.
	refusals := []struct {
		name, user string
		form       url.Values
		header     http.Header
		status     int
	}{
		{"no token", "operator", url.Values{"csrf_token": {""}}, nil, http.StatusForbidden},
		{"forged token", "operator", url.Values{"csrf_token": {"forged"}}, nil, http.StatusForbidden},
		{"another site", "operator", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"police", "police", nil, nil, http.StatusForbidden},
		{"resident", "resident01", nil, nil, http.StatusForbidden},
	}
	for _, tt := range refusals {
		form := tt.form
		if form == nil {
			form = url.Values{"csrf_token": {jar.csrf(tt.user)}}
		}
		r := e.pageRequest(http.MethodPost, path("ack"), form, tt.header, jar.of(tt.user)...)
		if r.status != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, r.status, tt.status)
		}
	}
	if got := e.incidentNow(inc.ID); got.Status != alarm.StatusNew {
		t.Fatalf("a refused step changed the incident: %s", got.Status)
	}

	// Without JavaScript: each button posts and comes back to the console.
	r := jar.post("operator", path("ack"), nil, false)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != fmt.Sprintf("/console?id=%d", inc.ID) {
		t.Fatalf("ack: %d %q", r.status, r.header.Get("Location"))
	}
	if got := e.incidentNow(inc.ID); got.Status != alarm.StatusAcknowledged {
		t.Fatalf("after ack: %s", got.Status)
	}
	// Twice: somebody else was quicker. The page says so and shows now.
	r = jar.post("operator", path("ack"), nil, true)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "这条报警刚刚已有变化") || !strings.Contains(r.body, `data-status="acknowledged"`) {
		t.Errorf("second ack: %d %.300s", r.status, r.body)
	}

	// With htmx: the answer is the incident's new state and the queue.
	r = jar.post("operator", path("dispatch"), url.Values{"user_id": {fmt.Sprint(grid01.ID)}}, true)
	if r.status != http.StatusOK || !strings.Contains(r.body, `id="incident-state"`) || !strings.Contains(r.body, `data-status="dispatched"`) ||
		!strings.Contains(r.body, `id="queue" class="queue"`) || !strings.Contains(r.body, `hx-swap-oob="true"`) || strings.Contains(r.body, "<html") {
		t.Fatalf("dispatch: %d %.500s", r.status, r.body)
	}
	if got := e.incidentNow(inc.ID); got.Status != alarm.StatusDispatched || got.DispatchedTo != grid01.ID {
		t.Fatalf("after dispatch: %+v", got)
	}
	if !strings.Contains(r.body, "已派："+grid01.DisplayName) {
		t.Error("the state does not say whom was sent")
	}

	// Resolve needs a code.
	r = jar.post("operator", path("resolve"), url.Values{"resolution": {""}}, true)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "请先选择") {
		t.Errorf("resolve without a code: %d", r.status)
	}
	r = jar.post("operator", path("resolve"), url.Values{"resolution": {"false_alarm"}, "notes": {"风吹开了窗"}}, false)
	if r.status != http.StatusSeeOther {
		t.Fatalf("resolve: %d", r.status)
	}
	got := e.incidentNow(inc.ID)
	if got.Status != alarm.StatusResolved || got.Resolution != "false_alarm" || got.Notes != "风吹开了窗" {
		t.Fatalf("after resolve: %+v", got)
	}

	// The resolved incident stays in sight, grey, while selected; the
	// queue of open alarms is empty again.
	c := e.page(fmt.Sprintf("/console?id=%d", inc.ID), jar.of("operator")...)
	row := queueRow(c.body, inc.ID)
	if !strings.Contains(row, "p-resolved") || !strings.Contains(row, "已处理") || strings.Contains(c.body, `id="btn-ack"`) {
		t.Errorf("resolved row: %s", row)
	}
	for _, want := range []string{"<strong>确认收到</strong> · 监控中心值班员", "<strong>派人</strong>", "→ " + grid01.DisplayName, "<strong>处理完毕</strong>", "误报 风吹开了窗"} {
		if !strings.Contains(c.body, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
	if q := e.page("/console/queue", jar.of("operator")...); strings.Contains(q.body, `class="inc `) {
		t.Error("a resolved incident is still queued")
	}
	// Unknown actions and incidents.
	if r := jar.post("operator", path("explode"), nil, false); r.status != http.StatusNotFound {
		t.Errorf("unknown action: %d", r.status)
	}
	if r := jar.post("operator", "/console/incidents/99999/ack", nil, false); r.status != http.StatusNotFound {
		t.Errorf("unknown incident: %d", r.status)
	}
}

func TestMyAlarmPage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	home := e.residentHomeID()
	state := func() alarm.State {
		st, err := e.store.ArmState(t.Context(), auth.Scope{{}}, home)
		if err != nil {
			t.Fatal(err)
		}
		return st.State
	}

	r := e.page("/my/alarm", jar.of("resident01")...)
	for _, want := range []string{`data-state="disarmed"`, "报警已关闭", `id="btn-arm-away"`, `id="btn-arm-home"`, `id="sos-button"`, `data-hold-ms="2000"`, "/static/resident.js"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("resident page lacks %q", want)
		}
	}

	// Arm at home: at once. The form cannot name another home.
	var hs page[community.Home]
	e.do("operator", "GET", "/api/v1/homes?limit=2", nil, &hs)
	other := hs.Items[0].ID
	if other == home {
		other = hs.Items[1].ID
	}
	r = jar.post("resident01", "/my/alarm/arm", url.Values{"mode": {"home"}, "home": {fmt.Sprint(other)}, "home_id": {fmt.Sprint(other)}}, false)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/my/alarm" {
		t.Fatalf("arm: %d", r.status)
	}
	if s := state(); s != alarm.ArmedHome {
		t.Fatalf("after arm at home: %s", s)
	}
	if st, _ := e.store.ArmState(t.Context(), auth.Scope{{}}, other); st.State == alarm.ArmedHome {
		t.Error("the form armed another home")
	}
	r = e.page("/my/alarm", jar.of("resident01")...)
	if !strings.Contains(r.body, `data-state="armed_home"`) || !strings.Contains(r.body, `id="btn-disarm"`) || strings.Contains(r.body, `id="btn-arm-away"`) {
		t.Error("armed page: want the state and the disarm button only")
	}

	// Arming twice is refused with the state as it is.
	r = jar.post("resident01", "/my/alarm/arm", url.Values{"mode": {"away"}}, true)
	if r.status != http.StatusConflict || !strings.Contains(r.body, "没有成功") || !strings.Contains(r.body, `data-state="armed_home"`) {
		t.Errorf("arm twice: %d", r.status)
	}

	// With htmx the answer is the state part.
	r = jar.post("resident01", "/my/alarm/disarm", nil, true)
	if r.status != 200 || !strings.HasPrefix(strings.TrimSpace(r.body), `<div id="alarm-state"`) || !strings.Contains(r.body, `data-state="disarmed"`) {
		t.Fatalf("disarm: %d %.200s", r.status, r.body)
	}
	if s := state(); s != alarm.Disarmed {
		t.Fatalf("after disarm: %s", s)
	}

	// Going out leaves a minute to leave.
	jar.post("resident01", "/my/alarm/arm", url.Values{"mode": {"away"}}, false)
	r = e.page("/my/alarm/state", jar.of("resident01")...)
	if !strings.Contains(r.body, `data-state="arming"`) || !strings.Contains(r.body, `data-seconds="60"`) || !strings.Contains(r.body, "还剩 60 秒") {
		t.Errorf("arming: %.400s", r.body)
	}
	jar.post("resident01", "/my/alarm/disarm", nil, false)

	// Others may not use the page's forms; a bad mode changes nothing.
	if r := jar.post("operator", "/my/alarm/arm", url.Values{"mode": {"away"}}, false); r.status != http.StatusForbidden {
		t.Errorf("operator arms: %d", r.status)
	}
	if r := jar.post("director", "/my/alarm/arm", url.Values{"mode": {"away"}}, false); r.status != http.StatusForbidden {
		t.Errorf("director arms a home they do not live in: %d", r.status)
	}
	if r := jar.post("resident01", "/my/alarm/arm", url.Values{"mode": {"sideways"}}, false); r.status != http.StatusUnprocessableEntity || state() != alarm.Disarmed {
		t.Errorf("bad mode: %d %s", r.status, state())
	}
	if r := e.pageRequest(http.MethodPost, "/my/alarm/arm", url.Values{"mode": {"away"}}, nil, jar.of("resident01")...); r.status != http.StatusForbidden || state() != alarm.Disarmed {
		t.Errorf("arm without a token: %d", r.status)
	}

	// An intrusion shows as an alarm, and what the centre does about it.
	inc := e.intrusion()
	r = e.page("/my/alarm", jar.of("resident01")...)
	if !strings.Contains(r.body, `data-state="triggered"`) || !strings.Contains(r.body, "正在报警") || !strings.Contains(r.body, "监控中心处理情况") {
		t.Errorf("triggered page: %.600s", r.body)
	}
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/dispatch", inc.ID), map[string]any{"user_id": grid01.ID}, nil)
	r = e.page("/my/alarm/state", jar.of("resident01")...)
	if !strings.Contains(r.body, grid01.DisplayName+" 正在赶来") {
		t.Errorf("dispatched: the resident is not told who comes: %.600s", r.body)
	}
}

func TestSOSNeedsConfirmation(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	home := e.residentHomeID()
	open := func() []alarm.Incident {
		l, err := e.store.ListIncidents(t.Context(), auth.Scope{{}}, alarm.IncidentFilter{Status: "open", HomeID: home})
		if err != nil {
			t.Fatal(err)
		}
		return l.Items
	}

	// A press without the hold (a tap, the keyboard, no JavaScript) asks
	// once more and sends nothing.
	r := jar.post("resident01", "/my/alarm/sos", nil, false)
	if r.status != 200 || !strings.Contains(r.body, "要呼救吗？") || !strings.Contains(r.body, `name="confirm" value="yes"`) || !strings.Contains(r.body, `href="/my/alarm"`) {
		t.Fatalf("first press: %d %.300s", r.status, r.body)
	}
	if n := len(open()); n != 0 {
		t.Fatalf("a single press opened %d incidents", n)
	}
	// Without the session's token nothing is sent either.
	if r := e.pageRequest(http.MethodPost, "/my/alarm/sos", url.Values{"confirm": {"yes"}}, nil, jar.of("resident01")...); r.status != http.StatusForbidden || len(open()) != 0 {
		t.Errorf("SOS without a token: %d", r.status)
	}
	if r := jar.post("operator", "/my/alarm/sos", url.Values{"confirm": {"yes"}}, false); r.status != http.StatusForbidden {
		t.Errorf("operator SOS: %d", r.status)
	}

	// Confirmed: help is called and the page says calmly what is true: the
	// centre has it; nobody is on the way until someone is sent.
	r = jar.post("resident01", "/my/alarm/sos", url.Values{"confirm": {"yes"}}, false)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/my/alarm" {
		t.Fatalf("confirmed SOS: %d", r.status)
	}
	incs := open()
	if len(incs) != 1 || incs[0].Priority != alarm.PriorityLife {
		t.Fatalf("after SOS: %+v", incs)
	}
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	r = e.page("/my/alarm", jar.of("resident01")...)
	for _, want := range []string{"监控中心已收到您的求助", "您的网格员是 " + grid01.DisplayName, "请待在安全的地方"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("help page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "救助正在赶来") {
		t.Error("help page says help is coming before anyone was sent")
	}
	// The large-text and language choices hold here too.
	r = e.pageRequest(http.MethodGet, "/my/alarm", nil, nil, append(jar.of("resident01"), &http.Cookie{Name: langCookie, Value: langHant}, &http.Cookie{Name: textCookie, Value: "large"})...)
	if !strings.Contains(r.body, `class="large"`) || !strings.Contains(r.body, "監控中心已收到您的求助") || !strings.Contains(r.body, "按住呼救") {
		t.Error("Traditional Chinese, large text: not applied")
	}
}

// TestAlarmWordsInCatalogs checks the keys the alarm pages build from
// values: every kind, status, outcome and state has words in all three
// languages (TestCatalogs checks that the three have the same keys).
func TestAlarmWordsInCatalogs(t *testing.T) {
	kinds := []alarm.Kind{alarm.KindBurglary, alarm.KindPerimeter, alarm.KindInterior, alarm.KindEntryExit, alarm.KindPanic, alarm.KindDuress,
		alarm.KindMedical, alarm.KindEmergency, alarm.KindFire, alarm.KindTamper, alarm.KindOpening, alarm.KindClosing, alarm.KindPartialArm,
		alarm.KindACLoss, alarm.KindLowBattery, alarm.KindTest, alarm.KindCommFailure, alarm.KindBypass, alarm.KindTrouble,
		alarm.KindSupervision, alarm.KindSensorOffline, alarm.KindUnknown}
	var keys []string
	for _, k := range kinds {
		keys = append(keys, "alarm.kind."+string(k))
	}
	for _, s := range []string{alarm.StatusNew, alarm.StatusAcknowledged, alarm.StatusDispatched, alarm.StatusOnSite, alarm.StatusResolved} {
		keys = append(keys, "alarm.status."+s, "myalarm.status."+s)
	}
	for _, r := range alarm.Resolutions {
		keys = append(keys, "alarm.res."+r)
	}
	for _, a := range []string{"opened", "event", "ack", "dispatch", "offered", "accept", "not_accepted", "no_candidates", "arrive", "resolve", "escalated", alarm.ActionNotified} {
		keys = append(keys, "alarm.action."+a)
	}
	for _, r := range []string{alarm.RoleHouseholder, alarm.RoleEmergencyContact, alarm.RolePolice, alarm.RoleSupervisor, alarm.RoleStaff} {
		keys = append(keys, "alarm.notify.role."+r)
	}
	for _, s := range []string{alarm.NotificationQueued, alarm.NotificationSent, alarm.NotificationDelivered, alarm.NotificationFailed} {
		keys = append(keys, "alarm.notify.status."+s)
	}
	keys = append(keys, "alarm.notify.attempts", "alarm.notify.channel."+alarm.ChannelSMS)
	for _, p := range []alarm.Priority{alarm.PriorityLife, alarm.PriorityIntrusion, alarm.PriorityTamper, alarm.PriorityTrouble} {
		keys = append(keys, "alarm.prio."+prioClass(alarm.Incident{Priority: p, Status: alarm.StatusNew}))
	}
	keys = append(keys, "alarm.prio.resolved", "console.title", "console.title.waiting", "console.refused.conflict", "console.refused.invalid",
		"myalarm.refused", "alarm.age.now", "alarm.age.min", "alarm.age.hour", "alarm.age.day", "nav.console", "nav.myalarm")
	for _, s := range []alarm.State{alarm.Disarmed, alarm.Arming, alarm.ArmedAway, alarm.ArmedHome, alarm.Pending, alarm.Triggered} {
		keys = append(keys, "myalarm.state."+string(s), "myalarm.explain."+string(s))
	}
	for _, tag := range langOrder {
		for _, k := range keys {
			if !locales[tag].Has(k) {
				t.Errorf("%s lacks %q", tag, k)
			}
		}
	}
	if !slices.Contains(keys, "alarm.prio.life") || !slices.Contains(keys, "alarm.prio.trouble") {
		t.Error("priority classes changed")
	}
}

func TestAgeAndTel(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	inc := alarm.Incident{Status: alarm.StatusNew, OpenedAt: now}
	tests := []struct {
		status string
		age    time.Duration
		want   string
	}{
		{alarm.StatusNew, 30 * time.Second, ""},
		{alarm.StatusNew, time.Minute, "age-1"},
		{alarm.StatusNew, 3 * time.Minute, "age-2"},
		{alarm.StatusAcknowledged, 5 * time.Minute, ""},
		{alarm.StatusDispatched, 12 * time.Minute, "age-1"},
		{alarm.StatusOnSite, time.Hour, "age-2"},
		{alarm.StatusResolved, time.Hour, ""},
	}
	for _, tt := range tests {
		inc.Status = tt.status
		if got := ageClass(inc, now.Add(tt.age)); got != tt.want {
			t.Errorf("%s after %v: %q, want %q", tt.status, tt.age, got, tt.want)
		}
	}
	l := locales[langEn]
	for d, want := range map[time.Duration]string{10 * time.Second: "just now", 3 * time.Minute: "3 min", 5 * time.Hour: "5 h", 72 * time.Hour: "3 days"} {
		if got := ageText(l, now, now.Add(d)); got != want {
			t.Errorf("ageText(%v) = %q, want %q", d, got, want)
		}
	}
	for in, want := range map[string]string{"138 0013 8000": "tel:13800138000", "+86-10-1234": "tel:+86101234", "138****8000": "", "": "", "12": ""} {
		if got := string(telURL(in)); got != want {
			t.Errorf("telURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// After an SOS the resident reads what is true: received, not "help is
// coming", until someone is sent; they may say it was a mistake with their
// password, which the operator sees and which closes nothing; once the
// centre resolves an alarm the page says so instead of "alarm!".
func TestMyAlarmSaysWhatIsTrue(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	jar := newJar(e)
	home := e.residentHomeID()
	jar.post("resident01", "/my/alarm/sos", url.Values{"confirm": {"yes"}}, false)
	r := e.page("/my/alarm/state", jar.of("resident01")...)
	if !strings.Contains(r.body, "监控中心已收到您的求助") || strings.Contains(r.body, "救助正在赶来") || !strings.Contains(r.body, `id="btn-mistake"`) {
		t.Errorf("SOS just sent: %.800s", r.body)
	}
	if r := jar.post("resident01", "/my/alarm/mistake", url.Values{"pin": {"wrong"}}, false); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "密码不对") {
		t.Errorf("mistake with a wrong password: %d", r.status)
	}
	if r := jar.post("resident01", "/my/alarm/mistake", url.Values{"pin": {demoPassword}}, false); r.status != http.StatusOK || !strings.Contains(r.body, "已告诉监控中心您按错了") {
		t.Errorf("mistake: %d %.400s", r.status, r.body)
	}
	l, err := e.store.ListIncidents(t.Context(), auth.Scope{{}}, alarm.IncidentFilter{Status: "open", HomeID: home})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("the call for help closed: %v %+v", err, l.Items)
	}
	c := e.page(fmt.Sprintf("/console?id=%d", l.Items[0].ID), jar.of("operator")...)
	if !strings.Contains(c.body, "住户说是按错了") {
		t.Error("the operator does not see that the resident said it was a mistake")
	}
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/dispatch", l.Items[0].ID), map[string]any{"user_id": grid01.ID}, nil)
	if r := e.page("/my/alarm/state", jar.of("resident01")...); !strings.Contains(r.body, "救助正在赶来") || !strings.Contains(r.body, grid01.DisplayName+" 正在赶来") {
		t.Errorf("dispatched: %.600s", r.body)
	}
	e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", l.Items[0].ID), map[string]any{"resolution": "user_error"}, nil)

	inc := e.intrusion()
	e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/resolve", inc.ID), map[string]any{"resolution": "false_alarm"}, nil)
	r = e.page("/my/alarm/state", jar.of("resident01")...)
	if strings.Contains(r.body, "正在报警") || !strings.Contains(r.body, "报警已处理完毕") || !strings.Contains(r.body, "误报") || !strings.Contains(r.body, `id="btn-disarm"`) {
		t.Errorf("after the centre resolved the alarm: %.800s", r.body)
	}
	if !strings.Contains(r.body, "报警位置：厨房窗") || !strings.Contains(r.body, `data-state="open"`) {
		t.Errorf("the page does not say which window fired or that it is open: %.800s", r.body)
	}
}
