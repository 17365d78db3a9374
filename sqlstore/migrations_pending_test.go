package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// MigrationsPending is what a server asks to decide whether a migration
// process of its own runs first (cmd/shequ): true on a new store and on
// one migrated part of the way, false once migrated.
func TestMigrationsPending(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			st, err := sqlstore.Open(ctx, sqlstoretest.EmptyDSN(t, d), sqlstore.Options{Cipher: sqlstoretest.TestCipher(t)})
			mustOK(t, err)
			t.Cleanup(func() { st.Close() })
			pending := func(want bool, when string) {
				t.Helper()
				got, err := st.MigrationsPending(ctx)
				if err != nil || got != want {
					t.Fatalf("%s: pending %v, %v; want %v", when, got, err, want)
				}
			}
			pending(true, "new store")
			if _, err := st.MigrateTo(ctx, 23); err != nil {
				t.Fatal(err)
			}
			pending(true, "migrated to 23")
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			pending(false, "migrated")
		})
	}
}
