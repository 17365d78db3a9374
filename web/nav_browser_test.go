package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
)

// screen is a size and text mode the menus are walked in.
type screen struct {
	name          string
	width, height int64
	phone, large  bool
}

var walkScreens = []screen{
	{"390", 390, 844, true, false},
	{"390-large", 390, 844, true, true},
	{"1366", 1366, 768, false, false},
	{"1366-large", 1366, 768, false, true},
}

// setScreen makes the tab a phone or a desk, with normal or large text
// (the cookie the "大字" switch sets).
func setScreen(base string, s screen) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		var emulate chromedp.Action[chromedp.Void]
		if s.phone {
			emulate = chromedp.EmulateViewport(s.width, s.height, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		} else {
			emulate = chromedp.EmulateViewport(s.width, s.height)
		}
		if err := chromedp.Do(ctx, emulate); err != nil {
			return err
		}
		if s.large {
			_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: textCookie, Value: "large", URL: base})
			return err
		}
		_, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: textCookie, URL: base})
		return err
	})
}

// menuOf is the menu of the page shown: the bar's addresses and those
// under "更多".
type menuOf struct {
	Bar  []string `json:"bar"`
	More []string `json:"more"`
	// MoreLast: "更多" is the bar's last item.
	MoreLast bool `json:"moreLast"`
}

const readMenu = `JSON.stringify({
	bar: [...document.querySelectorAll("nav.menu .bar > li > a")].map(a => a.getAttribute("href")),
	more: [...document.querySelectorAll("nav.menu .more-panel a")].map(a => a.getAttribute("href")),
	moreLast: !!document.querySelector("nav.menu .bar > li:last-child > details.more > summary")
})`

// pageProblems finds, in the page shown, what a person at this screen
// would trip over: a page wider than the screen, a button or menu label
// broken over two lines, a menu item hidden off the screen.
const pageProblems = `(() => {
	const out = [];
	const vw = document.documentElement.clientWidth;
	if (document.documentElement.scrollWidth > vw) {
		// Name the innermost elements that stick out, to know what to fix.
		const wide = [...document.querySelectorAll("body *:not(nav.menu, nav.menu *)")].filter(el => el.getBoundingClientRect().right > vw + 1);
		const inner = wide.filter(el => !wide.some(o => o !== el && el.contains(o))).slice(0, 3)
			.map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : ""));
		out.push("the page is " + document.documentElement.scrollWidth + " px wide on a " + vw + " px screen: " + inner.join(", "));
	}
	// The lines a label's longest run of text takes: a label made of
	// parts laid out on lines of their own on purpose (SOS over 按住呼救)
	// is fine, a word or phrase broken over two is not.
	const lines = el => {
		let most = 0;
		const walk = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
		for (let n = walk.nextNode(); n; n = walk.nextNode()) {
			if (!n.textContent.trim()) continue;
			const r = document.createRange();
			r.selectNodeContents(n);
			const tops = [];
			for (const q of r.getClientRects()) {
				if (q.width < 2 || q.height < 2) continue; // visually hidden
				if (!tops.some(t => Math.abs(t - q.top) < q.height / 2)) tops.push(q.top);
			}
			most = Math.max(most, tops.length);
		}
		return most;
	};
	const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
	for (const el of document.querySelectorAll("main button, main .button, main input[type=submit], nav.menu .bar-link, header.site button")) {
		if (!visible(el)) continue;
		const n = lines(el);
		if (n > 1) out.push("label on " + n + " lines: " + JSON.stringify(el.textContent.trim().replace(/\s+/g, " ")));
		const r = el.getBoundingClientRect();
		if (r.right > vw + 0.5 || r.left < -0.5) out.push("off the screen: " + JSON.stringify(el.textContent.trim()));
	}
	return out;
})()`

