// Package sqlstore keeps shequ's state in SQL: SQLite for one community on a
// small box, PostgreSQL for a city. All of the project's SQL lives here; the
// same queries serve both dialects and the migrations are kept per dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/pii"
)

//go:embed migrations
var migrations embed.FS

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is the SQL store. On SQLite it keeps one writer connection, since
// SQLite admits one writer at a time, and a pool of read-only connections.
type Store struct {
	dialect string
	write   *sql.DB
	read    *sql.DB
	cipher  *pii.Cipher
	clock   shequ.Clock
	log     *slog.Logger

	escalateAfter time.Duration
	acceptTimeout time.Duration
	enqueueHook   func(ctx context.Context, tx *sql.Tx, key string, p jobs.Payload, runAt time.Time) error
	// ckpt copies SQLite's write-ahead log into the database beside the
	// writer (see checkpoint.go); nil on PostgreSQL.
	ckpt *checkpointer
	// stmts holds the prepared statements of hot write paths (SQLite).
	stmts *stmtCache
	// reads runs the read pool's queries prepared (SQLite; nil on
	// PostgreSQL, whose driver caches statements itself).
	reads *preparedReads
	// panelDir remembers alarm panels between ingest batches.
	panelDir *panelDirectory
	// sensorDir remembers MQTT sensors between ingest batches.
	sensorDir *sensorDirectory
	// homes remembers, on SQLite, the homes ingest batches wrote.
	homes *homeCache
	// txn is set on the copy of the store that Atomic hands out: every
	// read and write of that copy goes through the one transaction.
	txn *sql.Tx
	// dsn is where the store is, for backups (backup.go).
	dsn string
	// liveHoles are the gaps among the newest live event ids (alarm_live.go).
	liveHoles *liveHoles
	// liveBus, when set, announces commits of live events (notify_pg.go).
	liveBus liveBus
	// writes counts the write transactions committed (WriteGeneration).
	writes *atomic.Uint64
	// stats keeps the associations' statistics (stats_cache.go).
	stats *statsCache
	// counters mirrors the change counters (countermirror.go): from
	// their notifications on PostgreSQL, from the file's data_version on
	// SQLite.
	counters *counterMirror
	// listener is the node's one listening connection (PostgreSQL):
	// the live streams and the counter mirror hear it.
	listener *pgListener
}

// Options configure Open.
type Options struct {
	Cipher *pii.Cipher
	Clock  shequ.Clock
	Logger *slog.Logger
	// EscalateAfter is how long a new incident waits for acknowledgement
	// before it escalates; zero means alarm.DefaultEscalateAfter.
	EscalateAfter time.Duration
	// AcceptTimeout is how long a dispatched staff member has to accept;
	// zero means alarm.DefaultAcceptTimeout.
	AcceptTimeout time.Duration
	// Enqueue, when set, queues the after-commit jobs instead of the
	// outbox, in the transaction of the change that causes them. It is
	// the seam another queue (River, in jobs/riverbench) is measured
	// through; nil uses the outbox.
	Enqueue func(ctx context.Context, tx *sql.Tx, key string, p jobs.Payload, runAt time.Time) error
}

// Open connects to dsn: a postgres:// URL or a path to an SQLite file
// (created if missing). It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	if o.Cipher == nil {
		return nil, errors.New("sqlstore: a pii cipher is required")
	}
	if o.Clock == nil {
		o.Clock = shequ.SystemClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.EscalateAfter <= 0 {
		o.EscalateAfter = alarm.DefaultEscalateAfter
	}
	if o.AcceptTimeout <= 0 {
		o.AcceptTimeout = alarm.DefaultAcceptTimeout
	}
	s := &Store{cipher: o.Cipher, clock: o.Clock, log: o.Logger, escalateAfter: o.EscalateAfter, acceptTimeout: o.AcceptTimeout, enqueueHook: o.Enqueue,
		stmts: newStmtCache(nil), panelDir: newPanelDirectory(), sensorDir: newSensorDirectory(), homes: newHomeCache(), dsn: dsn,
		liveHoles: &liveHoles{seen: map[int64]time.Time{}}, writes: new(atomic.Uint64), stats: &statsCache{}}
	var err error
	if IsPostgres(dsn) {
		s.dialect = Postgres
		s.write, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		s.write.SetMaxOpenConns(20)
		s.write.SetMaxIdleConns(20)
		s.write.SetConnMaxIdleTime(5 * time.Minute)
		s.read = s.write
		s.listener = newPGListener(dsn, s.log)
		s.counters = newCounterMirror(s.listener, s.writes, s.log)
	} else {
		s.dialect = SQLite
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
		pragmas := "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
		// temp_store: the statement journal of a multi-row write (alarm
		// ingest) stays in memory instead of spilling to a temporary file.
		s.write, err = sql.Open("sqlite", "file:"+dsn+"?"+pragmas+"&_pragma=temp_store(MEMORY)"+
			"&_pragma=wal_autocheckpoint("+strconv.Itoa(writerAutoCheckpoint)+")")
		if err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		s.write.SetMaxOpenConns(1)
		s.write.SetConnMaxIdleTime(0)
		s.stmts = newStmtCache(s.write)
		s.read, err = sql.Open("sqlite", "file:"+dsn+"?"+pragmas+"&_pragma=query_only(1)")
		if err != nil {
			s.write.Close()
			return nil, fmt.Errorf("open sqlite reader: %w", err)
		}
		n := max(4, runtime.GOMAXPROCS(0)*2)
		s.read.SetMaxOpenConns(n)
		s.read.SetMaxIdleConns(n)
		s.reads = newPreparedReads(s.read)
		ckpt, err := sql.Open("sqlite", "file:"+dsn+"?"+pragmas)
		if err != nil {
			s.write.Close()
			s.read.Close()
			return nil, fmt.Errorf("open sqlite checkpointer: %w", err)
		}
		ckpt.SetMaxOpenConns(1)
		ckpt.SetConnMaxIdleTime(0)
		s.ckpt = startCheckpointer(ckpt, dsn, s.log)
		// The version watch only asks PRAGMA data_version, which reads no
		// schema: without the pragmas above (journal_mode and
		// foreign_keys load the schema of the file, some 700 KiB for each
		// connection) it holds no copy of the schema. WAL is the file's
		// own mode, set by the writer; it needs no setting here.
		file, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("open sqlite version watch: %w", err)
		}
		file.SetMaxOpenConns(1)
		file.SetConnMaxIdleTime(0)
		s.counters = newCounterMirror(nil, s.writes, s.log)
		s.counters.file = file
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Dialect returns SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// DB returns the writer pool, for metrics.
func (s *Store) DB() *sql.DB { return s.write }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect, err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s reader: %w", s.dialect, err)
	}
	return nil
}

