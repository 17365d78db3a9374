package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/retention"
)

// retentionTarget is where a kind of data of package retention lives.
type retentionTarget struct {
	table string
	// key is the primary key column; "" for a table keyed otherwise
	// (device_uptime), whose rows past the period go in one statement.
	key string
	at  string // the column that dates a row
	// where narrows the rows the policy is about ("" for all).
	where string
	// holdOf is the column naming the entity a legal hold of the policy's
	// Hold kind keeps; "" when none applies.
	holdOf string
	// anonymise, when set, anonymises the rows of ids instead of
	// deleting them.
	anonymise func(ctx context.Context, s *Store, tx *sql.Tx, ids []int64) error
	// appendOnly tables refuse to delete rows (the audit log's trigger):
	// on PostgreSQL whole months past the period are dropped, on SQLite
	// nothing is removed.
	appendOnly bool
}

// retentionTargets maps each policy's kind to its table. A capability
// whose table has a period adds one line here (and its policy in package
// retention). On PostgreSQL the tables partitioned by month (partitions.go)
// lose whole months past the period by DROP; the rows of the month the
// cutoff falls in are deleted row by row, so the period holds to the row.
var retentionTargets = map[string]retentionTarget{
	"alarm_events":   {table: "alarm_events", key: "id", at: "received_at", holdOf: "incident_id"},
	"live_events":    {table: "live_events", key: "id", at: "at"},
	"access_log":     {table: "access_log", key: "id", at: "at"},
	"device_checks":  {table: "device_uptime", at: "hour"},
	"audit":          {table: "audit_log", key: "id", at: "at", appendOnly: true},
	"closed_matters": {table: "matters", key: "id", at: "updated_at", where: "status IN ('closed', 'rejected') AND anonymised_at IS NULL", holdOf: "id", anonymise: anonymiseMatters},
}

// retentionBatch is how many rows one transaction removes: the writer is
// shared with the alarm path, so it is held briefly.
const retentionBatch = 500

// RetentionSettings returns the periods the administrator chose, in days.
func (s *Store) RetentionSettings(ctx context.Context) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT kind, days FROM retention_settings`)
	if err != nil {
		return nil, fmt.Errorf("retention settings: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var d int
		if err := rows.Scan(&k, &d); err != nil {
			return nil, err
		}
		out[k] = d
	}
	return out, rows.Err()
}

// SetRetention sets the period of a kind, audited; only the deployment's
// administrator may (scope reaching every community).
func (s *Store) SetRetention(ctx context.Context, scope auth.Scope, kind string, days int) error {
	if !scope.All() {
		return shequ.Errorf(shequ.EFORBIDDEN, "only the deployment's administrator sets retention periods")
	}
	if err := retention.Validate(kind, days); err != nil {
		return err
	}
	by := "system"
	if a := auth.ActorFrom(ctx); a != nil {
		by = a.User.Username
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var before *int
		var d int
		if err := tx.QueryRowContext(ctx, `SELECT days FROM retention_settings WHERE kind = $1`, kind).Scan(&d); err == nil {
			before = &d
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO retention_settings (kind, days, updated_by, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (kind) DO UPDATE SET days = excluded.days, updated_by = excluded.updated_by, updated_at = excluded.updated_at`, kind, days, by, s.now())
		if err != nil {
			return fmt.Errorf("set retention: %w", err)
		}
		return s.record(ctx, tx, auditEntry(0, "retention.set", "retention", 0, map[string]any{"kind": kind, "days": before}, map[string]any{"kind": kind, "days": days}))
	})
}

// PlaceHold keeps an entity's data past its retention period until the
// hold is released: kind is "matter" (a matter in dispute), "incident",
// or another capability's ("footage").
func (s *Store) PlaceHold(ctx context.Context, kind string, entityID int64, reason string) (int64, error) {
	f := shequ.Problems{}
	f.RequireText("reason", reason, 500)
	if kind == "" || entityID <= 0 {
		f.Add("kind", "a hold names a kind and an entity")
	}
	if err := f.Err(); err != nil {
		return 0, err
	}
	by := "system"
	if a := auth.ActorFrom(ctx); a != nil {
		by = a.User.Username
	}
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insert(ctx, tx, `INSERT INTO legal_holds (kind, entity_id, reason, placed_by, placed_at) VALUES ($1, $2, $3, $4, $5)`, kind, entityID, reason, by, s.now())
		if err != nil {
			return err
		}
		return s.record(ctx, tx, auditEntry(0, "legal_hold.place", "legal_hold", id, nil, map[string]any{"kind": kind, "entity_id": entityID, "reason": reason}))
	})
	return id, err
}

