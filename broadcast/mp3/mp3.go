// Package mp3 cuts MP3 audio into frames. The zone streams are made of
// MPEG-1 layer III frames of one format (48 kHz, mono, 64 kbit/s, so 192
// bytes and 24 ms each): rendered slots are encoded so, silence is a frame
// of that format, and a stream is those frames sent one after the other at
// their pace, which any MP3 decoder plays as one stream.
package mp3

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// The stream format.
const (
	SampleRate = 48000
	Bitrate    = 64000
	// FrameBytes is 144 × bitrate / sample rate.
	FrameBytes = 144 * Bitrate / SampleRate
	// FrameDuration is 1152 samples.
	FrameDuration = 1152 * time.Second / SampleRate
)

// header is the frame header of the stream format: sync, MPEG-1, layer
// III, no CRC; 64 kbit/s, 48 kHz, no padding; mono.
var header = [4]byte{0xFF, 0xFB, 0x54, 0xC0}

// Silence returns a frame of silence: a header and no audio data (all
// side information zero: every granule is empty).
func Silence() []byte {
	f := make([]byte, FrameBytes)
	copy(f, header[:])
	return f
}

// ErrFormat is returned for audio that is not in the stream format.
var ErrFormat = errors.New("mp3: not 48 kHz mono 64 kbit/s MPEG-1 layer III")

// Frames cuts data into frames of the stream format, skipping an ID3v2
// tag at the start and an ID3v1 tag at the end. Any other frame is an
// error: mixing formats would break the listeners' decoders.
func Frames(data []byte) ([][]byte, error) {
	if len(data) >= 10 && string(data[:3]) == "ID3" {
		size := int(data[6]&0x7F)<<21 | int(data[7]&0x7F)<<14 | int(data[8]&0x7F)<<7 | int(data[9]&0x7F)
		skip := 10 + size
		if data[5]&0x10 != 0 {
			skip += 10 // footer
		}
		if skip > len(data) {
			return nil, fmt.Errorf("mp3: ID3 tag runs past the end")
		}
		data = data[skip:]
	}
	var out [][]byte
	for len(data) > 0 {
		if len(data) == 128 && string(data[:3]) == "TAG" {
			break
		}
		if len(data) < 4 || data[0] != 0xFF || data[1] != header[1] || data[2]&0xFC != header[2] || data[3]&0xC0 != header[3]&0xC0 {
			return out, fmt.Errorf("%w (at frame %d)", ErrFormat, len(out))
		}
		n := FrameBytes
		if data[2]&0x02 != 0 {
			n++ // padding: never at 48 kHz and 64 kbit/s, but allowed
		}
		if n > len(data) {
			return out, fmt.Errorf("mp3: frame %d cut short", len(out))
		}
		out = append(out, data[:n:n])
		data = data[n:]
	}
	return out, nil
}

// Duration is how long n frames play.
func Duration(n int) time.Duration { return time.Duration(n) * FrameDuration }

// Reader cuts frames of the stream format from audio as it comes (an
// encoder's output read while it encodes), skipping an ID3v2 tag at the
// start.
type Reader struct {
	r     io.Reader
	begun bool
}

// NewReader reads frames from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next returns the next frame; io.EOF after the last whole one.
func (fr *Reader) Next() ([]byte, error) {
	head := make([]byte, 4)
	if _, err := io.ReadFull(fr.r, head); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // a cut frame at the end is dropped
		}
		return nil, err
	}
	if !fr.begun && string(head[:3]) == "ID3" {
		rest := make([]byte, 6)
		if _, err := io.ReadFull(fr.r, rest); err != nil {
			return nil, fmt.Errorf("mp3: ID3 tag cut short: %w", err)
		}
		size := int64(rest[2]&0x7F)<<21 | int64(rest[3]&0x7F)<<14 | int64(rest[4]&0x7F)<<7 | int64(rest[5]&0x7F)
		if rest[1]&0x10 != 0 {
			size += 10
		}
		if _, err := io.CopyN(io.Discard, fr.r, size); err != nil {
			return nil, fmt.Errorf("mp3: ID3 tag cut short: %w", err)
		}
		fr.begun = true
		return fr.Next()
	}
	fr.begun = true
	if head[0] != 0xFF || head[1] != header[1] || head[2]&0xFC != header[2] || head[3]&0xC0 != header[3]&0xC0 {
		return nil, ErrFormat
	}
	n := FrameBytes
	if head[2]&0x02 != 0 {
		n++
	}
	f := make([]byte, n)
	copy(f, head)
	if _, err := io.ReadFull(fr.r, f[4:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF
		}
		return nil, err
	}
	return f, nil
}
