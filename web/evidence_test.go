package web

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/evidence/evidencetest"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// evidenceSetup points the cameras at the entrances of resident01's
// building at a fake camera and recorder, and returns the worker that
// takes snapshots and exports footage, and those cameras.
func (e *testEnv) evidenceSetup(rec *evidencetest.Recorder) (*evidence.Worker, []int64) {
	e.t.Helper()
	var home community.Home
	if st := e.do("director", http.MethodGet, fmt.Sprintf("/api/v1/homes/%d", e.residentHomeID()), nil, &home); st != http.StatusOK {
		e.t.Fatalf("home: %d", st)
	}
	var cams page[evidence.Camera]
	e.do("director", http.MethodGet, fmt.Sprintf("/api/v1/cameras?building=%d&limit=500", home.BuildingID), nil, &cams)
	var ids []int64
	for _, c := range cams.Items {
		if len(c.Coverage) == 0 || c.Coverage[0].Kind != evidence.CoverEntrance {
			continue
		}
		body := map[string]any{"live_url": c.LiveURL, "snapshot_url": rec.URL + fmt.Sprintf("/snapshot/cam%d.jpg", c.DeviceID),
			"username": evidencetest.User, "password": evidencetest.Password,
			"recorder_kind": "isapi", "recorder_url": rec.URL, "channel": "101", "coverage": c.Coverage}
		var got evidence.Camera
		if st := e.do("director", http.MethodPut, fmt.Sprintf("/api/v1/cameras/%d", c.DeviceID), body, &got); st != http.StatusOK || !got.HasPassword {
			e.t.Fatalf("set camera %d: %d %+v", c.DeviceID, st, got)
		}
		ids = append(ids, c.DeviceID)
	}
	if len(ids) != 2 {
		e.t.Fatalf("resident01's building has %d entrance cameras, want 2", len(ids))
	}
	w := &evidence.Worker{Store: e.store, Blobs: e.server.blobs, Fetcher: &evidence.Fetcher{}, Clock: e.clock,
		Log: slog.New(slog.DiscardHandler), TempDir: e.t.TempDir()}
	return w, ids
}

type incidentWithCameras struct {
	ID      int64                     `json:"id"`
	Cameras []evidence.IncidentCamera `json:"cameras"`
}

