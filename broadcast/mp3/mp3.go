// Package mp3 cuts MP3 audio into frames. The zone streams are made of
// MPEG-1 layer III frames of one format (48 kHz, mono, 64 kbit/s, so 192
// bytes and 24 ms each): rendered slots are encoded so, silence is a frame
// of that format, and a stream is those frames sent one after the other at
// their pace, which any MP3 decoder plays as one stream.
package mp3

import (
	"errors"
	"fmt"
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
