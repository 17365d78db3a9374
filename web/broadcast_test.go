package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/mp3"
	"github.com/shequ/shequ/broadcast/render"
	"github.com/shequ/shequ/broadcast/stream"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestBroadcastProgrammeOverHTTP: the demo's zones and three daily slots,
// a new zone and slot, and a rundown, as the broadcaster; residents see
// none of it.
func TestBroadcastProgrammeOverHTTP(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			env := newTestEnv(t, d)
			var zones shequ.List[broadcast.Zone]
			if st := env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/zones?limit=100", nil, &zones); st != http.StatusOK {
				t.Fatalf("list zones: %d", st)
			}
			if zones.Total != 15 {
				t.Fatalf("demo zones: %d, want 14 grids and all", zones.Total)
			}
			var all broadcast.Zone
			for _, z := range zones.Items {
				if z.Code == "all" {
					all = z
				} else if len(z.SpeakerIDs) != 1 {
					t.Errorf("zone %s has %d speakers", z.Code, len(z.SpeakerIDs))
				}
			}
			if len(all.SpeakerIDs) != 14 {
				t.Fatalf("zone all has %d speakers, want 14", len(all.SpeakerIDs))
			}
			var slots shequ.List[broadcast.Slot]
			env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/slots", nil, &slots)
			var starts []string
			for _, s := range slots.Items {
				starts = append(starts, s.Start)
				if s.Minutes != 20 || len(s.Days) != 7 || len(s.ZoneIDs) != 15 {
					t.Errorf("demo slot %+v", s)
				}
			}
			if len(starts) != 3 || starts[0] != "07:00" || starts[1] != "12:00" || starts[2] != "18:30" {
				t.Fatalf("demo slots start at %v", starts)
			}

			var z broadcast.Zone
			if st := env.do("broadcaster", http.MethodPost, "/api/v1/broadcast/zones", map[string]any{"code": "east", "name": "东片", "speaker_ids": all.SpeakerIDs[:3]}, &z); st != http.StatusCreated {
				t.Fatalf("create zone: %d", st)
			}
			if st, code := env.problemCode("broadcaster", http.MethodPost, "/api/v1/broadcast/zones", map[string]any{"code": "x", "name": "x", "speaker_ids": []int64{1}}); st != http.StatusUnprocessableEntity || code != "invalid" {
				t.Errorf("a camera as a speaker: %d %s", st, code)
			}
			var slot broadcast.Slot
			body := map[string]any{"zone_ids": []int64{z.ID}, "days": []int{6, 7}, "start": "09:00", "minutes": 10, "from": "2026-12-01",
				"exceptions": []map[string]any{{"date": "2026-12-26", "skip": true}}}
			if st := env.do("broadcaster", http.MethodPost, "/api/v1/broadcast/slots", body, &slot); st != http.StatusCreated {
				t.Fatalf("create slot: %d", st)
			}
			if st, _ := env.problemCode("broadcaster", http.MethodPost, "/api/v1/broadcast/slots", map[string]any{"zone_ids": []int64{z.ID}, "days": []int{9}, "start": "25:00", "minutes": 10}); st != http.StatusUnprocessableEntity {
				t.Errorf("bad slot: %d", st)
			}
			items := map[string]any{"items": []map[string]any{{"kind": "chime"}, {"kind": "speech", "text": "周六上午九点义诊", "voice": "yue"}}}
			var r broadcast.Rundown
			if st := env.do("broadcaster", http.MethodPut, "/api/v1/broadcast/slots/"+strconv.FormatInt(slot.ID, 10)+"/rundown", items, &r); st != http.StatusOK {
				t.Fatalf("set rundown: %d", st)
			}
			env.do("operator", http.MethodGet, "/api/v1/broadcast/slots/"+strconv.FormatInt(slot.ID, 10)+"/rundown", nil, &r)
			if len(r.Items) != 2 || r.Items[1].Voice != "yue" {
				t.Fatalf("rundown read back: %+v", r)
			}
			if st, _ := env.problemCode("operator", http.MethodPut, "/api/v1/broadcast/slots/"+strconv.FormatInt(slot.ID, 10)+"/rundown", items); st != http.StatusForbidden {
				t.Errorf("operator writes a rundown: %d", st)
			}
			if st, _ := env.problemCode("resident01", http.MethodGet, "/api/v1/broadcast/slots", nil); st != http.StatusForbidden {
				t.Errorf("resident lists slots: %d", st)
			}
			var runs shequ.List[broadcast.AsRun]
			if st := env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/asrun?zone="+strconv.FormatInt(z.ID, 10), nil, &runs); st != http.StatusOK || runs.Total != 0 {
				t.Errorf("as-run of a new zone: %d %+v", st, runs)
			}

			// A resident's song request, approved into the evening slot.
			track := broadcast.Track{CommunityID: env.demo.CommunityID, Title: "月亮代表我的心"}
			if err := env.store.AddTrack(t.Context(), auth.Scope{{}}, &track, media.Media{Kind: media.Audio.Name, SHA256: strings.Repeat("ab", 32), ContentType: "audio/mpeg", Size: 1}); err != nil {
				t.Fatal(err)
			}
			var d broadcast.Dedication
			if st := env.do("resident01", http.MethodPost, "/api/v1/broadcast/dedications", map[string]any{"song": "月亮代表我的心", "for": "我的妻子", "message": "祝你早日康复"}, &d); st != http.StatusCreated || d.Status != "pending" {
				t.Fatalf("request: %d %+v", st, d)
			}
			var mine shequ.List[broadcast.Dedication]
			env.do("resident01", http.MethodGet, "/api/v1/broadcast/dedications", nil, &mine)
			if mine.Total != 1 {
				t.Errorf("the resident's requests: %+v", mine)
			}
			if st, _ := env.problemCode("resident01", http.MethodPost, "/api/v1/broadcast/dedications/"+strconv.FormatInt(d.ID, 10)+"/approve", map[string]any{"slot_id": slots.Items[2].ID}); st != http.StatusForbidden {
				t.Errorf("resident approves: %d", st)
			}
			var ok broadcast.Dedication
			if st := env.do("broadcaster", http.MethodPost, "/api/v1/broadcast/dedications/"+strconv.FormatInt(d.ID, 10)+"/approve",
				map[string]any{"slot_id": slots.Items[2].ID, "track_id": track.ID}, &ok); st != http.StatusOK || ok.Status != "approved" {
				t.Fatalf("approve: %d %+v", st, ok)
			}
			env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/slots/"+strconv.FormatInt(slots.Items[2].ID, 10)+"/rundown", nil, &r)
			if last := r.Items[len(r.Items)-1]; last.Kind != "dedication" || last.TrackID != track.ID {
				t.Errorf("evening rundown ends with %+v", last)
			}

			// Changing and removing: a slot moved to 10:00 with Christmas
			// moved to 11:00, the zone renamed; a zone a slot plays on
			// stays until the slot goes; deleting the slot keeps nothing.
			sid, zid := strconv.FormatInt(slot.ID, 10), strconv.FormatInt(z.ID, 10)
			body["start"], body["exceptions"] = "10:00", []map[string]any{{"date": "2026-12-25", "start": "11:00"}}
			var moved broadcast.Slot
			if st := env.do("broadcaster", http.MethodPut, "/api/v1/broadcast/slots/"+sid, body, &moved); st != http.StatusOK || moved.Start != "10:00" ||
				len(moved.Exceptions) != 1 || moved.Exceptions[0].Start != "11:00" || moved.CommunityID != slot.CommunityID {
				t.Errorf("update slot: %d %+v", st, moved)
			}
			env.do("operator", http.MethodGet, "/api/v1/broadcast/slots/"+sid+"/rundown", nil, &r)
			if len(r.Items) != 2 {
				t.Errorf("the rundown went with the update: %+v", r)
			}
			if st, _ := env.problemCode("broadcaster", http.MethodPut, "/api/v1/broadcast/slots/"+sid, map[string]any{"zone_ids": []int64{z.ID}, "days": []int{1}, "start": "23:50", "minutes": 20}); st != http.StatusUnprocessableEntity {
				t.Errorf("a slot past midnight: %d", st)
			}
			var renamed broadcast.Zone
			if st := env.do("broadcaster", http.MethodPut, "/api/v1/broadcast/zones/"+zid, map[string]any{"code": "east", "name": "东片区", "speaker_ids": all.SpeakerIDs[:2]}, &renamed); st != http.StatusOK ||
				renamed.Name != "东片区" || len(renamed.SpeakerIDs) != 2 {
				t.Errorf("update zone: %d %+v", st, renamed)
			}
			if st, code := env.problemCode("broadcaster", http.MethodDelete, "/api/v1/broadcast/zones/"+zid, nil); st != http.StatusConflict {
				t.Errorf("deleting a zone a slot plays on: %d %s", st, code)
			}
			if st, _ := env.problemCode("operator", http.MethodDelete, "/api/v1/broadcast/slots/"+sid, nil); st != http.StatusForbidden {
				t.Errorf("operator deletes a slot: %d", st)
			}
			if st := env.do("broadcaster", http.MethodDelete, "/api/v1/broadcast/slots/"+sid, nil, nil); st != http.StatusNoContent {
				t.Errorf("delete slot: %d", st)
			}
			if st := env.do("broadcaster", http.MethodDelete, "/api/v1/broadcast/zones/"+zid, nil, nil); st != http.StatusNoContent {
				t.Errorf("delete zone: %d", st)
			}
			if st, _ := env.problemCode("broadcaster", http.MethodGet, "/api/v1/broadcast/slots/"+sid+"/rundown", nil); st != http.StatusNotFound {
				t.Errorf("a deleted slot's rundown: %d", st)
			}
		})
	}
}

