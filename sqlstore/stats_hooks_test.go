package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/shequ/shequ/assoc"
)

// BulkCases stores many finished cases of community c at once, for the
// statistics benchmark: multi-row inserts in one transaction with ids
// given, no audit, and the rollup built afterwards from the cases in a
// few statements, as incremental upkeep would have left it (the benchmark
// checks the two agree). Each case must be valid and belong to c, and
// cases of one kind share summary, place, topic, status and outcome.
func (s *Store) BulkCases(ctx context.Context, c int64, cs []assoc.Case) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var next int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM assoc_cases").Scan(&next); err != nil {
			return err
		}
		// Rows of a statement share what every case of the benchmark has
		// in common; binding parameters is most of the cost on SQLite.
		const batch = 100
		now := s.now()
		var attendees [][2]int64
		for start := 0; start < len(cs); {
			kind := cs[start].Kind
			var a args
			shared := []string{a.add(c), a.add(kind), a.add(cs[start].Summary), a.add(cs[start].Place), a.add(cs[start].Topic), a.add(cs[start].Status), a.add(cs[start].Outcome), a.add(now)}
			var rows []string
			for ; start < len(cs) && len(rows) < batch && cs[start].Kind == kind; start++ {
				x := cs[start]
				id := next + int64(start)
				rows = append(rows, "("+strings.Join([]string{a.add(id), shared[0], a.add(x.AssociationID), shared[1], a.add(nullID(x.PersonID)), shared[2], a.add(x.Day),
					shared[3], shared[4], a.add(x.Attendance), shared[5], shared[6], a.add(x.OpenedAt.UTC()), shared[7], shared[7]}, ", ")+")")
				for _, p := range x.Attendees {
					attendees = append(attendees, [2]int64{id, p})
				}
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO assoc_cases (id, community_id, association_id, kind, person_id, summary, day, place, topic, attendance, status, outcome, opened_at, created_at, updated_at) VALUES "+
				strings.Join(rows, ", "), a...); err != nil {
				return fmt.Errorf("bulk cases: %w", err)
			}
		}
		for start := 0; start < len(attendees); start += 500 {
			var a args
			var rows []string
			for _, x := range attendees[start:min(start+500, len(attendees))] {
				rows = append(rows, "("+a.add(x[0])+", "+a.add(x[1])+")")
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO case_attendees (case_id, person_id) VALUES "+strings.Join(rows, ", "), a...); err != nil {
				return fmt.Errorf("bulk attendees: %w", err)
			}
		}
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('assoc_cases', 'id'), (SELECT MAX(id) FROM assoc_cases))"); err != nil {
				return err
			}
		}
		for _, q := range []string{
			"DELETE FROM case_rollup WHERE community_id = $1",
			`INSERT INTO case_rollup (community_id, association_id, month, kind, services)
				SELECT community_id, association_id, SUBSTR(day, 1, 7), kind, COUNT(*) FROM assoc_cases WHERE community_id = $1
				GROUP BY community_id, association_id, SUBSTR(day, 1, 7), kind`,
			"DELETE FROM case_people WHERE community_id = $1",
			`INSERT INTO case_people (community_id, association_id, month, person_id, refs)
				SELECT community_id, association_id, month, person_id, COUNT(*) FROM (
					SELECT cs.community_id, cs.association_id, SUBSTR(cs.day, 1, 7) AS month, cs.person_id FROM assoc_cases cs WHERE cs.community_id = $1 AND cs.person_id IS NOT NULL
					UNION ALL
					SELECT cs.community_id, cs.association_id, SUBSTR(cs.day, 1, 7), ca.person_id FROM case_attendees ca JOIN assoc_cases cs ON cs.id = ca.case_id WHERE cs.community_id = $1
				) x GROUP BY community_id, association_id, month, person_id`,
			"DELETE FROM case_served WHERE community_id = $1",
			servedSetSQL("community_id = $1"),
		} {
			if _, err := tx.ExecContext(ctx, q, c); err != nil {
				return fmt.Errorf("bulk rollup: %w", err)
			}
		}
		return nil
	})
}

// FormatServedSet writes ids as case_served keeps them, for the tests to
// compare the rollup's text with a recount.
func FormatServedSet(ids []int64) string { return formatServedSet(ids) }

// ParseServedSet reads a set's text back.
func ParseServedSet(text string) ([]int64, error) { return parseServedSet(nil, []byte(text)) }
