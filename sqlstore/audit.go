package sqlstore

import (
	"context"
	"database/sql"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

var auditLog = table{
	what: "audit entry", from: "audit_log l", id: "l.id", scope: auditCols, order: "l.id DESC",
	columns: "l.id, l.at, l.community_id, l.user_id, l.username, l.action, l.entity, l.entity_id, l.before, l.after, l.ip, l.user_agent",
}

func scanAudit(r scanner) (audit.Entry, error) {
	var e audit.Entry
	var c, u, id sql.NullInt64
	var before, after string
	err := r.Scan(&e.ID, &e.At, &c, &u, &e.Username, &e.Action, &e.Entity, &id, &before, &after, &e.IP, &e.UserAgent)
	e.CommunityID, e.UserID, e.EntityID = c.Int64, u.Int64, id.Int64
	if before != "" {
		e.Before = []byte(before)
	}
	if after != "" {
		e.After = []byte(after)
	}
	return e, err
}

// ListAudit returns audit entries, newest first. Entries without a
// community (logins, deployment-wide changes) are shown only to a
// deployment-wide scope.
func (s *Store) ListAudit(ctx context.Context, scope auth.Scope, f audit.Filter) (shequ.List[audit.Entry], error) {
	var a args
	var conds []string
	if f.Username != "" {
		conds = append(conds, "l.username = "+a.add(f.Username))
	}
	if f.Action != "" {
		conds = append(conds, "l.action = "+a.add(f.Action))
	}
	if f.Entity != "" {
		conds = append(conds, "l.entity = "+a.add(f.Entity))
	}
	if f.EntityID != 0 {
		conds = append(conds, "l.entity_id = "+a.add(f.EntityID))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "l.at >= "+a.add(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "l.at < "+a.add(f.Until.UTC()))
	}
	return listOf(ctx, s.reader(), auditLog, scope, conds, a, f.Page, scanAudit)
}
