package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
	"github.com/shequ/shequ/rtsp/rtsptest"
	"github.com/shequ/shequ/sqlstore"
)

func TestDeviceAPI(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	var cams page[community.Device]
	e.do("director", "GET", "/api/v1/devices?kind=camera&limit=1", nil, &cams)
	if cams.Total != 112 || cams.Items[0].Status != community.DeviceUnknown || cams.Items[0].LastSeenAt != nil {
		t.Fatalf("demo cameras: %d, first %+v (want unknown, never seen)", cams.Total, cams.Items[0])
	}
	id := cams.Items[0].ID
	path := fmt.Sprintf("/api/v1/devices/%d", id)

	// Configure its check: the password is sealed and never read back.
	body := map[string]any{"check": map[string]any{"kind": "rtsp", "url": "rtsp://10.20.0.31:554/Streaming/Channels/101", "username": "admin", "password": "Cam-Secret-77", "interval_seconds": 30}}
	resp := e.request("director", "PUT", path, body)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(raw), "Cam-Secret-77") || !strings.Contains(string(raw), `"has_secret":true`) {
		t.Fatalf("PUT check: %d %s", resp.StatusCode, raw)
	}
	var got community.Device
	e.do("director", "GET", path, nil, &got)
	if got.Check == nil || got.Check.Kind != "rtsp" || got.Check.IntervalSeconds != 30 || got.Name != cams.Items[0].Name {
		t.Fatalf("after PUT: %+v", got)
	}
	// Changing the interval keeps the stored password.
	e.do("director", "PUT", path, map[string]any{"check": map[string]any{"kind": "rtsp", "url": "rtsp://10.20.0.31:554/Streaming/Channels/101", "username": "admin", "interval_seconds": 60}}, &got)
	if !got.Check.HasSecret {
		t.Fatal("changing the interval dropped the password")
	}
	for _, bad := range []map[string]any{
		{"check": map[string]any{"kind": "rtsp", "url": "http://x/"}},
		{"check": map[string]any{"kind": "tcp"}},
		{"check": map[string]any{"kind": "tcp", "address": "h:1", "interval_seconds": 1}},
		{},
	} {
		if status, code := e.problemCode("director", "PUT", path, bad); status < 400 || status >= 500 {
			t.Errorf("PUT %v: %d %s, want a 4xx", bad, status, code)
		}
	}
	if status := e.do("operator", "PUT", path, body, nil); status != http.StatusForbidden {
		t.Errorf("operator configures a check: %d", status)
	}

	// A measured status shows in the list, the counts and /metrics.
	mustOK := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustOK(e.store.ReportDeviceStatus(t.Context(), id, device.Result{Status: community.DeviceOffline, Reason: "connection refused"}))
	var off page[community.Device]
	e.do("operator", "GET", "/api/v1/devices?kind=camera&status=offline", nil, &off)
	if off.Total != 1 || off.Items[0].ID != id || off.Items[0].LastError != "connection refused" || off.Items[0].Uptime24h == nil || *off.Items[0].Uptime24h != 0 {
		t.Fatalf("offline cameras: %+v", off)
	}
	var h deviceHealth
	e.do("operator", "GET", "/api/v1/devices/health", nil, &h)
	if h.Kinds["camera"]["offline"] != 1 || h.Kinds["camera"]["unknown"] != 111 || h.Total["offline"] != 1 {
		t.Fatalf("health: %+v", h)
	}
	resp = e.request("", "GET", "/metrics", nil)
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`shequ_devices{kind="camera",status="offline"} 1`, `shequ_devices{kind="camera",status="unknown"} 111`, `shequ_devices{kind="speaker",status="online"} 0`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The wall says so at the top and on the tile.
	resp = e.request("operator", "GET", "/devices?kind=camera", nil)
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(raw)
	if !strings.Contains(page, "<strong>112</strong> 个摄像头 · <span class=\"wall-off\">1 个离线</span>") || !strings.Contains(page, `class="tile st-offline"`) || !strings.Contains(page, "拒绝连接") {
		t.Fatalf("wall: %s", page)
	}
	if strings.Contains(page, ">在线<") && !strings.Contains(page, "st-online") {
		t.Fatal("the wall calls an unchecked device online")
	}

	// Past its grace the camera is a trouble incident on the console,
	// listing it.
	since := e.clock.Now().Add(-5 * time.Minute)
	target := device.Target{DeviceID: id, CommunityID: cams.Items[0].CommunityID, BuildingID: cams.Items[0].BuildingID, Name: cams.Items[0].Name,
		State: device.State{Status: community.DeviceOffline, Since: &since}}
	mustOK(e.store.ApplyTrouble(t.Context(), []device.TroubleAction{{CommunityID: target.CommunityID, Group: device.GroupOf(target), Devices: []device.Target{target}}}, e.clock.Now()))
	open, err := e.store.OpenTrouble(t.Context())
	mustOK(err)
	if len(open) != 1 {
		t.Fatalf("open trouble: %+v", open)
	}
	var listed []device.TroubleDevice
	if status := e.do("operator", "GET", fmt.Sprintf("/api/v1/incidents/%d/devices", open[0].IncidentID), nil, &listed); status != http.StatusOK || len(listed) != 1 || listed[0].DeviceID != id || listed[0].Status != community.DeviceOffline {
		t.Fatalf("incident devices: %d %+v", status, listed)
	}
	c := e.webLogin("operator")
	r := e.page("/console", c)
	if !strings.Contains(r.body, cams.Items[0].Name) {
		t.Fatalf("the console does not show the trouble incident: %s", r.body)
	}
	// In the reader's words, not the API's English headline (which stays
	// in the event's code detail for the operator).
	if !regexp.MustCompile(`<span class="inc-place">[^<]*1 台设备离线：[^<]*</span>`).MatchString(r.body) {
		t.Errorf("the console does not say the trouble in Chinese")
	}
}

