package stream

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// rig is a community with one zone and a 07:00 slot, its scheduler and
// hub running on a fake clock.
type rig struct {
	st    *sqlstore.Store
	clock *shequtest.Clock
	blobs *disk.Blobs
	rend  *render.Renderer
	sched *broadcast.Scheduler
	hub   *Hub
	c     community.Community
	zone  broadcast.Zone
	slot  broadcast.Slot
}

func newRig(t *testing.T, items []broadcast.Item) *rig {
	t.Helper()
	ctx := t.Context()
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	// Tuesday 1 December 2026, 06:58 in Shanghai.
	clock := shequtest.NewClock(time.Date(2026, 12, 1, 6, 58, 0, 0, shanghai))
	r := &rig{clock: clock, st: sqlstoretest.Open(t, sqlstore.SQLite, clock)}
	var err error
	if r.blobs, err = disk.New(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	everyone := auth.Scope{{}}
	r.c = community.Community{Code: "stream", Name: "测试社区", Timezone: "Asia/Shanghai"}
	must(t, r.st.CreateCommunity(ctx, everyone, &r.c))
	r.zone = broadcast.Zone{CommunityID: r.c.ID, Code: "g1", Name: "第1网格"}
	must(t, r.st.CreateZone(ctx, everyone, &r.zone))
	r.slot = broadcast.Slot{CommunityID: r.c.ID, ZoneIDs: []int64{r.zone.ID}, Days: []int{1, 2, 3, 4, 5, 6, 7}, Start: "07:00", Minutes: 20}
	must(t, r.st.CreateSlot(ctx, everyone, &r.slot))
	must(t, r.st.SetRundown(ctx, everyone, &broadcast.Rundown{SlotID: r.slot.ID, Items: items}))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	r.rend = render.New(render.FindTools(), r.st, r.blobs, quiet)
	r.hub = New(clock, r.blobs, quiet)
	r.sched = broadcast.NewScheduler(r.st, r.rend, r.hub, clock, quiet)
	hubCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go r.hub.Run(hubCtx)
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// capture collects what a listener receives, chunk by chunk.
type capture struct {
	ch     <-chan []byte
	data   bytes.Buffer
	frames int
}

// arrivals reads a listener in the background and notes when each frame
// came.
type arrivals struct {
	mu     sync.Mutex
	frames [][]byte
	at     []time.Time
}

func listenInBackground(ch <-chan []byte) *arrivals {
	a := &arrivals{}
	go func() {
		for b := range ch {
			now := time.Now()
			fs, _ := mp3.Frames(b)
			a.mu.Lock()
			for _, f := range fs {
				a.frames = append(a.frames, f)
				a.at = append(a.at, now)
			}
			a.mu.Unlock()
		}
	}()
	return a
}

// find returns the index of the first frame from `from` on where seq
// begins, and when it came; -1 when it has not come.
func (a *arrivals) find(from int, seq [][]byte) (int, time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := from; i+len(seq) <= len(a.frames); i++ {
		ok := true
		for j := range seq {
			ok = ok && bytes.Equal(a.frames[i+j], seq[j])
		}
		if ok {
			return i, a.at[i]
		}
	}
	return -1, time.Time{}
}

func (a *arrivals) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.frames)
}

// until reads until cond holds or d passes.
func (c *capture) until(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(d)
	for !cond() {
		select {
		case b, ok := <-c.ch:
			if !ok {
				t.Fatal("the stream ended")
			}
			c.data.Write(b)
			c.frames += len(b) / mp3.FrameBytes
		case <-deadline:
			t.Fatalf("timed out after %s", d)
		}
	}
}

// runs splits the frames into runs of silence and of sound.
func runs(t *testing.T, data []byte) (silent []int, sound []int) {
	frames, err := mp3.Frames(data)
	if err != nil {
		t.Fatal(err)
	}
	quiet := mp3.Silence()
	wasSilent, n := true, 0
	for _, f := range frames {
		s := bytes.Equal(f, quiet)
		if s != wasSilent {
			if wasSilent {
				silent = append(silent, n)
			} else {
				sound = append(sound, n)
			}
			wasSilent, n = s, 0
		}
		n++
	}
	if wasSilent {
		silent = append(silent, n)
	} else {
		sound = append(sound, n)
	}
	return silent, sound
}

