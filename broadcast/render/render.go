// Package render turns a rundown into the audio of a slot: speech by
// espeak-ng (after broadcast.Rewrite), a chime and the library's songs and
// clips, joined and evened out by ffmpeg (loudnorm, EBU R128) into MP3 of
// the zone streams' format, put in the media store and remembered under
// the hash of what went into it, so the same rundown is rendered once. It
// also measures uploaded audio (ffprobe, ffmpeg ebur128).
package render

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/mp3"
	"github.com/shequ/shequ/media"
)

// version changes whenever the same items would render differently, so
// that cached renders of the old way are not reused.
const version = "render-2"

// Store is what rendering needs of storage.
type Store interface {
	Render(ctx context.Context, communityID int64, hash string) (broadcast.Audio, error)
	SaveRender(ctx context.Context, communityID int64, hash string, a broadcast.Audio, blob media.Media) error
	Track(ctx context.Context, scope auth.Scope, id int64) (broadcast.Track, error)
	AudioMedia(ctx context.Context, communityID, id int64) (media.Media, error)
}

// Tools are the programs rendering runs; an empty path is a program not
// found.
type Tools struct {
	Espeak, FFmpeg, FFprobe string
}

// FindTools looks the programs up on PATH.
func FindTools() Tools {
	find := func(name string) string {
		p, _ := exec.LookPath(name)
		return p
	}
	return Tools{Espeak: find("espeak-ng"), FFmpeg: find("ffmpeg"), FFprobe: find("ffprobe")}
}

// Missing names the programs not found, for the log at start.
func (t Tools) Missing() []string {
	var out []string
	for _, x := range []struct{ name, path string }{{"espeak-ng", t.Espeak}, {"ffmpeg", t.FFmpeg}, {"ffprobe", t.FFprobe}} {
		if x.path == "" {
			out = append(out, x.name)
		}
	}
	return out
}

func notInstalled(name, what string) error {
	return shequ.Errorf(shequ.ENOTIMPL, "%s is not installed on the server: %s (Debian: apt-get install espeak-ng ffmpeg)", name, what)
}

// Renderer renders rundowns and measures audio.
type Renderer struct {
	tools Tools
	store Store
	blobs media.Blobs
	log   *slog.Logger
	// WPM is the speaking rate: slower than espeak-ng's 175 for older
	// listeners.
	WPM int

	mu sync.Mutex
	// spare is an encoder started ahead for the next announcement.
	spare *encoder
}

// New returns a renderer with the programs tools names.
func New(tools Tools, store Store, blobs media.Blobs, log *slog.Logger) *Renderer {
	if log == nil {
		log = slog.Default()
	}
	return &Renderer{tools: tools, store: store, blobs: blobs, log: log, WPM: 140}
}

// part is one piece of a slot's audio, as it goes into the hash.
type part struct {
	Kind  string `json:"kind"` // chime, speech, blob
	Text  string `json:"text,omitempty"`
	Voice string `json:"voice,omitempty"`
	SHA   string `json:"sha,omitempty"`
	// itemStart says the part begins a rundown item (a dedication is
	// two parts: its words and its song).
	itemStart bool
}

// espeakVoice is the espeak-ng voice for an item's voice. Debian's cmn
// dictionary lacks most characters and reads them as English spellings
// of pinyin; cmn-latn-pinyin reads the same pinyin as Mandarin.
func espeakVoice(v string) string {
	if v == broadcast.VoiceCantonese {
		return "yue"
	}
	return "cmn-latn-pinyin"
}

