package web

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserBroadcastEditPhone: the broadcaster's zone and slot forms,
// all open, hold on a 390 px phone, in large text too; deleting asks for
// the tick first.
func TestBrowserBroadcastEditPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	bctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	tabCtx := newBrowser(t, bctx)
	bc := &browserTab{t: t, name: "broadcaster", ctx: tabCtx, log: watchConsole(tabCtx)}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	bc.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	bc.signIn(e.http.URL, "broadcaster", "/broadcast")
	openAll := `document.querySelectorAll("#manage details").forEach(d => d.open = true); String(document.querySelectorAll("#manage details[open]").length)`
	fits := func(where string) {
		t.Helper()
		if n := bc.eval(openAll); n == "0" {
			t.Fatalf("%s: no edit forms", where)
		}
		if w := bc.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}
	fits("the edit forms")
	if ok := bc.eval(`String(document.querySelector("#manage .edit-delete input[name=confirm]").required)`); ok != "true" {
		t.Errorf("deleting does not ask for the tick first")
	}
	bc.navigate("large text", chromedp.Click(chromedp.CSS(`#prefs button[name="text"]`)))
	if fs := bc.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
		t.Errorf("large text font size %s", fs)
	}
	fits("the edit forms in large text")
	bc.run("scroll to them", chromedp.ScrollIntoView(`#manage`))
	bc.shoot(dir, "broadcast-edit-phone-large")
	if txt := bc.eval(`document.querySelector("#manage").innerText`); !strings.Contains(txt, "例外日期") || !strings.Contains(txt, "分区里的喇叭") {
		t.Errorf("edit forms: %q", txt[:min(len(txt), 200)])
	}
}