func ffprobeSeconds(t *testing.T, data []byte) float64 {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.mp3")
	must(t, os.WriteFile(path, data, 0o644))
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path).Output()
	must(t, err)
	s, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	must(t, err)
	return s
}

// TestSlotGoesOutAtItsMinute: two minutes before 07:00 by the fake clock
// the slot is rendered ahead and cued, and the zone stays silent; at
// 07:00 a listener gets the slot, which ffprobe decodes to its length,
// then silence again; the as-run log says when it went out.
func TestSlotGoesOutAtItsMinute(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := t.Context()
	r := newRig(t, []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: "早上好，12月2日9:30停水。"}})
	must(t, r.sched.Tick(ctx))
	slot, err := r.st.Slot(ctx, auth.Scope{{}}, r.slot.ID)
	must(t, err)
	if slot.Flag != "" {
		t.Fatalf("slot flagged: %s", slot.Flag)
	}
	audio, err := r.rend.Render(ctx, r.c.ID, []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: "早上好，12月2日9:30停水。", Voice: "cmn"}})
	must(t, err)

	lctx, stop := context.WithCancel(ctx)
	defer stop()
	ch, err := r.hub.Listen(lctx, r.zone.ID)
	must(t, err)
	c := &capture{ch: ch}
	// A second of the stream before 07:00: silence only.
	c.until(t, 10*time.Second, func() bool { return c.frames >= 40 })
	if _, sound := runs(t, c.data.Bytes()); len(sound) != 0 {
		t.Fatalf("sound before the slot: %v", sound)
	}
	r.clock.Advance(2 * time.Minute)
	slotFrames := int(audio.Seconds/mp3.FrameDuration.Seconds() + 0.5)
	c.until(t, time.Duration(audio.Seconds*float64(time.Second))+20*time.Second, func() bool {
		_, sound := runs(t, c.data.Bytes())
		silent, _ := runs(t, c.data.Bytes())
		return len(sound) > 0 && len(silent) > len(sound) && silent[len(silent)-1] > 40
	})
	silent, sound := runs(t, c.data.Bytes())
	// Sound may hold frames of silence (between items) only if the
	// encoder made them so; count every frame from the first sound to
	// the last.
	first := silent[0]
	last := c.frames - silent[len(silent)-1]
	got := mp3.Duration(last - first).Seconds()
	if got < audio.Seconds-1 || got > audio.Seconds+1 {
		t.Errorf("the slot went out for %.2f s, it lasts %.2f s (runs: silent %v, sound %v)", got, audio.Seconds, silent, sound)
	}
	frames, _ := mp3.Frames(c.data.Bytes())
	var slotPart bytes.Buffer
	for _, f := range frames[first:last] {
		slotPart.Write(f)
	}
	if d := ffprobeSeconds(t, slotPart.Bytes()); d < audio.Seconds-1 || d > audio.Seconds+1 {
		t.Errorf("ffprobe decodes the slot as %.2f s, want %.2f ±1", d, audio.Seconds)
	}
	if d, want := ffprobeSeconds(t, c.data.Bytes()), mp3.Duration(c.frames).Seconds(); d < want-1 || d > want+1 {
		t.Errorf("ffprobe decodes the whole capture as %.2f s, want %.2f", d, want)
	}
	t.Logf("captured %d frames: %d silent before, %d of the slot (%d rendered), %d silent after", c.frames, first, last-first, slotFrames, silent[len(silent)-1])

	// The as-run log: played at 07:00 Shanghai (the fake clock).
	var runsLog shequ.List[broadcast.AsRun]
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		runsLog, err = r.st.ListAsRun(ctx, auth.Scope{{}}, broadcast.AsRunFilter{ZoneID: r.zone.ID})
		must(t, err)
		if runsLog.Total > 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if runsLog.Total != 1 || runsLog.Items[0].Status != broadcast.RunPlayed || runsLog.Items[0].SlotID != r.slot.ID ||
		!runsLog.Items[0].StartedAt.Equal(time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("as-run: %+v", runsLog.Items)
	}
}

