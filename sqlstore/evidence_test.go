package sqlstore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/evidence/evidencetest"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// evidenceWorld is a community with two cameras at building1's entrances,
// recorded by a fake recorder, and the people who deal with footage.
type evidenceWorld struct {
	tr                      tree
	rec                     *evidencetest.Recorder
	blobs                   *disk.Blobs
	worker                  *evidence.Worker
	cam1, cam2              community.Device
	police, director, staff context.Context
}

func actorCtx(t *testing.T, st *sqlstore.Store, name string, g auth.Grant) context.Context {
	u := &auth.User{Username: name, DisplayName: name + "（测试）", Grants: []auth.Grant{g}}
	mustOK(t, st.CreateUser(t.Context(), everywhere, u, ""))
	return auth.WithActor(t.Context(), &auth.Actor{User: *u})
}

func newEvidenceWorld(t *testing.T, st *sqlstore.Store, clock shequ.Clock, code string) *evidenceWorld {
	shequtest.NeedCommand(t, "ffmpeg", "ffprobe")
	ctx := t.Context()
	w := &evidenceWorld{tr: makeTree(t, st, code), rec: evidencetest.New(t)}
	c := w.tr.community.ID
	var err error
	w.blobs, err = disk.New(t.TempDir())
	mustOK(t, err)
	w.worker = &evidence.Worker{Store: st, Blobs: w.blobs, Fetcher: &evidence.Fetcher{}, Clock: clock, Log: slog.New(slog.DiscardHandler), TempDir: t.TempDir()}
	w.cam1 = community.Device{CommunityID: c, Kind: community.DeviceCamera, Name: "摄像机1 A栋1单元", BuildingID: w.tr.building1.ID}
	w.cam2 = community.Device{CommunityID: c, Kind: community.DeviceCamera, Name: "摄像机2 A栋2单元", BuildingID: w.tr.building1.ID}
	mustOK(t, st.CreateDevice(ctx, everywhere, &w.cam1))
	mustOK(t, st.CreateDevice(ctx, everywhere, &w.cam2))
	// One camera's footage comes through the recorder's ISAPI search and
	// download, the other's from a playback URL recorded with ffmpeg.
	mustOK(t, st.SetCamera(ctx, everywhere, &evidence.Camera{DeviceID: w.cam1.ID, LiveURL: "rtsp://cam1.invalid/stream1",
		SnapshotURL: w.rec.URL + "/snapshot/cam1.jpg", Username: evidencetest.User, Password: evidencetest.Password,
		RecorderKind: evidence.RecorderISAPI, RecorderURL: w.rec.URL, Channel: "101",
		Coverage: []evidence.Coverage{{BuildingID: w.tr.building1.ID, Kind: evidence.CoverEntrance, Label: "1单元入口"}}}, false))
	mustOK(t, st.SetCamera(ctx, everywhere, &evidence.Camera{DeviceID: w.cam2.ID, LiveURL: "rtsp://cam2.invalid/stream1",
		SnapshotURL: w.rec.URL + "/snapshot/cam2.jpg", Username: evidencetest.User, Password: evidencetest.Password,
		RecorderKind: evidence.RecorderPlayback, RecorderURL: w.rec.URL + "/playback/cam2.mp4?starttime={start}&endtime={end}",
		Coverage: []evidence.Coverage{{BuildingID: w.tr.building1.ID, Kind: evidence.CoverEntrance, Label: "2单元入口"}, {Kind: evidence.CoverRoad, Label: "宝圣东路"}}}, false))
	w.police = actorCtx(t, st, code+"-police", auth.Grant{Role: auth.RolePolice, CommunityID: c})
	w.director = actorCtx(t, st, code+"-director", auth.Grant{Role: auth.RoleAdmin, CommunityID: c})
	w.staff = actorCtx(t, st, code+"-operator", auth.Grant{Role: auth.RoleOperator, CommunityID: c})
	return w
}

func ffprobeDuration(t *testing.T, path string) float64 {
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "default=nw=1", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, out)
	}
	if !strings.Contains(string(out), "codec_name=h264") {
		t.Errorf("%s is not H.264 as recorded: %s", path, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "duration="); ok {
			d, err := strconv.ParseFloat(v, 64)
			mustOK(t, err)
			return d
		}
	}
	t.Fatalf("ffprobe gave no duration: %s", out)
	return 0
}