// broadcastEnv is the test server with the broadcast running: its
// renderer, scheduler and zone streams on the env's store and clock.
func broadcastEnv(t *testing.T, dialect string) *testEnv {
	t.Helper()
	env := newTestEnv(t, dialect)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := render.New(render.FindTools(), env.store, env.server.blobs, quiet)
	r.Warm() // as at start: an encoder waits for the first announcement
	t.Cleanup(r.Close)
	hub := stream.New(env.clock, env.server.blobs, quiet)
	sched := broadcast.NewScheduler(env.store, r, hub, env.clock, quiet)
	sched.WatchSpeakers(broadcast.NewHealth(env.store, func(z broadcast.Zone) []broadcast.Listener { return hub.ListenerList(z.ID) }))
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go hub.Run(ctx)
	if err := sched.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	go sched.Run(ctx)
	bc := struct {
		*render.Renderer
		*broadcast.Scheduler
		*stream.Hub
	}{r, sched, hub}
	srv := New(Config{Store: env.store, Clock: env.clock, Logger: quiet, Version: "test", LoginBurst: 1000, Hub: live.NewHub(), Media: env.server.blobs, Broadcast: bc})
	env.server = srv
	env.http = newHTTPServer(t, srv)
	t.Cleanup(srv.StopStreams)
	return env
}

