package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
)

// The outbox serves every community of the deployment and its jobs carry
// phone numbers, so only a scope that reaches all of them may see it.
func wholeDeployment(scope auth.Scope) error {
	if !scope.All() {
		return shequ.Errorf(shequ.EFORBIDDEN, "the job queue serves the whole deployment")
	}
	return nil
}

const jobColumns = "id, idempotency_key, kind, status, attempts, run_at, locked_until, last_error, created_at"

// stuckJob is the condition of jobs.Stuck.
func stuckJob(a *args, now time.Time) string {
	return "((status = 'running' AND locked_until < " + a.add(now) + ") OR (status = 'pending' AND (attempts >= " +
		a.add(jobs.StuckAttempts) + " OR run_at < " + a.add(now.Add(-jobs.StuckOverdue)) + ")))"
}

// ListJobs lists stuck and failed jobs, newest first.
func (s *Store) ListJobs(ctx context.Context, scope auth.Scope, f jobs.Filter) (shequ.List[jobs.Info], error) {
	out := shequ.List[jobs.Info]{Items: []jobs.Info{}}
	if err := wholeDeployment(scope); err != nil {
		return out, err
	}
	if err := f.Validate(); err != nil {
		return out, err
	}
	now := s.now()
	var a args
	var where string
	switch f.State {
	case jobs.Stuck:
		where = stuckJob(&a, now)
	case jobs.Failed:
		where = "status = 'failed'"
	default:
		where = "(status = 'failed' OR " + stuckJob(&a, now) + ")"
	}
	if f.Kind != "" {
		where += " AND kind = " + a.add(f.Kind)
	}
	q := s.reader()
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM outbox WHERE "+where, a...).Scan(&out.Total); err != nil {
		return out, fmt.Errorf("count jobs: %w", err)
	}
	limit := f.Limit
	if limit <= 0 || limit > shequ.MaxLimit {
		limit = shequ.DefaultLimit
	}
	rows, err := q.QueryContext(ctx, "SELECT "+jobColumns+" FROM outbox WHERE "+where+
		" ORDER BY id DESC LIMIT "+a.add(limit)+" OFFSET "+a.add(max(f.Offset, 0)), a...)
	if err != nil {
		return out, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return out, err
		}
		j.Stuck = isStuck(j, now)
		out.Items = append(out.Items, j)
	}
	return out, rows.Err()
}

// isStuck is stuckJob for one job in hand.
func isStuck(j jobs.Info, now time.Time) bool {
	switch j.Status {
	case "running":
		return j.LockedUntil != nil && j.LockedUntil.Before(now)
	case "pending":
		return j.Attempts >= jobs.StuckAttempts || j.RunAt.Before(now.Add(-jobs.StuckOverdue))
	}
	return false
}

func scanJob(row interface{ Scan(...any) error }) (jobs.Info, error) {
	var j jobs.Info
	var locked sql.NullTime
	if err := row.Scan(&j.ID, &j.Key, &j.Kind, &j.Status, &j.Attempts, &j.RunAt, &locked, &j.LastError, &j.CreatedAt); err != nil {
		return j, fmt.Errorf("scan job: %w", err)
	}
	if locked.Valid {
		t := locked.Time
		j.LockedUntil = &t
	}
	return j, nil
}

// RetryJobNow puts a failed or stuck job back in the queue, due now and
// with its attempts counted afresh; it is audited. A job that is done, or
// running within its lease, is left alone (ECONFLICT): retrying it could
// send an SMS twice.
func (s *Store) RetryJobNow(ctx context.Context, scope auth.Scope, id int64) (jobs.Info, error) {
	var j jobs.Info
	if err := wholeDeployment(scope); err != nil {
		return j, err
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		j, err = scanJob(tx.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM outbox WHERE id = $1", id))
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return shequ.Errorf(shequ.ENOTFOUND, "no job %d", id)
			}
			return err
		}
		now := s.now()
		switch {
		case j.Status == "done":
			return shequ.Errorf(shequ.ECONFLICT, "job %d is done", id)
		case j.Status == "running" && j.LockedUntil != nil && !j.LockedUntil.Before(now):
			return shequ.Errorf(shequ.ECONFLICT, "job %d is running until %s", id, j.LockedUntil.Format(time.RFC3339))
		}
		before := map[string]any{"key": j.Key, "kind": j.Kind, "status": j.Status, "attempts": j.Attempts, "last_error": j.LastError}
		if _, err := tx.ExecContext(ctx, "UPDATE outbox SET status = 'pending', run_at = $1, locked_until = NULL, attempts = 0 WHERE id = $2", now, id); err != nil {
			return fmt.Errorf("retry job %d: %w", id, err)
		}
		if j.Kind == (jobs.SMS{}).Kind() {
			if err := s.requeueNotification(ctx, tx, j.Key); err != nil {
				return err
			}
		}
		j.Status, j.RunAt, j.LockedUntil, j.Attempts, j.Stuck = "pending", now, nil, 0, false
		return s.change(ctx, tx, 0, "retry", "job", id, before, map[string]any{"key": j.Key, "status": j.Status})
	})
	return j, err
}
