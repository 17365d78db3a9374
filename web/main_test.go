package web

import (
	"testing"

	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) {
	// The demo store's templates and the browser serve every test; they
	// go at the end.
	defer sqlstoretest.RemoveTemplates()
	defer stopBrowser()
	m.Run()
}
