package sqlstore

import (
	"context"
	"fmt"
)

// SessionsVersion returns the version of everything a session's actor is
// read from (Actor): sessions, accounts, grants and people's households
// (migration 00051). A resolved session may be used again while it has
// not moved; a sign-out, a revoked session, a disabled account or a
// changed grant on any node moves it at commit. It usually costs no
// query (countermirror.go).
func (s *Store) SessionsVersion(ctx context.Context) (int64, error) {
	v, err := s.counterSum(ctx, s.reader(), "sessions")
	if err != nil {
		return 0, fmt.Errorf("sessions version: %w", err)
	}
	return v, nil
}
