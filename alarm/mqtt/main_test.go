package mqtt

import (
	"os"
	"testing"

	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	// The PostgreSQL template the tests' databases are copied from
	// serves them all; it goes at the end.
	defer sqlstoretest.RemoveTemplates()
	m.Run()
}
