package sqlstore

import (
	"context"
	"fmt"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
)

// HomePresence returns who reports their presence at a home scope reaches,
// at home first: the people the auto-arm counts.
func (s *Store) HomePresence(ctx context.Context, scope auth.Scope, home int64) ([]alarm.Presence, error) {
	if err := mustReach(ctx, s.reader(), homes, scope, home); err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT p.user_id, u.display_name, u.username, p.present, p.at
		FROM presence p JOIN users u ON u.id = p.user_id WHERE p.home_id = $1 ORDER BY p.present DESC, p.at DESC`, home)
	if err != nil {
		return nil, fmt.Errorf("presence: %w", err)
	}
	defer rows.Close()
	out := []alarm.Presence{}
	for rows.Next() {
		var x alarm.Presence
		var login string
		if err := rows.Scan(&x.UserID, &x.Name, &login, &x.Present, &x.At); err != nil {
			return nil, fmt.Errorf("presence: %w", err)
		}
		if x.Name == "" {
			x.Name = login
		}
		x.At = x.At.UTC()
		out = append(out, x)
	}
	return out, rows.Err()
}
