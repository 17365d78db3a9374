package web

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserWorkPagesFit: the pages that were API only hold on a 390 px
// phone at 200 % text, in Chinese: nothing scrolls sideways.
func TestBrowserWorkPagesFit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	home := e.residentHomeID()
	ps, err := e.store.ListAssistancePolicies(t.Context(), assoc.Everything, assoc.AssistancePolicyFilter{CommunityID: e.demo.CommunityID})
	if err != nil || len(ps.Items) == 0 {
		t.Fatalf("no policy: %v", err)
	}
	os, err := e.store.ListOpenings(t.Context(), assoc.Everything, assoc.OpeningFilter{CommunityID: e.demo.CommunityID})
	if err != nil || len(os.Items) == 0 {
		t.Fatalf("no opening: %v", err)
	}
	pages := []struct {
		user, first string
		rest        []string
	}{
		{"director", "/assistance", []string{fmt.Sprintf("/assistance/%d", ps.Items[0].ID), "/stats", fmt.Sprintf("/homes/%d", home), "/alarms", "/map", "/cases", "/openings"}},
		{"hr-partner", "/openings", []string{fmt.Sprintf("/openings/%d", os.Items[0].ID), "/openings/new"}},
		{"resident01", "/my/autoarm", []string{"/my/matters/new"}},
		{"grid01", "/map", []string{fmt.Sprintf("/map?home=%d", home)}},
	}
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	root := newBrowser(t, ctx)
	for _, pg := range pages {
		tctx, cancelTab := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancelTab)
		if err := chromedp.Do(tctx); err != nil {
			t.Fatalf("browser context: %v", err)
		}
		tab := &browserTab{t: t, name: pg.user, ctx: tctx, log: watchConsole(tctx)}
		tab.run("a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch), acceptLanguage("zh-CN,zh;q=0.9"))
		tab.signIn(e.http.URL, pg.user, pg.first)
		tab.navigate("large text", chromedp.Click(chromedp.CSS(`form#prefs button[name="text"]`)))
		for _, path := range append([]string{pg.first}, pg.rest...) {
			tab.navigate("open "+path, chromedp.Navigate(e.http.URL+path))
			if tab.eval(`String(document.documentElement.classList.contains("large"))`) != "true" {
				t.Errorf("%s %s: not in large text", pg.user, path)
			}
			if w := tab.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
				t.Errorf("%s %s: %s px wide on a 390 px phone at 200 %% text", pg.user, path, w)
			}
		}
		if p := tab.log.problems(); len(p) > 0 {
			t.Errorf("%s: browser console: %v", pg.user, p)
		}
	}
}
