package sqlstore_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// column is what the migrations of both dialects must agree on.
type column struct {
	table, name string
	notNull     bool
}

func (c column) String() string {
	null := "NULL"
	if c.notNull {
		null = "NOT NULL"
	}
	return fmt.Sprintf("%s.%s %s", c.table, c.name, null)
}

// dialectOnly are the tables ("table") and columns ("table.column") one
// dialect has and the other has not, on purpose: goose's own table, and
// how each does full-text search — SQLite an FTS5 table (with its shadow
// tables) beside search_docs, PostgreSQL a tsvector column in it.
var dialectOnly = map[string]map[string]bool{
	sqlstore.SQLite: {
		"goose_db_version": true,
		"search_fts":       true, "search_fts_config": true, "search_fts_content": true,
		"search_fts_data": true, "search_fts_docsize": true, "search_fts_idx": true,
	},
	sqlstore.Postgres: {
		"goose_db_version": true,
		"search_docs.tsv":  true,
	},
}

// TestMigrationsAgree: the SQLite and the PostgreSQL migrations give the
// same tables with the same columns, NULL or NOT NULL alike. The queries
// are shared, so a column one dialect lacks is a query failing there.
func TestMigrationsAgree(t *testing.T) {
	got := map[string]map[column]bool{}
	for _, d := range sqlstoretest.Dialects() {
		st := sqlstoretest.Open(t, d, nil)
		got[d] = schemaColumns(t, st, d)
	}
	lite, pg := got[sqlstore.SQLite], got[sqlstore.Postgres]
	for _, c := range slices.SortedFunc(maps.Keys(lite), byName) {
		if !pg[c] {
			t.Errorf("SQLite has %s, PostgreSQL not", c)
		}
	}
	for _, c := range slices.SortedFunc(maps.Keys(pg), byName) {
		if !lite[c] {
			t.Errorf("PostgreSQL has %s, SQLite not", c)
		}
	}
	if len(lite) < 100 {
		t.Errorf("only %d columns in the SQLite schema", len(lite))
	}
}

func byName(a, b column) int {
	if a.table != b.table {
		if a.table < b.table {
			return -1
		}
		return 1
	}
	if a.name < b.name {
		return -1
	}
	if a.name > b.name {
		return 1
	}
	return 0
}

// schemaColumns reads the columns of the store's tables from the catalog.
func schemaColumns(t *testing.T, st *sqlstore.Store, dialect string) map[column]bool {
	t.Helper()
	q := `SELECT m.name, p.name, p."notnull" <> 0 OR p.pk > 0
		FROM sqlite_master m, pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'`
	if dialect == sqlstore.Postgres {
		// The partitions of a partitioned table are its rows' storage,
		// not tables of their own.
		q = `SELECT table_name, column_name, is_nullable = 'NO'
			FROM information_schema.columns
			WHERE table_schema = current_schema()
			AND table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition)`
	}
	rows, err := st.DB().QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%s catalog: %v", dialect, err)
	}
	defer rows.Close()
	out := map[column]bool{}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name, &c.notNull); err != nil {
			t.Fatal(err)
		}
		if !dialectOnly[dialect][c.table] && !dialectOnly[dialect][c.table+"."+c.name] {
			out[c] = true
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
