package web

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// browserTab drives one tab of the test browser.
type browserTab struct {
	t    *testing.T
	name string
	ctx  context.Context
	log  *consoleLog
}

func (b *browserTab) run(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, step, err)
	}
}

func (b *browserTab) eval(expr string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("%s: evaluate %s: %v", b.name, expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it holds. A page that a form
// or a script replaces meanwhile takes the poll with it; the next page is
// polled then, until the time is up.
func (b *browserTab) wait(step, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := chromedp.Do(b.ctx, chromedp.Poll[chromedp.Void](cond, chromedp.WithPollingTimeout(time.Until(deadline)), chromedp.WithPollingInterval(20*time.Millisecond)))
		if err == nil {
			return
		}
		if !pageWentAway(err) || time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: %v", b.name, step, err)
		}
	}
}

// pageWentAway reports whether err says the page a script ran in was
// replaced by another while it ran.
func pageWentAway(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Cannot find context with specified id") || strings.Contains(msg, "Execution context was destroyed")
}

func (b *browserTab) navigate(step string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, step, err)
	}
	if resp == nil || resp.Status != 200 {
		b.t.Fatalf("%s: %s: response %+v", b.name, step, resp)
	}
}

func (b *browserTab) shoot(dir, name string) {
	b.t.Helper()
	shot, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("%s: screenshot: %v", b.name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn signs user in through the login form and lands on next.
func (b *browserTab) signIn(base, user, next string) {
	b.t.Helper()
	b.navigate("open the login page", chromedp.Navigate(base+"/login?next="+next))
	b.run("type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), user),
		chromedp.SendKeys(chromedp.ID("password"), demoPassword),
	)
	b.navigate("sign in", chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)))
	if loc := b.eval(`location.pathname`); loc != next {
		b.t.Fatalf("%s: after sign-in at %s, want %s", b.name, loc, next)
	}
}

func acceptLanguage(lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
			Headers: network.Headers{"Accept-Language": lang},
		})
		return err
	})
}

