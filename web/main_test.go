package web

import (
	"testing"

	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

func TestMain(m *testing.M) {
	// The demo store's templates outlive every test; they go at the end.
	defer sqlstoretest.RemoveTemplates()
	m.Run()
}
