package render

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"math"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/mp3"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestPhonemes: notices are rewritten and then spoken in Mandarin or
// Cantonese, never spelled out as English: espeak-ng -x shows the
// phonemes it speaks.
func TestPhonemes(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng")
	r := New(FindTools(), nil, nil, nil)
	tests := []struct {
		text, voice string
		want        []string
	}{
		// 十二月二日 九点三十分
		{"12月2日9:30停水", "cmn", []string{"s.'i.35_| '@r51_| 'yE51_| '@r51_| z.'i.51_|", "tS;'iou", "t'iE21n_| s'a55n_| s.'i.35_| f'@55n_|"}},
		// 一千一百三十元
		{"每月1,130元养老金", "cmn", []string{"j'i55_| tS;h'iE55n_| j'i55_| p'ai21_| s'a55n_| s.'i.35_| 'y&35n_|"}},
		// B 栋: the letter, then 栋
		{"B栋楼下", "cmn", []string{"p'i51_| t'ong51_|"}},
		// 拨打幺幺零
		{"请拨打110", "cmn", []string{"j'Au55_| j'Au55_| l'i35N_|"}},
		// 十二月二日 in Cantonese
		{"12月2日", "yue", []string{"s'a6p_| j'i6_| j'yu6t_| j'i6_| j'a6t_|"}},
	}
	for _, tt := range tests {
		got, err := r.Phonemes(t.Context(), tt.text, tt.voice)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(got, "(en)") {
			t.Errorf("%s (%s) read partly as English: %s", tt.text, tt.voice, got)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s (%s): phonemes %q lack %q", tt.text, tt.voice, got, w)
			}
		}
	}
}