func TestFootageRequestExportAndVerify(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		w := newEvidenceWorld(t, st, clock, "ev")
		now := clock.Now()
		req := evidence.FootageRequest{Reason: "入室盗窃案调查", CaseNumber: "渝公(宝)刑案2026-118", CameraIDs: []int64{w.cam1.ID, w.cam2.ID},
			From: now.Add(-10 * time.Minute), Until: now.Add(-10*time.Minute + 20*time.Second)}
		bad := req
		bad.Until = now.Add(time.Hour)
		if err := st.CreateFootageRequest(w.police, everywhere, &bad); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Fatalf("footage from the future: %v", err)
		}
		mustOK(t, st.CreateFootageRequest(w.police, everywhere, &req))

		// Nothing is exported unapproved: the worker leaves it, the store
		// refuses to record it.
		mustOK(t, w.worker.Export(t.Context(), req.ID))
		if w.rec.Searches+w.rec.Downloads != 0 {
			t.Fatal("the recorder was asked before approval")
		}
		if err := st.RecordFootageExport(t.Context(), req.ID, nil); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Fatalf("recording an unapproved export: %v", err)
		}
		if _, err := st.DecideFootageRequest(w.police, everywhere, req.ID, evidence.Decision{Approve: true}); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Fatalf("the requester approved their own request: %v", err)
		}
		if _, err := st.DecideFootageRequest(w.director, everywhere, req.ID, evidence.Decision{Approve: false}); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Fatalf("a refusal without a reason: %v", err)
		}
		got, err := st.DecideFootageRequest(w.director, everywhere, req.ID, evidence.Decision{Approve: true, Reason: "案情属实"})
		mustOK(t, err)
		if got.Status != evidence.StatusApproved {
			t.Fatalf("status %s", got.Status)
		}
		if _, err := st.DecideFootageRequest(w.director, everywhere, req.ID, evidence.Decision{Approve: false, Reason: "x"}); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Fatalf("deciding twice: %v", err)
		}
		mustOK(t, w.worker.Export(t.Context(), req.ID))
		got, err = st.FootageRequest(t.Context(), everywhere, req.ID, 0)
		mustOK(t, err)
		if got.Status != evidence.StatusExported || len(got.Exports) != 2 || !got.LegalHold {
			t.Fatalf("after export: %+v", got)
		}
		if w.rec.Searches != 1 || w.rec.Downloads != 1 {
			t.Errorf("recorder: %d searches, %d downloads", w.rec.Searches, w.rec.Downloads)
		}
		adapters := map[string]bool{}
		for _, e := range got.Exports {
			adapters[e.Adapter] = true
			// What is stored hashes to what was recorded, and ffprobe
			// reads 20 seconds of H.264.
			mustOK(t, media.Verify(t.Context(), w.blobs, e.SHA256, e.Size))
			if d := ffprobeDuration(t, blobFile(t, w.blobs, e.SHA256)); d < 18 || d > 22 {
				t.Errorf("camera %d: %.2f s of footage, want 20 ± 2", e.DeviceID, d)
			}
			held, err := st.OnLegalHold(t.Context(), e.SHA256)
			mustOK(t, err)
			if !held {
				t.Errorf("export of camera %d under a case is not on legal hold", e.DeviceID)
			}
		}
		if !adapters["isapi-download"] || !adapters["ffmpeg-copy"] {
			t.Errorf("adapters used: %v", adapters)
		}

		// Another police officer's request stays hidden from this one.
		if _, err := st.FootageRequest(t.Context(), everywhere, req.ID, req.RequestedBy+1000); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("someone else's request: %v", err)
		}
		manifest, log, err := st.FootagePackage(w.police, everywhere, req.ID, req.RequestedBy)
		mustOK(t, err)
		actions := []string{}
		for _, e := range log {
			actions = append(actions, e.Action)
		}
		if got := strings.Join(actions, ","); got != "requested,approved,exported,retained,downloaded" {
			t.Fatalf("custody %s", got)
		}
		mustOK(t, evidence.VerifyChain(log))
		pkg := writePackage(t, w.blobs, manifest, log)
		rep := verifyFile(t, pkg)
		if !rep.OK() || len(rep.Checked) != 2 {
			t.Fatalf("a whole package did not verify: %v", rep.Problems)
		}

		// One byte of one file changed: that file is named.
		tampered := flipByteOf(t, pkg, manifest.Files[1].Name)
		rep = verifyFile(t, tampered)
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "file "+manifest.Files[1].Name) || len(rep.Checked) != 1 {
			t.Fatalf("a changed file: %v", rep.Problems)
		}
		// One custody entry changed: that entry is named.
		forged := append([]evidence.CustodyEntry(nil), log...)
		forged[1].Actor = "someone-else"
		rep = verifyFile(t, writePackage(t, w.blobs, manifest, forged))
		if rep.OK() || !strings.Contains(strings.Join(rep.Problems, "\n"), "custody entry 2: was changed") {
			t.Fatalf("a changed custody entry: %v", rep.Problems)
		}

		// The hold holds until the director releases it.
		if _, err := st.ReleaseFootage(w.director, everywhere, req.ID, ""); shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("release without a reason: %v", err)
		}
		_, err = st.ShareFootage(w.police, everywhere, req.ID, req.RequestedBy, "区检察院", "移送审查")
		mustOK(t, err)
		rel, err := st.ReleaseFootage(w.director, everywhere, req.ID, "案件已结")
		mustOK(t, err)
		held, _ := st.OnLegalHold(t.Context(), got.Exports[0].SHA256)
		if rel.LegalHold || held {
			t.Errorf("still held after release")
		}
		log, err = st.FootageCustody(t.Context(), everywhere, req.ID, 0)
		mustOK(t, err)
		mustOK(t, evidence.VerifyChain(log))
		if n := len(log); n != 7 || log[5].Action != evidence.ActShared || log[6].Action != evidence.ActReleased || log[4].From != "" {
			t.Errorf("custody after share and release: %+v", log)
		}

		// A refused request is never exported.
		r2 := evidence.FootageRequest{Reason: "查看", CaseNumber: "X-1", CameraIDs: []int64{w.cam1.ID}, From: req.From, Until: req.Until}
		mustOK(t, st.CreateFootageRequest(w.staff, everywhere, &r2))
		_, err = st.DecideFootageRequest(w.director, everywhere, r2.ID, evidence.Decision{Reason: "理由不足"})
		mustOK(t, err)
		mustOK(t, w.worker.Export(t.Context(), r2.ID))
		if _, _, err := st.FootagePackage(w.staff, everywhere, r2.ID, 0); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Errorf("package of a refused request: %v", err)
		}
		if w.rec.Searches != 1 {
			t.Errorf("a refused request reached the recorder")
		}
	})
}

