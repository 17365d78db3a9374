package backup_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/shequ/shequ/backup"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/media/s3"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestS3Target: a backup written to object storage (gofakes3) is listed,
// verified, restored from there and pruned, like one in a folder.
func TestS3Target(t *testing.T) {
	ctx := context.Background()
	mem := s3mem.New()
	if err := mem.CreateBucket("backups"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(hs.Close)
	target, err := backup.NewS3(ctx, "s3://backups/office", s3.Config{Endpoint: hs.URL, AccessKey: "test", SecretKey: "test-secret", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	st := sqlstoretest.Open(t, sqlstore.SQLite, nil)
	if _, err := demo.Load(ctx, st, "backup-password-1"); err != nil {
		t.Fatal(err)
	}
	blobs, _ := disk.New(filepath.Join(t.TempDir(), "media"))
	files := addMedia(t, st, blobs, 2)
	o := backup.Options{DB: st, Blobs: blobs, KeyText: []byte("k\n"), Passphrase: passphrase, ScryptWorkFactor: 10}
	name, m, err := backup.Run(ctx, o, target)
	if err != nil {
		t.Fatal(err)
	}
	complete, incomplete, err := backup.List(ctx, target)
	if err != nil || len(complete) != 1 || complete[0] != name || len(incomplete) != 0 {
		t.Fatalf("list %v %v %v", complete, incomplete, err)
	}
	if _, err := backup.Verify(ctx, target, name); err != nil {
		t.Fatal(err)
	}
	if len(m.Media()) != len(files) {
		t.Errorf("%d media parts, want %d", len(m.Media()), len(files))
	}
	restored, _ := disk.New(filepath.Join(t.TempDir(), "restored"))
	data := t.TempDir()
	_, err = backup.Restore(ctx, target, name, backup.RestoreOptions{Passphrase: passphrase, DataDir: data, Blobs: restored,
		LoadDatabase: func(ctx context.Context, dialect, file string) error {
			return sqlstore.LoadBackup(ctx, filepath.Join(data, "shequ.db"), dialect, file)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, sha := range files {
		if b, err := restored.Open(ctx, sha); err != nil {
			t.Errorf("media %s: %v", sha, err)
		} else {
			b.Close()
		}
	}
	if err := target.RemoveAll(ctx, name); err != nil {
		t.Fatal(err)
	}
	if complete, _, _ := backup.List(ctx, target); len(complete) != 0 {
		t.Errorf("after removal: %v", complete)
	}
}
