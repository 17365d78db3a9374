package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestMQTTClientIDIsTheDeployments: two nodes on one database get the
// first node's proposal, whatever the second proposes.
func TestMQTTClientIDIsTheDeployments(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			dsn := sqlstoretest.DSN(t, dialect)
			a, b := sqlstoretest.OpenDSN(t, dsn, nil), sqlstoretest.OpenDSN(t, dsn, nil)
			for _, step := range []struct {
				node     string
				proposed string
			}{{"a", "shequ-node-a"}, {"b", "shequ-node-b"}, {"a", "shequ-node-a2"}} {
				st := a
				if step.node == "b" {
					st = b
				}
				got, err := st.MQTTClientID(t.Context(), step.proposed)
				if err != nil {
					t.Fatal(err)
				}
				if got != "shequ-node-a" {
					t.Errorf("node %s proposing %s got %q, want shequ-node-a", step.node, step.proposed, got)
				}
			}
		})
	}
}
