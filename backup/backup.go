// Package backup owns shequ's backups: a consistent copy of the database
// taken while the server runs, the media files, and the personal-data key
// sealed on its own with a passphrase (age, scrypt), described by a
// manifest holding the SHA-256 of every part; and restoring them, which
// checks every part before it writes anything.
//
// A backup is a folder (or an object-storage prefix) of its own:
//
//	manifest.json   written last: a backup without it is incomplete
//	database.sqlite or database.pgdump
//	key.age         the key file's text, sealed with the passphrase
//	media/<sha256>  each media file, named by its hash
package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/media"
)

// Format names the layout of a backup; restore refuses others.
const Format = "shequ-backup/1"

// Names of the parts.
const (
	ManifestName = "manifest.json"
	KeyName      = "key.age"
	MediaDir     = "media"
)

// Part is one file of a backup.
type Part struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest describes a backup.
type Manifest struct {
	Format        string    `json:"format"`
	CreatedAt     time.Time `json:"created_at"`
	Version       string    `json:"version"`
	Dialect       string    `json:"dialect"`
	SchemaVersion int64     `json:"schema_version"`
	// Database is the path of the database part; Key of the sealed key.
	Database string `json:"database"`
	Key      string `json:"key"`
	Parts    []Part `json:"parts"`
}

// Media returns the parts that are media files.
func (m Manifest) Media() []Part {
	var out []Part
	for _, p := range m.Parts {
		if strings.HasPrefix(p.Path, MediaDir+"/") {
			out = append(out, p)
		}
	}
	return out
}

// Database is what a backup copies the database with.
type Database interface {
	Dialect() string
	SchemaVersion(ctx context.Context) (int64, error)
	// Snapshot writes a consistent copy of the whole database to the
	// file at path, while others keep writing; it returns the file's
	// extension ("sqlite", "pgdump").
	Snapshot(ctx context.Context, path string) (string, error)
	// MediaHashes returns the SHA-256 of every media file a row names.
	MediaHashes(ctx context.Context) ([]string, error)
}

// Options are what Run needs.
type Options struct {
	DB    Database
	Blobs media.Blobs
	// KeyText is the key file's text (or the key as given), sealed into
	// key.age with Passphrase.
	KeyText    []byte
	Passphrase string
	Version    string
	Clock      shequ.Clock
	// TempDir holds the database copy until it is written to the target;
	// "" is the system's.
	TempDir string
	// ScryptWorkFactor, when set, replaces age's default work factor
	// (2^18, about a second): tests lower it.
	ScryptWorkFactor int
}

// ErrNoPassphrase is returned when no passphrase seals the key.
var ErrNoPassphrase = errors.New("backup: a passphrase is needed to seal the personal-data key (SHEQU_BACKUP_PASSPHRASE or --passphrase-file)")

// Name returns the folder name of a backup taken at t.
func Name(t time.Time) string { return "shequ-" + t.UTC().Format("20060102T150405Z") }

