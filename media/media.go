// Package media is the one store of photos and files: a row of metadata
// for each (whose it is, what it is, how big, its SHA-256) and the bytes
// behind it, kept by a Blobs driver (the data folder, or S3-compatible
// object storage) under their SHA-256.
package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// Media is one stored file.
type Media struct {
	ID          int64
	CommunityID int64
	// OwnerKind and OwnerID say what it belongs to: a matter, lostfound
	// post, incident, notice, guide or policy.
	OwnerKind string
	OwnerID   int64
	// N numbers it within its owner, from 1; numbers are not reused.
	N    int
	Kind string
	// Name is the file's name, for files that have one (attachments).
	Name string
	// ContentType is what the bytes are, as sniffed (and, for
	// attachments, as declared and agreed with the sniffing).
	ContentType string
	Size        int64
	// SHA256 is the hex digest of the bytes, and their key in Blobs.
	SHA256    string
	CreatedBy int64
	CreatedAt time.Time
}

// Kind is a kind of media: how large it may be and which sniffed types it
// takes.
type Kind struct {
	Name     string
	MaxBytes int64
	// Types are the content types http.DetectContentType may find in its
	// first bytes (parameters stripped).
	Types []string
}

// The kinds.
var (
	// Photo is a phone's photo, resized: of a matter, a lost-and-found
	// post, an incident report.
	Photo = Kind{Name: "photo", MaxBytes: 5 << 20, Types: []string{"image/jpeg", "image/png", "image/webp"}}
	// Attachment is a file of a notice, guide or policy; content checks
	// its declared type against the sniffed one.
	Attachment = Kind{Name: "attachment", MaxBytes: 5 << 20, Types: []string{
		"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "application/zip"}}
	// VideoExport is a clip exported from a camera; S3 copies an object
	// of at most 5 GiB in one request, so the limit stays under that.
	VideoExport = Kind{Name: "video_export", MaxBytes: 4 << 30, Types: []string{"video/mp4", "video/webm", "video/avi", "application/octet-stream"}}
	// Audio is a song or clip of the loudspeakers' library, or a rendered
	// slot: MP3, Ogg, WAV or FLAC.
	Audio = Kind{Name: "audio", MaxBytes: 200 << 20, Types: []string{"audio/mpeg", "application/ogg", "audio/ogg", "audio/wave", "audio/flac"}}
)

// Kinds are all the kinds, by name.
var Kinds = map[string]Kind{Photo.Name: Photo, Attachment.Name: Attachment, VideoExport.Name: VideoExport, Audio.Name: Audio}

// Sniff returns the content type of bytes that begin with head: what
// http.DetectContentType finds, and the audio it does not know (FLAC, and
// MP3 without an ID3 tag, which begins with an MPEG audio frame header).
func Sniff(head []byte) string {
	ct := BaseType(http.DetectContentType(head))
	if ct != "application/octet-stream" {
		return ct
	}
	switch {
	case bytes.HasPrefix(head, []byte("fLaC")):
		return "audio/flac"
	case mpegAudioHeader(head):
		return "audio/mpeg"
	}
	return ct
}

// mpegAudioHeader reports whether head begins with two MPEG audio layer III
// frame headers in a row: one alone is too easily found in other bytes.
func mpegAudioHeader(head []byte) bool {
	n := mpegFrameLen(head)
	return n > 0 && len(head) >= n+4 && mpegFrameLen(head[n:]) > 0
}

// mpegFrameLen returns the length of the MPEG-1 or -2 layer III frame whose
// header begins b, or 0 when b does not begin with one.
func mpegFrameLen(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return 0
	}
	version, layer := (b[1]>>3)&3, (b[1]>>1)&3
	bi, si, pad := int(b[2]>>4), int((b[2]>>2)&3), int((b[2]>>1)&1)
	if layer != 1 || version == 1 || bi == 0 || bi == 15 || si == 3 {
		return 0
	}
	rates := [3]int{44100, 48000, 32000}
	v1 := [15]int{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	v2 := [15]int{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
	if version == 3 { // MPEG-1
		return 144*v1[bi]*1000/rates[si] + pad
	}
	rate := rates[si] / 2
	if version == 0 { // MPEG-2.5
		rate /= 2
	}
	return 72*v2[bi]*1000/rate + pad
}

// Takes reports whether the kind takes bytes sniffed as sniffed.
func (k Kind) Takes(sniffed string) bool {
	return slices.Contains(k.Types, BaseType(sniffed))
}

// BaseType is a content type without its parameters, lower-cased.
func BaseType(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// Blobs keeps bytes under their SHA-256. Put of bytes already kept keeps
// one copy and makes it new again (see Blob.ModTime).
type Blobs interface {
	// Put stores what r yields until EOF, streaming, and returns its hex
	// SHA-256 and size. When r fails nothing is kept.
	Put(ctx context.Context, r io.Reader) (sha string, size int64, err error)
	// Open returns the bytes of sha; ENOTFOUND when there are none.
	Open(ctx context.Context, sha string) (*Blob, error)
	// Delete removes the bytes of sha; removing missing bytes is no error.
	Delete(ctx context.Context, sha string) error
}

// Blob is stored bytes, open for reading; Seek serves range requests.
type Blob struct {
	io.ReadSeekCloser
	Size int64
	// ModTime is when the bytes were last put.
	ModTime time.Time
}

// ErrTooLarge is what a Capped reader returns past its limit.
var ErrTooLarge = errors.New("media: larger than its kind allows")

// Capped returns a reader of r that fails with ErrTooLarge once more than
// max bytes come, so that a driver's Put keeps nothing too large.
func Capped(r io.Reader, max int64) io.Reader { return &capped{r: r, left: max} }

type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, ErrTooLarge
	}
	// Read one byte beyond the limit to tell "exactly max" from "more".
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		return n, ErrTooLarge
	}
	return n, err
}

// ValidSHA reports whether s is a hex SHA-256 as Put returns it; drivers
// check it before making a path or key of it.
func ValidSHA(s string) bool {
	if len(s) != sha256.Size*2 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// CheckSHA is ValidSHA as an error.
func CheckSHA(s string) error {
	if !ValidSHA(s) {
		return shequ.Errorf(shequ.EINVALID, "media: %q is not a SHA-256", s)
	}
	return nil
}

// Verify reads the blob of sha whole and checks that its bytes hash to
// sha and number size.
func Verify(ctx context.Context, b Blobs, sha string, size int64) error {
	blob, err := b.Open(ctx, sha)
	if err != nil {
		return err
	}
	defer blob.Close()
	h := sha256.New()
	n, err := io.Copy(h, blob)
	if err != nil {
		return fmt.Errorf("media: read %s: %w", sha, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha || n != size {
		return fmt.Errorf("media: blob %s holds %d bytes hashing to %s, want %d", sha, n, got, size)
	}
	return nil
}
