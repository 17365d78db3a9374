package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/sqlstore"
)

// chromiumPaths are where Debian's "chromium" package and the usual
// alternatives put the browser; SHEQU_CHROMIUM overrides them.
var chromiumPaths = []string{"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"}

// findChromium returns the browser to drive, skipping the test when there is
// none — except in CI, where a missing browser must not pass unnoticed.
func findChromium(t *testing.T) string {
	t.Helper()
	paths := chromiumPaths
	if p := os.Getenv("SHEQU_CHROMIUM"); p != "" {
		paths = []string{p}
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	msg := "no Chromium at " + strings.Join(paths, ", ") + ": install the Debian package \"chromium\" or set SHEQU_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser returns a tab of the package's shared headless Chromium,
// closed when the test ends or ctx does. Starting Chromium takes seconds,
// so the browser tests share one; they do not run in parallel, so its
// error log goes to the test that runs.
//
// The tab is in the browser's own profile rather than in a browser context
// of its own, since Chromium will not install a web app from those
// (incognito) contexts and TestBrowserResidentMatter checks that the app
// can be installed. So that no test sees another's cookies, storage,
// caches or service workers, the tab starts by clearing the cookies and
// the data of every origin the tests before went to. (Each test server
// has a port, and so an origin, of its own anyway.)
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	browserCtx := sharedBrowser(t)
	// The tab lives as long as ctx, as if the browser had been started
	// under it, but the browser outlives it.
	parent, stop := context.WithCancel(browserCtx)
	if d, ok := ctx.Deadline(); ok {
		parent, stop = context.WithDeadline(browserCtx, d)
	}
	stopAfter := context.AfterFunc(ctx, stop)
	tab, _ := chromedp.NewContext(parent, chromedp.WithListener(func(ev any) {
		if e, ok := ev.(*cdppage.EventFrameNavigated); ok {
			browser.visited(e.Frame.SecurityOrigin)
		}
	}))
	browserLog.set(t)
	t.Cleanup(func() {
		// Cancel waits until the tab is closed, so nothing of it logs
		// to a test that has ended.
		chromedp.Cancel(tab)
		stopAfter()
		stop()
		browserLog.set(nil)
	})
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	if _, err := chromedp.Call(tab, storage.ClearCookies, storage.ClearCookiesParams{}); err != nil {
		t.Fatalf("clear the browser's cookies: %v", err)
	}
	for _, o := range browser.origins() {
		if _, err := chromedp.Call(tab, storage.ClearDataForOrigin, storage.ClearDataForOriginParams{Origin: o, StorageTypes: "all"}); err != nil {
			t.Fatalf("clear the browser's data of %s: %v", o, err)
		}
	}
	return tab
}

// browser is the package's Chromium, started by the first browser test
// and stopped by TestMain.
var browser sharedChromium

type sharedChromium struct {
	once sync.Once
	ctx  context.Context // the first tab's context: it owns the process
	stop func()          // stops the browser and removes its files
	err  error

	mu   sync.Mutex
	seen map[string]bool // the origins the tests' tabs went to
}

func (b *sharedChromium) visited(origin string) {
	if origin == "" || origin == "null" { // about:blank
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen == nil {
		b.seen = map[string]bool{}
	}
	b.seen[origin] = true
}

func (b *sharedChromium) origins() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for o := range b.seen {
		out = append(out, o)
	}
	return out
}

// sharedBrowser returns the context of the package's Chromium, starting it
// on first use. The flags keep it from calling home, so the tests need no
// network beyond the test server.
func sharedBrowser(t *testing.T) context.Context {
	t.Helper()
	exec := findChromium(t)
	browser.once.Do(func() {
		// The profile and the browser's own temporary files go in one
		// directory that goes away with the browser.
		base, err := os.MkdirTemp("", "shequ-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		profile, tmp := filepath.Join(base, "profile"), filepath.Join(base, "tmp")
		if err := os.Mkdir(tmp, 0o700); err != nil {
			browser.err = err
			return
		}
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(exec),
			chromedp.Headless,
			chromedp.NoSandbox, // CI runs as root in a container
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.UserDataDir(profile),
			chromedp.Env("TMPDIR="+tmp),
			chromedp.WindowSize(390, 844),
		)
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(browserLog.errorf))
		browser.ctx = ctx
		browser.stop = func() {
			cancel()
			cancelAlloc() // waits for the browser to exit
			// Its helpers can still write there for a moment after.
			for range 50 {
				if os.RemoveAll(base) == nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			fmt.Fprintf(os.Stderr, "could not remove %s\n", base)
		}
		if err := chromedp.Do(ctx); err != nil {
			browser.err = fmt.Errorf("start %s: %w", exec, err)
		}
	})
	if browser.err != nil {
		t.Fatal(browser.err)
	}
	return browser.ctx
}

// stopBrowser stops the shared Chromium, if a test started it.
func stopBrowser() {
	if browser.stop != nil {
		browser.stop()
	}
}

// browserLog sends what the browser's protocol client reports to the
// browser test that runs, or to standard error between tests.
var browserLog testLog

type testLog struct {
	mu sync.Mutex
	t  *testing.T
}

func (l *testLog) set(t *testing.T) {
	l.mu.Lock()
	l.t = t
	l.mu.Unlock()
}

func (l *testLog) errorf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.t != nil {
		l.t.Logf(format, args...)
		return
	}
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

// consoleLog collects what the pages write to the console: a script error
// or a Content-Security-Policy violation shows up there and nowhere else.
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	l := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.msgs = append(l.msgs, m)
			l.mu.Unlock()
		}
	}()
	return l
}

