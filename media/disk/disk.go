// Package disk keeps media bytes in a folder, each file named by its
// SHA-256 (ab/cd/abcd…), written whole or not at all: into a temporary
// file, synced, then renamed into place.
package disk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/media"
)

// Blobs is a folder of media bytes.
type Blobs struct {
	dir string
}

var _ media.Blobs = (*Blobs)(nil)

// New opens (creating it) the folder dir.
func New(dir string) (*Blobs, error) {
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("media folder: %w", err)
	}
	return &Blobs{dir: dir}, nil
}

// Dir is the folder.
func (b *Blobs) Dir() string { return b.dir }

func (b *Blobs) path(sha string) string {
	return filepath.Join(b.dir, sha[:2], sha[2:4], sha)
}

// Put writes r into a temporary file while hashing it, syncs it and
// renames it to its hash, replacing an equal file already there.
func (b *Blobs) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	tmp, err := os.CreateTemp(filepath.Join(b.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(tmp, h), readerCtx{ctx, r})
	if err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return "", 0, fmt.Errorf("media put: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	dst := b.path(sha)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	done = true
	// The rename lasts a crash only once its folder is synced.
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return "", 0, fmt.Errorf("media put: %w", err)
	}
	return sha, size, nil
}

// Open opens the file of sha.
func (b *Blobs) Open(ctx context.Context, sha string) (*media.Blob, error) {
	if err := media.CheckSHA(sha); err != nil {
		return nil, err
	}
	f, err := os.Open(b.path(sha))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, shequ.Errorf(shequ.ENOTFOUND, "media: no bytes %s", sha)
	} else if err != nil {
		return nil, fmt.Errorf("media open: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("media open: %w", err)
	}
	return &media.Blob{ReadSeekCloser: f, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete removes the file of sha.
func (b *Blobs) Delete(ctx context.Context, sha string) error {
	if err := media.CheckSHA(sha); err != nil {
		return err
	}
	if err := os.Remove(b.path(sha)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("media delete: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// readerCtx stops a long copy when its request is gone.
type readerCtx struct {
	ctx context.Context
	r   io.Reader
}

func (r readerCtx) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