// TestBrowserMenuWalk is issue 12's "done when" for the menus: each demo
// account, in Chinese, on a 390 px phone and a 1366 px desk, with normal
// and with large (200 %) text, walks its menu to every page by clicking
// it — the bar's items, and each item under "更多" after opening it. On
// every page: status 200, the menu marks it as the current one, nothing
// wider than the screen, no button or menu label broken over two lines.
// axe-core finds nothing serious or critical on each account's home, with
// "更多" closed and open, and on every page whose content (<main>) it has
// not already checked at that screen for another account: the same list
// of news seen by seven accounts is checked once, its menu for each (the
// report is the test's artifact). On the resident's home the SOS button
// is whole and on the first screen, above the bar.
//
// The accounts walk side by side, each in a browser context of its own,
// as many at once as -parallel allows.
func TestBrowserMenuWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	t.Cleanup(cancel) // the accounts' subtests run after this function returns
	began := time.Now()
	tab := newBrowser(t, ctx)
	report := newAxeReport(t)
	checked := &seenPages{seen: map[string]bool{}}
	var pages atomic.Int64
	t.Cleanup(func() {
		t.Logf("walked %d pages in %v", pages.Load(), time.Since(began).Round(100*time.Millisecond))
	})

	accounts := demo.Accounts
	if only := os.Getenv("SHEQU_WALK_ONLY"); only != "" { // to walk some accounts while working on their pages
		accounts = strings.Split(only, ",")
	}
	for _, who := range accounts {
		t.Run(who, func(t *testing.T) {
			t.Parallel()
			own, stop := chromedp.NewContext(tab, chromedp.WithNewBrowserContext())
			t.Cleanup(stop)
			if err := chromedp.Do(own); err != nil {
				t.Fatalf("a browser context: %v", err)
			}
			b := &browserTab{t: t, name: who, ctx: own, log: watchConsole(own)}
			b.run("Chinese", acceptLanguage("zh-CN,zh;q=0.9"))
			b.run("a phone", setScreen(e.http.URL, walkScreens[0]))
			b.signIn(e.http.URL, who, "/")
			var first []string
			for _, s := range walkScreens {
				n := b.walkMenu(e.http.URL, s, report, checked, &first)
				pages.Add(int64(n))
			}
			if p := b.log.problems(); len(p) > 0 {
				t.Errorf("browser console:\n%s", strings.Join(p, "\n"))
			}
		})
	}
}

// seenPages are the pages axe has checked, by screen, address and content.
type seenPages struct {
	mu   sync.Mutex
	seen map[string]bool
}

// first reports whether key is new, and remembers it.
func (p *seenPages) first(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seen[key] {
		return false
	}
	p.seen[key] = true
	return true
}

// mainKey names the content of the page shown: its <main>, without the
// session's token.
const mainKey = `(() => {
	const s = document.querySelector("main").innerHTML.replace(/value="[^"]*"/g, "");
	let h = 0;
	for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
	return location.pathname + " " + s.length + " " + h;
})()`

// walkMenu walks the menu of the account signed in on screen s and
// returns how many pages it saw. first is the menu of the first screen,
// which every other screen must have too.
func (b *browserTab) walkMenu(base string, s screen, report *axeReport, checked *seenPages, first *[]string) int {
	t := b.t
	t.Helper()
	shots := os.Getenv("SHEQU_SCREENSHOT_DIR")
	b.run("screen "+s.name, setScreen(base, s))
	b.navigate("home", chromedp.Navigate(base+"/"))
	var m menuOf
	if err := json.Unmarshal([]byte(b.eval(readMenu)), &m); err != nil {
		t.Fatal(err)
	}
	all := append(slices.Clone(m.Bar), m.More...)
	if *first == nil {
		*first = all
		t.Logf("bar %v, under 更多 %v", m.Bar, m.More)
	} else if !slices.Equal(all, *first) {
		t.Errorf("%s: menu %v, on the first screen it was %v", s.name, all, *first)
	}
	if len(m.Bar) > navBarMax || !m.MoreLast {
		t.Errorf("%s: bar %v and 更多 last %v: want at most %d destinations and then 更多", s.name, m.Bar, m.MoreLast, navBarMax)
	}
	if s.phone {
		if v := b.eval(`String(Math.round(document.querySelector("nav.menu").getBoundingClientRect().bottom) === innerHeight)`); v != "true" {
			t.Errorf("%s: the menu is not at the bottom of the screen", s.name)
		}
	}
	b.checkPage(s, "/")
	report.check(b.t, b.ctx, b.name, s.name, "/", "")
	if b.name == "resident01" {
		b.sosOnFirstScreen(s, "#home-sos")
	}
	if shots != "" {
		b.shoot(shots, fmt.Sprintf("walk-%s-%s-home", b.name, s.name))
	}
	// 更多 open: every item in it can be seen and pressed, and axe
	// checks the open menu.
	b.openMore()
	if bad := b.eval(unreachableInMore); bad != "" {
		t.Errorf("%s: under 更多: %s", s.name, bad)
	}
	b.checkPage(s, "/ with 更多 open")
	report.check(b.t, b.ctx, b.name, s.name, "/ with 更多 open", "nav.menu")
	if shots != "" {
		b.shoot(shots, fmt.Sprintf("walk-%s-%s-more", b.name, s.name))
	}
	b.run("close 更多", chromedp.Click(chromedp.CSS(`#nav-more > summary`)))

	for _, href := range all {
		if slices.Contains(m.More, href) {
			b.openMore()
			b.navigateSoft("menu "+href, chromedp.Click(chromedp.CSS(`#nav-more .more-panel a[href="`+href+`"]`)))
		} else {
			b.navigateSoft("menu "+href, chromedp.Click(chromedp.CSS(`nav.menu .bar a[href="`+href+`"]`)))
		}
		if got := b.eval(`location.pathname`); got != href {
			t.Errorf("%s: the menu's %s went to %s", s.name, href, got)
		}
		// The menu says where the reader is.
		if v := b.eval(`String(!!document.querySelector('nav.menu a[aria-current="page"][href="` + href + `"]'))`); v != "true" {
			t.Errorf("%s %s: the menu does not mark the page as current", s.name, href)
		}
		b.checkPage(s, href)
		if b.name == "resident01" && href == "/my/alarm" {
			b.sosOnFirstScreen(s, "#sos-button")
		}
		if checked.first(s.name + " " + b.eval(mainKey)) {
			report.check(b.t, b.ctx, b.name, s.name, href, "")
		}
		if shots != "" {
			b.shoot(shots, fmt.Sprintf("walk-%s-%s%s", b.name, s.name, strings.ReplaceAll(href, "/", "-")))
		}
	}
	return 1 + len(all)
}

