package evidence_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/evidence/evidencetest"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
)

// BenchmarkFootageExport compares, side by side on the same 60-second
// 1280x720 H.264 recording, ffmpeg alone copying the file into MP4 (the
// floor: no network, no hashing) with shequ's two export adapters, each
// fetching from the fake recorder over HTTP with Digest authentication
// and putting the result into the media store, hashed as it is written.
//
//	go test -run '^$' -bench BenchmarkFootageExport -benchtime 5x ./evidence/
func BenchmarkFootageExport(b *testing.B) {
	shequtest.NeedCommand(b, "ffmpeg")
	rec := evidencetest.New(b)
	rec.Size = "1280x720"
	const secs = 60
	clip, err := rec.Clip(secs)
	if err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(clip)
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := disk.New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	ctx := context.Background()
	until := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	from := until.Add(-secs * time.Second)
	f := &evidence.Fetcher{}
	export := func(b *testing.B, src evidence.Source) {
		dst := filepath.Join(dir, "out.mp4")
		if _, err := f.Fetch(ctx, src, from, until, dst); err != nil {
			b.Fatal(err)
		}
		in, err := os.Open(dst)
		if err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		if _, _, err := blobs.Put(ctx, media.Capped(in, media.VideoExport.MaxBytes)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("ffmpeg-copy-alone", func(b *testing.B) {
		b.SetBytes(fi.Size())
		for b.Loop() {
			out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", clip, "-c", "copy", "-f", "mp4", filepath.Join(dir, "alone.mp4")).CombinedOutput()
			if err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
	b.Run("export-playback-http", func(b *testing.B) {
		b.SetBytes(fi.Size())
		src := evidence.Source{CameraID: 1, Kind: evidence.RecorderPlayback, URL: rec.URL + "/playback/c.mp4?starttime={start}&endtime={end}",
			Username: evidencetest.User, Password: evidencetest.Password}
		for b.Loop() {
			export(b, src)
		}
	})
	// The RTSP pair: the 320x240 stream the fake RTSP recorder serves, as
	// ffmpeg alone copies it from its file, and as the playback adapter
	// records it over RTSP (RTP interleaved, Digest) into the store.
	rtsp := evidencetest.NewRTSP(b, secs)
	rfi, err := os.Stat(rtsp.Clip)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ffmpeg-copy-alone-h264-320", func(b *testing.B) {
		b.SetBytes(rfi.Size())
		for b.Loop() {
			out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-r", "25", "-i", rtsp.Clip, "-c", "copy", "-f", "mp4", filepath.Join(dir, "alone.mp4")).CombinedOutput()
			if err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	})
	b.Run("export-playback-rtsp-320", func(b *testing.B) {
		b.SetBytes(rfi.Size())
		src := evidence.Source{CameraID: 1, Kind: evidence.RecorderPlayback, URL: rtsp.URL + "/Streaming/tracks/101?starttime={start}&endtime={end}",
			Username: evidencetest.User, Password: evidencetest.Password}
		for b.Loop() {
			export(b, src)
		}
	})
	b.Run("export-isapi-download", func(b *testing.B) {
		b.SetBytes(fi.Size())
		src := evidence.Source{CameraID: 1, Kind: evidence.RecorderISAPI, URL: rec.URL, Channel: "101",
			Username: evidencetest.User, Password: evidencetest.Password}
		for b.Loop() {
			export(b, src)
		}
	})
}