// TestBrowserAlarmConsole is the alarm flow end to end in a real browser:
// an operator at a desktop console and resident01 on a phone, each in a
// browser context of their own. The resident arms; a window opens; the
// alarm must reach the console within two seconds; the operator
// acknowledges (key A), sends grid01 and resolves it as a false alarm;
// the resident's page follows every change without a reload.
func TestBrowserAlarmConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams) // before the test server waits for them
	e.addSensor()
	grid01, err := e.store.UserByName(t.Context(), "grid01")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	began := time.Now()

	opCtx := newBrowser(t, ctx)
	op := &browserTab{t: t, name: "operator", ctx: opCtx, log: watchConsole(opCtx)}
	resCtx, cancelRes := chromedp.NewContext(opCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelRes)
	if err := chromedp.Do(resCtx); err != nil {
		t.Fatalf("second browser context: %v", err)
	}
	res := &browserTab{t: t, name: "resident", ctx: resCtx, log: watchConsole(resCtx)}
	workerCtx, cancelWorker := chromedp.NewContext(opCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelWorker)
	if err := chromedp.Do(workerCtx); err != nil {
		t.Fatalf("third browser context: %v", err)
	}
	worker := &browserTab{t: t, name: "grid01", ctx: workerCtx, log: watchConsole(workerCtx)}

	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}

	// The operator at a desktop; the resident on a phone.
	op.run("emulate a desktop", chromedp.EmulateViewport(1600, 1000), acceptLanguage("zh-CN,zh;q=0.9"))
	res.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	worker.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	op.signIn(e.http.URL, "operator", "/console")
	res.signIn(e.http.URL, "resident01", "/my/alarm")
	worker.signIn(e.http.URL, "grid01", "/my/dispatches")

	// The resident arms at home: at once, no exit delay.
	res.wait("resident live", `document.querySelector("#live").dataset.state === "open"`, 5*time.Second)
	if w := res.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("resident page is %s px wide on a 390 px phone", w)
	}
	for _, sel := range []string{"#btn-arm-away", "#btn-arm-home", "#sos-button"} {
		h, err := chromedp.Run(res.ctx, chromedp.Evaluate[float64](`document.querySelector('`+sel+`').getBoundingClientRect().height`))
		if err != nil || h < 48 {
			t.Errorf("%s is %.0f px tall (%v), want at least 48", sel, h, err)
		}
	}
	res.shoot(dir, "alarm-1-resident-disarmed")
	res.run("arm at home", chromedp.Click(chromedp.ID("btn-arm-home")))
	res.wait("see armed", `!!document.querySelector('#alarm-state .arm-card[data-state="armed_home"]') && !!document.querySelector("#btn-disarm")`, 5*time.Second)
	// A mark on the window dies with a page load: it proves the updates
	// below came live.
	res.eval(`window.shequMark = "kept"; ""`)

	op.wait("console live", `document.querySelector("#live").dataset.state === "open"`, 5*time.Second)
	if n := op.eval(`String(document.querySelectorAll("#queue .inc").length)`); n != "0" {
		t.Fatalf("the queue starts with %s alarms", n)
	}
	op.run("enable and test the sound", chromedp.Click(chromedp.ID("sound-test")))
	op.wait("sound on", `document.querySelector("#sound-state").classList.contains("on")`, 2*time.Second)
	beeps := func() int {
		n, _ := strconv.Atoi(op.eval(`document.querySelector("#console").dataset.beeps || "0"`))
		return n
	}
	before := beeps()
	op.eval(`window.shequMark = "kept"; ""`)

	// A window opens while armed. The page notes when the row appears, by
	// the same wall clock as the test's.
	op.eval(`new MutationObserver((_, obs) => {
		if (document.querySelector('#queue .inc[data-kind="perimeter"]')) { window.shequSeen = performance.timeOrigin + performance.now(); obs.disconnect(); }
	}).observe(document.querySelector("#console"), {subtree: true, childList: true}); ""`)
	start := time.Now()
	opened := e.openWindow(ctx)
	committed := time.Since(start)
	if len(opened) != 1 || opened[0].Incident == nil {
		t.Fatalf("the window opened no incident: %+v", opened)
	}
	incID := opened[0].Incident.ID
	op.wait("the alarm reaches the console", `!!document.querySelector('#queue .inc.p-intrusion[data-kind="perimeter"][data-status="new"]')`, 2*time.Second-time.Since(start))
	latency := time.Since(start)
	seen, err := chromedp.Run(op.ctx, chromedp.Evaluate[float64](`window.shequSeen || 0`))
	onScreen := time.UnixMilli(int64(seen)).Sub(start)
	t.Logf("intrusion to console: %v as the test saw it, %v until the row was on the page (stored and committed in %v)",
		latency.Round(time.Millisecond), onScreen.Round(time.Millisecond), committed.Round(time.Millisecond))
	if err != nil || seen == 0 {
		t.Errorf("the page did not note the row: %v", err)
	}
	if latency > 2*time.Second {
		t.Errorf("the alarm took %v to reach the console, want under 2 s", latency)
	}
	if title := op.eval(`document.title`); !strings.HasPrefix(title, "(1) 报警台") {
		t.Errorf("console title %q, want it to count the alarm", title)
	}
	if beeps() <= before {
		t.Error("the new alarm made no sound")
	}
	res.wait("the resident sees the alarm live", `!!document.querySelector('#alarm-state .arm-card[data-state="triggered"]') && window.shequMark === "kept"`, 3*time.Second)
	res.shoot(dir, "alarm-2-resident-triggered")
	if !strings.Contains(res.eval(`document.querySelector("#alarm-state").textContent`), "报警位置：厨房窗") {
		t.Error("the resident's page does not say which window fired")
	}
	noCodes(t, res, "the resident's triggered alarm")

	// The console opens the alarm by itself: the home and its people.
	op.wait("the alarm opens", `!!document.querySelector('#detail[data-id] #btn-ack:not([disabled])') && !!document.querySelector('#detail .people')`, 3*time.Second)
	op.shoot(dir, "alarm-3-console-new")
	if tl := op.eval(`document.querySelector("#incident-state .timeline").textContent`); !strings.Contains(tl, "门窗被打开 · 厨房窗") {
		t.Errorf("the timeline does not say the event in words: %q", tl)
	}
	noCodes(t, op, "the console with a new alarm")

	// Acknowledge with the key.
	op.run("press A", chromedp.KeyEvent("a"))
	op.wait("acknowledged", `document.querySelector("#incident-state").dataset.status === "acknowledged"`, 3*time.Second)
	if d := op.eval(`document.querySelector("#btn-dispatch").textContent`); !strings.Contains(d, grid01.DisplayName) {
		t.Errorf("the recommended person is %q, want %s", d, grid01.DisplayName)
	}
	op.run("send grid01", chromedp.Click(chromedp.ID("btn-dispatch")))
	op.wait("dispatched", `document.querySelector("#incident-state").dataset.status === "dispatched"`, 3*time.Second)
	res.wait("the resident is told who comes", `document.querySelector("#alarm-state .help-card") !== null &&
		document.querySelector("#alarm-state .help-card").textContent.includes(`+jsString(grid01.DisplayName+" 正在赶来")+`)`, 3*time.Second)
	res.shoot(dir, "alarm-4-resident-help-coming")

	// grid01, on the stairs, opens the dispatch (the SMS says where; the
	// page's poll would say it too, within 15 s), accepts, arrives and
	// reports; the report reaches the console's timeline live.
	worker.navigate("open the dispatches", chromedp.Navigate(e.http.URL+"/my/dispatches"))
	if w := worker.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("dispatch page is %s px wide on a 390 px phone", w)
	}
	for _, step := range []string{"accept", "arrive"} {
		sel := fmt.Sprintf(`#%s-%d`, step, incID)
		if h, err := chromedp.Run(worker.ctx, chromedp.Evaluate[float64](`document.querySelector('`+sel+`').getBoundingClientRect().height`)); err != nil || h < 48 {
			t.Errorf("%s is %.0f px tall (%v), want at least 48", sel, h, err)
		}
		worker.navigate(step, chromedp.Click(chromedp.CSS(sel)))
	}
	worker.shoot(dir, "alarm-4b-grid-worker-on-site")
	report := "窗户没关好，家里无人，已关窗"
	worker.run("write the report", chromedp.SendKeys(chromedp.ID(fmt.Sprintf("notes-%d", incID)), report))
	worker.navigate("send the report", chromedp.Click(chromedp.ID(fmt.Sprintf("report-%d", incID))))
	if !strings.Contains(worker.eval(`document.body.textContent`), "报告已发送给监控中心") {
		t.Error("the grid worker's page does not confirm the report")
	}
	op.wait("the report reaches the console", `document.querySelector("#incident-state").dataset.status === "on_site" &&
		document.querySelector("#incident-state .timeline").textContent.includes(`+jsString(report)+`) && window.shequMark === "kept"`, 3*time.Second)

	op.run("choose false alarm and resolve",
		chromedp.SetValue(chromedp.ID("resolution"), "false_alarm"),
		chromedp.Click(chromedp.ID("btn-resolve")),
	)
	op.wait("resolved", `document.querySelector("#incident-state").dataset.status === "resolved" &&
		!!document.querySelector('#queue .inc.p-resolved') && window.shequMark === "kept"`, 3*time.Second)
	op.shoot(dir, "alarm-5-console-resolved")
	noCodes(t, op, "the console with the alarm resolved")
	res.wait("the resident is told it was dealt with", `document.querySelector("#alarm-state .arm-word").textContent.includes("报警已处理完毕")`, 3*time.Second)
	noCodes(t, res, "the resident's resolved alarm")
	if title := op.eval(`document.title`); strings.HasPrefix(title, "(") {
		t.Errorf("console title %q after the alarm was resolved", title)
	}

	inc, err := e.store.ListIncidents(t.Context(), auth.Scope{{}}, alarm.IncidentFilter{})
	if err != nil || len(inc.Items) != 1 {
		t.Fatalf("incidents: %v %+v", err, inc.Items)
	}
	operator, _ := e.store.UserByName(t.Context(), "operator")
	if got := inc.Items[0]; got.Status != alarm.StatusResolved || got.Resolution != "false_alarm" || got.DispatchedTo != grid01.ID || got.AckBy != operator.ID {
		t.Errorf("incident after the console: %+v", got)
	}

	// The resident's page drops the notice and turns the alarm off.
	res.wait("the notice goes", `document.querySelector("#alarm-state .help-card") === null`, 3*time.Second)
	res.run("disarm", chromedp.Click(chromedp.ID("btn-disarm")))
	res.wait("disarmed", `!!document.querySelector('#alarm-state .arm-card[data-state="disarmed"]') && window.shequMark === "kept"`, 3*time.Second)

	// A stray tap on SOS calls nobody; the page says to hold.
	res.run("tap SOS", chromedp.Tap(chromedp.ID("sos-button")))
	time.Sleep(300 * time.Millisecond)
	if hint := res.eval(`document.querySelector("#sos-hint").textContent`); !strings.Contains(hint, "2 秒") || res.eval(`location.pathname`) != "/my/alarm" {
		t.Errorf("after a tap: hint %q at %s", hint, res.eval(`location.pathname`))
	}
	if l, _ := e.store.ListIncidents(t.Context(), auth.Scope{{}}, alarm.IncidentFilter{Status: "open"}); l.Total != 0 {
		t.Error("a tap on SOS opened an incident")
	}

	// Held for two seconds, it calls for help: the page says calmly that
	// help is coming and who, and the console rings with a red alarm.
	pt := res.eval(`(() => {
		const b = document.querySelector("#sos-button");
		b.scrollIntoView({block: "center"});
		const r = b.getBoundingClientRect();
		return (r.left + r.width / 2) + "," + (r.top + r.height / 2);
	})()`)
	var x, y float64
	if _, err := fmt.Sscanf(pt, "%f,%f", &x, &y); err != nil {
		t.Fatalf("SOS button at %q: %v", pt, err)
	}
	before = beeps()
	res.run("hold SOS for 2.3 s", holdXY(x, y, 2300*time.Millisecond))
	res.wait("help is coming", `location.pathname === "/my/alarm" && !!document.querySelector("#alarm-state .help-card.help-life") &&
		document.querySelector("#alarm-state .help-card").textContent.includes(`+jsString(grid01.DisplayName)+`)`, 5*time.Second)
	res.shoot(dir, "alarm-6-resident-help-coming")
	if h := res.eval(`document.querySelector("#alarm-state .help-card h2").textContent`); strings.Contains(h, "正在赶来") {
		t.Errorf("the resident is told help is coming before anyone was sent: %q", h)
	}
	noCodes(t, res, "the resident's call for help")
	op.wait("the call for help on the console", `!!document.querySelector('#queue .inc.p-life[data-status="new"]')`, 3*time.Second)
	if beeps() <= before {
		t.Error("the call for help made no sound")
	}
	op.run("open the call for help", chromedp.Click(chromedp.CSS(`#queue a.inc.p-life`)))
	op.wait("the call for help opens", `!!document.querySelector('#incident-state.p-life')`, 3*time.Second)
	noCodes(t, op, "the console with a call for help")

	// Pictures to look at: a wall screen and a phone.
	op.run("a wall screen", chromedp.EmulateViewport(1920, 1080))
	op.shoot(dir, "alarm-7-console-wall")
	op.run("a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	if w := op.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("console is %s px wide on a 390 px phone", w)
	}
	op.shoot(dir, "alarm-8-console-phone")
	t.Logf("screenshots in %s", dir)

	for _, b := range []*browserTab{op, res} {
		if p := b.log.problems(); len(p) > 0 {
			t.Errorf("%s browser console:\n%s", b.name, strings.Join(p, "\n"))
		}
	}
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Error("the walk took too long")
	}
	t.Logf("the walk took %v", time.Since(began).Round(100*time.Millisecond))
}