// Run takes a backup into a new folder of t and returns its name and
// manifest. The manifest is written last, so a backup that failed half
// way is recognisably incomplete (and pruned by Prune).
func Run(ctx context.Context, o Options, t Target) (string, Manifest, error) {
	if o.Passphrase == "" {
		return "", Manifest{}, ErrNoPassphrase
	}
	if o.Clock == nil {
		o.Clock = shequ.SystemClock{}
	}
	start := o.Clock.Now().UTC()
	name := Name(start)
	m := Manifest{Format: Format, CreatedAt: start, Version: o.Version, Dialect: o.DB.Dialect()}
	var err error
	if m.SchemaVersion, err = o.DB.SchemaVersion(ctx); err != nil {
		return "", m, fmt.Errorf("backup: schema version: %w", err)
	}
	// The key first: a wrong passphrase set-up fails before the long work.
	sealed, err := sealKey(o.KeyText, o.Passphrase, o.ScryptWorkFactor)
	if err != nil {
		return "", m, err
	}
	put := func(p string, r io.Reader) error {
		h := sha256.New()
		cr := &countReader{r: io.TeeReader(r, h)}
		if err := t.Put(ctx, path.Join(name, p), cr); err != nil {
			return fmt.Errorf("backup: write %s: %w", p, err)
		}
		m.Parts = append(m.Parts, Part{Path: p, Size: cr.n, SHA256: hex.EncodeToString(h.Sum(nil))})
		return nil
	}
	if err := put(KeyName, bytes.NewReader(sealed)); err != nil {
		return "", m, err
	}
	m.Key = KeyName

	tmp, err := os.MkdirTemp(o.TempDir, "shequ-backup-")
	if err != nil {
		return "", m, fmt.Errorf("backup: %w", err)
	}
	defer os.RemoveAll(tmp)
	dbFile := filepath.Join(tmp, "database")
	ext, err := o.DB.Snapshot(ctx, dbFile)
	if err != nil {
		return "", m, fmt.Errorf("backup: copy the database: %w", err)
	}
	f, err := os.Open(dbFile)
	if err != nil {
		return "", m, fmt.Errorf("backup: %w", err)
	}
	m.Database = "database." + ext
	err = put(m.Database, f)
	f.Close()
	if err != nil {
		return "", m, err
	}
	os.Remove(dbFile)

	// Media after the database: every file the copy's rows name is kept
	// until the sweep's grace has passed, so it is still there now.
	hashes, err := o.DB.MediaHashes(ctx)
	if err != nil {
		return "", m, fmt.Errorf("backup: list media: %w", err)
	}
	for _, sha := range hashes {
		b, err := o.Blobs.Open(ctx, sha)
		if err != nil {
			return "", m, fmt.Errorf("backup: media %s: %w", sha, err)
		}
		err = put(path.Join(MediaDir, sha), b)
		b.Close()
		if err != nil {
			return "", m, err
		}
		if got := m.Parts[len(m.Parts)-1].SHA256; got != sha {
			return "", m, fmt.Errorf("backup: media %s is damaged in the media store (its bytes hash to %s)", sha, got)
		}
	}
	doc, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", m, err
	}
	if err := t.Put(ctx, path.Join(name, ManifestName), bytes.NewReader(doc)); err != nil {
		return "", m, fmt.Errorf("backup: write manifest: %w", err)
	}
	return name, m, nil
}

func sealKey(text []byte, passphrase string, workFactor int) ([]byte, error) {
	if len(bytes.TrimSpace(text)) == 0 {
		return nil, errors.New("backup: no personal-data key to seal")
	}
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, fmt.Errorf("backup: passphrase: %w", err)
	}
	if workFactor > 0 {
		r.SetWorkFactor(workFactor)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, r)
	if err != nil {
		return nil, fmt.Errorf("backup: seal key: %w", err)
	}
	if _, err := w.Write(text); err != nil {
		return nil, fmt.Errorf("backup: seal key: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("backup: seal key: %w", err)
	}
	return buf.Bytes(), nil
}

