package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserMapShowsAlarm: the operator has the site map open; a window
// opens in an armed home; within two seconds the map shows the alarm at
// its building, without a reload. On a 390 px phone at 200 % text the map
// does not scroll sideways.
func TestBrowserMapShowsAlarm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	e.addSensor()
	home := e.residentHomeID()
	h, err := e.store.Home(t.Context(), auth.Scope{{}}, home)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.do("resident01", "POST", fmt.Sprintf("/api/v1/homes/%d/alarm/arm", home), map[string]any{"mode": "away", "exit_delay_seconds": 0}, nil); got != 200 {
		t.Fatalf("arm: %d", got)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	opCtx := newBrowser(t, ctx)
	op := &browserTab{t: t, name: "operator", ctx: opCtx, log: watchConsole(opCtx)}
	op.run("emulate a desktop", chromedp.EmulateViewport(1366, 900), acceptLanguage("zh-CN,zh;q=0.9"))
	op.signIn(e.http.URL, "operator", "/map")
	op.wait("map live", `document.querySelector("#live").dataset.state === "open"`, 5*time.Second)
	if n := op.eval(`String(document.querySelectorAll("#map-live .incident").length)`); n != "0" {
		t.Fatalf("the map starts with %s alarms", n)
	}
	op.eval(`window.shequMark = "kept"; ""`)
	building := fmt.Sprintf(`document.querySelector('#site-plan .buildings [data-id="%d"]')`, h.BuildingID)
	if op.eval(`String(!!`+building+`)`) != "true" {
		t.Fatalf("building %d is not on the map", h.BuildingID)
	}

	began := time.Now()
	out := e.openWindow(t.Context())
	if len(out) != 1 || out[0].Incident == nil {
		t.Fatalf("no incident from the window: %+v", out)
	}
	id := out[0].Incident.ID
	op.wait("the alarm on the map", fmt.Sprintf(`!!document.querySelector('#map-live .incident[data-id="%d"]')`, id), 2*time.Second)
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the alarm took %v to reach the map", took)
	}
	if op.eval(`window.shequMark || ""`) != "kept" {
		t.Errorf("the map reloaded instead of updating live")
	}
	// At its building: the marker's centre is inside the footprint's box.
	inside := op.eval(fmt.Sprintf(`(function () {
		var m = document.querySelector('#map-live .incident[data-id="%d"]').getBoundingClientRect();
		var b = %s.getBoundingClientRect();
		var x = m.left + m.width / 2, y = m.top + m.height / 2;
		return String(x >= b.left && x <= b.right && y >= b.top && y <= b.bottom);
	})()`, id, building))
	if inside != "true" {
		t.Errorf("the alarm is not drawn at its building")
	}
	if op.eval(`document.querySelector("#map-alarm-list").textContent`) == "" {
		t.Errorf("the list of alarms on the map is empty")
	}

	op.run("a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	op.navigate("large text", chromedp.Click(chromedp.CSS(`form#prefs button[name="text"]`)))
	op.wait("large text on", `document.documentElement.classList.contains("large")`, 5*time.Second)
	if w := op.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the map is %s px wide on a 390 px phone at 200 %% text", w)
	}
	if p := op.log.problems(); len(p) > 0 {
		t.Errorf("browser console: %v", p)
	}
}