// parts resolves items into what is heard.
func (r *Renderer) parts(ctx context.Context, communityID int64, items []broadcast.Item) ([]part, error) {
	var out []part
	track := func(id int64) (string, error) {
		t, err := r.store.Track(ctx, auth.Scope{{CommunityID: communityID}}, id)
		return t.SHA256, err
	}
	for i, it := range items {
		switch it.Kind {
		case broadcast.ItemChime:
			out = append(out, part{Kind: "chime", itemStart: true})
		case broadcast.ItemSpeech:
			out = append(out, part{Kind: "speech", Text: broadcast.Rewrite(it.Text), Voice: it.Voice, itemStart: true})
		case broadcast.ItemDedication:
			sha, err := track(it.TrackID)
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			words := "点歌：" + it.Text
			if it.Voice == broadcast.VoiceCantonese {
				words = "點歌：" + it.Text
			}
			out = append(out, part{Kind: "speech", Text: broadcast.Rewrite(words), Voice: it.Voice, itemStart: true}, part{Kind: "blob", SHA: sha})
		case broadcast.ItemMusic, broadcast.ItemClip:
			var sha string
			var err error
			if it.TrackID != 0 {
				sha, err = track(it.TrackID)
			} else {
				var m media.Media
				m, err = r.store.AudioMedia(ctx, communityID, it.MediaID)
				sha = m.SHA256
			}
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			out = append(out, part{Kind: "blob", SHA: sha, itemStart: true})
		}
	}
	return out, nil
}

// Hash is the key a rundown's audio is cached under.
func hashOf(parts []part) string {
	b, _ := json.Marshal(struct {
		Version string `json:"v"`
		Parts   []part `json:"parts"`
	}{version, parts})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Render returns the audio of items: from the cache when the same items
// were rendered before, else rendered now, put in the media store and
// cached.
func (r *Renderer) Render(ctx context.Context, communityID int64, items []broadcast.Item) (broadcast.Audio, error) {
	parts, err := r.parts(ctx, communityID, items)
	if err != nil {
		return broadcast.Audio{}, err
	}
	if len(parts) == 0 {
		return broadcast.Audio{}, shequ.Errorf(shequ.EINVALID, "the rundown is empty")
	}
	hash := hashOf(parts)
	if a, err := r.store.Render(ctx, communityID, hash); err == nil {
		return a, nil
	} else if shequ.ErrorCode(err) != shequ.ENOTFOUND {
		return a, err
	}
	if r.tools.FFmpeg == "" {
		return broadcast.Audio{}, notInstalled("ffmpeg", "slots cannot be rendered")
	}
	dir, err := os.MkdirTemp("", "shequ-render-")
	if err != nil {
		return broadcast.Audio{}, err
	}
	defer os.RemoveAll(dir)
	var inputs []string
	var marks []float64
	at := 0.0 // where the next part begins; -1 once a length is unknown
	for i, p := range parts {
		path := filepath.Join(dir, fmt.Sprintf("%02d", i))
		switch p.Kind {
		case "chime":
			path += ".wav"
			err = r.chime(ctx, path)
		case "speech":
			path += ".wav"
			err = r.speak(ctx, p.Text, p.Voice, path)
		case "blob":
			err = r.copyBlob(ctx, p.SHA, path)
		}
		if err != nil {
			return broadcast.Audio{}, err
		}
		inputs = append(inputs, path)
		if at >= 0 && p.itemStart && i > 0 {
			marks = append(marks, at)
		}
		if at >= 0 {
			if d := r.seconds(ctx, path); d > 0 {
				at += d + gap
			} else {
				at = -1
			}
		}
	}
	out := filepath.Join(dir, "slot.mp3")
	if err := r.join(ctx, inputs, out); err != nil {
		return broadcast.Audio{}, err
	}
	data, err := os.ReadFile(out)
	if err != nil {
		return broadcast.Audio{}, err
	}
	frames, err := mp3.Frames(data)
	if err != nil {
		return broadcast.Audio{}, fmt.Errorf("render: ffmpeg's output: %w", err)
	}
	sha, size, err := r.blobs.Put(ctx, bytes.NewReader(data))
	if err != nil {
		return broadcast.Audio{}, err
	}
	a := broadcast.Audio{SHA256: sha, Seconds: mp3.Duration(len(frames)).Seconds(), Marks: marks}
	if err := r.store.SaveRender(ctx, communityID, hash, a, media.Media{Kind: media.Audio.Name, ContentType: "audio/mpeg", Size: size, SHA256: sha}); err != nil {
		return a, err
	}
	r.log.Info("slot rendered", "community", communityID, "hash", hash[:12], "seconds", a.Seconds, "items", len(items))
	return a, nil
}

// Rendered returns the audio of items when they were rendered before
// (ENOTFOUND when not), without rendering: what a node that does not lead
// plays.
func (r *Renderer) Rendered(ctx context.Context, communityID int64, items []broadcast.Item) (broadcast.Audio, error) {
	parts, err := r.parts(ctx, communityID, items)
	if err != nil {
		return broadcast.Audio{}, err
	}
	return r.store.Render(ctx, communityID, hashOf(parts))
}

// run runs a program and returns its standard output; a failure carries
// the end of what it wrote to standard error.
func run(ctx context.Context, stdin io.Reader, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := stderr.String()
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return nil, fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(msg))
	}
	return append(stdout.Bytes(), stderr.Bytes()...), nil
}