// openMore opens "更多" and waits for its panel.
func (b *browserTab) openMore() {
	b.t.Helper()
	b.run("open 更多", chromedp.Click(chromedp.CSS(`#nav-more > summary`)))
	b.wait("更多 is open", `document.querySelector("#nav-more").open && document.querySelector("#nav-more .more-panel").getBoundingClientRect().height > 0`, 2*time.Second)
}

// unreachableInMore lists the items of the open "更多" that a finger or a
// pointer cannot reach: scrolled to (the panel scrolls when it is taller
// than the screen), each must be on the screen and the thing under its
// middle.
const unreachableInMore = `(() => {
	const out = [];
	for (const a of document.querySelectorAll("#nav-more .more-panel a, #nav-more .more-panel button")) {
		if (a.getClientRects().length === 0) continue; // the desk's account part is in the header
		a.scrollIntoView({block: "nearest"});
		const r = a.getBoundingClientRect();
		const x = r.left + r.width / 2, y = r.top + r.height / 2;
		const hit = document.elementFromPoint(x, y);
		if (r.bottom > innerHeight || r.right > innerWidth || !hit || !(hit === a || a.contains(hit)))
			out.push(a.textContent.trim());
	}
	return out.join(", ");
})()`

// checkPage checks the page shown for what pageProblems finds.
func (b *browserTab) checkPage(s screen, path string) {
	b.t.Helper()
	var problems []string
	if err := json.Unmarshal([]byte(b.eval(`JSON.stringify(`+pageProblems+`)`)), &problems); err != nil {
		b.t.Fatal(err)
	}
	for _, p := range problems {
		b.t.Errorf("%s %s: %s", s.name, path, p)
	}
}

// sosOnFirstScreen checks that the SOS control sel of the resident's page
// is whole on the first screen, above the bar.
func (b *browserTab) sosOnFirstScreen(s screen, sel string) {
	b.t.Helper()
	got := b.eval(`(() => {
		const sos = document.querySelector(` + jsString(sel) + `);
		if (!sos) return "no SOS button";
		const r = sos.getBoundingClientRect();
		const bar = document.querySelector("nav.menu").getBoundingClientRect();
		const limit = bar.top > innerHeight / 2 ? bar.top : innerHeight;
		if (r.bottom > limit) return ` + jsString(sel) + ` + " ends at " + Math.round(r.bottom) + " px, the first screen at " + Math.round(limit);
		return "";
	})()`)
	if got != "" {
		b.t.Errorf("%s: %s", s.name, got)
	}
}

// navigateSoft is navigate that reports a page other than 200 and goes on.
func (b *browserTab) navigateSoft(step string, a chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %s: %v", b.name, step, err)
	}
	if resp == nil || resp.Status != 200 {
		status := int64(0)
		if resp != nil {
			status = resp.Status
		}
		b.t.Errorf("%s: %s: status %d", b.name, step, status)
	}
}