// TestEvidenceAPI: an SOS at a home lists the building's entrance cameras
// with their window and snapshots; the police request footage, the
// director approves, the police download a package that verifies, and
// the download is on the custody log and in the audit log.
func TestEvidenceAPI(t *testing.T) {
	shequtest.NeedCommand(t, "ffmpeg")
	e := newTestEnv(t, sqlstore.SQLite)
	rec := evidencetest.New(t)
	worker, camIDs := e.evidenceSetup(rec)

	var inc0 alarm.Incident
	if st := e.do("resident01", http.MethodPost, "/api/v1/sos", map[string]any{}, &inc0); st != http.StatusCreated {
		t.Fatalf("sos: %d", st)
	}
	id := inc0.ID
	if err := worker.Snapshots(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	var inc incidentWithCameras
	if st := e.do("operator", http.MethodGet, fmt.Sprintf("/api/v1/incidents/%d", id), nil, &inc); st != http.StatusOK {
		t.Fatalf("incident: %d", st)
	}
	if len(inc.Cameras) != 2 {
		t.Fatalf("incident cameras %+v", inc.Cameras)
	}
	for _, c := range inc.Cameras {
		if c.SnapshotMediaID == 0 || c.BookmarkUntil.Sub(c.BookmarkFrom) != 7*time.Minute {
			t.Errorf("camera %+v", c)
		}
		resp := e.request("operator", http.MethodGet, fmt.Sprintf("/api/v1/incidents/%d/snapshots/%d", id, c.SnapshotMediaID), nil)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || len(b) < 100 {
			t.Errorf("snapshot: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
		}
	}

	// A warning notice may take its face from a snapshot.
	var wn evidence.Warning
	wb := map[string]any{"title": "警惕陌生人尾随进楼", "body": "见到请报警。", "reason": "尾随入室", "expires_at": env0.Add(48 * time.Hour),
		"snapshot": map[string]int64{"incident_id": id, "media_id": inc.Cameras[0].SnapshotMediaID}}
	if st := e.do("police", http.MethodPost, "/api/v1/warnings", wb, &wn); st != http.StatusCreated || wn.PhotoID == 0 || wn.Status != evidence.WarningRequested {
		t.Fatalf("warning from a snapshot: %d %+v", st, wn)
	}
	var wl page[evidence.Warning]
	e.do("resident01", http.MethodGet, "/api/v1/warnings", nil, &wl)
	if wl.Total != 0 {
		t.Errorf("residents see a notice before approval: %+v", wl.Items)
	}
	if st := e.do("director", http.MethodPost, fmt.Sprintf("/api/v1/warnings/%d/approve", wn.ID), nil, &wn); st != http.StatusOK || wn.Status != evidence.WarningPublished {
		t.Fatalf("approve the notice: %d %+v", st, wn)
	}
	e.do("resident01", http.MethodGet, "/api/v1/warnings", nil, &wl)
	if wl.Total != 1 || wl.Items[0].PhotoID != 0 || wl.Items[0].Reason != "" {
		t.Errorf("the residents' list: %+v", wl.Items)
	}

	// Footage: residents may not ask; the police ask, the director says yes.
	from := env0.Add(-30 * time.Minute)
	body := map[string]any{"reason": "电动车被盗", "case_number": "宝公刑2026-77", "camera_ids": camIDs, "from": from, "until": from.Add(15 * time.Second)}
	if st := e.do("resident01", http.MethodPost, "/api/v1/footage-requests", body, nil); st != http.StatusForbidden {
		t.Errorf("resident requests footage: %d", st)
	}
	var req evidence.FootageRequest
	if st := e.do("police", http.MethodPost, "/api/v1/footage-requests", body, &req); st != http.StatusCreated {
		t.Fatalf("request: %d", st)
	}
	if st := e.do("police", http.MethodPost, fmt.Sprintf("/api/v1/footage-requests/%d/approve", req.ID), nil, nil); st != http.StatusForbidden {
		t.Errorf("police approve: %d", st)
	}
	if st := e.request("police", http.MethodGet, fmt.Sprintf("/api/v1/footage-requests/%d/package", req.ID), nil); st.StatusCode != http.StatusConflict {
		t.Errorf("package before approval: %d", st.StatusCode)
	}
	if st := e.do("director", http.MethodPost, fmt.Sprintf("/api/v1/footage-requests/%d/approve", req.ID), map[string]string{"reason": "同意"}, &req); st != http.StatusOK || req.Status != "approved" {
		t.Fatalf("approve: %d %s", st, req.Status)
	}
	// The approval's job wakes the exporter, which runs beside the
	// outbox worker (so that no SMS waits for footage).
	exporting, stop := context.WithCancel(t.Context())
	defer stop()
	go worker.RunExports(exporting)
	reg := &jobs.Registry{}
	worker.Register(reg)
	if _, err := reg.Do(t.Context(), jobs.Job{Kind: "footage_export", Payload: []byte(fmt.Sprintf(`{"request_id":%d}`, req.ID))}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); req.Status != evidence.StatusExported; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not exported in 30 s: %+v", req)
		}
		e.do("director", http.MethodGet, fmt.Sprintf("/api/v1/footage-requests/%d", req.ID), nil, &req)
	}
	stop()
	resp := e.request("police", http.MethodGet, fmt.Sprintf("/api/v1/footage-requests/%d/package", req.ID), nil)
	pkg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("package: %d %s", resp.StatusCode, pkg)
	}
	rep, err := evidence.Verify(bytes.NewReader(pkg), int64(len(pkg)))
	if err != nil || !rep.OK() || len(rep.Checked) != 2 {
		t.Fatalf("package: %v %v", err, rep)
	}
	last := rep.Custody[len(rep.Custody)-1]
	if last.Action != evidence.ActDownloaded || last.Actor != "police" || last.From == "" {
		t.Errorf("the package's last custody entry %+v", last)
	}
	var log []evidence.CustodyEntry
	e.do("police", http.MethodGet, fmt.Sprintf("/api/v1/footage-requests/%d/custody", req.ID), nil, &log)
	if len(log) != len(rep.Custody) || log[len(log)-1].Hash != last.Hash {
		t.Errorf("the server's custody log ends elsewhere than the package's")
	}
	if n := e.auditTotal("footage_request.download"); n != 1 {
		t.Errorf("%d downloads audited", n)
	}
	// The operator, who did not ask, does not see the police's request.
	if st := e.do("operator", http.MethodGet, fmt.Sprintf("/api/v1/footage-requests/%d", req.ID), nil, nil); st != http.StatusNotFound {
		t.Errorf("operator reads the police's request: %d", st)
	}
}