// upload posts audio to the library as the broadcaster.
func (e *testEnv) upload(query, contentType string, data []byte) (int, broadcast.Track, Problem) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/broadcast/library"+query, bytes.NewReader(data))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+e.token("broadcaster"))
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr broadcast.Track
	var p Problem
	if resp.StatusCode == http.StatusCreated {
		json.Unmarshal(body, &tr)
	} else {
		json.Unmarshal(body, &p)
	}
	return resp.StatusCode, tr, p
}

func ffmpegOut(t *testing.T, args ...string) []byte {
	t.Helper()
	out, err := exec.Command("ffmpeg", append([]string{"-v", "error"}, args...)...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v", args, err)
	}
	return out
}

// TestBroadcastOverHTTP: songs come into the library measured (Ogg and
// FLAC, text refused); anyone may listen to a zone's MP3 stream; an
// urgent test announcement posted by the broadcaster is on that stream
// within 2 seconds and on the as-run log.
func TestBroadcastOverHTTP(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	env := broadcastEnv(t, sqlstore.SQLite)

	song := ffmpegOut(t, "-f", "lavfi", "-i", "sine=f=523:d=3", "-metadata", "title=旋律", "-c:a", "libvorbis", "-f", "ogg", "-")
	st, tr, p := env.upload("?artist=演示", "audio/ogg", song)
	if st != http.StatusCreated || tr.Title != "旋律" || tr.Artist != "演示" || tr.Seconds < 2.9 || tr.Seconds > 3.1 || tr.LUFS > -5 || tr.LUFS < -40 || tr.ContentType != "application/ogg" {
		t.Fatalf("ogg upload: %d %+v %+v", st, tr, p)
	}
	flac := ffmpegOut(t, "-f", "lavfi", "-i", "sine=f=330:d=2", "-f", "flac", "-")
	if st, tr, p := env.upload("?title=低音", "audio/flac", flac); st != http.StatusCreated || tr.ContentType != "audio/flac" || tr.Seconds < 1.9 {
		t.Fatalf("flac upload: %d %+v %+v", st, tr, p)
	}
	if st, _, p := env.upload("?title=x", "text/plain", []byte("这不是音频")); st != http.StatusUnprocessableEntity || len(p.Errors) == 0 {
		t.Fatalf("text upload: %d %+v", st, p)
	}
	var lib shequ.List[broadcast.Track]
	if env.do("operator", http.MethodGet, "/api/v1/broadcast/library", nil, &lib); lib.Total != 2 {
		t.Fatalf("library: %+v", lib)
	}

	var zones shequ.List[broadcast.Zone]
	env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/zones?limit=100", nil, &zones)
	var g01 broadcast.Zone
	for _, z := range zones.Items {
		if z.Code == "g01" {
			g01 = z
		}
	}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.http.URL+"/broadcast/zones/g01/stream", nil)
	resp, err := env.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	type got struct {
		at    time.Time
		sound bool
	}
	var mu sync.Mutex
	var frames []got
	var data bytes.Buffer
	go func() {
		buf := make([]byte, mp3.FrameBytes)
		for {
			if _, err := io.ReadFull(resp.Body, buf); err != nil {
				return
			}
			mu.Lock()
			data.Write(buf)
			frames = append(frames, got{time.Now(), !bytes.Equal(buf, mp3.Silence())})
			mu.Unlock()
		}
	}()
	time.Sleep(time.Second)
	asked := time.Now()
	var e broadcast.Emergency
	if st := env.do("broadcaster", http.MethodPost, "/api/v1/broadcast/emergency",
		map[string]any{"zone_ids": []int64{g01.ID}, "text": "消防演练，请勿惊慌。", "level": "urgent", "status": "test", "warning_level": "IV", "repeat": 1}, &e); st != http.StatusCreated {
		t.Fatalf("emergency: %d", st)
	}
	if e.Status != "test" || e.ID == 0 {
		t.Fatalf("emergency: %+v", e)
	}
	var first time.Time
	for deadline := time.Now().Add(10 * time.Second); first.IsZero() && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		for _, f := range frames {
			if f.sound {
				first = f.at
				break
			}
		}
		mu.Unlock()
	}
	if first.IsZero() {
		t.Fatal("no sound on the stream after the emergency")
	}
	t.Logf("urgent announcement heard on the HTTP stream %s after POST", first.Sub(asked))
	if first.Sub(asked) > 2*time.Second {
		t.Errorf("urgent announcement took %s to be heard", first.Sub(asked))
	}
	// The as-run entry is written when the announcement has been said.
	var runs shequ.List[broadcast.AsRun]
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		env.do("broadcaster", http.MethodGet, "/api/v1/broadcast/asrun?zone="+strconv.FormatInt(g01.ID, 10), nil, &runs)
		if runs.Total > 0 {
			break
		}
	}
	if runs.Total != 1 || runs.Items[0].EmergencyID != e.ID || runs.Items[0].Kind != "emergency" {
		t.Errorf("as-run: %+v", runs)
	}
	stop()
	mu.Lock()
	if _, err := mp3.Frames(data.Bytes()); err != nil {
		t.Errorf("the stream is not whole MP3 frames: %v", err)
	}
	mu.Unlock()

	// The page: the week, the zones with a player each, the as-run log,
	// and the emergency button in two steps naming the zones.
	pg := env.pageAs("broadcaster", "/broadcast")
	for _, want := range []string{"晚间广播", "18:30", "/broadcast/zones/g01/stream", g01.Name, "紧急广播"} {
		if pg.status != http.StatusOK || !strings.Contains(pg.body, want) {
			t.Errorf("broadcast page (%d) lacks %q", pg.status, want)
		}
	}
	if r := env.pageAs("resident01", "/broadcast"); r.status != http.StatusForbidden {
		t.Errorf("resident sees the broadcast page: %d", r.status)
	}
	jar := newJar(env)
	form := url.Values{"text": {"停电检修通知"}, "zone": {strconv.FormatInt(g01.ID, 10)}, "level": {"non_urgent"}, "status": {"test"}}
	step1 := jar.post("broadcaster", "/broadcast/emergency", form, false)
	if step1.status != http.StatusOK || !strings.Contains(step1.body, "确认后") || !strings.Contains(step1.body, g01.Name) || !strings.Contains(step1.body, `name="confirm" value="yes"`) {
		t.Fatalf("emergency step 1: %d", step1.status)
	}
	form.Set("confirm", "yes")
	if step2 := jar.post("broadcaster", "/broadcast/emergency", form, false); step2.status != http.StatusOK || !strings.Contains(step2.body, "已开始播出") {
		t.Errorf("emergency step 2: %d", step2.status)
	}
	if bad := jar.post("broadcaster", "/broadcast/emergency", url.Values{"text": {"x"}, "level": {"urgent"}}, false); bad.status != http.StatusUnprocessableEntity {
		t.Errorf("emergency without zones: %d", bad.status)
	}

	// The preview: the slot rendered as it will go out, to play in the
	// browser; residents do not get it.
	slots, err := env.store.ListSlots(t.Context(), auth.Scope{{}}, 0, shequ.Page{Limit: 10})
	if err != nil || slots.Total == 0 {
		t.Fatalf("slots: %v", err)
	}
	path := "/broadcast/slots/" + strconv.FormatInt(slots.Items[0].ID, 10) + "/preview"
	pv := env.pageAs("broadcaster", path)
	pf, err := mp3.Frames([]byte(pv.body))
	if pv.status != http.StatusOK || err != nil || mp3.Duration(len(pf)) < 5*time.Second {
		t.Errorf("preview: %d, %d frames, %v", pv.status, len(pf), err)
	}
	if r := env.pageAs("resident01", path); r.status != http.StatusForbidden {
		t.Errorf("resident previews a slot: %d", r.status)
	}
}

