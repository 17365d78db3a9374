package web

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
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
	if (document.documentElement.scrollWidth > vw) out.push("the page is " + document.documentElement.scrollWidth + " px wide on a " + vw + " px screen");
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
// every page: status 200, nothing wider than the screen, no button or
// menu label broken over two lines, and axe-core finds nothing serious or
// critical (the report is the test's artifact). On the resident's home
// the SOS button is whole and on the first screen, above the bar.
func TestBrowserMenuWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	began := time.Now()
	tabCtx := newBrowser(t, ctx)
	b := &browserTab{t: t, name: "walk", ctx: tabCtx, log: watchConsole(tabCtx)}
	report := newAxeReport(t)
	shots := os.Getenv("SHEQU_SCREENSHOT_DIR")
	b.run("Chinese", acceptLanguage("zh-CN,zh;q=0.9"))

	pages := 0
	accounts := demo.Accounts
	if only := os.Getenv("SHEQU_WALK_ONLY"); only != "" { // to walk one account while working on its pages
		accounts = strings.Split(only, ",")
	}
	for _, who := range accounts {
		b.name = who
		b.run("sign out the last one", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, network.DeleteCookies, network.DeleteCookiesParams{Name: sessionCookie, URL: e.http.URL})
			return err
		}))
		b.run("a phone", setScreen(e.http.URL, walkScreens[0]))
		b.signIn(e.http.URL, who, "/")
		var first []string
		for _, s := range walkScreens {
			b.run("screen "+s.name, setScreen(e.http.URL, s))
			b.navigate("home", chromedp.Navigate(e.http.URL+"/"))
			var m menuOf
			if err := json.Unmarshal([]byte(b.eval(readMenu)), &m); err != nil {
				t.Fatal(err)
			}
			all := append(slices.Clone(m.Bar), m.More...)
			if first == nil {
				first = all
				t.Logf("%s: bar %v, under 更多 %v", who, m.Bar, m.More)
			} else if !slices.Equal(all, first) {
				t.Errorf("%s %s: menu %v, on the first screen it was %v", who, s.name, all, first)
			}
			if len(m.Bar) > navBarMax || !m.MoreLast {
				t.Errorf("%s %s: bar %v and 更多 last %v: want at most %d destinations and then 更多", who, s.name, m.Bar, m.MoreLast, navBarMax)
			}
			if s.phone {
				// The bar is at the bottom of the screen.
				if v := b.eval(`String(Math.round(document.querySelector("nav.menu").getBoundingClientRect().bottom) === innerHeight)`); v != "true" {
					t.Errorf("%s %s: the menu is not at the bottom of the screen", who, s.name)
				}
			}
			path := "/"
			b.checkPage(report, s, path)
			if who == "resident01" {
				b.sosOnFirstScreen(s)
			}
			if shots != "" {
				b.shoot(shots, fmt.Sprintf("walk-%s-%s-home", who, s.name))
			}
			pages++
			for _, href := range all {
				inMore := slices.Contains(m.More, href)
				if inMore {
					b.run("open 更多", chromedp.Click(chromedp.CSS(`#nav-more > summary`)))
					b.wait("更多 is open", `document.querySelector("#nav-more").open && document.querySelector("#nav-more .more-panel").getBoundingClientRect().height > 0`, 2*time.Second)
					b.navigateSoft("menu "+href, chromedp.Click(chromedp.CSS(`#nav-more .more-panel a[href="`+href+`"]`)))
				} else {
					b.navigateSoft("menu "+href, chromedp.Click(chromedp.CSS(`nav.menu .bar a[href="`+href+`"]`)))
				}
				if got := b.eval(`location.pathname`); got != href {
					t.Errorf("%s %s: the menu's %s went to %s", who, s.name, href, got)
				}
				// The menu says where the reader is.
				if v := b.eval(`String(!!document.querySelector('nav.menu a[aria-current="page"][href="` + href + `"]'))`); v != "true" {
					t.Errorf("%s %s %s: the menu does not mark the page as current", who, s.name, href)
				}
				b.checkPage(report, s, href)
				if shots != "" {
					b.shoot(shots, fmt.Sprintf("walk-%s-%s%s", who, s.name, strings.ReplaceAll(href, "/", "-")))
				}
				pages++
			}
		}
	}
	if p := b.log.problems(); len(p) > 0 {
		t.Errorf("browser console:\n%s", strings.Join(p, "\n"))
	}
	t.Logf("walked %d pages in %v", pages, time.Since(began).Round(100*time.Millisecond))
}

// checkPage checks the page shown for what pageProblems finds and runs
// axe on it.
func (b *browserTab) checkPage(report *axeReport, s screen, path string) {
	b.t.Helper()
	var problems []string
	if err := json.Unmarshal([]byte(b.eval(`JSON.stringify(`+pageProblems+`)`)), &problems); err != nil {
		b.t.Fatal(err)
	}
	for _, p := range problems {
		b.t.Errorf("%s %s %s: %s", b.name, s.name, path, p)
	}
	report.check(b.ctx, b.name, s.name, path)
}

// sosOnFirstScreen checks the resident's home: the SOS button on the
// first screen, above the bar, its label on one line.
func (b *browserTab) sosOnFirstScreen(s screen) {
	b.t.Helper()
	got := b.eval(`(() => {
		const sos = document.querySelector("#home-sos");
		if (!sos) return "no SOS button";
		const r = sos.getBoundingClientRect();
		const bar = document.querySelector("nav.menu").getBoundingClientRect();
		const limit = bar.top > innerHeight / 2 ? bar.top : innerHeight;
		if (r.bottom > limit) return "the SOS button ends at " + Math.round(r.bottom) + " px, the first screen at " + Math.round(limit);
		return "";
	})()`)
	if got != "" {
		b.t.Errorf("%s %s: %s", b.name, s.name, got)
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
