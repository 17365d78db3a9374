package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxCachedStmts bounds the statement cache: only hot paths go through it,
// and a query built from its arguments must not fill memory.
const maxCachedStmts = 320

// stmtCache keeps statements prepared once on SQLite's writer pool, for hot
// write paths (alarm ingest) where parsing the SQL text again for every row
// costs more than running it. Statements are prepared after the transaction
// that first ran them, not inside it: the writer pool has one connection,
// which that transaction holds. PostgreSQL needs no cache here: pgx already
// keeps a prepared statement per connection and query text.
type stmtCache struct {
	db *sql.DB // nil: caching off

	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	missed map[string]bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, missed: map[string]bool{}}
}

// in returns a querier over tx that runs the cached statements by their
// text and notes the queries not prepared yet.
func (c *stmtCache) in(tx *sql.Tx) querier {
	if c == nil || c.db == nil {
		return tx
	}
	return cachedTx{Tx: tx, cache: c}
}

func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stmts[query]
	if st == nil && len(c.stmts)+len(c.missed) < maxCachedStmts {
		c.missed[query] = true
	}
	return st
}

// prepareMissed prepares the queries run since the last call. It must be
// called outside any transaction on the writer pool.
func (c *stmtCache) prepareMissed(ctx context.Context) error {
	if c == nil || c.db == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for query := range c.missed {
		st, err := c.db.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
		c.stmts[query] = st
		delete(c.missed, query)
	}
	return nil
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

// cachedTx is a write transaction whose queries run through the cache.
type cachedTx struct {
	*sql.Tx
	cache *stmtCache
}

func (t cachedTx) QueryContext(ctx context.Context, query string, a ...any) (*sql.Rows, error) {
	if st := t.cache.lookup(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, a...)
	}
	return t.Tx.QueryContext(ctx, query, a...)
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, a ...any) *sql.Row {
	if st := t.cache.lookup(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, a...)
	}
	return t.Tx.QueryRowContext(ctx, query, a...)
}

func (t cachedTx) ExecContext(ctx context.Context, query string, a ...any) (sql.Result, error) {
	if st := t.cache.lookup(query); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, a...)
	}
	return t.Tx.ExecContext(ctx, query, a...)
}