// TestBrowserIncidentCameras: an alarm at a home shows the building's
// entrance cameras with their snapshots on the console.
func TestBrowserIncidentCameras(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	shequtest.NeedCommand(t, "ffmpeg")
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	rec := evidencetest.New(t)
	worker, _ := e.evidenceSetup(rec)
	var inc alarm.Incident
	if st := e.do("resident01", http.MethodPost, "/api/v1/sos", map[string]any{}, &inc); st != http.StatusCreated {
		t.Fatalf("sos: %d", st)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	op := &browserTab{t: t, name: "operator", ctx: newBrowser(t, ctx)}
	op.log = watchConsole(op.ctx)
	op.run("emulate a desktop", chromedp.EmulateViewport(1600, 1000), acceptLanguage("zh-CN,zh;q=0.9"))
	op.signIn(e.http.URL, "operator", "/console")
	op.navigate("open the incident", chromedp.Navigate(fmt.Sprintf("%s/console?id=%d", e.http.URL, inc.ID)))
	op.wait("cameras listed", `document.querySelectorAll("#incident-cameras .camera-shot").length === 2`, 5*time.Second)
	// The snapshots are taken after the incident opened: the block
	// fetches itself again until they are there.
	if err := worker.Snapshots(t.Context(), inc.ID); err != nil {
		t.Fatal(err)
	}
	op.wait("snapshots shown", `Array.from(document.querySelectorAll("#incident-cameras img")).filter(i => i.complete && i.naturalWidth === 320).length === 2`, 10*time.Second)
	text := op.eval(`document.querySelector("#incident-cameras").innerText`)
	for _, want := range []string{"1单元入口", "2单元入口", "摄像头"} {
		if !strings.Contains(text, want) {
			t.Errorf("the cameras block says %q, without %q", text, want)
		}
	}
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	op.shoot(dir, "evidence-console-cameras")
	if p := op.log.problems(); len(p) > 0 {
		t.Errorf("browser console: %v", p)
	}
}

func pngFace(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestEvidencePages: the police ask for footage on the page, the director
// decides in the queue; a warning notice with a face is asked for, shown
// to the director with its face, published, and read by a resident, whose
// list carries no face.
func TestEvidencePages(t *testing.T) {
	e := newTestEnv(t, sqlstore.SQLite)
	pg := e.pageAs("police", "/footage")
	if pg.status != http.StatusOK || !strings.Contains(pg.body, `id="footage-form"`) || !strings.Contains(pg.body, "调取录像") {
		t.Fatalf("police footage page: %d", pg.status)
	}
	cam := regexp.MustCompile(`name="camera" value="(\d+)"`).FindAllStringSubmatch(pg.body, 2)
	if len(cam) != 2 {
		t.Fatalf("cameras on the form: %v", cam)
	}
	if r := e.pageAs("resident01", "/footage"); r.status != http.StatusForbidden {
		t.Errorf("resident footage page: %d", r.status)
	}
	from := env0.In(time.FixedZone("CST", 8*3600)).Add(-time.Hour)
	form := url.Values{"csrf_token": {csrfOf(t, pg.body)}, "case_number": {"宝公刑2026-9"}, "reason": {"盗窃"},
		"from": {from.Format(formStamp)}, "until": {from.Add(10 * time.Minute).Format(formStamp)}, "camera": {cam[0][1], cam[1][1]}}
	if r := e.pageRequest(http.MethodPost, "/footage", form, nil, e.cookies["police"]); r.status != http.StatusSeeOther {
		t.Fatalf("request footage: %d %s", r.status, r.body)
	}
	bad := url.Values{"csrf_token": form["csrf_token"], "case_number": {""}, "reason": {"x"}, "from": form["from"], "until": form["from"]}
	if r := e.pageRequest(http.MethodPost, "/footage", bad, nil, e.cookies["police"]); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="footage-error"`) {
		t.Errorf("a bad request: %d", r.status)
	}
	dp := e.pageAs("director", "/footage")
	id := regexp.MustCompile(`id="approve-(\d+)"`).FindStringSubmatch(dp.body)
	if id == nil || !strings.Contains(dp.body, "宝公刑2026-9") {
		t.Fatalf("the director's queue has no request to approve")
	}
	refuse := url.Values{"csrf_token": {csrfOf(t, dp.body)}, "decision": {"refuse"}}
	if r := e.pageRequest(http.MethodPost, "/footage/"+id[1]+"/decide", refuse, nil, e.cookies["director"]); r.status != http.StatusUnprocessableEntity {
		t.Errorf("refusing without a reason: %d", r.status)
	}
	approve := url.Values{"csrf_token": refuse["csrf_token"], "decision": {"approve"}}
	if r := e.pageRequest(http.MethodPost, "/footage/"+id[1]+"/decide", approve, nil, e.cookies["director"]); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d", r.status)
	}
	if r := e.pageAs("police", "/footage"); !strings.Contains(r.body, "已批准，正在导出") {
		t.Errorf("the police do not see the approval")
	}

	// A warning notice with a face.
	wp := e.pageAs("police", "/footage/warnings")
	if !strings.Contains(wp.body, "人脸属于敏感个人信息") {
		t.Errorf("the form does not say faces are sensitive")
	}
	expires := env0.AddDate(0, 0, 7).Format("2006-01-02")
	r := e.postMultipart("/footage/warnings", url.Values{"csrf_token": {csrfOf(t, wp.body)}, "title": {"警惕冒充快递员"},
		"body": {"此人冒充快递员入户。"}, "reason": {"三户被骗"}, "expires_at": {expires}}, pngFace(t), nil, e.cookies["police"])
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/footage/warnings/") {
		t.Fatalf("ask for a notice: %d %s", r.status, r.body)
	}
	wid := strings.TrimPrefix(loc, "/footage/warnings/")
	if l := e.pageAs("resident01", "/warnings"); strings.Contains(l.body, "警惕冒充快递员") {
		t.Errorf("residents see an unapproved notice")
	}
	d := e.pageAs("director", loc)
	if !strings.Contains(d.body, `src="/api/v1/warnings/`+wid+`/photo"`) || !strings.Contains(d.body, `id="warning-approve"`) {
		t.Fatalf("the director's view of the notice: %d", d.status)
	}
	if l := e.pageAs("director", "/footage/warnings"); strings.Contains(l.body, "<img") {
		t.Errorf("a face in the staff list")
	}
	ok := url.Values{"csrf_token": {csrfOf(t, d.body)}, "decision": {"approve"}}
	if r := e.pageRequest(http.MethodPost, loc+"/decide", ok, nil, e.cookies["director"]); r.status != http.StatusSeeOther {
		t.Fatalf("publish: %d", r.status)
	}
	l := e.pageAs("resident01", "/warnings")
	if !strings.Contains(l.body, "警惕冒充快递员") || strings.Contains(l.body, "<img") {
		t.Errorf("the residents' list: %d", l.status)
	}
	one := e.pageAs("resident01", "/warnings/"+wid)
	if !strings.Contains(one.body, `src="/api/v1/warnings/`+wid+`/photo"`) || strings.Contains(one.body, "三户被骗") {
		t.Errorf("the resident's notice: %d", one.status)
	}
	if r := e.request("resident01", http.MethodGet, "/api/v1/warnings/"+wid+"/photo", nil); r.StatusCode != http.StatusOK {
		t.Errorf("the face for a resident: %d", r.StatusCode)
	}
}

// TestBrowserEvidencePhone: the police's footage page and the director's
// queue and a resident's warning notice hold at 390 px with doubled text.
func TestBrowserEvidencePhone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	e := newTestEnv(t, sqlstore.SQLite)
	t.Cleanup(e.server.StopStreams)
	// A published notice with a face, and a request in the queue.
	e.pageAs("police", "/footage")
	wp := e.pageAs("police", "/footage/warnings")
	r := e.postMultipart("/footage/warnings", url.Values{"csrf_token": {csrfOf(t, wp.body)}, "title": {"警惕冒充燃气公司人员上门收费的陌生男子"},
		"body": {"此人自称燃气公司员工，上门以检查管道为名收取费用。见到请勿开门，立即拨打110。"}, "reason": {"多户被骗"}, "expires_at": {env0.AddDate(0, 0, 7).Format("2006-01-02")}},
		pngFace(t), nil, e.cookies["police"])
	loc := r.header.Get("Location")
	d := e.pageAs("director", loc)
	if r := e.pageRequest(http.MethodPost, loc+"/decide", url.Values{"csrf_token": {csrfOf(t, d.body)}, "decision": {"approve"}}, nil, e.cookies["director"]); r.status != http.StatusSeeOther {
		t.Fatalf("publish: %d", r.status)
	}
	wid := strings.TrimPrefix(loc, "/footage/warnings/")

	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	dir := os.Getenv("SHEQU_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	phone := chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	fits := func(b *browserTab, where string) {
		t.Helper()
		if w := b.eval(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", where, w)
		}
	}
	for _, c := range []struct{ user, home, page, shot string }{
		{"police", "/footage", "/footage", "evidence-police-footage"},
		{"director", "/footage", "/footage/warnings", "evidence-director-warnings"},
		{"resident01", "/", "/warnings/" + wid, "evidence-resident-warning"},
	} {
		b := &browserTab{t: t, name: c.user, ctx: newBrowser(t, ctx)}
		b.log = watchConsole(b.ctx)
		b.run("emulate a phone", phone, acceptLanguage("zh-CN,zh;q=0.9"))
		b.signIn(e.http.URL, c.user, c.home)
		b.navigate("open "+c.page, chromedp.Navigate(e.http.URL+c.page))
		fits(b, c.page)
		b.navigate("large text", chromedp.Tap(chromedp.CSS(`#prefs button[name="text"]`)))
		if fs := b.eval(`getComputedStyle(document.documentElement).fontSize`); fs != "32px" {
			t.Errorf("large text font size %s", fs)
		}
		fits(b, c.page+" in large text")
		b.shoot(dir, c.shot)
		if c.user == "resident01" {
			b.wait("the face shows", `(() => { const i = document.querySelector(".warning-face"); return !!i && i.complete && i.naturalWidth === 64 })()`, 5*time.Second)
		}
		if p := b.log.problems(); len(p) > 0 {
			t.Errorf("%s: browser console: %v", c.user, p)
		}
	}
}
