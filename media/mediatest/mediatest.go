// Package mediatest checks a media.Blobs driver against what the media
// package asks of every driver.
package mediatest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/media"
)

// Run puts, reads, seeks into and deletes blobs of b.
func Run(t *testing.T, b media.Blobs) {
	ctx := t.Context()
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16+3) // 1 MiB and a bit, more than one read
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])

	sha, size, err := b.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if sha != want || size != int64(len(data)) {
		t.Fatalf("put = %s %d, want %s %d", sha, size, want, len(data))
	}
	if err := media.Verify(ctx, b, sha, size); err != nil {
		t.Fatal(err)
	}

	t.Run("seek", func(t *testing.T) {
		blob, err := b.Open(ctx, sha)
		if err != nil {
			t.Fatal(err)
		}
		defer blob.Close()
		if blob.Size != int64(len(data)) || blob.ModTime.IsZero() {
			t.Errorf("blob size %d, mod time %v", blob.Size, blob.ModTime)
		}
		if end, err := blob.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
			t.Errorf("seek to the end: %d %v", end, err)
		}
		const off = 1<<20 - 5
		if _, err := blob.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 40)
		if _, err := io.ReadFull(blob, got); err != nil || !bytes.Equal(got, data[off:off+40]) {
			t.Errorf("after seek read %q %v, want %q", got, err, data[off:off+40])
		}
	})

	t.Run("same bytes twice", func(t *testing.T) {
		again, _, err := b.Put(ctx, bytes.NewReader(data))
		if err != nil || again != sha {
			t.Fatalf("second put: %s %v", again, err)
		}
		if err := media.Verify(ctx, b, sha, size); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("too large keeps nothing", func(t *testing.T) {
		big := strings.Repeat("x", 1000)
		_, _, err := b.Put(ctx, media.Capped(strings.NewReader(big), 999))
		if !errors.Is(err, media.ErrTooLarge) {
			t.Errorf("put past the cap: %v", err)
		}
		sum := sha256.Sum256([]byte(big))
		if _, err := b.Open(ctx, hex.EncodeToString(sum[:])); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("open of what was refused: %v", err)
		}
		exact, n, err := b.Put(ctx, media.Capped(strings.NewReader(big), 1000))
		if err != nil || n != 1000 {
			t.Errorf("put of exactly the cap: %d %v", n, err)
		}
		if err := b.Delete(ctx, exact); err != nil {
			t.Error(err)
		}
	})

	t.Run("empty", func(t *testing.T) {
		e, n, err := b.Put(ctx, bytes.NewReader(nil))
		if err != nil || n != 0 || e != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
			t.Errorf("empty put: %s %d %v", e, n, err)
		}
	})

	t.Run("bad names", func(t *testing.T) {
		for _, s := range []string{"", "../../etc/passwd", strings.Repeat("A", 64), strings.Repeat("a", 63)} {
			if _, err := b.Open(ctx, s); shequ.ErrorCode(err) != shequ.EINVALID {
				t.Errorf("open %q: %v", s, err)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		if err := b.Delete(ctx, sha); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Open(ctx, sha); shequ.ErrorCode(err) != shequ.ENOTFOUND {
			t.Errorf("open after delete: %v", err)
		}
		if err := b.Delete(ctx, sha); err != nil {
			t.Errorf("delete twice: %v", err)
		}
	})
}
