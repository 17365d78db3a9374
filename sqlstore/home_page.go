package sqlstore

import (
	"context"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
)

// HomeMatters returns the newest matters raised about a home that scope
// reaches, for the home's page.
func (s *Store) HomeMatters(ctx context.Context, scope auth.Scope, home int64, page shequ.Page) (shequ.List[matter.Matter], error) {
	var a args
	conds := []string{"m.home_id = " + a.add(home)}
	return listOf(ctx, s.reader(), matters, scope, conds, a, page, s.scanMatter)
}