// ReleaseHold ends a hold; the data then follows its period again.
func (s *Store) ReleaseHold(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE legal_holds SET released_at = $1 WHERE id = $2 AND released_at IS NULL`, s.now(), id)
		if err != nil {
			return err
		}
		if err := requireAffected(res, "legal hold", id); err != nil {
			return err
		}
		return s.record(ctx, tx, auditEntry(0, "legal_hold.release", "legal_hold", id, nil, nil))
	})
}

// Held reports whether an entity is under a legal hold: the hold check
// other capabilities (footage export) ask before they remove.
func (s *Store) Held(ctx context.Context, kind string, entityID int64) (bool, error) {
	var n int
	err := s.reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM legal_holds WHERE kind = $1 AND entity_id = $2 AND released_at IS NULL`, kind, entityID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("legal hold: %w", err)
	}
	return n > 0, nil
}

// ApplyRetention removes (or anonymises) the rows of a policy's kind older
// than cutoff and under no hold, in batches, and records each batch in the
// audit log: how many rows, the range of their ids, the cutoff.
func (s *Store) ApplyRetention(ctx context.Context, p retention.Policy, cutoff time.Time) (retention.Result, error) {
	res := retention.Result{Kind: p.Kind, Action: p.Action, Cutoff: cutoff}
	t, ok := retentionTargets[p.Kind]
	if !ok {
		res.Skipped = "no table for this kind in this deployment"
		return res, nil
	}
	cond := t.at + " < $1"
	if t.where != "" {
		cond += " AND " + t.where
	}
	held, args := "FALSE", []any{cutoff}
	if p.Hold != "" && t.holdOf != "" {
		args = append(args, p.Hold)
		held = t.holdOf + " IS NOT NULL AND EXISTS (SELECT 1 FROM legal_holds h WHERE h.kind = $2 AND h.entity_id = " + t.table + "." + t.holdOf + " AND h.released_at IS NULL)"
	}
	if t.appendOnly && s.dialect != Postgres {
		res.Skipped = "append-only; kept whole on SQLite"
		return res, nil
	}
	if s.dialect == Postgres && isPartitioned(t.table) {
		if err := s.dropPartitions(ctx, p, t, cutoff, &res); err != nil {
			return res, fmt.Errorf("retention %s: %w", p.Kind, err)
		}
	}
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t.table+` WHERE `+cond+` AND (`+held+`)`, args...).Scan(&res.Held); err != nil {
		return res, fmt.Errorf("retention %s: %w", p.Kind, err)
	}
	if t.appendOnly {
		// The rows of the month the cutoff falls in wait for the month
		// to pass whole: the log refuses row deletions.
		return res, nil
	}
	if t.key == "" {
		err := s.tx(ctx, func(tx *sql.Tx) error {
			r, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE `+cond+` AND NOT (`+held+`)`, args...)
			if err != nil {
				return err
			}
			n, err := r.RowsAffected()
			if err != nil || n == 0 {
				return err
			}
			res.Rows += int(n)
			return s.record(ctx, tx, auditEntry(0, "retention."+p.Action, p.Kind, 0, nil,
				map[string]any{"kind": p.Kind, "table": t.table, "rows": n, "cutoff": cutoff}))
		})
		if err != nil {
			return res, fmt.Errorf("retention %s: %w", p.Kind, err)
		}
		return res, nil
	}
	for {
		var n int
		err := s.tx(ctx, func(tx *sql.Tx) error {
			rows, err := tx.QueryContext(ctx, `SELECT `+t.key+` FROM `+t.table+` WHERE `+cond+` AND NOT (`+held+`) ORDER BY `+t.key+` LIMIT `+fmt.Sprint(retentionBatch), args...)
			if err != nil {
				return err
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil || len(ids) == 0 {
				return err
			}
			if t.anonymise != nil {
				if err := t.anonymise(ctx, s, tx, ids); err != nil {
					return err
				}
			} else {
				for _, chunk := range retChunks(ids, 200) {
					if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE `+t.key+` IN (`+retMarks(len(chunk))+`)`, retArgs(chunk)...); err != nil {
						return err
					}
				}
			}
			n = len(ids)
			return s.record(ctx, tx, auditEntry(0, "retention."+p.Action, p.Kind, 0, nil,
				map[string]any{"kind": p.Kind, "table": t.table, "rows": n, "first_id": ids[0], "last_id": ids[len(ids)-1], "cutoff": cutoff, "held": res.Held}))
		})
		if err != nil {
			return res, fmt.Errorf("retention %s: %w", p.Kind, err)
		}
		res.Rows += n
		if n < retentionBatch {
			return res, nil
		}
	}
}

