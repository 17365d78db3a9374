package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
)

// MatterFigures counts, per category, the matters of a community created
// in [since, until) that scope reaches: submitted, resolved or closed,
// overdue (open past the due time now, or resolved after it) and the
// residents' ratings. The busiest category comes first.
func (s *Store) MatterFigures(ctx context.Context, scope auth.Scope, community int64, since, until time.Time) ([]matter.CategoryFigures, error) {
	var a args
	where := scopeWhere(scope, matters.scope, &a)
	if community != 0 {
		where += " AND m.community_id = " + a.add(community)
	}
	where += " AND m.created_at >= " + a.add(since.UTC()) + " AND m.created_at < " + a.add(until.UTC())
	now := a.add(s.now())
	q := `SELECT mc.code, mc.name, mc.name_en, COUNT(*),
	SUM(CASE WHEN m.status IN ('resolved', 'closed') THEN 1 ELSE 0 END),
	SUM(CASE WHEN (m.resolved_at IS NULL AND m.status NOT IN ('resolved', 'closed', 'rejected') AND m.due_at < ` + now + `)
		OR (m.resolved_at IS NOT NULL AND m.resolved_at > m.due_at) THEN 1 ELSE 0 END),
	SUM(CASE WHEN m.rating > 0 THEN 1 ELSE 0 END),
	SUM(m.rating)
FROM ` + matters.from + `
WHERE ` + where + `
GROUP BY mc.code, mc.name, mc.name_en
ORDER BY COUNT(*) DESC, mc.code`
	rows, err := s.reader().QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("matter figures: %w", err)
	}
	defer rows.Close()
	out := []matter.CategoryFigures{}
	for rows.Next() {
		var c matter.CategoryFigures
		if err := rows.Scan(&c.Category, &c.Name, &c.NameEn, &c.Submitted, &c.Resolved, &c.Overdue, &c.Rated, &c.RatingSum); err != nil {
			return nil, fmt.Errorf("matter figures: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
