package render

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// BenchmarkRenderSlot renders a 20-minute slot as the scheduler does ahead
// of air: a chime, four spoken notices and three songs of about six
// minutes (MP3, 44.1 kHz stereo 128 kbit/s, as uploaded) joined, evened
// out by loudnorm and encoded to the stream format. Each round changes a
// notice so that nothing comes from the cache. x_realtime is seconds of
// audio per second of rendering.
//
//	go test -run '^$' -bench BenchmarkRenderSlot -benchtime 3x ./broadcast/render/
func BenchmarkRenderSlot(b *testing.B) {
	shequtest.NeedCommand(b, "espeak-ng", "ffmpeg", "ffprobe")
	ctx := b.Context()
	st := sqlstoretest.Open(b, sqlstore.SQLite, shequtest.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)))
	blobs, err := disk.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	c := community.Community{Code: "bench", Name: "测试社区"}
	if err := st.CreateCommunity(ctx, auth.Scope{{}}, &c); err != nil {
		b.Fatal(err)
	}
	r := New(FindTools(), st, blobs, slog.New(slog.NewTextHandler(io.Discard, nil)))
	items := []broadcast.Item{{Kind: broadcast.ItemChime}}
	for i, f := range []int{440, 523, 659} {
		song, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", fmt.Sprintf("sine=f=%d:d=370", f), "-f", "lavfi", "-i", "anoisesrc=d=370:a=0.05",
			"-filter_complex", "[0:a][1:a]amix=inputs=2,aformat=channel_layouts=stereo", "-ar", "44100", "-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3", "-").Output()
		if err != nil {
			b.Fatal(err)
		}
		sha, size, err := blobs.Put(ctx, bytes.NewReader(song))
		if err != nil {
			b.Fatal(err)
		}
		t := broadcast.Track{CommunityID: c.ID, Title: fmt.Sprintf("曲目%d", i+1), Seconds: 370}
		if err := st.AddTrack(ctx, auth.Scope{{}}, &t, media.Media{Kind: media.Audio.Name, ContentType: "audio/mpeg", Size: size, SHA256: sha}); err != nil {
			b.Fatal(err)
		}
		items = append(items, broadcast.Item{Kind: broadcast.ItemSpeech, Voice: "cmn",
			Text: "社区通知：12月2日9:30至11:30，A栋、B栋停水检修，请提前储水。咨询电话023-00000000。温馨提示：今天气温较低，老年人出门请注意保暖。"},
			broadcast.Item{Kind: broadcast.ItemMusic, TrackID: t.ID})
	}
	var audio, took float64
	b.ResetTimer()
	for i := range b.N {
		round := append([]broadcast.Item{}, items...)
		round = append(round, broadcast.Item{Kind: broadcast.ItemSpeech, Voice: "cmn", Text: fmt.Sprintf("以上是第%d次广播。", i+1)})
		start := time.Now()
		a, err := r.Render(ctx, c.ID, round)
		if err != nil {
			b.Fatal(err)
		}
		took += time.Since(start).Seconds()
		audio += a.Seconds
	}
	b.ReportMetric(audio/float64(b.N), "audio_s/op")
	b.ReportMetric(audio/took, "x_realtime")
}