// sayings are what must not reach a Chinese reader: SIA codes, event
// kinds and system phrases in English. The operator's code detail
// (.code-detail) may hold codes.
var sayings = regexp.MustCompile(`\b(BA|BR|PA|FA|TA|YC|YK|CL|OP|RP|burglary|perimeter|interior|entry_exit|panic|duress|medical|fire|tamper|comm_failure|trouble|restored|zone|not acknowledged|no answer|nobody left)\b`)

// noCodes fails the test when the page's visible text, outside the code
// detail, has an English code or kind.
func noCodes(t *testing.T, b *browserTab, where string) {
	t.Helper()
	text := b.eval(`(() => {
		const out = [];
		const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			const el = n.parentElement;
			if (!el || el.closest(".code-detail, script, style, template, [hidden]") || !el.getClientRects().length) continue;
			out.push(n.textContent);
		}
		return out.join(" ");
	})()`)
	if m := sayings.FindAllString(text, -1); len(m) > 0 {
		t.Errorf("%s: codes or English words on the page: %q", where, m)
	}
}

// holdXY presses a finger on the screen at x, y for d, as a person holds a
// button.
func holdXY(x, y float64, d time.Duration) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		one := 1.0
		p := input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart,
			TouchPoints: []*input.TouchPoint{{X: x, Y: y, RadiusX: &one, RadiusY: &one, Force: &one}}}
		if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, p); err != nil {
			return err
		}
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
		// The page may have moved on already: the lift goes nowhere then.
		p.Type, p.TouchPoints = input.DispatchTouchEventTypeTouchEnd, []*input.TouchPoint{}
		chromedp.Call(ctx, input.DispatchTouchEvent, p)
		return nil
	})
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}