// blobFile copies stored bytes into a file for ffprobe to read.
func blobFile(t *testing.T, blobs media.Blobs, sha string) string {
	b, err := blobs.Open(t.Context(), sha)
	mustOK(t, err)
	defer b.Close()
	p := filepath.Join(t.TempDir(), sha+".mp4")
	f, err := os.Create(p)
	mustOK(t, err)
	_, err = io.Copy(f, b)
	mustOK(t, err)
	mustOK(t, f.Close())
	return p
}

func writePackage(t *testing.T, blobs media.Blobs, m evidence.Manifest, log []evidence.CustodyEntry) string {
	p := filepath.Join(t.TempDir(), "package.zip")
	f, err := os.Create(p)
	mustOK(t, err)
	defer f.Close()
	mustOK(t, evidence.WritePackage(f, m, log, func(mf evidence.ManifestFile) (io.ReadCloser, error) {
		b, err := blobs.Open(t.Context(), mf.SHA256)
		if err != nil {
			return nil, err
		}
		return b, nil
	}))
	return p
}

func verifyFile(t *testing.T, path string) *evidence.Report {
	b, err := os.ReadFile(path)
	mustOK(t, err)
	r, err := evidence.Verify(bytes.NewReader(b), int64(len(b)))
	mustOK(t, err)
	return r
}

// flipByteOf copies a package with one byte in the middle of a file's
// data changed.
func flipByteOf(t *testing.T, path, name string) string {
	b, err := os.ReadFile(path)
	mustOK(t, err)
	off := bytes.Index(b, []byte(name))
	if off < 0 {
		t.Fatalf("%s not in the package", name)
	}
	// The local header's name is followed by its data; a few KB in is
	// well inside the video.
	b[off+len(name)+4096] ^= 0x01
	out := filepath.Join(t.TempDir(), "tampered.zip")
	mustOK(t, os.WriteFile(out, b, 0o600))
	return out
}

