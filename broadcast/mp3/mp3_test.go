package mp3

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/shequtest"
)

// probeSeconds is the duration ffprobe decodes from an MP3 file.
func probeSeconds(t *testing.T, path string) float64 {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "default=nw=1:nk=1", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	s, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe said %q", out)
	}
	return s
}

// TestFramesAndSilence: ffmpeg's output in the stream format cuts into
// whole frames; silence frames and those frames joined decode as one
// stream of the sum of their lengths; another format is refused.
func TestFramesAndSilence(t *testing.T) {
	shequtest.NeedCommand(t, "ffmpeg", "ffprobe")
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.mp3")
	cmd := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=2", "-ar", "48000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3", tone)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, err := os.ReadFile(tone)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := Frames(data)
	if err != nil {
		t.Fatal(err)
	}
	if d := Duration(len(frames)); d < 2*time.Second || d > 2200*time.Millisecond {
		t.Fatalf("%d frames last %s, want about 2 s", len(frames), d)
	}
	var joined bytes.Buffer
	for range 125 { // 3 s
		joined.Write(Silence())
	}
	for _, f := range frames {
		joined.Write(f)
	}
	path := filepath.Join(dir, "joined.mp3")
	if err := os.WriteFile(path, joined.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want := Duration(125 + len(frames)).Seconds()
	if got := probeSeconds(t, path); got < want-0.1 || got > want+0.1 {
		t.Fatalf("joined stream decodes to %.2f s, want %.2f", got, want)
	}
	// The silence is silent: volumedetect finds nothing above -90 dB.
	out, err := exec.Command("ffmpeg", "-v", "info", "-i", path, "-t", "2.9", "-af", "volumedetect", "-f", "null", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("volumedetect: %v %s", err, out)
	}
	if !strings.Contains(string(out), "max_volume: -91.0 dB") {
		t.Errorf("silence is not silent: %s", out[bytes.LastIndex(out, []byte("mean_volume")):])
	}

	// 44.1 kHz stereo does not mix in.
	other := filepath.Join(dir, "other.mp3")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=1", "-ar", "44100", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3", other).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	data, _ = os.ReadFile(other)
	if _, err := Frames(data); err == nil {
		t.Error("44.1 kHz stereo accepted")
	}
}
