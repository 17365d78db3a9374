package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/jobs"
)

// AcquireLease takes the lease called name for holder until ttl from now,
// or renews it when holder has it already, and returns when the holder's
// present hold began (its term, the row's acquired_at as stored): a
// renewal keeps it, a lease taken again after another holder had it, or
// after it was given back, starts another. It reports false, and changes
// nothing, while another holder's lease has not run out. The expiry is
// read on each node's clock: nodes must keep their clocks within a small
// part of ttl of each other (NTP does).
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (acquiredAt time.Time, held bool, err error) {
	now := s.now()
	// One statement, so that two nodes racing for a free or expired lease
	// cannot both win: the row's lock (PostgreSQL) or the one writer
	// (SQLite) orders them, and the loser's WHERE no longer holds.
	err = s.write.QueryRowContext(ctx, `INSERT INTO leases (name, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at,
			acquired_at = CASE WHEN leases.holder = excluded.holder THEN leases.acquired_at ELSE excluded.acquired_at END
		WHERE leases.holder = excluded.holder OR leases.expires_at < $3
		RETURNING acquired_at`, name, holder, now, now.Add(ttl)).Scan(&acquiredAt)
	if err == sql.ErrNoRows {
		return time.Time{}, false, nil
	} else if err != nil {
		return time.Time{}, false, fmt.Errorf("acquire lease %s: %w", name, err)
	}
	return acquiredAt, true, nil
}

// ReleaseLease gives the lease up if holder has it, so that another node
// need not wait for it to run out.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.write.ExecContext(ctx, "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder); err != nil {
		return fmt.Errorf("release lease %s: %w", name, err)
	}
	return nil
}

// Leases lists the leases with their holders, for the jobs page.
func (s *Store) Leases(ctx context.Context) ([]jobs.Lease, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT name, holder, acquired_at, expires_at FROM leases ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	defer rows.Close()
	var out []jobs.Lease
	for rows.Next() {
		var l jobs.Lease
		if err := rows.Scan(&l.Name, &l.Holder, &l.AcquiredAt, &l.ExpiresAt); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// checkFence is the last step of a transaction done under a chore's lease
// (jobs.Fence): it fails unless the lease is still the holder's and has
// not run out. On PostgreSQL it also holds the lease row shared until the
// commit, so another node's take-over (an update of the row) waits for the
// commit: chore work commits while its lease holds, never after. The lock
// lasts only the commit, so the holder's own renewal is not held up.
func (s *Store) checkFence(ctx context.Context, tx *sql.Tx, f jobs.Fence) error {
	var one int
	lock := ""
	if s.dialect == Postgres {
		lock = " FOR SHARE"
	}
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM leases WHERE "+leaseHeldSQL+lock, f.Lease, f.Holder, s.now(), f.Term).Scan(&one)
	if err == sql.ErrNoRows {
		return fenceLost(f, "its chore's work is not committed")
	} else if err != nil {
		return fmt.Errorf("lease %s: %w", f.Lease, err)
	}
	return nil
}

// leaseHeldSQL is the condition of a fence on the leases row: the lease
// $1 is holder $2's, in the term that began at $4, and has not run out at
// the node's time $3.
const leaseHeldSQL = "name = $1 AND holder = $2 AND expires_at > $3 AND acquired_at = $4"

// fenceLost is the error of work refused by its fence.
func fenceLost(f jobs.Fence, what string) error {
	return shequ.Errorf(shequ.ECONFLICT, "lease %s is no longer %s's: %s", f.Lease, f.Holder, what)
}
