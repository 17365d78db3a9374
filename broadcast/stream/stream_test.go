package stream

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
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
	r.rend.Warm()
	t.Cleanup(r.rend.Close)
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

// spoken is what Speak makes of an announcement (it makes the same bytes
// each time) and the first frame where its words are heard: the first
// loud sample after its tone, found by decoding it.
func spoken(t *testing.T, r *rig, e broadcast.Emergency) (frames [][]byte, words int) {
	t.Helper()
	src, err := r.rend.Speak(t.Context(), e.Tone(), e.Script())
	must(t, err)
	data, err := io.ReadAll(src)
	must(t, err)
	must(t, src.Close())
	frames, err = mp3.Frames(data)
	must(t, err)
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "mp3", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", "48000", "pipe:1")
	cmd.Stdin = bytes.NewReader(data)
	pcm, err := cmd.Output()
	must(t, err)
	toneEnd := 48000 * 3 / 4 // the soft tone and its pause: 0.7 s
	if e.Tone() == broadcast.ToneAlarm {
		toneEnd = 48000 * 105 / 100
	}
	for i := toneEnd; i+1 < len(pcm)/2; i++ {
		if v := int16(pcm[2*i]) | int16(pcm[2*i+1])<<8; v > 2000 || v < -2000 {
			return frames, i / (48000 * 24 / 1000)
		}
	}
	t.Fatal("the announcement has no words")
	return nil, 0
}

// TestUrgentAnnouncementCutsIn: while a slot plays, an urgent test
// announcement's words are on the same stream within 2 seconds of being
// asked for (found by their frames), and the slot resumes after it.
func TestUrgentAnnouncementCutsIn(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := t.Context()
	long := "温馨提示：今天气温较低，老年人出门请注意保暖。出门请关好门窗，离家时家中报警器会自动布防。发现可疑情况请拨打110。"
	r := newRig(t, []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: long}})
	must(t, r.sched.Tick(ctx))
	e := broadcast.Emergency{CommunityID: r.c.ID, ZoneIDs: []int64{r.zone.ID}, Text: "燃气泄漏，请立即撤离。", Level: broadcast.LevelUrgent, Status: broadcast.StatusTest, Repeat: 1}
	must(t, r.st.CreateEmergency(ctx, auth.Scope{{}}, &e))
	ref, words := spoken(t, r, e)

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
	// …the announcement's words arrive, on the same stream.
	var at, heard int
	var came, cameWords time.Time
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if at, came = a.find(before, ref[:3]); at >= 0 {
			if heard, cameWords = a.find(at, ref[words:words+3]); heard >= 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the announcement did not go out")
		}
	}
	t.Logf("urgent announcement: tone on the air %s and words %s after it was asked for (Announce returned after %s; frames %d and %d of the stream)",
		came.Sub(asked), cameWords.Sub(asked), announced, at, heard)
	if heard-at != words {
		t.Errorf("the words came %d frames after the tone, want %d: the stream stalled", heard-at, words)
	}
	if waited := cameWords.Sub(asked); waited > 2*time.Second {
		t.Errorf("the words took %s to go out, want at most 2 s", waited)
	}
	// The whole announcement goes out, and the slot resumes after it.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		i, _ := a.find(at, ref[len(ref)-3:])
		if i >= 0 {
			if j, _ := a.find(i, slotFrames[len(slotFrames)-3:]); j > i {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the rest of the announcement or of the slot did not follow")
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
		if l.Total == 2 && l.Items[0].EmergencyID == e.ID && l.Items[0].Detail == "urgent test" && l.Items[1].SlotID == r.slot.ID &&
			l.Items[0].Listeners == 1 && math.Abs(l.Items[0].Seconds-mp3.Duration(len(ref)).Seconds()) < 0.1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("as-run: %+v", l.Items)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestNonUrgentAnnouncementWaitsForTheItem: asked for during the slot's
// opening chime, a non-urgent announcement goes out when the chime has
// ended, before the slot's speech, which follows it.
func TestNonUrgentAnnouncementWaitsForTheItem(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := t.Context()
	items := []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: "早上好，今天的广播开始了。"}}
	r := newRig(t, items)
	must(t, r.sched.Tick(ctx))
	e := broadcast.Emergency{CommunityID: r.c.ID, ZoneIDs: []int64{r.zone.ID}, Text: "下午三点停电检修。", Level: broadcast.LevelNonUrgent, Status: broadcast.StatusActual, Repeat: 1}
	must(t, r.st.CreateEmergency(ctx, auth.Scope{{}}, &e))
	ref, _ := spoken(t, r, e)
	items[1].Voice = broadcast.VoiceMandarin
	slotAudio, err := r.rend.Render(ctx, r.c.ID, items)
	must(t, err)
	if len(slotAudio.Marks) != 1 {
		t.Fatalf("marks %v", slotAudio.Marks)
	}
	slotFrames, err := r.hub.load(ctx, slotAudio)
	must(t, err)
	mark := int(math.Round(slotAudio.Marks[0] / mp3.FrameDuration.Seconds()))

	lctx, stop := context.WithCancel(ctx)
	defer stop()
	ch, err := r.hub.Listen(lctx, r.zone.ID)
	must(t, err)
	a := listenInBackground(ch)
	r.clock.Advance(2 * time.Minute)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if i, _ := a.find(0, slotFrames[:3]); i >= 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the slot did not start")
		}
	}
	must(t, r.sched.Announce(ctx, e))
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		start, _ := a.find(0, slotFrames[:3])
		chimeEnd, _ := a.find(start, slotFrames[mark-3:mark])
		ann, _ := a.find(start, ref[:3])
		rest, _ := a.find(start, slotFrames[mark:mark+3])
		if ann >= 0 && rest >= 0 {
			if chimeEnd < 0 || ann != chimeEnd+3 || rest < ann+len(ref) {
				t.Fatalf("slot at %d, chime ends at %d, announcement at %d, the slot's speech at %d", start, chimeEnd+3, ann, rest)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the announcement or the slot's speech did not go out")
		}
	}
}
