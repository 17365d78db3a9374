package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/shequ/shequ"
)

// SQLite in WAL mode appends every commit to the write-ahead log and copies
// the log back into the database file at a checkpoint. Left to itself it
// checkpoints inside the commit that takes the log past 1,000 pages: under
// alarm ingest that was every few commits, and the batch of frames in that
// commit waited for the copy and its two fsyncs before being acknowledged
// (half the writer's time, and the ACK latency's long tail; see
// docs/benchmarks.md, "Alarm centre"). A checkpointer of its own, on its
// own connection, does that copy beside the writer instead: a passive
// checkpoint never blocks the writer nor waits for it.
//
// The writer keeps a far larger automatic checkpoint as a backstop, so the
// log stays bounded should the checkpointer fall behind.
//
// With synchronous=NORMAL a commit is durable against a crash of the
// process at once, and against a power cut once the log is fsynced, which
// SQLite does only at a checkpoint. The checkpointer fsyncs the log every
// syncEvery, so a power cut takes at most that much of the latest work, as
// when it copied that often. It copies less often while the log stays
// small: a copy reads back and writes every page the commits since the
// last one touched, and in an alarm storm the same few hundred pages (each
// home's index pages, the tables' last pages) are written by every commit,
// so a copy every 100 ms cost the storm's process about 5 % of its CPU
// per frame, half of it reading back pages (docs/benchmarks.md, "Alarm
// storm").

const (
	// syncEvery is how often the log is made durable: what a power cut
	// (not a crash of the process) can take of the most recent work.
	syncEvery = 100 * time.Millisecond
	// maxCopyTicks bounds the time between two copies, in syncEvery ticks.
	maxCopyTicks = 10
	// copyFrames is the log size, in frames (pages), that makes the next
	// copy come at the next tick; below half of it, the copies space out.
	// Far under the backstop: a burst between two copies stays below it.
	copyFrames = 2048
	// writerAutoCheckpoint is the backstop, in pages (64 MiB of 4 KiB
	// pages): at 20,000 events a second the log grows by about 5,000
	// pages between two runs of the checkpointer.
	writerAutoCheckpoint = 16384
)

// checkpointer runs passive checkpoints on its own connection until stopped,
// and fsyncs the log between them.
type checkpointer struct {
	db   *sql.DB
	wal  string // the log's path
	log  *slog.Logger
	stop context.CancelFunc
	done sync.WaitGroup
	// ticks is the syncEvery ticks between copies; at counts them.
	ticks, at int
}

// startCheckpointer starts the loop for the database at path.
func startCheckpointer(db *sql.DB, path string, log *slog.Logger) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, wal: path + "-wal", log: log, stop: stop, ticks: 1}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		shequ.Every(ctx, syncEvery, c.tick)
	}()
	return c
}

// tick copies the log into the database when its turn has come, and else
// only fsyncs the log.
func (c *checkpointer) tick(ctx context.Context) {
	if c.at++; c.at < c.ticks {
		if err := syncFile(c.wal); err != nil && ctx.Err() == nil {
			c.log.Warn("wal sync", "err", err)
		}
		return
	}
	c.at = 0
	frames, err := c.copy(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("wal checkpoint", "err", err)
		}
		return
	}
	c.ticks = nextCopyTicks(c.ticks, frames)
}

// copy runs a passive checkpoint, which fsyncs the log before it copies,
// and returns the frames in the log.
func (c *checkpointer) copy(ctx context.Context) (int, error) {
	// PASSIVE copies what it can without waiting for the writer or
	// readers; what it leaves, the next run takes.
	var busy, frames, done int
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
	return frames, err
}

// nextCopyTicks spaces the copies out while the log found at a copy is
// small, and brings them back to every tick once it is not.
func nextCopyTicks(ticks, frames int) int {
	switch {
	case frames >= copyFrames:
		return 1
	case 2*frames < copyFrames:
		return min(2*ticks, maxCopyTicks)
	}
	return ticks
}

// syncFile fsyncs the file at path, if there is one. SQLite holds no lock
// on the log file (its locks are on the database and the -shm file), so
// opening and closing it here releases none of them.
func syncFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// close stops the loop and closes the connection.
func (c *checkpointer) close() error {
	c.stop()
	c.done.Wait()
	return c.db.Close()
}
