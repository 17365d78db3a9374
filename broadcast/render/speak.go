package render

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"sync"

	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/mp3"
)

// An emergency cannot wait for Render: a slot's rendering writes every part
// to disk and evens the whole out with loudnorm before the first byte is
// encoded. Speak instead pipes espeak-ng's voice straight into one ffmpeg
// that encodes the stream format while espeak-ng is still speaking, so the
// first frames (the tone) come out within a fraction of a second and the
// words right after. espeak-ng speaks at a steady level (about -19 LUFS for
// Mandarin at our rate), so a fixed gain and a limiter stand in for
// loudnorm.

// pcmRate is espeak-ng's sample rate for its Mandarin and Cantonese voices.
const pcmRate = 22050

// speechGain brings espeak-ng's level to the slots' -16 LUFS.
const speechGain = "3dB"

// Speak starts saying items (speech only) after tone and returns MP3 of
// the stream format as it is encoded; reading it to the end and closing
// it reaps the programs. ctx bounds the whole announcement, not just the
// call.
func (r *Renderer) Speak(ctx context.Context, tone string, items []broadcast.Item) (io.ReadCloser, error) {
	if r.tools.FFmpeg == "" {
		return nil, notInstalled("ffmpeg", "announcements cannot be spoken")
	}
	if r.tools.Espeak == "" {
		return nil, notInstalled("espeak-ng", "announcements cannot be spoken")
	}
	for i, it := range items {
		if it.Kind != broadcast.ItemSpeech {
			return nil, fmt.Errorf("speak: item %d is %s, not speech", i, it.Kind)
		}
	}
	enc, err := r.encoder()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		<-ctx.Done()
		_ = enc.cmd.Process.Kill() // harmless once it has ended
	}()
	in, out, stderr := enc.in, enc.out, enc.stderr
	sp := &speaking{out: out, enc: enc.cmd, cancel: cancel, stderr: stderr, fed: make(chan struct{})}
	go func() {
		defer close(sp.fed)
		err := r.feed(ctx, in, tone, items)
		if cerr := in.Close(); err == nil {
			err = cerr
		}
		sp.mu.Lock()
		sp.feedErr = err
		sp.mu.Unlock()
	}()
	return sp, nil
}

// encoder is an ffmpeg ready to encode PCM at pcmRate into the stream
// format. ffmpeg takes a few hundred milliseconds to start on a busy
// machine, so one is kept started ahead (see Warm). It must not probe its
// input: by default it reads seconds of it before encoding anything.
type encoder struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    io.ReadCloser
	stderr *strings.Builder
}

func (r *Renderer) startEncoder() (*encoder, error) {
	cmd := exec.Command(r.tools.FFmpeg, "-v", "error", "-probesize", "32", "-analyzeduration", "0",
		"-f", "s16le", "-ar", strconv.Itoa(pcmRate), "-ac", "1", "-i", "pipe:0",
		"-af", "volume="+speechGain+",alimiter=limit=0.84:level=disabled,aresample="+strconv.Itoa(mp3.SampleRate),
		"-ac", "1", "-ar", strconv.Itoa(mp3.SampleRate), "-c:a", "libmp3lame", "-b:a", strconv.Itoa(mp3.Bitrate/1000)+"k",
		"-write_xing", "0", "-id3v2_version", "0", "-flush_packets", "1", "-f", "mp3", "pipe:1")
	e := &encoder{cmd: cmd, stderr: &strings.Builder{}}
	cmd.Stderr = e.stderr
	var err error
	if e.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if e.out, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("speak: ffmpeg: %w", err)
	}
	return e, nil
}

// Warm starts an encoder for the next announcement, if none waits.
func (r *Renderer) Warm() {
	if r.tools.FFmpeg == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.spare != nil {
		return
	}
	e, err := r.startEncoder()
	if err != nil {
		r.log.Error("speak: cannot start an encoder ahead", "err", err)
		return
	}
	r.spare = e
}

// Close stops the encoder started ahead.
func (r *Renderer) Close() {
	r.mu.Lock()
	e := r.spare
	r.spare = nil
	r.mu.Unlock()
	if e != nil {
		_ = e.in.Close()
		_ = e.cmd.Process.Kill()
		_ = e.cmd.Wait()
	}
}

// encoder returns the waiting encoder, or a new one, and starts the next.
func (r *Renderer) encoder() (*encoder, error) {
	r.mu.Lock()
	e := r.spare
	r.spare = nil
	r.mu.Unlock()
	go r.Warm()
	if e != nil {
		return e, nil
	}
	return r.startEncoder()
}