// Close closes the connections; on SQLite it checkpoints the WAL first so
// the database file is whole on its own.
func (s *Store) Close() error {
	var errs []error
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	if s.dialect == SQLite {
		if _, err := s.write.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("checkpoint on close", "err", err)
		}
	}
	if s.counters != nil {
		s.counters.close()
	}
	if s.listener != nil {
		s.listener.close()
	}
	s.stmts.close()
	s.reads.close()
	if s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// Migrate applies the embedded migrations of the store's dialect and returns
// the version reached.
func (s *Store) Migrate(ctx context.Context) (int64, error) {
	return s.MigrateTo(ctx, math.MaxInt64)
}

// MigrateTo applies the migrations up to version: tests of a migration
// make a store as it was before it, with data, and migrate from there.
func (s *Store) MigrateTo(ctx context.Context, version int64) (int64, error) {
	p, err := s.migrations()
	if err != nil {
		return 0, err
	}
	results, err := p.UpTo(ctx, version)
	if err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	for _, r := range results {
		s.log.Info("migration applied", "version", r.Source.Version, "took", r.Duration)
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return v, err
	}
	if s.dialect == Postgres && v >= partitionsVersion {
		// A database migrated long ago gets this month's and the next
		// months' partitions before the node serves (partitions.go).
		if _, err := s.EnsurePartitions(ctx, s.now()); err != nil {
			return v, err
		}
	}
	if v >= publicTextVersion {
		if n, err := s.scrubPublicTexts(ctx); err != nil {
			return v, err
		} else if n > 0 {
			s.log.Info("matters' public texts scrubbed", "matters", n)
		}
	}
	return v, nil
}

// MigrationsPending tells whether Migrate has anything to apply. It
// takes no lock: another node may be migrating at the same moment.
func (s *Store) MigrationsPending(ctx context.Context) (bool, error) {
	p, err := s.migrations()
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("pending migrations: %w", err)
	}
	return pending, nil
}

// MigrateDownTo undoes the migrations above version, newest first: the
// way back from a release, and how the tests check each Down.
func (s *Store) MigrateDownTo(ctx context.Context, version int64) (int64, error) {
	p, err := s.migrations()
	if err != nil {
		return 0, err
	}
	results, err := p.DownTo(ctx, version)
	if err != nil {
		return 0, fmt.Errorf("migrate down: %w", err)
	}
	for _, r := range results {
		s.log.Info("migration undone", "version", r.Source.Version, "took", r.Duration)
	}
	return p.GetDBVersion(ctx)
}

// migrations returns the goose provider of the store's dialect; on
// PostgreSQL it migrates under a session advisory lock.
func (s *Store) migrations() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+s.dialect)
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if s.dialect == Postgres {
		dialect = goose.DialectPostgres
		// Nodes rolling onto a new version start at once: one migrates,
		// the others wait on a session advisory lock, then find nothing
		// left to do (docs/deploy.md, "Rolling upgrades").
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(MigrationLockID), lock.WithLockTimeout(2, migrationLockTries))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, s.write, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// MigrationLockID is the PostgreSQL advisory lock (session level) a node
// holds while it migrates.
const MigrationLockID int64 = 0x73686571755f6d // "shequ_m"

// migrationLockTries is how many times, two seconds apart, a node asks
// for the migration lock before it gives up: half an hour, longer than
// the partitioning of a year of a city's events takes.
const migrationLockTries = 900