// speak writes text spoken in voice to a WAV file.
func (r *Renderer) speak(ctx context.Context, text, voice, path string) error {
	if r.tools.Espeak == "" {
		return notInstalled("espeak-ng", "announcements cannot be spoken")
	}
	_, err := run(ctx, strings.NewReader(text), r.tools.Espeak, "-v", espeakVoice(voice), "-s", strconv.Itoa(r.WPM), "-w", path, "--stdin")
	return err
}

// Phonemes returns the phonemes espeak-ng speaks for text in voice
// (after rewriting): what a test or a preview checks.
func (r *Renderer) Phonemes(ctx context.Context, text, voice string) (string, error) {
	if r.tools.Espeak == "" {
		return "", notInstalled("espeak-ng", "announcements cannot be spoken")
	}
	out, err := run(ctx, strings.NewReader(broadcast.Rewrite(text)), r.tools.Espeak, "-v", espeakVoice(voice), "-q", "-x", "--stdin")
	return strings.TrimSpace(string(out)), err
}

// chime writes the two-tone chime that opens a slot.
func (r *Renderer) chime(ctx context.Context, path string) error {
	// G5 then E5, each fading out, 1.6 s.
	// Commas inside the expression are escaped from the filter parser.
	expr := `0.5*sin(2*PI*784*t)*exp(-3*t)*lt(t\,0.8)+0.5*sin(2*PI*659*(t-0.8))*exp(-3*(t-0.8))*gte(t\,0.8)`
	_, err := run(ctx, nil, r.tools.FFmpeg, "-v", "error", "-y", "-f", "lavfi", "-i", "aevalsrc="+expr+":s=48000:d=1.6", path)
	return err
}

