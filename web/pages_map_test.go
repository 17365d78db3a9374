package web

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/device"
	"github.com/shequ/shequ/sqlstore"
)

// TestMapPage: the site map draws the demo's grids and footprints, the 14
// loudspeakers, cameras and access points; an alarm shows on the live
// layer at its building; ?home= gives the way in; a GeoJSON import naming
// no building changes nothing and says why; a resident has no map.
func TestMapPage(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	page := e.pageAs("director", "/map")
	if page.status != http.StatusOK {
		t.Fatalf("/map: status %d", page.status)
	}
	if n := strings.Count(page.body, `class="dev dev-speaker `); n != 14 {
		t.Errorf("%d loudspeakers on the map, want 14", n)
	}
	for _, want := range []string{`class="grid" d="M`, `class="building" d="M`, `class="dev dev-camera `, `class="dev dev-wifi_ap `, `class="dev dev-door_controller `, `href="/map"`, "/static/map.js"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the map lacks %q", want)
		}
	}
	// A camera found offline is marked so on the plan, as on the wall.
	cams, err := e.store.ListDevices(t.Context(), auth.Scope{{}}, community.Filter{Kind: community.DeviceCamera, Page: shequ.Page{Limit: 1}})
	if err != nil || len(cams.Items) == 0 {
		t.Fatalf("cameras: %v", err)
	}
	cam := cams.Items[0]
	if err := e.store.ReportDeviceStatus(t.Context(), cam.ID, device.Result{Status: community.DeviceOffline, Reason: "connection refused", At: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	marked := regexp.MustCompile(fmt.Sprintf(`<circle class="dev dev-camera state-offline"[^>]*data-id="%d"><title>[^<]*离线</title>`, cam.ID))
	if again := e.pageAs("director", "/map"); !marked.MatchString(again.body) {
		t.Errorf("the offline camera %d is not marked offline on the map", cam.ID)
	}
	inc := e.intrusion()
	home, err := e.store.Home(t.Context(), auth.Scope{{}}, inc.HomeID)
	if err != nil {
		t.Fatal(err)
	}
	live := e.pageRequest(http.MethodGet, "/map/live", nil, http.Header{"Hx-Request": {"true"}}, e.cookies["director"])
	marker := fmt.Sprintf(`<g class="incident" data-id="%d" transform="translate(`, inc.ID)
	if live.status != http.StatusOK || !strings.Contains(live.body, marker) {
		t.Fatalf("the live layer has no incident: status %d %.300s", live.status, live.body)
	}
	// The marker stands where the building's label is.
	bld := regexPick(t, page.body, fmt.Sprintf(`<path class="building" d="[^"]*" data-id="%d"><title>[^<]*</title></path>\s*<text class="label" x="([0-9.]+)" y="([0-9.]+)"`, home.BuildingID))
	if !strings.Contains(live.body, fmt.Sprintf(`translate(%s %s)`, bld[1], bld[2])) {
		t.Errorf("the incident is not at its building (%s, %s)", bld[1], bld[2])
	}
	route := e.pageAs("director", fmt.Sprintf("/map?home=%d", home.ID))
	if !strings.Contains(route.body, `id="route"`) || !strings.Contains(route.body, home.BuildingName) || !strings.Contains(route.body, `class="building target"`) {
		t.Errorf("no way to the home")
	}

	// The grid worker sent to the alarm is shown the way from the
	// dispatch.
	grid01, _ := e.store.UserByName(t.Context(), "grid01")
	if got := e.do("operator", "POST", fmt.Sprintf("/api/v1/incidents/%d/dispatch", inc.ID), map[string]any{"user_id": grid01.ID}, nil); got != http.StatusOK {
		t.Fatalf("dispatch: %d", got)
	}
	link := fmt.Sprintf(`href="/map?home=%d"`, home.ID)
	d := e.pageAs("grid01", "/my/dispatches")
	if !strings.Contains(d.body, link) {
		t.Errorf("the dispatch has no way to the map")
	}
	// On site, the report's photo field is the resident forms' photo
	// control.
	for _, step := range []string{"accept", "arrive"} {
		if got := e.do("grid01", "POST", fmt.Sprintf("/api/v1/incidents/%d/%s", inc.ID, step), map[string]any{}, nil); got != http.StatusOK {
			t.Fatalf("%s: %d", step, got)
		}
	}
	d = e.pageAs("grid01", "/my/dispatches")
	if !strings.Contains(d.body, `data-photo`) || !strings.Contains(d.body, `class="button big secondary photo-button"`) || !strings.Contains(d.body, "/static/photo-field.js") {
		t.Errorf("the grid worker's report has the raw file input")
	}
	if m := e.pageAs("grid01", fmt.Sprintf("/map?home=%d", home.ID)); m.status != http.StatusOK || !strings.Contains(m.body, "怎么走：") || !strings.Contains(m.body, fmt.Sprintf("%d楼", home.Floor)) {
		t.Errorf("the grid worker's route: status %d", m.status)
	}

	csrf := csrfOf(t, page.body)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", csrf)
	fw, _ := mw.CreateFormFile("geojson", "plan.geojson")
	fw.Write([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"kind":"building","building":"没有这栋"},"geometry":{"type":"Polygon","coordinates":[[[106.63,29.72],[106.631,29.72],[106.631,29.721]]]}}]}`))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/map/import", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.AddCookie(e.cookies["director"])
	resp, err := e.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("an import naming no building: status %d", resp.StatusCode)
	}
	if r := e.pageAs("resident01", "/map"); r.status != http.StatusForbidden {
		t.Errorf("a resident on the map: status %d", r.status)
	}
}

func regexPick(t *testing.T, s, pattern string) []string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no match for %s", pattern)
	}
	return m
}
