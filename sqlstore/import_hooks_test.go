package sqlstore

import "context"

// Savepoint lets the external tests reach savepoint.
func (s *Store) Savepoint(ctx context.Context, name string, fn func() error) error {
	return s.savepoint(ctx, name, fn)
}
