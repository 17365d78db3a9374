package evidence_test

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/evidence/evidencetest"
	"github.com/shequ/shequ/shequtest"
)

func chain(n int) []evidence.CustodyEntry {
	at := time.Date(2026, 11, 28, 9, 0, 0, 123456789, time.UTC)
	var out []evidence.CustodyEntry
	var prev *evidence.CustodyEntry
	for i := 0; i < n; i++ {
		e := evidence.Seal(evidence.CustodyEntry{At: at.Add(time.Duration(i) * time.Minute), Action: "a", Actor: "x",
			Detail: json.RawMessage(`{ "k" : [1, 2] }`)}, prev)
		out = append(out, e)
		prev = &out[len(out)-1]
	}
	return out
}

func TestVerifyChain(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func([]evidence.CustodyEntry) []evidence.CustodyEntry
		want string
	}{
		{"whole", func(c []evidence.CustodyEntry) []evidence.CustodyEntry { return c }, ""},
		{"changed actor", func(c []evidence.CustodyEntry) []evidence.CustodyEntry { c[2].Actor = "y"; return c }, "custody entry 3: was changed"},
		{"changed time", func(c []evidence.CustodyEntry) []evidence.CustodyEntry { c[0].At = c[0].At.Add(time.Second); return c }, "custody entry 1: was changed"},
		{"removed", func(c []evidence.CustodyEntry) []evidence.CustodyEntry { return append(c[:1], c[2:]...) }, "custody entry 2: is numbered 3"},
		{"removed and renumbered", func(c []evidence.CustodyEntry) []evidence.CustodyEntry {
			c = append(c[:1], c[2:]...)
			for i := 1; i < len(c); i++ {
				c[i].Seq = i + 1
				c[i].Hash = c[i].ComputeHash()
			}
			return c
		}, "custody entry 2: does not follow entry 1"},
		{"swapped", func(c []evidence.CustodyEntry) []evidence.CustodyEntry { c[1], c[2] = c[2], c[1]; return c }, "custody entry 2: is numbered 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := evidence.VerifyChain(tc.edit(chain(4)))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("a whole chain: %v", err)
			case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)):
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// An entry read back from JSON (the package, the API) hashes the same:
// times are kept to the microsecond, details compact.
func TestSealedEntryRoundTrips(t *testing.T) {
	c := chain(3)
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var back []evidence.CustodyEntry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := evidence.VerifyChain(back); err != nil {
		t.Fatal(err)
	}
	if string(c[0].Detail) != `{"k":[1,2]}` || c[0].At.Nanosecond()%1000 != 0 {
		t.Errorf("sealed entry %+v", c[0])
	}
}

func TestFootageRequestValidate(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	ok := evidence.FootageRequest{Reason: "盗窃", CaseNumber: "A-1", CameraIDs: []int64{1, 2}, From: now.Add(-time.Hour), Until: now.Add(-50 * time.Minute)}
	for _, tc := range []struct {
		name  string
		edit  func(*evidence.FootageRequest)
		field string
	}{
		{"ok", func(*evidence.FootageRequest) {}, ""},
		{"no reason", func(r *evidence.FootageRequest) { r.Reason = " " }, "reason"},
		{"no case", func(r *evidence.FootageRequest) { r.CaseNumber = "" }, "case_number"},
		{"no cameras", func(r *evidence.FootageRequest) { r.CameraIDs = nil }, "camera_ids"},
		{"twice", func(r *evidence.FootageRequest) { r.CameraIDs = []int64{1, 1} }, "camera_ids"},
		{"backwards", func(r *evidence.FootageRequest) { r.Until = r.From }, "until"},
		{"too long", func(r *evidence.FootageRequest) { r.From = r.Until.Add(-3 * time.Hour) }, "until"},
		{"future", func(r *evidence.FootageRequest) { r.Until = now.Add(time.Minute) }, "until"},
		{"too old", func(r *evidence.FootageRequest) {
			r.From, r.Until = now.AddDate(0, -4, 0), now.AddDate(0, -4, 0).Add(time.Minute)
		}, "from"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			r.CameraIDs = append([]int64(nil), ok.CameraIDs...)
			tc.edit(&r)
			err := r.Validate(now)
			var e *shequ.Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatal(err)
			case tc.field != "" && (shequ.ErrorCode(err) != shequ.EINVALID || !asErr(err, &e) || e.Fields[tc.field] == ""):
				t.Fatalf("got %v, want a problem with %s", err, tc.field)
			}
		})
	}
}

