package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
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

const (
	// checkpointEvery is how often the checkpointer runs. With
	// synchronous=NORMAL the log is fsynced at checkpoints, so this is
	// also about how much of the most recent work a power cut (not a crash
	// of the process) can take.
	checkpointEvery = 100 * time.Millisecond
	// writerAutoCheckpoint is the backstop, in pages (64 MiB of 4 KiB
	// pages): at 20,000 events a second the log grows by about 5,000
	// pages between two runs of the checkpointer.
	writerAutoCheckpoint = 16384
)

// checkpointer runs passive checkpoints on its own connection until stopped.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	stop context.CancelFunc
	done sync.WaitGroup
}

func startCheckpointer(db *sql.DB, log *slog.Logger, every time.Duration) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, log: log, stop: stop}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		shequ.Every(ctx, every, func(ctx context.Context) {
			// PASSIVE copies what it can without waiting for the writer or
			// readers; what it leaves, the next run takes.
			if _, err := c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
				c.log.Warn("wal checkpoint", "err", err)
			}
		})
	}()
	return c
}

// close stops the loop and closes the connection.
func (c *checkpointer) close() error {
	c.stop()
	c.done.Wait()
	return c.db.Close()
}