func (r *Renderer) copyBlob(ctx context.Context, sha, path string) error {
	b, err := r.blobs.Open(ctx, sha)
	if err != nil {
		return fmt.Errorf("render: audio %s: %w", sha, err)
	}
	defer b.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// gap is the silence after each part of a slot.
const gap = 0.5

// seconds is how long an input plays (ffprobe), 0 when it cannot tell.
func (r *Renderer) seconds(ctx context.Context, path string) float64 {
	if r.tools.FFprobe == "" {
		return 0
	}
	out, err := run(ctx, nil, r.tools.FFprobe, "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path)
	if err != nil {
		return 0
	}
	d, _ := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	return d
}

// join joins the inputs with half a second between them, evens out their
// loudness (EBU R128, -16 LUFS, as for speech on small loudspeakers) and
// encodes the stream format.
func (r *Renderer) join(ctx context.Context, inputs []string, out string) error {
	args := []string{"-v", "error", "-y"}
	var chains, labels strings.Builder
	for i, in := range inputs {
		args = append(args, "-i", in)
		fmt.Fprintf(&chains, "[%d:a]aresample=%d,aformat=sample_fmts=fltp:channel_layouts=mono,apad=pad_dur=%g[a%d];", i, mp3.SampleRate, gap, i)
		fmt.Fprintf(&labels, "[a%d]", i)
	}
	filter := chains.String() + labels.String() + fmt.Sprintf("concat=n=%d:v=0:a=1,loudnorm=I=-16:TP=-1.5:LRA=11,aresample=%d[out]", len(inputs), mp3.SampleRate)
	args = append(args, "-filter_complex", filter, "-map", "[out]", "-ac", "1", "-ar", strconv.Itoa(mp3.SampleRate),
		"-c:a", "libmp3lame", "-b:a", strconv.Itoa(mp3.Bitrate/1000)+"k", "-write_xing", "0", "-id3v2_version", "0", "-f", "mp3", out)
	_, err := run(ctx, nil, r.tools.FFmpeg, args...)
	return err
}

var (
	lufsLine    = regexp.MustCompile(`I:\s+(-?[0-9.]+|-inf) LUFS`)
	decodedTime = regexp.MustCompile(`time=(\d+):(\d+):(\d+(?:\.\d+)?)`)
)

// Probe measures audio: its title and artist tags, its duration (ffprobe)
// and its integrated loudness (ffmpeg ebur128).
func (r *Renderer) Probe(ctx context.Context, src io.Reader) (broadcast.AudioInfo, error) {
	var info broadcast.AudioInfo
	if r.tools.FFprobe == "" || r.tools.FFmpeg == "" {
		return info, notInstalled("ffprobe", "audio cannot be measured")
	}
	f, err := os.CreateTemp("", "shequ-probe-")
	if err != nil {
		return info, err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return info, err
	}
	if err := f.Close(); err != nil {
		return info, err
	}
	out, err := run(ctx, nil, r.tools.FFprobe, "-v", "error", "-show_entries", "format=duration:format_tags=title,artist:stream=codec_type:stream_tags=title,artist", "-of", "json", f.Name())
	if err != nil {
		return info, shequ.Invalid(map[string]string{"file": "cannot be read as audio"})
	}
	var probe struct {
		Streams []struct {
			CodecType string            `json:"codec_type"`
			Tags      map[string]string `json:"tags"`
		} `json:"streams"`
		Format struct {
			Duration string            `json:"duration"`
			Tags     map[string]string `json:"tags"`
		} `json:"format"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		return info, fmt.Errorf("ffprobe: %w", err)
	}
	audio := false
	tags := []map[string]string{probe.Format.Tags}
	for _, s := range probe.Streams {
		if s.CodecType == "audio" {
			audio = true
			tags = append(tags, s.Tags) // Ogg keeps its tags in the stream
		}
	}
	if !audio {
		return info, shequ.Invalid(map[string]string{"file": "has no audio"})
	}
	info.Seconds, _ = strconv.ParseFloat(probe.Format.Duration, 64)
	for _, m := range tags {
		for k, v := range m {
			switch strings.ToLower(k) {
			case "title":
				info.Title = cmp.Or(info.Title, v)
			case "artist":
				info.Artist = cmp.Or(info.Artist, v)
			}
		}
	}
	out, err = run(ctx, nil, r.tools.FFmpeg, "-hide_banner", "-i", f.Name(), "-af", "ebur128=framelog=verbose", "-f", "null", "-")
	if err != nil {
		return info, err
	}
	if m := lufsLine.FindAllSubmatch(out, -1); len(m) > 0 {
		info.LUFS, _ = strconv.ParseFloat(string(m[len(m)-1][1]), 64)
	}
	if info.Seconds == 0 {
		// Files written to a pipe (FLAC, Ogg) may not say how long they
		// are: the decoding just done tells.
		if m := decodedTime.FindAllSubmatch(out, -1); len(m) > 0 {
			last := m[len(m)-1]
			h, _ := strconv.ParseFloat(string(last[1]), 64)
			mi, _ := strconv.ParseFloat(string(last[2]), 64)
			sec, _ := strconv.ParseFloat(string(last[3]), 64)
			info.Seconds = h*3600 + mi*60 + sec
		}
	}
	return info, nil
}
