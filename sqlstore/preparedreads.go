package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxPreparedReads bounds the distinct query texts kept prepared on the
// read pool. Lists build their SQL from a scope and filters, so the texts
// are many but not endless (an IN list's length makes a new one); past the
// bound a query is run unprepared, as before.
const maxPreparedReads = 512

// preparedReads runs the queries of SQLite's read pool as prepared
// statements kept by their text. The driver otherwise parses every query
// anew, and a list's visibility condition made parsing 40 % of a resident's
// feed (issue 13). database/sql prepares a statement on each connection
// the first time it runs there and keeps it for the connection's life.
// PostgreSQL's driver caches its statements itself, so it is not used
// there.
type preparedReads struct {
	db *sql.DB

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
	// seen holds texts run once: a text is prepared when it comes again,
	// so that one-off queries do not take the room of the hot ones.
	seen map[string]bool
}

func newPreparedReads(db *sql.DB) *preparedReads {
	return &preparedReads{db: db, stmts: map[string]*sql.Stmt{}, seen: map[string]bool{}}
}

// stmt returns the prepared statement of query, preparing it if it ran
// before and there is room; nil means run it unprepared.
func (p *preparedReads) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, ok := p.stmts[query]
	full := len(p.stmts) >= maxPreparedReads
	p.mu.RUnlock()
	if ok || full {
		return st
	}
	p.mu.Lock()
	again := p.seen[query]
	if !again {
		if len(p.seen) >= 4*maxPreparedReads {
			clear(p.seen)
		}
		p.seen[query] = true
	}
	p.mu.Unlock()
	if !again {
		return nil
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		// The query's own run reports the error.
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if other, ok := p.stmts[query]; ok {
		_ = st.Close()
		return other
	}
	if len(p.stmts) >= maxPreparedReads {
		_ = st.Close()
		return nil
	}
	p.stmts[query] = st
	return st
}

func (p *preparedReads) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.db.QueryContext(ctx, query, args...)
}

func (p *preparedReads) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

// ExecContext is not prepared: the read pool is query-only.
func (p *preparedReads) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.db.ExecContext(ctx, query, args...)
}

func (p *preparedReads) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for q, st := range p.stmts {
		_ = st.Close()
		delete(p.stmts, q)
	}
}
