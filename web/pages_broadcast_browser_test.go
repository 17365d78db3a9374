package web

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// TestBrowserDedication is issue 18's song request, end to end: resident01
// on a 390 px phone asks for a birthday song from the library; the
// broadcaster, at a desktop, approves it into the evening slot; it is in
// that slot's rundown and on the resident's "today" page; at 18:30 by the
// fake clock the slot goes out, the as-run log shows it, and the resident
// sees 已播出 — in large text too, still 390 px wide.
func TestBrowserDedication(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	e := broadcastEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	everyone := auth.Scope{{}}
	// A song in the library: three seconds of a tune.
	song := ffmpegOut(t, "-f", "lavfi", "-i", "sine=f=440:d=3", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", "-")
	sha, size, err := e.server.blobs.Put(ctx, bytes.NewReader(song))
	if err != nil {
		t.Fatal(err)
	}
	zones, err := e.store.ListZones(ctx, everyone, 0, shequ.Page{Limit: 100})
	if err != nil || zones.Total == 0 {
		t.Fatalf("zones: %v %+v", err, zones)
	}
	c := zones.Items[0].CommunityID
	track := broadcast.Track{CommunityID: c, Title: "生日快乐歌", Artist: "群星", Seconds: 3, LUFS: -16}
	if err := e.store.AddTrack(ctx, everyone, &track, media.Media{Kind: media.Audio.Name, ContentType: "audio/mpeg", Size: size, SHA256: sha}); err != nil {
		t.Fatal(err)
	}
	slots, err := e.store.ListSlots(ctx, everyone, c, shequ.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var evening broadcast.Slot
	for _, x := range slots.Items {
		if x.Start == "18:30" {
			evening = x
		}
	}
	if evening.ID == 0 {
		t.Fatalf("no 18:30 slot in %+v", slots.Items)
	}

	bctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	resCtx := newBrowser(t, bctx)
	res := &browserTab{t: t, name: "resident", ctx: resCtx, log: watchConsole(resCtx)}
	opCtx, cancelOp := chromedp.NewContext(resCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelOp)
	if err := chromedp.Do(opCtx); err != nil {
		t.Fatalf("second browser context: %v", err)
	}
	bc := &browserTab{t: t, name: "broadcaster", ctx: opCtx, log: watchConsole(opCtx)}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	res.run("emulate a phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	bc.run("emulate a desktop", chromedp.EmulateViewport(1280, 900), acceptLanguage("zh-CN,zh;q=0.9"))
	fits := func(where string) {
		t.Helper()
		if w := res.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}

	// --- the resident asks ---
	res.signIn(e.http.URL, "resident01", "/my/broadcast")
	if h := res.eval(`document.querySelector("h1").textContent`); h != "今天大喇叭播什么" {
		t.Errorf("heading %q", h)
	}
	if txt := res.eval(`document.querySelector("#today").innerText`); !strings.Contains(txt, "18:30") || !strings.Contains(txt, "晚间广播") {
		t.Errorf("today: %q", txt)
	}
	if src := res.eval(`document.querySelector("#live").getAttribute("src")`); !strings.HasPrefix(src, "/broadcast/zones/g") {
		t.Errorf("live stream %q: want the grid's zone", src)
	}
	fits("the programme")
	res.shoot(dir, "dedication-1-resident-today")
	res.navigate("open the request form", chromedp.Tap(chromedp.ID("ask")))
	fits("the request form")
	res.run("fill it in",
		chromedp.SetValue(chromedp.ID("rq-track"), fmt.Sprint(track.ID)),
		chromedp.SendKeys(chromedp.ID("rq-for"), "3栋的王奶奶"),
		chromedp.SendKeys(chromedp.ID("rq-occasion"), "八十大寿"),
		chromedp.SendKeys(chromedp.ID("rq-message"), "祝您身体健康，福如东海！"),
	)
	res.shoot(dir, "dedication-2-resident-form")
	res.navigate("send it", chromedp.Tap(chromedp.ID("send")))
	res.wait("it is waiting", `location.search === "?asked=1" && document.querySelector("#mine .request").dataset.status === "pending" &&
		document.querySelector("#mine .request").innerText.includes("待审核")`, 5*time.Second)
	fits("my requests")

	// --- the broadcaster approves it into the evening slot ---
	bc.signIn(e.http.URL, "broadcaster", "/broadcast")
	bc.wait("the request is queued", `!!document.querySelector("#pending li") && document.querySelector("#pending li").innerText.includes("3栋的王奶奶")`, 3*time.Second)
	bc.run("choose the evening slot", chromedp.SetValue(chromedp.CSS(`#pending li select[name="slot"]`), fmt.Sprint(evening.ID)))
	bc.shoot(dir, "dedication-3-broadcaster-queue")
	bc.navigate("approve", chromedp.Click(chromedp.CSS(`#pending li button.primary`)))
	if n := bc.eval(`String(document.querySelectorAll("#pending li").length)`); n != "0" {
		t.Errorf("%s requests still pending", n)
	}
	// It is in the next slot's rundown, which the page previews.
	if txt := bc.eval(`document.querySelector("ol.rundown").innerText`); !strings.Contains(txt, "点歌") || !strings.Contains(txt, "3栋的王奶奶") || !strings.Contains(txt, "生日快乐歌") {
		t.Errorf("the next slot's rundown: %q", txt)
	}
	if src := bc.eval(`document.querySelector("#preview").getAttribute("src")`); !strings.HasPrefix(src, fmt.Sprintf("/broadcast/slots/%d/preview", evening.ID)) {
		t.Errorf("preview %q", src)
	}
	r, err := e.store.Rundown(ctx, everyone, evening.ID)
	if err != nil {
		t.Fatal(err)
	}
	if last := r.Items[len(r.Items)-1]; last.Kind != broadcast.ItemDedication || last.TrackID != track.ID || !strings.Contains(last.Text, "八十大寿") || last.DedicationID == 0 {
		t.Errorf("rundown ends with %+v", last)
	}
	bc.shoot(dir, "dedication-4-broadcaster-approved")

	// --- the resident sees when ---
	res.navigate("look again", chromedp.Navigate(e.http.URL+"/my/broadcast"))
	if s := res.eval(`document.querySelector("#mine .request .request-state").innerText`); !strings.Contains(s, "已安排") || !strings.Contains(s, "18:30") {
		t.Errorf("the resident sees %q, want 已安排 at 18:30", s)
	}
	if txt := res.eval(`document.querySelector("#today").innerText`); !strings.Contains(txt, "3栋的王奶奶") {
		t.Errorf("today's programme lacks the request: %q", txt)
	}
	res.shoot(dir, "dedication-5-resident-scheduled")

	// --- 18:30 comes: the slot goes out ---
	e.clock.Advance(time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC).Sub(e.clock.Now())) // 18:30 in Shanghai
	var aired broadcast.AsRun
	for deadline := time.Now().Add(60 * time.Second); aired.ID == 0; time.Sleep(100 * time.Millisecond) {
		l, err := e.store.ListAsRun(ctx, everyone, broadcast.AsRunFilter{Page: shequ.Page{Limit: 50}})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range l.Items {
			if x.SlotID == evening.ID && x.Status == broadcast.RunPlayed {
				aired = x
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the evening slot did not go out: %+v", l.Items)
		}
	}
	bc.navigate("the as-run log", chromedp.Navigate(e.http.URL+"/broadcast"))
	if txt := bc.eval(`document.querySelector("#asrun-h").parentElement.innerText`); !strings.Contains(txt, "晚间广播") || !strings.Contains(txt, "已播出") {
		t.Errorf("as-run log: %q", txt)
	}
	bc.shoot(dir, "dedication-6-broadcaster-asrun")
	res.navigate("look after 18:30", chromedp.Navigate(e.http.URL+"/my/broadcast"))
	res.wait("it aired", `document.querySelector("#mine .request").dataset.status === "aired" &&
		document.querySelector("#mine .request .request-state").innerText.includes("已播出")`, 10*time.Second)
	fits("the aired request")
	// Large text doubles the text and still fits.
	res.navigate("large text", chromedp.Click(chromedp.CSS(`#prefs button[name="text"]`)))
	if fs := res.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
		t.Errorf("large text font size %s", fs)
	}
	fits("the programme in large text")
	res.shoot(dir, "dedication-7-resident-aired-large")
	// It played once: it has left the rundown.
	if r, _ := e.store.Rundown(ctx, everyone, evening.ID); r.Items[len(r.Items)-1].Kind == broadcast.ItemDedication {
		t.Errorf("the request is still in the rundown after it aired")
	}
}