func TestIncidentCamerasAndSnapshots(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		w := newEvidenceWorld(t, st, clock, "ic")
		ctx := t.Context()
		out, err := st.RaiseSOS(ctx, everywhere, w.tr.home1.ID, "", 0, 0)
		mustOK(t, err)
		id := out.Incident.ID
		cams, err := st.IncidentCameras(ctx, everywhere, id)
		mustOK(t, err)
		if len(cams) != 2 || cams[0].Label != "1单元入口" || cams[0].SnapshotMediaID != 0 {
			t.Fatalf("cameras before snapshots: %+v", cams)
		}
		opened := out.Incident.OpenedAt
		if !cams[0].BookmarkFrom.Equal(opened.Add(-2*time.Minute)) || !cams[0].BookmarkUntil.Equal(opened.Add(5*time.Minute)) {
			t.Errorf("bookmark %v – %v for an incident opened %v", cams[0].BookmarkFrom, cams[0].BookmarkUntil, opened)
		}
		var queued int
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE kind = 'incident_snapshots' AND idempotency_key = $1", "incident_snapshots:"+strconv.FormatInt(id, 10)).Scan(&queued))
		if queued != 1 {
			t.Fatalf("%d snapshot jobs queued by the incident", queued)
		}
		mustOK(t, w.worker.Snapshots(ctx, id))
		cams, err = st.IncidentCameras(ctx, everywhere, id)
		mustOK(t, err)
		for _, c := range cams {
			if c.SnapshotMediaID == 0 {
				t.Fatalf("camera %d has no snapshot: %+v", c.DeviceID, c)
			}
			m, err := st.IncidentSnapshot(ctx, everywhere, id, c.SnapshotMediaID)
			mustOK(t, err)
			if m.ContentType != "image/jpeg" || m.Kind != media.Photo.Name {
				t.Errorf("snapshot %+v", m)
			}
		}
		// The other building's scope does not reach them.
		other := auth.Scope{{CommunityID: w.tr.community.ID, GridID: w.tr.grid2.ID}}
		if _, err := st.IncidentCameras(ctx, other, id); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("another grid's worker sees the incident's cameras: %v", err)
		}
		// A second run keeps what it has: no second snapshot.
		mustOK(t, w.worker.Snapshots(ctx, id))
		n := 0
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM media WHERE owner_kind = 'incident_camera' AND owner_id = $1", id).Scan(&n))
		if n != 2 {
			t.Errorf("%d snapshots kept", n)
		}
		// The password is sealed at rest and never answered.
		c, err := st.Camera(ctx, everywhere, w.cam1.ID)
		mustOK(t, err)
		if !c.HasPassword || c.Password != "" {
			t.Errorf("camera answers %+v", c)
		}
		var sealed string
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT password_sealed FROM cameras WHERE device_id = $1", w.cam1.ID).Scan(&sealed))
		if sealed == "" || strings.Contains(sealed, evidencetest.Password) {
			t.Errorf("password at rest: %q", sealed)
		}
		b, _ := json.Marshal(c)
		if strings.Contains(string(b), evidencetest.Password) {
			t.Errorf("password in JSON: %s", b)
		}
	})
}