func probeSeconds(t *testing.T, data []byte) float64 {
	t.Helper()
	r := New(FindTools(), nil, nil, nil)
	info, err := r.Probe(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return info.Seconds
}

type countingStore struct {
	*sqlstore.Store
	saves int
}

func (c *countingStore) SaveRender(ctx context.Context, communityID int64, hash string, a broadcast.Audio, blob media.Media) error {
	c.saves++
	return c.Store.SaveRender(ctx, communityID, hash, a, blob)
}

// TestRenderSlot: a chime, a notice and a song render to one MP3 of the
// stream format whose decoded length is what Render says, at about
// -16 LUFS; the same rundown again comes from the cache; without
// espeak-ng the render fails saying so.
func TestRenderSlot(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := t.Context()
	st := sqlstoretest.Open(t, sqlstore.SQLite, shequtest.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
	blobs, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := community.Community{Code: "render", Name: "测试社区"}
	if err := st.CreateCommunity(ctx, auth.Scope{{}}, &c); err != nil {
		t.Fatal(err)
	}
	// A 3-second melody, quiet, with tags, as a library song.
	song, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=523:d=3", "-af", "volume=0.05",
		"-metadata", "title=测试旋律", "-metadata", "artist=ffmpeg", "-c:a", "libvorbis", "-f", "ogg", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	r := New(FindTools(), nil, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	info, err := r.Probe(ctx, bytes.NewReader(song))
	if err != nil {
		t.Fatal(err)
	}
	if info.Title != "测试旋律" || info.Artist != "ffmpeg" || info.Seconds < 2.9 || info.Seconds > 3.1 || info.LUFS > -30 || info.LUFS < -60 {
		t.Fatalf("probe: %+v", info)
	}
	sha, size, err := blobs.Put(ctx, bytes.NewReader(song))
	if err != nil {
		t.Fatal(err)
	}
	track := broadcast.Track{CommunityID: c.ID, Title: info.Title, Seconds: info.Seconds, LUFS: info.LUFS}
	if err := st.AddTrack(ctx, auth.Scope{{}}, &track, media.Media{Kind: media.Audio.Name, ContentType: "audio/ogg", Size: size, SHA256: sha}); err != nil {
		t.Fatal(err)
	}

	cs := &countingStore{Store: st}
	r.store = cs
	items := []broadcast.Item{{Kind: broadcast.ItemChime}, {Kind: broadcast.ItemSpeech, Text: "12月2日9:30至11:30，B栋停水。", Voice: "cmn"}, {Kind: broadcast.ItemMusic, TrackID: track.ID}}
	start := time.Now()
	a, err := r.Render(ctx, c.ID, items)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("rendered %.2f s of audio in %s", a.Seconds, time.Since(start))
	// chime 1.6 + speech (a few seconds) + song 3, half a second after each.
	if a.Seconds < 7 || a.Seconds > 20 {
		t.Fatalf("slot lasts %.2f s", a.Seconds)
	}
	blob, err := blobs.Open(ctx, a.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(blob)
	blob.Close()
	if got := probeSeconds(t, data); got < a.Seconds-0.1 || got > a.Seconds+0.1 {
		t.Errorf("decodes to %.2f s, Render said %.2f", got, a.Seconds)
	}
	out, err := r.Probe(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if out.LUFS < -19 || out.LUFS > -13 {
		t.Errorf("slot loudness %.1f LUFS, want about -16", out.LUFS)
	}
	// The speech begins after the chime and its pause (1.6 + 0.5 s), the
	// song after the speech: where a non-urgent announcement may go.
	if len(a.Marks) != 2 || math.Abs(a.Marks[0]-2.1) > 0.05 || a.Marks[1] < 4 || a.Marks[1] > a.Seconds-3 {
		t.Errorf("marks %v of %.2f s", a.Marks, a.Seconds)
	}
	again, err := r.Render(ctx, c.ID, items)
	if err != nil || !reflect.DeepEqual(again, a) || cs.saves != 1 {
		t.Errorf("second render: %+v %v, %d saves", again, err, cs.saves)
	}

	// Without espeak-ng: a clear error, not silence.
	bare := New(Tools{FFmpeg: r.tools.FFmpeg, FFprobe: r.tools.FFprobe}, cs, blobs, nil)
	_, err = bare.Render(ctx, c.ID, []broadcast.Item{{Kind: broadcast.ItemSpeech, Text: "新的通知"}})
	if shequ.ErrorCode(err) != shequ.ENOTIMPL || !strings.Contains(err.Error(), "espeak-ng is not installed") {
		t.Errorf("without espeak-ng: %v", err)
	}
	if m := (Tools{}).Missing(); len(m) != 3 {
		t.Errorf("missing: %v", m)
	}
}

// TestSpeakAtOnce: an announcement's MP3 begins to come within a fraction
// of a second, in the stream format, and decodes to its tone and words.
func TestSpeakAtOnce(t *testing.T) {
	shequtest.NeedCommand(t, "espeak-ng", "ffmpeg", "ffprobe")
	r := New(FindTools(), nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e := broadcast.Emergency{Text: "3号楼燃气泄漏，请立即撤离。", Status: broadcast.StatusTest, Repeat: 2}
	r.Warm() // as the server does at start
	t.Cleanup(r.Close)
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	src, err := r.Speak(t.Context(), e.Tone(), e.Script())
	if err != nil {
		t.Fatal(err)
	}
	fr := mp3.NewReader(src)
	var frames [][]byte
	var first time.Duration
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if frames == nil {
			first = time.Since(start)
		}
		frames = append(frames, f)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("first frame after %s, all %d frames (%s of audio) after %s", first, len(frames), mp3.Duration(len(frames)), time.Since(start))
	if first > 500*time.Millisecond {
		t.Errorf("first frame after %s", first)
	}
	got := probeSeconds(t, bytes.Join(frames, nil))
	// soft tone 0.7 s, two readings of about 10 s, pauses.
	if got < 10 || got > 60 {
		t.Errorf("decodes to %.1f s", got)
	}
	// Not speech: refused, not said wrong.
	if _, err := r.Speak(t.Context(), broadcast.ToneAlarm, []broadcast.Item{{Kind: broadcast.ItemChime}}); err == nil {
		t.Error("a chime was spoken")
	}
}
