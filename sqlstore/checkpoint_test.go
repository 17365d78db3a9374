package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shequ/shequ/pii"
)

// TestCheckpointerCopiesTheLogBesideTheWriter: the writer leaves the
// write-ahead log to the checkpointer (only a far larger backstop of its
// own), and the checkpointer brings committed rows into the database file
// by itself, without another write or a Close.
func TestCheckpointerCopiesTheLogBesideTheWriter(t *testing.T) {
	ctx := context.Background()
	cipher, err := pii.New(bytes.Repeat([]byte{7}, pii.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "shequ.db")
	s, err := Open(ctx, path, Options{Cipher: cipher})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var auto int
	if err := s.write.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != writerAutoCheckpoint {
		t.Fatalf("writer's wal_autocheckpoint = %d, want the backstop %d", auto, writerAutoCheckpoint)
	}

	const rows = 3000
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"); err != nil {
			return err
		}
		for i := range rows {
			if _, err := tx.ExecContext(ctx, "INSERT INTO filler (body) VALUES ($1)", bytes.Repeat([]byte{'x'}, 200+i%50)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A copy of the database file without its log holds only what was
	// checkpointed into it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := rowsInFileAlone(t, path)
		if err == nil && n == rows {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file alone: %d rows, %v; want %d after the checkpointer ran", n, err, rows)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func rowsInFileAlone(t *testing.T, path string) (int, error) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(copyPath, b, 0o600); err != nil {
		return 0, err
	}
	db, err := sql.Open("sqlite", "file:"+copyPath+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int
	err = db.QueryRow("SELECT COUNT(*) FROM filler").Scan(&n)
	return n, err
}

// TestCopyTicksFollowTheLog: copies space out while the log found at a copy
// is small, up to maxCopyTicks, and come back to every tick once it is not.
func TestCopyTicksFollowTheLog(t *testing.T) {
	for _, c := range []struct {
		ticks, frames, want int
	}{
		{1, 0, 2},
		{2, 100, 4},
		{8, 100, maxCopyTicks},
		{maxCopyTicks, 0, maxCopyTicks},
		{4, copyFrames / 2, 4}, // between half and the whole: kept
		{8, copyFrames, 1},
		{maxCopyTicks, 5 * copyFrames, 1},
		{1, -1, 2}, // not in WAL mode: nothing to copy
	} {
		if got := nextCopyTicks(c.ticks, c.frames); got != c.want {
			t.Errorf("nextCopyTicks(%d, %d) = %d, want %d", c.ticks, c.frames, got, c.want)
		}
	}
}

// TestCheckpointerKeepsTheLogDurableBetweenCopies: between two copies the
// checkpointer fsyncs the log (a file that is missing is no error), so that
// spacing the copies out does not widen what a power cut can take.
func TestCheckpointerKeepsTheLogDurableBetweenCopies(t *testing.T) {
	dir := t.TempDir()
	if err := syncFile(filepath.Join(dir, "none.db-wal")); err != nil {
		t.Fatalf("missing log: %v", err)
	}
	path := filepath.Join(dir, "shequ.db")
	cipher, err := pii.New(bytes.Repeat([]byte{7}, pii.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(context.Background(), path, Options{Cipher: cipher})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.ckpt == nil || s.ckpt.wal != path+"-wal" {
		t.Fatalf("checkpointer's log %v, want %s", s.ckpt, path+"-wal")
	}
	if _, err := os.Stat(s.ckpt.wal); err != nil {
		t.Fatalf("the log the checkpointer fsyncs: %v", err)
	}
	if err := syncFile(s.ckpt.wal); err != nil {
		t.Fatal(err)
	}
}