func TestWarningNotices(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "wn")
		c := tr.community.ID
		police := actorCtx(t, st, "wn-police", auth.Grant{Role: auth.RolePolice, CommunityID: c})
		director := actorCtx(t, st, "wn-director", auth.Grant{Role: auth.RoleAdmin, CommunityID: c})
		resident := auth.Scope{{CommunityID: c, HouseholdID: tr.household1.ID}}
		w := evidence.Warning{CommunityID: c, Title: "警惕冒充燃气公司人员", Body: "此人冒充燃气公司上门收费，见到请报警。", Reason: "多户被骗", ExpiresAt: clock.Now().Add(72 * time.Hour)}
		mustOK(t, st.CreateWarning(police, everywhere, &w, nil))
		if _, err := st.DecideWarning(director, everywhere, w.ID, evidence.Decision{Approve: true}); shequ.ErrorCode(err) != shequ.ECONFLICT {
			t.Fatalf("published without a face: %v", err)
		}
		photo := media.Media{SHA256: strings.Repeat("ab", 32), Size: 10, ContentType: "image/jpeg"}
		_, err := st.SetWarningPhoto(police, everywhere, w.ID, photo)
		mustOK(t, err)
		// Not yet approved: residents see nothing.
		if l, _ := st.ListWarnings(ctx, resident, evidence.WarningFilter{Live: true}); l.Total != 0 {
			t.Fatalf("residents see a notice before approval")
		}
		if _, err := st.Warning(ctx, resident, w.ID, false); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Fatalf("resident reads an unapproved notice: %v", err)
		}
		if _, err := st.DecideWarning(police, everywhere, w.ID, evidence.Decision{Approve: true}); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Fatalf("the requester published their own notice: %v", err)
		}
		pub, err := st.DecideWarning(director, everywhere, w.ID, evidence.Decision{Approve: true, Reason: "同意发布三天"})
		mustOK(t, err)
		if pub.Status != evidence.WarningPublished || pub.DeciderName == "" {
			t.Fatalf("after approval %+v", pub)
		}
		l, err := st.ListWarnings(ctx, resident, evidence.WarningFilter{Live: true})
		mustOK(t, err)
		if l.Total != 1 || l.Items[0].PhotoID != 0 || l.Items[0].Reason != "" {
			t.Fatalf("resident list (no faces, no reasons): %+v", l.Items)
		}
		one, err := st.Warning(ctx, resident, w.ID, false)
		mustOK(t, err)
		if one.PhotoID == 0 || one.Reason != "" || one.RequesterName != "" {
			t.Errorf("resident's notice %+v", one)
		}
		// Another community's residents do not see it.
		tr2 := makeTree(t, st, "wn2")
		if _, err := st.Warning(ctx, auth.Scope{{CommunityID: tr2.community.ID, HouseholdID: tr2.household1.ID}}, w.ID, false); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("another community reads it: %v", err)
		}
		var job int
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE kind = 'warning_expiry'").Scan(&job))
		if job != 1 {
			t.Errorf("%d expiry jobs", job)
		}
		// Before its time the expiry does nothing; at it the notice goes.
		down, err := st.ExpireWarning(ctx, w.ID)
		mustOK(t, err)
		if down {
			t.Fatal("taken down early")
		}
		clock.Advance(72*time.Hour + time.Second)
		if l, _ := st.ListWarnings(ctx, resident, evidence.WarningFilter{Live: true}); l.Total != 0 {
			t.Errorf("an expired notice is listed")
		}
		down, err = st.ExpireWarning(ctx, w.ID)
		mustOK(t, err)
		got, _ := st.Warning(ctx, everywhere, w.ID, true)
		if !down || got.Status != evidence.WarningExpired || got.TakenDownAt == nil {
			t.Errorf("after expiry %+v", got)
		}
		var audited int
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM audit_log WHERE entity = 'warning' AND entity_id = $1", w.ID).Scan(&audited))
		if audited < 4 { // create, photo, publish, expire
			t.Errorf("%d audit entries", audited)
		}
	})
}

// TestCameraPasswordStaysWithItsHosts: a camera's stored password is sent
// to its addresses (the snapshot fetch answers a Basic challenge with it),
// so settings that point any of them at another host drop it unless it is
// given again; a new path on the same host keeps it.
func TestCameraPasswordStaysWithItsHosts(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, _ *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "campw")
		cam := community.Device{CommunityID: tr.community.ID, Kind: community.DeviceCamera, Name: "摄像机 A栋", BuildingID: tr.building1.ID}
		mustOK(t, st.CreateDevice(ctx, everywhere, &cam))
		set := func(c evidence.Camera) bool {
			t.Helper()
			c.DeviceID = cam.ID
			mustOK(t, st.SetCamera(ctx, everywhere, &c, false))
			got, err := st.Camera(ctx, everywhere, cam.ID)
			mustOK(t, err)
			return got.HasPassword
		}
		base := evidence.Camera{LiveURL: "rtsp://192.0.2.10/stream1", SnapshotURL: "http://192.0.2.10/snap.jpg", Username: "admin"}
		withPassword := base
		withPassword.Password = "camera-secret-1"
		if !set(withPassword) {
			t.Fatal("the password given was not kept")
		}
		samePlace := base
		samePlace.SnapshotURL = "http://192.0.2.10/ISAPI/Streaming/channels/101/picture"
		if !set(samePlace) {
			t.Error("a new path on the same host dropped the password")
		}
		elsewhere := base
		elsewhere.SnapshotURL = "http://198.51.100.66/snap.jpg"
		if set(elsewhere) {
			t.Error("the snapshot pointed at another host kept the stored password, which the fetch would send there")
		}
		withPassword.SnapshotURL = elsewhere.SnapshotURL
		if !set(withPassword) {
			t.Error("the password given again with the new host was not kept")
		}
	})
}
