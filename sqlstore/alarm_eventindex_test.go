package sqlstore

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shequ/shequ/pii"
)

// TestIncidentEventsGoByTheHomeIndex checks that SQLite finds an
// incident's events through the index by home (migration 00049 dropped
// the one by incident) and never reads the whole event log for them: the
// timeline, the events list by incident, the notice's first intrusion and
// the incidents of no home of a panel's backup path.
func TestIncidentEventsGoByTheHomeIndex(t *testing.T) {
	cipher, err := pii.New(bytes.Repeat([]byte{7}, pii.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), Options{Cipher: cipher})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT e.id FROM alarm_events e LEFT JOIN alarm_sensors sn ON sn.id = e.sensor_id WHERE " + eventsOfIncident("$1") + " ORDER BY e.id",
		"SELECT e.kind FROM alarm_events e WHERE " + eventsOfIncident("$1") + " AND NOT e.restore AND e.kind IN ('burglary', 'perimeter') ORDER BY e.id LIMIT 1",
		"SELECT i.id FROM incidents i WHERE i.community_id = $2 AND i.home_id IS NULL AND i.status <> 'resolved' " +
			"AND EXISTS (SELECT 1 FROM alarm_events e WHERE e.home_id IS NULL AND e.account = $3 AND e.incident_id = i.id) LIMIT 1",
	} {
		rows, err := s.DB().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, 1, 1, "A001")
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, "INDEX alarm_events_origin (home_id=?") || strings.Contains(all, "SCAN e") {
			t.Errorf("%s\nplan: %s", q, all)
		}
	}
}
