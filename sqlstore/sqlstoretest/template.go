package sqlstoretest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/sqlstore"
)

// A Template is a store filled once per test binary and dialect — by
// migrating it and running Build — and copied for every test that opens
// it: loading the demo community takes seconds, copying it a fraction of
// that. On SQLite the copy is of the database file; on PostgreSQL it is a
// database of its own made by CREATE DATABASE … TEMPLATE.
//
// The package's TestMain must call RemoveTemplates after the tests have
// run; what a crash leaves behind on the PostgreSQL server is dropped by a
// later run once it is a day old.
type Template struct {
	// Name tells apart the templates of one test binary in error messages.
	Name string
	// Clock is the clock of the store Build fills; nil means the system
	// clock. Give it the time the tests' own clocks start at, so what
	// Build stamps is what a test that built the store itself would see.
	Clock shequ.Clock
	// Build fills the migrated store; nil leaves it empty.
	Build func(ctx context.Context, st *sqlstore.Store) error

	mu     sync.Mutex
	byName map[string]*builtTemplate // by dialect
}

// builtTemplate is a template of one dialect, built on first use.
type builtTemplate struct {
	once sync.Once
	src  string // the SQLite file, or the PostgreSQL database's name
	err  error
}

// templatePrefix starts the names of the PostgreSQL databases that
// templates make: "<prefix><unix seconds>_<random>" for a template and its
// copies alike, so a leftover can be told by its age.
const templatePrefix = "shequ_t"

// leftoverAge is how old a test database must be before a run takes it for
// one a crashed run left behind. Runs are limited to 30 minutes in CI.
const leftoverAge = 24 * time.Hour

// cleanup collects what RemoveTemplates removes.
var cleanup struct {
	mu    sync.Mutex
	dirs  []string // SQLite templates' directories
	dbs   []string // PostgreSQL template databases
	swept bool     // leftovers were looked for
}

// Open returns a store of the dialect holding a copy of the template,
// closed and removed when the test ends.
func (tp *Template) Open(t testing.TB, dialect string, clock shequ.Clock) *sqlstore.Store {
	t.Helper()
	return OpenDSN(t, tp.DSN(t, dialect), clock)
}

// DSN returns a new database of the dialect holding a copy of the
// template, removed when the test ends.
func (tp *Template) DSN(t testing.TB, dialect string) string {
	t.Helper()
	var admin *sql.DB
	if dialect == sqlstore.Postgres {
		admin = postgresAdmin(t)
	}
	b := tp.built(dialect)
	b.once.Do(func() { b.src, b.err = tp.build(admin, dialect) })
	if b.err != nil {
		t.Fatalf("template %s on %s: %v", tp.Name, dialect, b.err)
	}
	switch dialect {
	case sqlstore.SQLite:
		dst := filepath.Join(t.TempDir(), "shequ.db")
		if err := copySQLite(b.src, dst); err != nil {
			t.Fatalf("copy template %s: %v", tp.Name, err)
		}
		return dst
	case sqlstore.Postgres:
		name := newDatabaseName()
		if _, err := admin.Exec("CREATE DATABASE " + name + " TEMPLATE " + b.src); err != nil {
			t.Fatalf("copy template %s: %v", tp.Name, err)
		}
		t.Cleanup(func() {
			// FORCE: a store the test forgot to close must not keep
			// the database.
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
				t.Logf("drop database %s: %v", name, err)
			}
		})
		return databaseURL(name)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

func (tp *Template) built(dialect string) *builtTemplate {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.byName == nil {
		tp.byName = map[string]*builtTemplate{}
	}
	b := tp.byName[dialect]
	if b == nil {
		b = &builtTemplate{}
		tp.byName[dialect] = b
	}
	return b
}

// build makes the template of dialect and returns where it is.
func (tp *Template) build(admin *sql.DB, dialect string) (string, error) {
	ctx := context.Background()
	var src, dsn string
	switch dialect {
	case sqlstore.SQLite:
		dir, err := os.MkdirTemp("", "shequ-template-")
		if err != nil {
			return "", err
		}
		cleanup.mu.Lock()
		cleanup.dirs = append(cleanup.dirs, dir)
		cleanup.mu.Unlock()
		src = filepath.Join(dir, "shequ.db")
		dsn = src
	case sqlstore.Postgres:
		sweepLeftovers(admin)
		src = newDatabaseName()
		if _, err := admin.Exec("CREATE DATABASE " + src); err != nil {
			return "", err
		}
		cleanup.mu.Lock()
		cleanup.dbs = append(cleanup.dbs, src)
		cleanup.mu.Unlock()
		dsn = databaseURL(src)
	default:
		return "", fmt.Errorf("unknown dialect %q", dialect)
	}
	clock := tp.Clock
	if clock == nil {
		clock = shequ.SystemClock{}
	}
	// Quiet: the migrations' log lines would land in whichever test
	// happened to build the template.
	quiet := slog.New(slog.DiscardHandler)
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Cipher: cipher(), Clock: clock, Logger: quiet})
	if err != nil {
		return "", err
	}
	if _, err := st.Migrate(ctx); err != nil {
		st.Close()
		return "", fmt.Errorf("migrate: %w", err)
	}
	if tp.Build != nil {
		if err := tp.Build(ctx, st); err != nil {
			st.Close()
			return "", fmt.Errorf("build: %w", err)
		}
	}
	// Closing checkpoints SQLite's write-ahead log into the file, and on
	// PostgreSQL leaves the template without the connections that would
	// keep CREATE DATABASE from copying it.
	if err := st.Close(); err != nil {
		return "", err
	}
	if dialect == sqlstore.Postgres {
		// Nothing may connect to the template from now on, or a copy
		// made meanwhile would fail.
		if _, err := admin.Exec("ALTER DATABASE " + src + " WITH ALLOW_CONNECTIONS false"); err != nil {
			return "", err
		}
	}
	return src, nil
}

