package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"

	"github.com/shequ/shequ/media"
)

// RestoreOptions say where a backup goes back to.
type RestoreOptions struct {
	Passphrase string
	// DataDir is the data folder; it must be empty (or missing) unless
	// Force.
	DataDir string
	Force   bool
	// KeyFile is where the key goes; "" is DataDir/shequ.key.
	KeyFile string
	// Blobs is the media store the files go into.
	Blobs media.Blobs
	// LoadDatabase puts the database part (a file of the dialect the
	// manifest names) in place: on SQLite into the data folder, on
	// PostgreSQL into the database with pg_restore.
	LoadDatabase func(ctx context.Context, dialect, file string) error
}

// ErrNotEmpty is returned when the data folder holds something and Force
// is not set.
var ErrNotEmpty = errors.New("backup: the data folder is not empty; restore refuses to overwrite it without --force")

// Restore checks the whole backup at name — manifest, every part's size and
// hash, the passphrase — and only then writes the key, the database and
// the media files.
func Restore(ctx context.Context, t Target, name string, o RestoreOptions) (Manifest, error) {
	m, err := Verify(ctx, t, name)
	if err != nil {
		return m, err
	}
	keyText, err := readKey(ctx, t, name, m, o.Passphrase)
	if err != nil {
		return m, err
	}
	if !o.Force {
		entries, err := os.ReadDir(o.DataDir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return m, fmt.Errorf("backup: data folder: %w", err)
		}
		if len(entries) > 0 {
			return m, ErrNotEmpty
		}
	}
	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return m, fmt.Errorf("backup: data folder: %w", err)
	}
	keyFile := o.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(o.DataDir, "shequ.key")
	}
	if err := writeFileAtomic(keyFile, keyText, 0o600); err != nil {
		return m, fmt.Errorf("backup: write key: %w", err)
	}

	tmp, err := os.MkdirTemp(o.DataDir, ".restore-")
	if err != nil {
		return m, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	dbFile := filepath.Join(tmp, m.Database)
	if err := copyPart(ctx, t, name, m, m.Database, dbFile); err != nil {
		return m, err
	}
	if err := o.LoadDatabase(ctx, m.Dialect, dbFile); err != nil {
		return m, fmt.Errorf("backup: load the database: %w", err)
	}
	for _, p := range m.Media() {
		r, err := t.Get(ctx, path.Join(name, p.Path))
		if err != nil {
			return m, fmt.Errorf("backup: %s: %w", p.Path, err)
		}
		sha, _, err := o.Blobs.Put(ctx, r)
		r.Close()
		if err != nil {
			return m, fmt.Errorf("backup: restore %s: %w", p.Path, err)
		}
		if sha != p.SHA256 {
			return m, fmt.Errorf("backup: %s changed while it was restored (hash %s)", p.Path, sha)
		}
	}
	return m, nil
}

func readKey(ctx context.Context, t Target, name string, m Manifest, passphrase string) ([]byte, error) {
	if passphrase == "" {
		return nil, ErrNoPassphrase
	}
	r, err := t.Get(ctx, path.Join(name, m.Key))
	if err != nil {
		return nil, fmt.Errorf("backup: key: %w", err)
	}
	defer r.Close()
	sealed, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("backup: key: %w", err)
	}
	return OpenKey(sealed, passphrase)
}

// copyPart copies a part to a file, checking its hash on the way.
func copyPart(ctx context.Context, t Target, name string, m Manifest, part, dst string) error {
	for _, p := range m.Parts {
		if p.Path != part {
			continue
		}
		f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		if err := checkPart(ctx, t, name, p, f); err != nil {
			f.Close()
			return fmt.Errorf("backup: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("backup: %w", err)
		}
		return f.Close()
	}
	return fmt.Errorf("backup: no part %s", part)
}

func writeFileAtomic(name string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o750); err != nil {
		return err
	}
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}
