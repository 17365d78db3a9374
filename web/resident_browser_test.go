package web

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/sqlstore"
)

// setOffline cuts the tab off the network, or gives it back: requests
// fail and the page is told it is offline.
func setOffline(offline bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		yes := true
		if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			EmulateOfflineServiceWorker: &yes,
			MatchedNetworkConditions:    []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
		}); err != nil {
			return err
		}
		_, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1})
		return err
	})
}

// TestBrowserResidentMatter is issue 4's "done when": resident01 on a
// phone-sized touch screen reports a lift fault (a category tile, a
// description, the required question) and gets its tracking number — once
// with the network dropping on the way, which keeps the draft and sends it
// when the network is back; the operator, at a desktop, finds it in the
// queue and assigns it to grid01, the suggested grid worker; the resident
// opens "my matters" and sees it assigned, in Chinese.
func TestBrowserResidentMatter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	grid01, err := e.store.UserByName(t.Context(), "grid01")
	if err != nil {
		t.Fatal(err)
	}
	resident, _ := e.store.UserByName(t.Context(), "resident01")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	began := time.Now()

	resCtx := newBrowser(t, ctx)
	res := &browserTab{t: t, name: "resident", ctx: resCtx, log: watchConsole(resCtx)}
	opCtx, cancelOp := chromedp.NewContext(resCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelOp)
	if err := chromedp.Do(opCtx); err != nil {
		t.Fatalf("second browser context: %v", err)
	}
	op := &browserTab{t: t, name: "operator", ctx: opCtx, log: watchConsole(opCtx)}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}

	res.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	op.run("emulate a desktop", chromedp.EmulateViewport(1280, 900), acceptLanguage("zh-CN,zh;q=0.9"))

	// --- the resident reports a lift fault ---
	res.signIn(e.http.URL, "resident01", "/")
	res.wait("the home page", `!!document.querySelector("#home-report") && !!navigator.serviceWorker`, 5*time.Second)
	fits := func(b *browserTab, where string) {
		t.Helper()
		if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}
	fits(res, "the resident's home")
	for _, sel := range []string{"#home-report", "#home-mymatters", "#home-alarm"} {
		h, err := chromedp.Run(res.ctx, chromedp.Evaluate[float64](`document.querySelector('`+sel+`').getBoundingClientRect().height`))
		if err != nil || h < 48 {
			t.Errorf("%s is %.0f px tall (%v), want at least 48", sel, h, err)
		}
	}
	res.shoot(dir, "matter-1-resident-home")

	res.navigate("open the form", chromedp.Tap(chromedp.ID("home-report")))
	// resident-app.js shows only the questions of the chosen kind.
	res.wait("the form's script", `document.querySelector("#questions-lift").hidden === true`, 5*time.Second)
	fits(res, "the report form")
	for _, sel := range []string{`label[for="cat-lift"]`, "#send", "#photo-button"} {
		h, err := chromedp.Run(res.ctx, chromedp.Evaluate[float64](`document.querySelector('`+sel+`').getBoundingClientRect().height`))
		if err != nil || h < 48 {
			t.Errorf("%s is %.0f px tall (%v), want at least 48", sel, h, err)
		}
	}
	res.run("choose the lift", chromedp.Tap(chromedp.CSS(`label[for="cat-lift"]`)))
	res.wait("its questions show", `document.querySelector("#questions-lift").hidden === false &&
		document.querySelector('input[name="attr.lift.trapped"]').required`, 3*time.Second)
	res.run("nobody is trapped", chromedp.Tap(chromedp.CSS(`#questions-lift input[name="attr.lift.trapped"][value="no"]`)))
	res.run("say it is at home", chromedp.Tap(chromedp.CSS(`label[for="where-home"]`)))
	res.run("say what is wrong", chromedp.SendKeys(chromedp.ID("description"), "3号楼电梯停在5楼不动"))
	// A photo as big as a phone's camera takes; the page shrinks it.
	photo := filepath.Join(t.TempDir(), "lift.png")
	writeTestPhoto(t, photo, 3000, 2000)
	res.run("add a photo", chromedp.SetUploadFiles(chromedp.ID("photo"), []string{photo}))
	res.wait("the photo is ready", `!document.querySelector("#photo-preview").hidden && document.querySelector("#photo-preview").naturalWidth === 1600 &&
		!document.querySelector("#photo-state").hidden`, 5*time.Second)
	draftKey := fmt.Sprintf("shequ.draft.matter:%d", resident.ID)
	res.wait("the draft is kept", `(localStorage.getItem(`+jsString(draftKey)+`) || "").includes("3号楼电梯停在5楼不动")`, 3*time.Second)
	res.shoot(dir, "matter-2-resident-form")

	// The network drops as the resident presses send: the page says so,
	// keeps everything, and sends it when the network is back.
	res.run("lose the network", setOffline(true))
	res.run("send", chromedp.Tap(chromedp.ID("send")))
	res.wait("told calmly", `!document.querySelector("#send-status").hidden && document.querySelector("#send-status").textContent.includes("没有网络")`, 5*time.Second)
	if v := res.eval(`document.querySelector("#description").value`); v != "3号楼电梯停在5楼不动" {
		t.Errorf("the description is now %q", v)
	}
	res.shoot(dir, "matter-3-resident-offline")
	if l, _ := e.store.ListMatters(t.Context(), auth.Scope{{}}, matter.Filter{}); l.Total != 0 {
		t.Fatal("a matter was filed while offline")
	}
	res.run("the network is back", setOffline(false))
	waitThrough(res, "sent by itself: the tracking number", `location.pathname.startsWith("/my/matters/") && !!document.querySelector("#tracking")`, 15*time.Second)
	tracking := strings.TrimSpace(res.eval(`document.querySelector("#tracking").textContent`))
	l, err := e.store.ListMatters(t.Context(), auth.Scope{{}}, matter.Filter{})
	if err != nil || l.Total != 1 {
		t.Fatalf("matters after sending: %v %+v", err, l.Items)
	}
	m := l.Items[0]
	if m.Tracking != tracking || m.Category != "lift" || m.Attributes["trapped"] != "no" || m.Description != "3号楼电梯停在5楼不动" {
		t.Errorf("filed %+v, page shows %q", m, tracking)
	}
	if ids, _ := e.store.MatterPhotoIDs(t.Context(), m.ID); len(ids) != 1 {
		t.Errorf("photos %v", ids)
	} else if ph, _ := e.store.MatterPhoto(t.Context(), auth.Scope{{}}, m.ID, ids[0]); ph.ContentType != "image/jpeg" || ph.Size > 1<<20 {
		t.Errorf("photo stored as %s, %d bytes: want a shrunk JPEG", ph.ContentType, ph.Size)
	}
	if d := res.eval(`String(localStorage.getItem(` + jsString(draftKey) + `))`); d != "null" {
		t.Errorf("the draft outlived the sending: %s", d)
	}
	fits(res, "the sent page")
	res.shoot(dir, "matter-4-resident-sent")

	// --- the operator assigns it ---
	op.signIn(e.http.URL, "operator", "/matters")
	row := `#queue tr[data-tracking="` + tracking + `"]`
	op.wait("the matter is queued", `!!document.querySelector('`+row+`') && document.querySelector('`+row+`').dataset.status === "submitted"`, 3*time.Second)
	op.shoot(dir, "matter-5-operator-queue")
	op.navigate("open it", chromedp.Click(chromedp.CSS(row+` a`)))
	if v := op.eval(`document.querySelector("#assign-to").value`); v != fmt.Sprint(grid01.ID) {
		t.Errorf("suggested %s, want grid01 (%d)", v, grid01.ID)
	}
	op.navigate("assign to grid01", chromedp.Click(chromedp.ID("btn-assign")))
	op.wait("assigned", `document.querySelector("#matter-status").dataset.status === "assigned" && document.querySelector("#assignee").textContent.includes(`+jsString(grid01.DisplayName)+`)`, 3*time.Second)
	op.shoot(dir, "matter-6-operator-assigned")
	if got, _ := e.store.Matter(t.Context(), auth.Scope{{}}, m.ID); got.Status != matter.Assigned || got.AssigneeUserID != grid01.ID {
		t.Errorf("after assigning: %s to %d", got.Status, got.AssigneeUserID)
	}

	// --- the resident sees it assigned ---
	res.navigate("open my matters", chromedp.Navigate(e.http.URL+"/my/matters"))
	card := `.list-card[data-tracking="` + tracking + `"]`
	if s := res.eval(`document.querySelector('` + card + ` .chip').textContent`); s != "已派单" {
		t.Errorf("the resident sees %q, want 已派单", s)
	}
	fits(res, "my matters")
	res.shoot(dir, "matter-7-resident-assigned")
	res.navigate("open the matter", chromedp.Tap(chromedp.CSS(card)))
	if tl := res.eval(`document.querySelector("#timeline").innerText`); !strings.Contains(tl, "派单") || !strings.Contains(tl, grid01.DisplayName) {
		t.Errorf("timeline %q", tl)
	}
	res.shoot(dir, "matter-8-resident-timeline")

	// The news, a guide and lost and found, to look at.
	for i, path := range []string{"/news", "/guides/1", "/lostfound/new"} {
		res.navigate("open "+path, chromedp.Navigate(e.http.URL+path))
		fits(res, path)
		res.shoot(dir, fmt.Sprintf("matter-%d-resident%s", 11+i, strings.ReplaceAll(path, "/", "-")))
	}

	// Large text doubles the text and still fits.
	res.navigate("back to the matter", chromedp.Navigate(e.http.URL+fmt.Sprintf("/my/matters/%d", m.ID)))
	res.navigate("large text", chromedp.Click(chromedp.CSS(`#prefs button[name="text"]`)))
	if fs := res.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
		t.Errorf("large text font size %s", fs)
	}
	fits(res, "the matter in large text")
	res.shoot(dir, "matter-14-resident-large")
	t.Logf("screenshots in %s", dir)

	for _, b := range []*browserTab{res, op} {
		var p []string
		for _, msg := range b.log.problems() {
			// The send that failed while offline, on purpose.
			if !strings.Contains(msg, "ERR_INTERNET_DISCONNECTED") {
				p = append(p, msg)
			}
		}
		if len(p) > 0 {
			t.Errorf("%s browser console:\n%s", b.name, strings.Join(p, "\n"))
		}
	}

	// Offline: the service worker shows the last home page seen — the
	// news and the office's number — and, for other pages, the offline
	// page with the number.
	res.wait("the service worker controls the page", `!!navigator.serviceWorker && !!navigator.serviceWorker.controller`, 10*time.Second)
	res.navigate("home again", chromedp.Navigate(e.http.URL+"/"))
	// Installable: the manifest parses and the browser finds nothing that
	// stops it from being installed.
	res.run("the app manifest", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		m, err := chromedp.Call(ctx, cdppage.GetAppManifest, cdppage.GetAppManifestParams{})
		if err != nil {
			return err
		}
		if !strings.HasSuffix(m.URL, "/manifest.webmanifest") || len(m.Errors) > 0 {
			t.Errorf("manifest %s: errors %+v", m.URL, m.Errors)
		}
		inst, err := chromedp.Call(ctx, cdppage.GetInstallabilityErrors, cdp.Empty{})
		if err != nil {
			return err
		}
		for _, ie := range inst.InstallabilityErrors {
			t.Errorf("not installable: %s %+v", ie.ErrorID, ie.ErrorArguments)
		}
		return nil
	}))
	kept := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !kept; time.Sleep(100 * time.Millisecond) {
		res.eval(`caches.keys().then(ks => Promise.all(ks.map(k => caches.open(k).then(c => c.match("/"))))).then(rs => { window.shequKept = rs.some(Boolean); }); ""`)
		kept = res.eval(`String(window.shequKept === true)`) == "true"
	}
	if !kept {
		t.Fatal("the service worker did not keep the home page")
	}
	// The network goes for good: the server stops, and the page is told.
	e.http.Close()
	res.run("lose the network again", setOffline(true))
	res.navigate("home, offline", chromedp.Navigate(e.http.URL+"/"))
	res.wait("the kept home page says it is offline", `!document.querySelector("#offline-banner").hidden`, 3*time.Second)
	if text := res.eval(`document.body.innerText`); !strings.Contains(text, "停水") || !strings.Contains(text, "023-00000000") {
		t.Errorf("offline home lacks the news or the number: %.300q", text)
	}
	res.shoot(dir, "matter-15-resident-offline-home")
	res.navigate("another page, offline", chromedp.Navigate(e.http.URL+"/lostfound"))
	if text := res.eval(`document.querySelector("#offline") ? document.body.innerText : ""`); !strings.Contains(text, "023-00000000") || !strings.Contains(text, "没有网络") {
		t.Errorf("offline page: %.300q", text)
	}
	res.shoot(dir, "matter-16-resident-offline-page")

	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Error("the walk took too long")
	}
	t.Logf("the walk took %v", time.Since(began).Round(100*time.Millisecond))
}

// writeTestPhoto writes a w×h PNG with something in it.
func writeTestPhoto(t *testing.T, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y += 4 {
		for x := 0; x < w; x += 4 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// waitThrough polls a condition while the page may navigate: evaluating
// in a page that is going away fails, and the next page is asked again.
func waitThrough(b *browserTab, step, cond string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("%s: %s: not within %v (%v)", b.name, step, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