// RemoveTemplates removes the templates this test binary made. Call it from
// TestMain after m.Run.
func RemoveTemplates() {
	cleanup.mu.Lock()
	defer cleanup.mu.Unlock()
	for _, dir := range cleanup.dirs {
		os.RemoveAll(dir)
	}
	cleanup.dirs = nil
	if len(cleanup.dbs) == 0 {
		return
	}
	// A template database was made, so the admin pool is open.
	for _, name := range cleanup.dbs {
		admin.db.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	}
	cleanup.dbs = nil
}

// sweepLeftovers drops the test databases that runs which crashed left on
// the server, once a day old.
func sweepLeftovers(admin *sql.DB) {
	cleanup.mu.Lock()
	defer cleanup.mu.Unlock()
	if cleanup.swept {
		return
	}
	cleanup.swept = true
	rows, err := admin.Query("SELECT datname FROM pg_database WHERE datname LIKE $1", templatePrefix+`\_%`)
	if err != nil {
		return
	}
	var old []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) != nil {
			continue
		}
		stamp, _, ok := strings.Cut(strings.TrimPrefix(name, templatePrefix+"_"), "_")
		sec, err := strconv.ParseInt(stamp, 10, 64)
		if ok && err == nil && time.Since(time.Unix(sec, 0)) > leftoverAge {
			old = append(old, name)
		}
	}
	rows.Close()
	for _, name := range old {
		admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	}
}

// newDatabaseName returns a fresh name for a test database, stamped with
// the time it is made.
func newDatabaseName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return templatePrefix + "_" + strconv.FormatInt(time.Now().Unix(), 10) + "_" + hex.EncodeToString(b)
}

// databaseURL returns the URL of the database name on the test server.
func databaseURL(name string) string {
	u, err := url.Parse(PostgresURL())
	if err != nil {
		// postgresAdmin has connected to it, so it parses.
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

// copySQLite copies the database file src, and its write-ahead log if
// there is one, to dst.
func copySQLite(src, dst string) error {
	for _, suffix := range []string{"", "-wal"} {
		if err := copyFile(src+suffix, dst+suffix); err != nil {
			if suffix != "" && os.IsNotExist(err) {
				continue
			}
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