// OpenKey unseals the key part with the passphrase.
func OpenKey(sealed []byte, passphrase string) ([]byte, error) {
	id, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("backup: passphrase: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return nil, fmt.Errorf("backup: cannot open the sealed key (wrong passphrase?): %w", err)
	}
	return io.ReadAll(r)
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadManifest reads and checks the manifest of the backup at name.
func ReadManifest(ctx context.Context, t Target, name string) (Manifest, error) {
	var m Manifest
	r, err := t.Get(ctx, path.Join(name, ManifestName))
	if err != nil {
		return m, fmt.Errorf("backup: no manifest (an incomplete backup?): %w", err)
	}
	defer r.Close()
	if err := json.NewDecoder(io.LimitReader(r, 256<<20)).Decode(&m); err != nil {
		return m, fmt.Errorf("backup: manifest: %w", err)
	}
	if m.Format != Format {
		return m, fmt.Errorf("backup: format %q, this shequ reads %q", m.Format, Format)
	}
	seen := map[string]bool{}
	for _, p := range m.Parts {
		if p.Path == "" || strings.Contains(p.Path, "..") || strings.HasPrefix(p.Path, "/") || seen[p.Path] {
			return m, fmt.Errorf("backup: manifest names a bad part %q", p.Path)
		}
		seen[p.Path] = true
		if strings.HasPrefix(p.Path, MediaDir+"/") && path.Base(p.Path) != p.SHA256 {
			return m, fmt.Errorf("backup: media part %s has hash %s", p.Path, p.SHA256)
		}
	}
	if !seen[m.Database] || !seen[m.Key] {
		return m, errors.New("backup: manifest lacks the database or the key")
	}
	return m, nil
}

// Verify reads every part of the backup at name and checks its size and
// hash against the manifest.
func Verify(ctx context.Context, t Target, name string) (Manifest, error) {
	m, err := ReadManifest(ctx, t, name)
	if err != nil {
		return m, err
	}
	var bad []string
	for _, p := range m.Parts {
		if err := checkPart(ctx, t, name, p, io.Discard); err != nil {
			bad = append(bad, err.Error())
		}
	}
	if len(bad) > 0 {
		return m, fmt.Errorf("backup: %d of %d parts fail their check: %s", len(bad), len(m.Parts), strings.Join(bad, "; "))
	}
	return m, nil
}

// checkPart copies a part to w, checking it.
func checkPart(ctx context.Context, t Target, name string, p Part, w io.Writer) error {
	r, err := t.Get(ctx, path.Join(name, p.Path))
	if err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err != nil {
		return fmt.Errorf("%s: %w", p.Path, err)
	}
	if n != p.Size {
		return fmt.Errorf("%s: %d bytes, the manifest says %d", p.Path, n, p.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.SHA256 {
		return fmt.Errorf("%s: SHA-256 %s, the manifest says %s", p.Path, got, p.SHA256)
	}
	return nil
}

// List returns the names of the complete backups in t (those with a
// manifest), oldest first, and of the incomplete ones.
func List(ctx context.Context, t Target) (complete, incomplete []string, err error) {
	names, err := t.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(names)
	for _, n := range names {
		if !strings.HasPrefix(n, "shequ-") {
			continue
		}
		ok, err := t.Exists(ctx, path.Join(n, ManifestName))
		if err != nil {
			return nil, nil, err
		}
		if ok {
			complete = append(complete, n)
		} else {
			incomplete = append(incomplete, n)
		}
	}
	return complete, incomplete, nil
}

// Prune removes all but the newest keep complete backups, and the
// incomplete ones older than the newest complete one (a backup still being
// written is newer than every complete one, so it is left alone).
func Prune(ctx context.Context, t Target, keep int) ([]string, error) {
	complete, incomplete, err := List(ctx, t)
	if err != nil {
		return nil, err
	}
	var gone []string
	if keep > 0 && len(complete) > keep {
		gone = append(gone, complete[:len(complete)-keep]...)
	}
	if len(complete) > 0 {
		newest := complete[len(complete)-1]
		for _, n := range incomplete {
			if n < newest {
				gone = append(gone, n)
			}
		}
	}
	for _, n := range gone {
		if err := t.RemoveAll(ctx, n); err != nil {
			return nil, fmt.Errorf("backup: prune %s: %w", n, err)
		}
	}
	return gone, nil
}

// Record is one backup run, as the admin's page and /metrics show it.
type Record struct {
	ID         int64      `json:"id"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	OK         bool       `json:"ok"`
	Name       string     `json:"name"`
	Target     string     `json:"target"`
	Parts      int        `json:"parts"`
	Bytes      int64      `json:"bytes"`
	Error      string     `json:"error,omitempty"`
	Node       string     `json:"node"`
}

// Bytes is the size of all the parts.
func (m Manifest) Bytes() int64 {
	var n int64
	for _, p := range m.Parts {
		n += p.Size
	}
	return n
}