func (l *consoleLog) problems() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, m := range l.msgs {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
			out = append(out, m.String())
		}
	}
	return out
}

// TestBrowserPhone walks the web shell on a phone-sized screen in a real
// browser: sign in, the menu, the homes list filtered by htmx, and a switch
// to English that comes back to the filtered list.
func TestBrowserPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	ctx, cancel := context.WithTimeout(t.Context(), 45*time.Second)
	defer cancel()
	tab := newBrowser(t, ctx)
	console := watchConsole(tab)

	run := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(tab, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(tab, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return v
	}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR") // to look at them, or keep them in CI
	if dir == "" {
		dir = t.TempDir()
	}
	shoot := func(name string) {
		t.Helper()
		shot, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// navigate runs an action that loads a new page and waits for it.
	navigate := func(step string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		resp, err := chromedp.RunResponse(tab, a)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if resp == nil {
			t.Fatalf("%s: the page changed without loading a document", step)
		}
		if resp.Status != 200 {
			t.Fatalf("%s: status %d for %s", step, resp.Status, resp.URL)
		}
	}

	// A phone: 390×844 CSS pixels, touch, mobile viewport rules. The
	// browser asks for Simplified Chinese, as a mainland phone does.
	run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		chromedp.Func(func(ctx context.Context, tt *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{
				Headers: network.Headers{"Accept-Language": "zh-CN,zh;q=0.9"},
			})
			return err
		}),
	)

	navigate("open /login", chromedp.Navigate(e.http.URL+"/login"))
	if lang := eval(`document.documentElement.lang`); lang != langHans {
		t.Errorf("login page lang %q, want %s", lang, langHans)
	}
	// The page must fit the phone: nothing wider than the screen.
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("login page is %s px wide on a 390 px phone", w)
	}
	// Controls are big enough to touch.
	for _, sel := range []string{"#username", "#password", `form.stack button[type="submit"]`, `#prefs button[value="en"]`} {
		h, err := chromedp.Run(tab, chromedp.Evaluate[float64](`document.querySelector('`+sel+`').getBoundingClientRect().height`))
		if err != nil || h < 48 {
			t.Errorf("%s is %.0f px tall (%v), want at least 48", sel, h, err)
		}
	}

	shoot("1-login-zh")
	run("type the credentials",
		chromedp.SendKeys(chromedp.ID("username"), "operator"),
		chromedp.SendKeys(chromedp.ID("password"), demoPassword),
	)
	navigate("sign in", chromedp.Click(chromedp.CSS(`form.stack button[type="submit"]`)))
	if loc := eval(`location.pathname`); loc != "/" {
		t.Fatalf("after sign-in the browser is at %s, want /", loc)
	}
	run("see the menu", chromedp.WaitVisible(chromedp.CSS(`nav.menu a[href="/homes"]`)))
	if nav := eval(`document.querySelector("nav.menu").innerText`); !strings.Contains(nav, "房屋") || strings.Contains(nav, "操作日志") {
		t.Errorf("operator's menu is %q: want 房屋 and no 操作日志", nav)
	}

	shoot("2-home-zh")
	navigate("open homes", chromedp.Click(chromedp.CSS(`nav.menu a[href="/homes"]`)))
	run("wait for htmx", chromedp.Poll[chromedp.Void](`window.htmx !== undefined`, chromedp.WithPollingTimeout(5*time.Second)))
	// A mark on the window survives an htmx swap and dies with a page load:
	// it proves the filter refreshed only the table.
	eval(`window.shequMark = "kept"; ""`)
	run("filter floor 1",
		chromedp.SendKeys(chromedp.ID("f-floor"), "1"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
	)
	run("see rows of floor 1", chromedp.Poll[chromedp.Void](`(() => {
		const cells = [...document.querySelectorAll("#results td.floor")];
		return location.search.includes("floor=1") && cells.length > 0 && cells.every(td => td.textContent.trim() === "1") &&
			!document.querySelector(".htmx-request");
	})()`, chromedp.WithPollingTimeout(10*time.Second)))
	if mark := eval(`String(window.shequMark)`); mark != "kept" {
		t.Error("the filter reloaded the whole page instead of the table")
	}
	if rows := eval(`String(document.querySelectorAll("#results tbody tr").length)`); rows == "0" {
		t.Error("no rows after filtering")
	}

	// Choosing a building refreshes the table at once, keeping the floor.
	building := eval(`(() => {
		const s = document.querySelector("#f-building");
		s.value = s.options[2].value;
		s.dispatchEvent(new Event("change", {bubbles: true}));
		return s.options[2].text;
	})()`)
	buildingJS, _ := json.Marshal(building)
	run("see rows of one building on floor 1", chromedp.Poll[chromedp.Void](`(() => {
		const rows = [...document.querySelectorAll("#results tbody tr")];
		return /building=\d/.test(location.search) && location.search.includes("floor=1") && rows.length > 0 &&
			rows.every(tr => tr.cells[0].textContent.trim() === `+string(buildingJS)+` && tr.cells[2].textContent.trim() === "1") &&
			!document.querySelector(".htmx-request");
	})()`, chromedp.WithPollingTimeout(10*time.Second)))

	navigate("switch to English", chromedp.Click(chromedp.CSS(`#prefs button[value="en"]`)))
	if lang := eval(`document.documentElement.lang`); lang != langEn {
		t.Errorf("after the switch lang is %q, want en", lang)
	}
	if q := eval(`location.pathname + location.search`); !strings.Contains(q, "/homes") || !strings.Contains(q, "floor=1") || !strings.Contains(q, "building=") {
		t.Errorf("the switch went to %s, want back to the filtered homes", q)
	}
	// Signing out is under "More" on a phone.
	if text := eval(`document.body.innerText + document.querySelector("#nav-more").textContent`); !strings.Contains(text, "Homes") || !strings.Contains(text, "Floor") || !strings.Contains(text, "Sign out") {
		t.Errorf("English page lacks English labels: %.300q", text)
	}
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("homes page is %s px wide on a 390 px phone", w)
	}

	shoot("3-homes-en")
	t.Logf("screenshots in %s", dir)

	// The console would show a script error or a blocked inline style.
	if p := console.problems(); len(p) > 0 {
		t.Errorf("browser console:\n%s", strings.Join(p, "\n"))
	}
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Error("the walk took too long")
	}
}
