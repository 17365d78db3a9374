package sia_test

import (
	"testing"

	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) {
	// The PostgreSQL template the store tests' databases are copied from
	// serves them all; it goes at the end.
	defer sqlstoretest.RemoveTemplates()
	m.Run()
}
