package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// homeCache keeps, on SQLite, each home's arm state, open incident and grid
// as the last committed ingest batch left them, so that the next batch
// need not read them again. In an alarm storm every frame is a burglary of
// a home whose state the previous batch has just written, and reading it
// back cost the writer a sixth of its time (docs/benchmarks.md, "Alarm
// storm").
//
// The cache is right only while nothing but ingest batches writes to the
// database. It is checked at the start of every batch, inside the batch's
// write transaction (which no other writer can run beside), against three
// marks taken when it was filled:
//
//   - the writer connection itself: SQLite's counters below are the
//     connection's own, and a new connection starts them again;
//   - total_changes() of that connection: any other write through it (an
//     operator's step, arming, a timer, an import, a test's UPDATE) adds
//     the rows it changed;
//   - PRAGMA data_version: it moves when another connection (another
//     process on the same file) commits.
//
// When any of them moved, the cache is dropped and the batch reads its
// homes. Entries are kept only after their batch commits. PostgreSQL has
// no cache: other nodes write the same rows.
type homeCache struct {
	mu      sync.Mutex
	conn    any // the driver connection the marks belong to; nil: empty
	changes int64
	version int64
	homes   map[int64]homeState
}

// maxCachedHomes bounds the cache; an SQLite store serves one community,
// which has far fewer homes.
const maxCachedHomes = 100_000

func newHomeCache() *homeCache { return &homeCache{homes: map[int64]homeState{}} }

// cacheMarks are the marks of homeCache as one statement reads them.
type cacheMarks struct {
	conn             any
	changes, version int64
}

const cacheMarksSQL = "SELECT total_changes(), data_version FROM pragma_data_version"

func readCacheMarks(ctx context.Context, q querier, conn any) (cacheMarks, error) {
	m := cacheMarks{conn: conn}
	if err := q.QueryRowContext(ctx, cacheMarksSQL).Scan(&m.changes, &m.version); err != nil {
		return m, fmt.Errorf("home cache marks: %w", err)
	}
	return m, nil
}

// check drops the cache unless it is still right at m; a batch calls it
// before it gets any home.
func (c *homeCache) check(m cacheMarks) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != m.conn || c.changes != m.changes || c.version != m.version {
		c.dropLocked()
	}
}

// get returns a copy of a cached home.
func (c *homeCache) get(id int64) (*homeState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.homes[id]
	if !ok {
		return nil, false
	}
	return &h, true
}

// keep stores what a committed batch left its homes at; m are the marks
// taken after its last write.
func (c *homeCache) keep(m cacheMarks, homes map[int64]*homeState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != m.conn || len(c.homes)+len(homes) > maxCachedHomes {
		clear(c.homes)
	}
	c.conn, c.changes, c.version = m.conn, m.changes, m.version
	for id, h := range homes {
		if id != 0 && !h.armDirty {
			c.homes[id] = h.normalized()
		}
	}
}

// drop empties the cache: after a batch that failed or did not commit.
func (c *homeCache) drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
}

func (c *homeCache) dropLocked() {
	c.conn = nil
	clear(c.homes)
}

// normalized is h as the database would give it back: times in UTC without
// a monotonic reading, and an incident of its own.
func (h *homeState) normalized() homeState {
	out := *h
	out.arm.Since = out.arm.Since.UTC()
	if d := out.arm.Deadline; d != nil {
		t := d.UTC()
		out.arm.Deadline = &t
	}
	if h.open != nil {
		i := *h.open
		i.OpenedAt, i.LastEventAt = i.OpenedAt.UTC(), i.LastEventAt.UTC()
		out.open = &i
	}
	return out
}

// ingestTx is tx for Ingest. On SQLite it runs on a connection taken from
// the writer pool (its one connection) and tells fn which driver
// connection that is, for the home cache; elsewhere conn is nil.
// committed runs after the commit, while the connection is still held:
// what it keeps of the batch cannot be overtaken by another writer's
// transaction.
func (s *Store) ingestTx(ctx context.Context, fn func(tx *sql.Tx, conn any) error, committed func()) error {
	if s.txn != nil || s.dialect != SQLite {
		if err := s.tx(ctx, func(tx *sql.Tx) error { return fn(tx, nil) }); err != nil {
			return err
		}
		committed()
		return nil
	}
	c, err := s.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	defer c.Close()
	var conn any
	if err := c.Raw(func(dc any) error { conn = dc; return nil }); err != nil {
		return fmt.Errorf("writer connection: %w", err)
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx, conn); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapError(err))
	}
	committed()
	return nil
}