// TestMissingProgramFlagsTheSlot: without espeak-ng the slot is flagged
// before its minute and the as-run log says it failed at its minute.
func TestMissingProgramFlagsTheSlot(t *testing.T) {
	shequtest.NeedCommand(t, "ffmpeg")
	ctx := t.Context()
	r := newRig(t, []broadcast.Item{{Kind: broadcast.ItemSpeech, Text: "通知"}})
	tools := render.FindTools()
	tools.Espeak = ""
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sched := broadcast.NewScheduler(r.st, render.New(tools, r.st, r.blobs, quiet), r.hub, r.clock, quiet)
	must(t, sched.Tick(ctx))
	slot, err := r.st.Slot(ctx, auth.Scope{{}}, r.slot.ID)
	must(t, err)
	if !strings.Contains(slot.Flag, "espeak-ng is not installed") {
		t.Fatalf("flag: %q", slot.Flag)
	}
	r.clock.Advance(2 * time.Minute)
	must(t, sched.Tick(ctx))
	must(t, sched.Tick(ctx))
	l, err := r.st.ListAsRun(ctx, auth.Scope{{}}, broadcast.AsRunFilter{ZoneID: r.zone.ID})
	must(t, err)
	if l.Total != 1 || l.Items[0].Status != broadcast.RunFailed || !strings.Contains(l.Items[0].Detail, "espeak-ng") {
		t.Fatalf("as-run: %+v", l.Items)
	}
}

// TestUrgentAnnouncementCutsIn: while a slot plays, an urgent test
// announcement is on the same stream within 2 seconds of being asked
// for, and the slot resumes after it.
func TestUrgentAnnouncementCutsIn(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := t.Context()
	long := "温馨提示：今天气温较低，老年人出门请注意保暖。出门请关好门窗，离家时家中报警器会自动布防。发现可疑情况请拨打110。"
	r := newRig(t, []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: long}})
	must(t, r.sched.Tick(ctx))
	e := broadcast.Emergency{CommunityID: r.c.ID, ZoneIDs: []int64{r.zone.ID}, Text: "燃气泄漏，请立即撤离。", Level: broadcast.LevelUrgent, Status: broadcast.StatusTest, Repeat: 1}
	must(t, r.st.CreateEmergency(ctx, auth.Scope{{}}, &e))

	lctx, stop := context.WithCancel(ctx)
	defer stop()
	ch, err := r.hub.Listen(lctx, r.zone.ID)
	must(t, err)
	a := listenInBackground(ch)
	r.clock.Advance(2 * time.Minute)
	// Two seconds into the slot…
	slotAudio, err := r.rend.Render(ctx, r.c.ID, []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: long, Voice: "cmn"}})
	must(t, err)
	slotFrames, err := r.hub.load(ctx, slotAudio)
	must(t, err)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if i, _ := a.find(0, slotFrames[:3]); i >= 0 && a.count() > i+80 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot did not start")
		}
	}
	before := a.count()
	asked := time.Now()
	must(t, r.sched.Announce(ctx, e))
	announced := time.Since(asked)
	alert, err := r.rend.Render(ctx, r.c.ID, broadcast.Alert)
	must(t, err)
	em, err := r.hub.load(ctx, alert)
	must(t, err)
	// …the announcement's first frames arrive.
	var at int
	var came time.Time
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if at, came = a.find(before, em[:3]); at >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the announcement did not go out")
		}
	}
	waited := came.Sub(asked)
	t.Logf("urgent announcement on the air %s after it was asked for (Announce returned after %s; frame %d of the stream)", waited, announced, at)
	if waited > 2*time.Second {
		t.Errorf("the announcement took %s to go out, want at most 2 s", waited)
	}
	// The spoken part follows the alert, and the slot resumes after it.
	speech, err := r.rend.Render(ctx, r.c.ID, e.Script())
	must(t, err)
	sf, err := r.hub.load(ctx, speech)
	must(t, err)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		i, _ := a.find(at, sf[:3])
		if i >= 0 {
			if j, _ := a.find(i, slotFrames[len(slotFrames)-3:]); j > i {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the spoken announcement or the rest of the slot did not follow")
		}
	}
	// The test announces itself as a test, and the as-run log says so.
	if s := e.Script(); !strings.HasPrefix(s[0].Text, "这是广播测试，不是真实警报。") || !strings.HasSuffix(s[0].Text, "以上是测试，不是真实警报。") {
		t.Errorf("script: %+v", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := r.st.ListAsRun(ctx, auth.Scope{{}}, broadcast.AsRunFilter{ZoneID: r.zone.ID})
		must(t, err)
		if l.Total == 2 && l.Items[0].EmergencyID == e.ID && l.Items[0].Detail == "urgent test" && l.Items[1].SlotID == r.slot.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("as-run: %+v", l.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
