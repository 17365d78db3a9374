// Package sqlstoretest opens throw-away stores for tests: a temporary SQLite
// file always, and a fresh PostgreSQL database when a server is reachable
// (in CI, where CI=true, an unreachable server fails the test instead).
package sqlstoretest

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/pii"
	"github.com/shequ/shequ/sqlstore"
)

// PostgresURL is the server the PostgreSQL runs use; SHEQU_TEST_POSTGRES
// overrides it.
func PostgresURL() string {
	if u := os.Getenv("SHEQU_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Dialects returns the dialects to run a storage test on.
func Dialects() []string { return []string{sqlstore.SQLite, sqlstore.Postgres} }

// TestCipher is the key every test store uses.
func TestCipher(t testing.TB) *pii.Cipher { return cipher() }

func cipher() *pii.Cipher {
	c, err := pii.New(bytes.Repeat([]byte{42}, pii.KeySize))
	if err != nil {
		panic(err) // a constant key of the right size
	}
	return c
}

// Open returns a migrated, empty store of the dialect, closed and removed
// when the test ends. PostgreSQL runs get a database of their own.
func Open(t testing.TB, dialect string, clock shequ.Clock) *sqlstore.Store {
	t.Helper()
	return OpenDSN(t, DSN(t, dialect), clock)
}

// DSN returns a new database of the dialect for one test, removed when the
// test ends: an empty SQLite file, or on PostgreSQL a copy of a migrated,
// empty database — migrating takes seconds there, a copy a fraction of
// that, so the package's TestMain should call RemoveTemplates.
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case sqlstore.SQLite:
		return filepath.Join(t.TempDir(), "shequ.db")
	case sqlstore.Postgres:
		return migrated.DSN(t, dialect)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}

// migrated is the template of the PostgreSQL databases of DSN.
var migrated = &Template{Name: "migrated"}

// OpenDSN returns a migrated store on dsn, closed when the test ends; a
// second store on the same dsn is a second node of one deployment.
func OpenDSN(t testing.TB, dsn string, clock shequ.Clock) *sqlstore.Store {
	t.Helper()
	ctx := context.Background()
	dialect := sqlstore.SQLite
	if sqlstore.IsPostgres(dsn) {
		dialect = sqlstore.Postgres
	}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Cipher: TestCipher(t), Clock: clock})
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return st
}

// admin is the connection pool that creates and drops the tests' databases,
// shared by the tests of the binary.
var admin struct {
	once sync.Once
	db   *sql.DB
	err  error
}

// postgresAdmin returns the shared pool on the test server, skipping the
// test when the server does not answer — except in CI, where it must.
func postgresAdmin(t testing.TB) *sql.DB {
	t.Helper()
	base := PostgresURL()
	admin.once.Do(func() {
		admin.db, admin.err = sql.Open("pgx", base)
		if admin.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if admin.err = admin.db.PingContext(ctx); admin.err != nil {
			admin.db.Close()
		}
	})
	if admin.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is required in CI: %v", base, admin.err)
		}
		t.Skipf("PostgreSQL not reachable at %s (set SHEQU_TEST_POSTGRES): %v", base, admin.err)
	}
	return admin.db
}

// EmptyDSN returns a new database of the dialect with no tables at all,
// removed when the test ends: for a test of the migrations themselves,
// which DSN's migrated copies would skip on PostgreSQL.
func EmptyDSN(t testing.TB, dialect string) string {
	t.Helper()
	switch dialect {
	case sqlstore.SQLite:
		return filepath.Join(t.TempDir(), "shequ.db")
	case sqlstore.Postgres:
		admin := postgresAdmin(t)
		name := newDatabaseName()
		if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
			t.Fatalf("create database: %v", err)
		}
		t.Cleanup(func() {
			if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
				t.Logf("drop database %s: %v", name, err)
			}
		})
		return databaseURL(name)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return ""
}
