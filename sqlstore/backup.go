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