// dropPartitions drops the monthly partitions of t's table that end at or
// before cutoff, each in its own transaction recorded in the audit log.
// Rows of such a month under a legal hold are kept: the partition is
// detached, its held rows go back into the table (into the default
// partition, there being no month for them any more), and the rest is
// dropped with it.
func (s *Store) dropPartitions(ctx context.Context, p retention.Policy, t retentionTarget, cutoff time.Time, res *retention.Result) error {
	parts, err := s.Partitions(ctx, t.table)
	if err != nil {
		return err
	}
	for _, part := range parts {
		if part.To.IsZero() || part.To.After(cutoff) {
			continue
		}
		var n, held int64
		err := s.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '"+partitionLockTimeout+"'"); err != nil {
				return err
			}
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+part.Name).Scan(&n); err != nil {
				return err
			}
			if p.Hold != "" && t.holdOf != "" {
				heldRows := `FROM ` + part.Name + ` WHERE ` + t.holdOf + ` IS NOT NULL AND EXISTS (SELECT 1 FROM legal_holds h
					WHERE h.kind = $1 AND h.entity_id = ` + part.Name + `.` + t.holdOf + ` AND h.released_at IS NULL)`
				if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) `+heldRows, p.Hold).Scan(&held); err != nil {
					return err
				}
				if held > 0 {
					if _, err := tx.ExecContext(ctx, `ALTER TABLE `+t.table+` DETACH PARTITION `+part.Name); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctx, `INSERT INTO `+t.table+` SELECT * `+heldRows, p.Hold); err != nil {
						return err
					}
				}
			}
			if _, err := tx.ExecContext(ctx, `DROP TABLE `+part.Name); err != nil {
				return err
			}
			return s.record(ctx, tx, auditEntry(0, "retention.drop", p.Kind, 0, nil,
				map[string]any{"kind": p.Kind, "table": t.table, "partition": part.Name, "rows": n - held, "kept_held": held, "cutoff": cutoff}))
		})
		if err != nil {
			return fmt.Errorf("drop %s: %w", part.Name, err)
		}
		res.Rows += int(n - held)
	}
	return nil
}

// isPartitioned tells whether table is partitioned by month on PostgreSQL.
func isPartitioned(table string) bool {
	for _, p := range partitioned {
		if p.table == table {
			return true
		}
	}
	return false
}

// anonymiseMatters clears what a closed matter says about the person who
// raised it — the text, the place's address and position, the contact,
// its search entry — and keeps what statistics count: community,
// category, status, times, the home's grid. The search entry goes whole:
// it held the text and address, and its household target would let the
// household find a matter no longer theirs; staff find an anonymised
// matter by its tracking number in the matters list.
func anonymiseMatters(ctx context.Context, s *Store, tx *sql.Tx, ids []int64) error {
	now := s.now()
	for _, chunk := range retChunks(ids, 200) {
		in := retMarks(len(chunk))
		a := retArgs(chunk)
		stmts := []string{
			`UPDATE matter_log SET note = '' WHERE matter_id IN (` + in + `)`,
			`UPDATE open311_requests SET contact = '', media_url = '' WHERE matter_id IN (` + in + `)`,
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q, a...); err != nil {
				return fmt.Errorf("anonymise matters: %w", err)
			}
		}
		args := append([]any{now}, a...)
		if _, err := tx.ExecContext(ctx, `UPDATE matters SET description = '', address = '', lat = 0, lng = 0, attributes = '{}', status_note = '',
			public_description = '', public_note = '', public_address = '', rating_comment = '', person_id = NULL, household_id = NULL, anonymised_at = $1 WHERE id IN (`+retMarksFrom(2, len(chunk))+`)`, args...); err != nil {
			return fmt.Errorf("anonymise matters: %w", err)
		}
		if err := s.unindexDocs(ctx, tx, matterDocs, chunk); err != nil {
			return fmt.Errorf("anonymise matters: %w", err)
		}
		for _, id := range chunk {
			if err := s.deleteMedia(ctx, tx, "matter", id, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

func retChunks(ids []int64, n int) [][]int64 {
	var out [][]int64
	for len(ids) > n {
		out = append(out, ids[:n])
		ids = ids[n:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}

func retMarks(n int) string { return retMarksFrom(1, n) }

func retMarksFrom(first, n int) string {
	b := make([]byte, 0, n*4)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, fmt.Sprintf("$%d", first+i)...)
	}
	return string(b)
}

func retArgs(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// auditEntry is an audit entry of a change the store makes on its own
// account (retention) or for the actor in ctx.
func auditEntry(community int64, action, entity string, id int64, before, after any) audit.Entry {
	return audit.Entry{CommunityID: community, Action: action, Entity: entity, EntityID: id, Before: snapshot(before), After: snapshot(after)}
}