func asErr(err error, e **shequ.Error) bool {
	x, ok := err.(*shequ.Error)
	*e = x
	return ok
}

func TestPlaybackURL(t *testing.T) {
	from := time.Date(2026, 11, 28, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	got := evidence.PlaybackURL("rtsp://nvr/Streaming/tracks/101?starttime={start}&endtime={end}&s={start_unix}", from, from.Add(90*time.Second))
	want := "rtsp://nvr/Streaming/tracks/101?starttime=20261128T000000Z&endtime=20261128T000130Z&s=1795824000"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestCameraValidate(t *testing.T) {
	for _, tc := range []struct {
		c     evidence.Camera
		field string
	}{
		{evidence.Camera{LiveURL: "rtsp://cam/1", RecorderKind: "isapi", RecorderURL: "http://nvr"}, ""},
		{evidence.Camera{LiveURL: "ftp://cam/1"}, "live_url"},
		{evidence.Camera{SnapshotURL: "rtsp://cam/1"}, "snapshot_url"},
		{evidence.Camera{RecorderKind: "playback"}, "recorder_url"},
		{evidence.Camera{RecorderKind: "vhs", RecorderURL: "http://x"}, "recorder_kind"},
		{evidence.Camera{Coverage: []evidence.Coverage{{Kind: "entrance"}}}, "coverage"},
		{evidence.Camera{Coverage: []evidence.Coverage{{Kind: "sky"}}}, "coverage"},
	} {
		err := tc.c.Validate()
		e, _ := err.(*shequ.Error)
		if (tc.field == "") != (err == nil) || (e != nil && e.Fields[tc.field] == "") {
			t.Errorf("%+v: %v, want a problem with %q", tc.c, err, tc.field)
		}
	}
}

// TestPlaybackAdapterOverRTSP records a recorder's RTSP playback with
// ffmpeg -c copy: Digest authentication from the URL's credentials,
// RTP over the RTSP connection, the window's length and no re-encoding.
func TestPlaybackAdapterOverRTSP(t *testing.T) {
	shequtest.NeedCommand(t, "ffmpeg", "ffprobe")
	srv := evidencetest.NewRTSP(t, 10)
	until := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	from := until.Add(-8 * time.Second)
	dst := filepath.Join(t.TempDir(), "out.mp4")
	f := &evidence.Fetcher{}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	adapter, err := f.Fetch(ctx, evidence.Source{CameraID: 3, Kind: evidence.RecorderPlayback,
		URL:      srv.URL + "/Streaming/tracks/101?starttime={start}&endtime={end}",
		Username: evidencetest.User, Password: evidencetest.Password}, from, until, dst)
	if err != nil {
		t.Fatal(err)
	}
	if adapter != "ffmpeg-copy" || srv.Plays != 1 {
		t.Errorf("adapter %s, %d plays", adapter, srv.Plays)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,width", "-of", "default=nw=1", dst).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe: %v: %s", err, out)
	}
	t.Logf("ffprobe: %s", strings.ReplaceAll(string(out), "\n", " "))
	var d float64
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "duration="); ok {
			d, _ = strconv.ParseFloat(v, 64)
		}
	}
	if !strings.Contains(string(out), "codec_name=h264") || !strings.Contains(string(out), "width=320") || d < 6 || d > 10 {
		t.Errorf("recorded: %s", out)
	}
}
