package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

// table describes how to list one kind of row within a scope.
type table struct {
	what    string // the noun used in errors and audit entries
	from    string // FROM clause with the joins scopeCols needs
	columns string
	id      string // the id column
	scope   scopeCols
	order   string
}

// scanner is what *sql.Row and *sql.Rows share.
type scanner interface{ Scan(dest ...any) error }

// listOf returns one page of t's rows that scope reaches and conds keep.
func listOf[T any](ctx context.Context, q querier, t table, scope auth.Scope, conds []string, a args, page shequ.Page, scan func(scanner) (T, error)) (shequ.List[T], error) {
	where := append([]string{scopeWhere(scope, t.scope, &a)}, conds...)
	w := strings.Join(where, " AND ")
	return pageThenCount(ctx, q, t.what, "SELECT "+t.columns+" FROM "+t.from+" WHERE "+w+" ORDER BY "+t.order,
		"SELECT COUNT(*) FROM "+t.from+" WHERE "+w, a, page, scan)
}

// pageThenCount reads one page of selectQuery (which has no LIMIT) and its
// total. The page is read first with one row more than asked: when that
// row is not there the page holds the end of the list and the total is
// known without countQuery. Most lists people open (a resident's three
// matters, a community of one) are shorter than a page, and the COUNT was
// a second query over the same rows (issue 13). countQuery takes the same
// arguments a as selectQuery.
func pageThenCount[T any](ctx context.Context, q querier, what, selectQuery, countQuery string, a args, page shequ.Page, scan func(scanner) (T, error)) (shequ.List[T], error) {
	page = page.Normalize()
	n := len(a)
	// One row past the page, also past shequ.MaxLimit (limit would cut it
	// back to the page, and a full page would then look like the end).
	rows, err := q.QueryContext(ctx, selectQuery+" LIMIT "+a.add(page.Limit+1)+" OFFSET "+a.add(page.Offset), a...)
	if err != nil {
		return shequ.List[T]{}, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	out := shequ.List[T]{Items: []T{}}
	more := false
	for rows.Next() {
		if len(out.Items) == page.Limit {
			more = true
			break
		}
		v, err := scan(rows)
		if err != nil {
			return out, fmt.Errorf("scan %s: %w", what, err)
		}
		out.Items = append(out.Items, v)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("list %s: %w", what, err)
	}
	rows.Close()
	if !more && (len(out.Items) > 0 || page.Offset == 0) {
		out.Total = page.Offset + len(out.Items)
		return out, nil
	}
	// More rows than the page, or a page past the end: count them.
	if out.Total, err = count(ctx, q, countQuery, a[:n]...); err != nil {
		return out, fmt.Errorf("count %s: %w", what, err)
	}
	return out, nil
}

// oneOf returns the row of t with id when scope reaches it. A row out of
// scope is reported as not found so that its existence does not leak.
func oneOf[T any](ctx context.Context, q querier, t table, scope auth.Scope, id int64, scan func(scanner) (T, error)) (T, error) {
	var a args
	query := "SELECT " + t.columns + " FROM " + t.from + " WHERE " + t.id + " = " + a.add(id) + " AND " + scopeWhere(scope, t.scope, &a)
	v, err := scan(q.QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return v, notFound(t.what, id)
	} else if err != nil {
		return v, fmt.Errorf("get %s %d: %w", t.what, id, err)
	}
	return v, nil
}

// reaches reports whether scope reaches the row of t with id.
func reaches(ctx context.Context, q querier, t table, scope auth.Scope, id int64) (bool, error) {
	var a args
	n, err := count(ctx, q, "SELECT COUNT(*) FROM "+t.from+" WHERE "+t.id+" = "+a.add(id)+" AND "+scopeWhere(scope, t.scope, &a), a...)
	return n > 0, err
}

// mustReach returns ENOTFOUND unless scope reaches the row of t with id;
// what names the field for the message.
func mustReach(ctx context.Context, q querier, t table, scope auth.Scope, id int64) error {
	ok, err := reaches(ctx, q, t, scope, id)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(t.what, id)
	}
	return nil
}

// mustReachCommunity returns EFORBIDDEN unless scope reaches the whole of
// community c, which creating top-level rows in it needs.
func mustReachCommunity(scope auth.Scope, c int64) error {
	if !scope.WholeCommunity(c) {
		return shequ.Errorf(shequ.EFORBIDDEN, "you may not change community %d", c)
	}
	return nil
}

// record appends an audit entry in the same transaction as the change it
// describes, so the log and the data never disagree.
func (s *Store) record(ctx context.Context, q querier, e audit.Entry) error {
	if a := auth.ActorFrom(ctx); a != nil {
		e.UserID, e.Username = a.User.ID, a.User.Username
	} else if e.Username == "" {
		e.Username = "system"
	}
	o := audit.OriginFrom(ctx)
	e.IP, e.UserAgent = o.IP, o.UserAgent
	e.At = s.now()
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (at, community_id, user_id, username, action, entity, entity_id, before, after, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		e.At, nullID(e.CommunityID), nullID(e.UserID), e.Username, e.Action, e.Entity, nullID(e.EntityID),
		string(e.Before), string(e.After), e.IP, e.UserAgent)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// change records a create, update or delete of an entity.
func (s *Store) change(ctx context.Context, q querier, community int64, action, entity string, id int64, before, after any) error {
	return s.record(ctx, q, audit.Entry{
		CommunityID: community, Action: entity + "." + action, Entity: entity, EntityID: id,
		Before: snapshot(before), After: snapshot(after),
	})
}

func snapshot(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{"error":"unencodable"}`)
	}
	return b
}

// requireAffected turns "no row changed" into ENOTFOUND.
func requireAffected(res sql.Result, what string, id int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// lockRow takes the row lock of one row of table before a transaction
// reads it to change it, so that two changes of the same row at once run
// one after the other instead of both starting from the same old row (a
// rollup would count the old row out twice). SQLite's transactions take
// the one write lock when they begin, so there is nothing more to take.
func (s *Store) lockRow(ctx context.Context, tx *sql.Tx, table string, id int64) error {
	if s.dialect != Postgres {
		return nil
	}
	var got int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM "+table+" WHERE id = $1 FOR UPDATE", id).Scan(&got)
	if err != nil && err != sql.ErrNoRows {
		return fmt.Errorf("lock %s %d: %w", table, id, err)
	}
	return nil
}