// feed writes the tone and each item's speech, a pause between, as PCM.
func (r *Renderer) feed(ctx context.Context, w io.Writer, tone string, items []broadcast.Item) error {
	if _, err := w.Write(tonePCM(tone)); err != nil {
		return err
	}
	pause := make([]byte, pcmRate*2*8/10) // 0.8 s
	for i, it := range items {
		if i > 0 {
			if _, err := w.Write(pause); err != nil {
				return err
			}
		}
		if err := r.speakPCM(ctx, w, broadcast.Rewrite(it.Text), it.Voice); err != nil {
			return fmt.Errorf("speak: item %d: %w", i, err)
		}
	}
	_, err := w.Write(pause)
	return err
}

// speakPCM runs espeak-ng and copies its samples (the WAV's data) to w as
// they come.
func (r *Renderer) speakPCM(ctx context.Context, w io.Writer, text, voice string) error {
	cmd := exec.CommandContext(ctx, r.tools.Espeak, "-v", espeakVoice(voice), "-s", strconv.Itoa(r.WPM), "--stdout", "--stdin")
	cmd.Stdin = strings.NewReader(text)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("espeak-ng: %w", err)
	}
	copyErr := copyWAVData(w, out)
	if copyErr != nil {
		_, _ = io.Copy(io.Discard, out)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("espeak-ng: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return copyErr
}

// copyWAVData checks a WAV stream is 16-bit mono at pcmRate and copies its
// samples. espeak-ng writing to a pipe cannot know the data's length, so
// the data chunk runs to the end.
func copyWAVData(w io.Writer, r io.Reader) error {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return fmt.Errorf("WAV header: %w", err)
	}
	if string(riff[:4]) != "RIFF" || string(riff[8:]) != "WAVE" {
		return errors.New("not WAV")
	}
	for {
		var head [8]byte
		if _, err := io.ReadFull(r, head[:]); err != nil {
			return fmt.Errorf("WAV chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(head[4:])
		switch string(head[:4]) {
		case "fmt ":
			f := make([]byte, size)
			if _, err := io.ReadFull(r, f); err != nil || size < 16 {
				return fmt.Errorf("WAV format chunk: %v", err)
			}
			format, channels := binary.LittleEndian.Uint16(f), binary.LittleEndian.Uint16(f[2:])
			rate, bits := binary.LittleEndian.Uint32(f[4:]), binary.LittleEndian.Uint16(f[14:])
			if format != 1 || channels != 1 || rate != pcmRate || bits != 16 {
				return fmt.Errorf("WAV is format %d, %d channels, %d Hz, %d bits; want PCM mono %d Hz 16 bits", format, channels, rate, bits, pcmRate)
			}
		case "data":
			_, err := io.Copy(w, r)
			return err
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size)); err != nil {
				return err
			}
		}
	}
}

// tonePCM is the opening tone followed by a short pause (about 1 s for
// the alarm, 0.7 s for the soft tone), as PCM.
func tonePCM(tone string) []byte {
	type beep struct {
		hz, amp, secs float64
	}
	var beeps []beep
	switch tone {
	case broadcast.ToneAlarm:
		beeps = []beep{{988, 0.5, 0.18}, {0, 0, 0.07}, {988, 0.5, 0.18}, {0, 0, 0.07}, {988, 0.5, 0.18}, {0, 0, 0.3}}
	case broadcast.ToneSoft:
		beeps = []beep{{523, 0.25, 0.4}, {0, 0, 0.3}}
	}
	var out []byte
	for _, b := range beeps {
		n := int(b.secs * pcmRate)
		for i := range n {
			t := float64(i) / pcmRate
			// 10 ms fades keep the beeps from clicking.
			env := math.Min(1, math.Min(t, b.secs-t)/0.01)
			v := int16(b.amp * env * math.Sin(2*math.Pi*b.hz*t) * math.MaxInt16)
			out = binary.LittleEndian.AppendUint16(out, uint16(v))
		}
	}
	return out
}

// speaking is the MP3 of an announcement being spoken.
type speaking struct {
	out    io.ReadCloser
	enc    *exec.Cmd
	cancel context.CancelFunc
	stderr *strings.Builder
	fed    chan struct{}

	mu      sync.Mutex
	feedErr error
	closed  bool
}

func (s *speaking) Read(p []byte) (int, error) { return s.out.Read(p) }

// Close stops the programs if they still run and says what went wrong
// with them, if anything did.
func (s *speaking) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	_, _ = io.Copy(io.Discard, s.out)
	err := s.enc.Wait()
	s.cancel()
	<-s.fed
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.feedErr != nil {
		return s.feedErr
	}
	if err != nil {
		return fmt.Errorf("speak: ffmpeg: %w: %s", err, strings.TrimSpace(s.stderr.String()))
	}
	return nil
}