// partitionsVersion is the migration that partitions the high-volume
// tables on PostgreSQL.
const partitionsVersion = 31

func (s *Store) now() time.Time { return s.clock.Now().UTC() }

// reader returns where reads go: the read pool, or the transaction of an
// Atomic run so that it sees its own writes.
func (s *Store) reader() querier {
	if s.txn != nil {
		return s.txn
	}
	if s.reads != nil {
		return s.reads
	}
	return s.read
}

// Atomic runs fn with a store whose every call shares one transaction, so
// that a batch (the demo, an import) goes in whole or not at all.
func (s *Store) Atomic(ctx context.Context, fn func(*Store) error) error {
	if s.txn != nil {
		return fn(s)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		inner := *s
		inner.txn = tx
		return fn(&inner)
	})
}

// tx runs fn in a write transaction, committing when it returns nil. Inside
// Atomic it joins the running transaction instead.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.txn != nil {
		return fn(s.txn)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		s.txEnded(tx, false)
		return err
	}
	if f, ok := jobs.FenceFrom(ctx); ok {
		if err := s.checkFence(ctx, tx, f); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	err = tx.Commit()
	// Counted whatever the commit said: a failed commit may still have
	// changed something, and a needless count only costs a cache miss.
	s.writes.Add(1)
	if err != nil {
		s.txEnded(tx, false)
		return fmt.Errorf("commit: %w", mapError(err))
	}
	s.txEnded(tx, true)
	return nil
}

// WriteGeneration counts the write transactions this store committed. A
// cache of something read may be kept while it does not move: the web
// server's session cache uses it, so that signing out or a changed grant
// takes effect at once on this node.
func (s *Store) WriteGeneration() uint64 { return s.writes.Load() }

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// args collects query arguments and hands out their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// insert runs an INSERT … RETURNING id.
func insert(ctx context.Context, q querier, query string, a ...any) (int64, error) {
	var id int64
	if err := q.QueryRowContext(ctx, query+" RETURNING id", a...).Scan(&id); err != nil {
		return 0, mapError(err)
	}
	return id, nil
}

// mapError turns the drivers' constraint errors into shequ errors.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch le.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return alreadyExists(sqliteColumns(le.Error()))
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return shequ.Errorf(shequ.ECONFLICT, "this refers to something that does not exist, or is still referred to by other records")
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return alreadyExists(postgresColumns(pe.Detail))
		case "23503":
			return shequ.Errorf(shequ.ECONFLICT, "this refers to something that does not exist, or is still referred to by other records")
		}
	}
	return err
}

// alreadyExists says which of the input's fields clash with another
// record's, in the same words on both databases and without the table and
// constraint names the databases' own messages carry. The community is
// left out: every clash is within one.
func alreadyExists(columns []string) error {
	var fields []string
	for _, c := range columns {
		if c != "community_id" {
			fields = append(fields, c)
		}
	}
	if len(fields) == 0 {
		return shequ.Errorf(shequ.ECONFLICT, "this already exists")
	}
	return shequ.Errorf(shequ.ECONFLICT, "this already exists: another has the same %s", strings.Join(fields, ", "))
}

// sqliteColumns reads the columns out of "UNIQUE constraint failed:
// guides.community_id, guides.name".
func sqliteColumns(msg string) []string {
	i := strings.LastIndex(msg, "constraint failed: ")
	if i < 0 {
		return nil
	}
	rest := msg[i+len("constraint failed: "):]
	if j := strings.IndexAny(rest, "(\n"); j >= 0 {
		rest = rest[:j]
	}
	var out []string
	for _, c := range strings.Split(rest, ",") {
		c = strings.TrimSpace(c)
		if i := strings.LastIndexByte(c, '.'); i >= 0 {
			c = c[i+1:]
		}
		if c != "" && !strings.Contains(c, " ") {
			out = append(out, c)
		}
	}
	return out
}

// postgresColumns reads the columns out of a unique violation's detail,
// "Key (community_id, name)=(1, x) already exists."; expressions (an
// index on lower(name)) give their column.
func postgresColumns(detail string) []string {
	_, rest, ok := strings.Cut(detail, "Key (")
	if !ok {
		return nil
	}
	rest, _, _ = strings.Cut(rest, ")=(")
	var out []string
	for _, c := range strings.Split(rest, ",") {
		c = strings.TrimSpace(c)
		if i := strings.LastIndexByte(c, '('); i >= 0 {
			c = strings.TrimRight(c[i+1:], ")")
		}
		if c != "" && !strings.ContainsAny(c, " ()") {
			out = append(out, c)
		}
	}
	return out
}

func notFound(what string, id int64) error {
	return shequ.Errorf(shequ.ENOTFOUND, "%s %d not found", what, id)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

func timeOrZero(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// count runs a COUNT(*) query.
func count(ctx context.Context, q querier, query string, a ...any) (int, error) {
	var n int
	if err := q.QueryRowContext(ctx, query, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}

// limit appends LIMIT and OFFSET for p.
func limit(a *args, p shequ.Page) string {
	p = p.Normalize()
	return " LIMIT " + a.add(p.Limit) + " OFFSET " + a.add(p.Offset)
}