// TestSpeakerOffline: during the 18:30 slot (fake clock) only grid 1's
// loudspeaker (its address 127.0.0.1, the test's own) listens to its zone
// stream; when the slot ends each of the other 13 gets one trouble, shown
// on the broadcaster's page, and one that listens again is cleared.
func TestSpeakerOffline(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	env := broadcastEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	everyone := auth.Scope{{}}
	g01, err := env.store.ZoneByCode(ctx, 0, "g01")
	if err != nil {
		t.Fatal(err)
	}
	g02, err := env.store.ZoneByCode(ctx, 0, "g02")
	if err != nil {
		t.Fatal(err)
	}
	setAddress := func(id int64, addr string) {
		d, err := env.store.Device(ctx, everyone, id)
		if err != nil {
			t.Fatal(err)
		}
		d.Address = addr
		if err := env.store.UpdateDevice(ctx, everyone, &d); err != nil {
			t.Fatal(err)
		}
	}
	setAddress(g01.SpeakerIDs[0], "http://127.0.0.1:8000/")
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	req, _ := http.NewRequestWithContext(lctx, http.MethodGet, env.http.URL+"/broadcast/zones/g01/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go io.Copy(io.Discard, resp.Body)

	open := func() map[int64]broadcast.SpeakerTrouble {
		o, err := env.store.OpenSpeakerTroubles(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	env.clock.Advance(time.Date(2026, 11, 28, 10, 30, 0, 0, time.UTC).Sub(env.clock.Now())) // 18:30 in Shanghai
	time.Sleep(2500 * time.Millisecond)                                                     // the scheduler ticks every second
	if n := len(open()); n != 0 {
		t.Fatalf("%d troubles during the slot", n)
	}
	env.clock.Advance(21 * time.Minute)
	var o map[int64]broadcast.SpeakerTrouble
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if o = open(); len(o) >= 13 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d troubles after the slot, want 13", len(o))
		}
	}
	time.Sleep(1500 * time.Millisecond) // a tick or two more raise nothing more
	if o = open(); len(o) != 13 {
		t.Errorf("%d troubles, want 13 (one per silent speaker)", len(o))
	}
	if _, ok := o[g01.SpeakerIDs[0]]; ok {
		t.Error("grid 1's speaker, which listened, has a trouble")
	}
	pg := env.pageAs("broadcaster", "/broadcast")
	if n := strings.Count(pg.body, "data-speaker-offline"); n != 13 || !strings.Contains(pg.body, "喇叭离线") {
		t.Errorf("the page shows %d offline speakers, want 13", n)
	}
	// Grid 2's speaker listens again (it is at 127.0.0.1 now): cleared.
	setAddress(g02.SpeakerIDs[0], "127.0.0.1")
	req2, _ := http.NewRequestWithContext(lctx, http.MethodGet, env.http.URL+"/broadcast/zones/g02/stream", nil)
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	go io.Copy(io.Discard, resp2.Body)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if o = open(); len(o) == 12 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d troubles after grid 2's speaker came back, want 12", len(o))
		}
	}
}
