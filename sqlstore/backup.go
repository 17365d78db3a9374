package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/backup"
)

// SchemaVersion returns the highest migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	return v, nil
}

// Snapshot writes a consistent copy of the whole database to path while
// the server keeps writing, and returns the copy's kind: on SQLite
// "sqlite", made with VACUUM INTO on a connection of its own (it reads
// in one transaction, so the copy is the database as of one commit, and
// holds no lock the writer waits for); on PostgreSQL "pgdump", pg_dump's
// custom format (one repeatable-read snapshot).
func (s *Store) Snapshot(ctx context.Context, path string) (string, error) {
	if s.dialect == Postgres {
		return "pgdump", pgDump(ctx, s.dsn, path)
	}
	os.Remove(path) // VACUUM INTO refuses an existing file
	db, err := sql.Open("sqlite", "file:"+s.dsn+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return "", fmt.Errorf("snapshot: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return "", fmt.Errorf("snapshot: vacuum into: %w", err)
	}
	return "sqlite", nil
}

// MediaHashes returns the SHA-256 of every media file a row names.
func (s *Store) MediaHashes(ctx context.Context) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT DISTINCT sha256 FROM media WHERE sha256 <> '' ORDER BY sha256`)
	if err != nil {
		return nil, fmt.Errorf("media hashes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			return nil, err
		}
		out = append(out, sha)
	}
	return out, rows.Err()
}

// LoadBackup puts a database copy made by Snapshot in place of the
// database at dsn: on SQLite the file becomes dsn (with no WAL or shared
// memory file beside it); on PostgreSQL pg_restore loads it, replacing
// the objects it holds, in one transaction.
func LoadBackup(ctx context.Context, dsn, dialect, file string) error {
	switch {
	case dialect == SQLite && !IsPostgres(dsn):
		if err := os.MkdirAll(filepath.Dir(dsn), 0o750); err != nil {
			return err
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			if err := os.Remove(dsn + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		if err := os.Rename(file, dsn); err != nil {
			return fmt.Errorf("load backup: %w", err)
		}
		return nil
	case dialect == Postgres && IsPostgres(dsn):
		cmd := exec.CommandContext(ctx, "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
			"--single-transaction", "--exit-on-error", "--dbname="+libpqURL(dsn), file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("pg_restore: %w: %s", err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	return fmt.Errorf("load backup: a %s backup cannot be loaded into %s; give --db for a PostgreSQL backup, none for SQLite", dialect, dialectOf(dsn))
}

func dialectOf(dsn string) string {
	if IsPostgres(dsn) {
		return Postgres
	}
	return SQLite
}

func pgDump(ctx context.Context, dsn, path string) error {
	cmd := exec.CommandContext(ctx, "pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file="+path, "--dbname="+libpqURL(dsn))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("pg_dump: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// libpqURL drops the parameters of the URL that pgx understands and libpq
// (pg_dump, pg_restore) does not.
func libpqURL(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") || k == "default_query_exec_mode" || k == "statement_cache_capacity" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// StartBackupRun records that a backup began.
func (s *Store) StartBackupRun(ctx context.Context, target, node string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		id, err = insert(ctx, tx, `INSERT INTO backup_runs (started_at, target, node) VALUES ($1, $2, $3)`, s.now(), target, node)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("record backup: %w", err)
	}
	return id, nil
}

// FinishBackupRun records how a backup ended.
func (s *Store) FinishBackupRun(ctx context.Context, id int64, m backup.Manifest, name string, runErr error) error {
	errText := ""
	if runErr != nil {
		errText = runErr.Error()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE backup_runs SET finished_at = $1, ok = $2, name = $3, parts = $4, bytes = $5, error = $6 WHERE id = $7`,
			s.now(), runErr == nil, name, len(m.Parts), m.Bytes(), errText, id)
		if err != nil {
			return fmt.Errorf("record backup: %w", err)
		}
		return nil
	})
}

const backupRunColumns = "id, started_at, finished_at, ok, name, target, parts, bytes, error, node"

func scanBackupRun(sc scanner) (backup.Record, error) {
	var r backup.Record
	var fin sql.NullTime
	err := sc.Scan(&r.ID, &r.StartedAt, &fin, &r.OK, &r.Name, &r.Target, &r.Parts, &r.Bytes, &r.Error, &r.Node)
	r.StartedAt = r.StartedAt.UTC()
	r.FinishedAt = timePtr(fin)
	return r, err
}

// LastBackupRun returns the latest backup run, nil when none was taken.
func (s *Store) LastBackupRun(ctx context.Context) (*backup.Record, error) {
	r, err := scanBackupRun(s.read.QueryRowContext(ctx, `SELECT `+backupRunColumns+` FROM backup_runs ORDER BY started_at DESC, id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("last backup: %w", err)
	}
	return &r, nil
}

// BackupRuns returns the latest backup runs, newest first, and the last
// one that succeeded.
func (s *Store) BackupRuns(ctx context.Context, n int) ([]backup.Record, *backup.Record, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+backupRunColumns+` FROM backup_runs ORDER BY started_at DESC, id DESC LIMIT $1`, n)
	if err != nil {
		return nil, nil, fmt.Errorf("backup runs: %w", err)
	}
	defer rows.Close()
	var out []backup.Record
	for rows.Next() {
		r, err := scanBackupRun(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	ok, err := scanBackupRun(s.read.QueryRowContext(ctx, `SELECT `+backupRunColumns+` FROM backup_runs WHERE ok ORDER BY started_at DESC, id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("last good backup: %w", err)
	}
	return out, &ok, nil
}

// RaiseSystemTrouble opens a trouble incident on the console of every
// community for a fault of the box itself (a failed backup, a full
// disk), recorded as a system event of account; while such an incident
// is open another is not opened, the event joins it.
func (s *Store) RaiseSystemTrouble(ctx context.Context, account, text string) error {
	now := s.now()
	return s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM communities ORDER BY id`)
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
		for _, c := range ids {
			var open int64
			err := tx.QueryRowContext(ctx, `SELECT i.id FROM incidents i WHERE i.community_id = $1 AND i.home_id IS NULL AND i.status <> 'resolved'
				AND EXISTS (SELECT 1 FROM alarm_events e WHERE e.home_id IS NULL AND e.account = $2 AND e.incident_id = i.id) LIMIT 1`, c, account).Scan(&open)
			if err == nil {
				r := alarm.Report{Source: alarm.SourceSystem, Account: account, Kind: alarm.KindTrouble, Text: text, ReceivedAt: now}
				if _, err := s.insertEvent(ctx, tx, r, alarm.Origin{CommunityID: c}, open); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE incidents SET event_count = event_count + 1, last_event_at = $1 WHERE id = $2`, now, open); err != nil {
					return err
				}
				if err := s.logIncident(ctx, tx, open, now, "event", 0, text); err != nil {
					return err
				}
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			r := alarm.Report{Source: alarm.SourceSystem, Account: account, Code: "YP", Kind: alarm.KindTrouble, Text: text, ReceivedAt: now}
			if _, err := s.process(ctx, tx, nil, 0, r, alarm.Origin{CommunityID: c}); err != nil {
				return fmt.Errorf("raise trouble: %w", err)
			}
		}
		return nil
	})
}