// TestBrowserHealthWall: a camera on the wall goes red within its check
// interval when its RTSP server goes down, on a phone at 200 % text.
func TestBrowserHealthWall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	cam := rtsptest.NewServer(t)
	var cams page[community.Device]
	e.do("director", "GET", "/api/v1/devices?kind=camera&limit=1", nil, &cams)
	id := cams.Items[0].ID
	_, err := e.store.SetDeviceCheck(t.Context(), auth.Scope{{}}, id, &device.Check{Kind: "rtsp", URL: cam.URL(), IntervalSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	clock := shequ.SystemClock{}
	s := &device.Scheduler{Store: e.store, Checker: &device.Prober{Now: clock.Now}, Clock: clock, Tick: 100 * time.Millisecond, Reload: 500 * time.Millisecond,
		Policy: device.Policy{Grace: time.Minute, ClearAfter: time.Minute}}
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	tab := &browserTab{t: t, name: "operator", ctx: newBrowser(t, ctx)}
	tab.run("emulate a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait),
		acceptLanguage("zh-CN,zh;q=0.9"))
	tab.signIn(e.http.URL, "operator", "/console")
	tab.navigate("open the wall", chromedp.Navigate(e.http.URL+"/devices?kind=camera"))
	tile := fmt.Sprintf(`document.querySelector('.tile[data-device="%d"]')`, id)
	tab.wait("live", `document.querySelector("#wall-live").dataset.state === "open"`, 5*time.Second)
	tab.wait("camera green", tile+`.dataset.status === "online"`, 10*time.Second)
	tab.eval(`document.documentElement.classList.add("large"); ""`) // the app's own large text (200 %), as the menu walk uses it
	if w := tab.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the wall is %s px wide on a 390 px phone at 200 %% text", w)
	}
	tab.eval(`window.shequMark = "kept"; ""`)
	began := time.Now()
	cam.Stop()
	tab.wait("camera red", tile+`.dataset.status === "offline" && getComputedStyle(`+tile+`).borderLeftColor === "rgb(179, 38, 30)"`, 5*time.Second+3*time.Second)
	t.Logf("camera red on the wall %s after its server stopped (interval 5 s)", time.Since(began).Round(100*time.Millisecond))
	if tab.eval(`String(window.shequMark)`) != "kept" {
		t.Fatal("the wall reloaded instead of updating live")
	}
	if got := tab.eval(`document.querySelector(".wall-counts").textContent`); !strings.Contains(got, "1 个离线") {
		t.Fatalf("counts: %q", got)
	}
	if dir := os.Getenv("SHEQU_SCREENSHOT_DIR"); dir != "" {
		tab.eval(tile + `.scrollIntoView(); ""`)
		tab.shoot(dir, "devices-wall-phone-200pct")
	}
}
