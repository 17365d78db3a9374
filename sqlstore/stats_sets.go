package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"

	"github.com/shequ/shequ/assoc"
)

// The rollup's residents served. case_people keeps one row per
// association, month and resident with how many services of the month
// name them (refs), so that a change knows whether the resident still
// counts; case_served keeps, per association and month, the same residents
// as one compact set, which is what the dashboard reads: a year is 12 rows
// per association instead of one per resident and month, and the distinct
// counts over months come from merging sorted sets (assoc.CountServed)
// instead of a map of every row.
//
// A set is written as text: the ids ascending, the first whole and each
// next one as its step from the one before, in decimal, comma separated
// ("12,1,3" is 12, 13 and 16). Both databases build exactly this text in
// SQL (servedSetSQL), which the migration uses for existing data and every
// case write for the months it touches; Go only reads it.

// servedSetSQL rebuilds case_served rows from case_people: the rows of
// the months cond keeps (a condition on case_people's columns).
func servedSetSQL(cond string) string {
	return `INSERT INTO case_served (community_id, association_id, month, people, ids)
		SELECT community_id, association_id, month, COUNT(*), string_agg(CAST(step AS TEXT), ',' ORDER BY person_id) FROM (
			SELECT community_id, association_id, month, person_id,
				person_id - COALESCE(LAG(person_id) OVER (PARTITION BY association_id, month ORDER BY person_id), 0) AS step
			FROM case_people WHERE ` + cond + `
		) x GROUP BY community_id, association_id, month
		ON CONFLICT (association_id, month) DO UPDATE SET people = excluded.people, ids = excluded.ids`
}

// parseServedSet appends the ids of a set's text to dst. Text that is not
// a set is an error, never a wrong count.
func parseServedSet(dst []int64, text []byte) ([]int64, error) {
	if len(text) == 0 {
		return dst, nil
	}
	var prev, n int64
	digits := 0
	for i := 0; i <= len(text); i++ {
		if i < len(text) && text[i] != ',' {
			c := text[i]
			if c < '0' || c > '9' || digits > 17 {
				return dst, fmt.Errorf("served set: bad text %.40q", text)
			}
			n = n*10 + int64(c-'0')
			digits++
			continue
		}
		// A step of 0 after the first id would repeat an id.
		if digits == 0 || (n == 0 && i > digits) {
			return dst, fmt.Errorf("served set: bad text %.40q", text)
		}
		prev += n
		dst = append(dst, prev)
		n, digits = 0, 0
	}
	return dst, nil
}

// formatServedSet writes ascending distinct ids as servedSetSQL does; the
// tests hold the two equal.
func formatServedSet(ids []int64) string {
	var b []byte
	var prev int64
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id-prev, 10)
		prev = id
	}
	return string(b)
}

// setsOf groups served rows into sets, one per association and month.
func setsOf(rows []assoc.Served) []assoc.ServedSet {
	slices.SortFunc(rows, func(x, y assoc.Served) int {
		return cmp.Or(cmp.Compare(x.AssociationID, y.AssociationID), cmp.Compare(x.Month, y.Month), cmp.Compare(x.PersonID, y.PersonID))
	})
	var out []assoc.ServedSet
	for i, x := range rows {
		if i == 0 || x.AssociationID != rows[i-1].AssociationID || x.Month != rows[i-1].Month {
			out = append(out, assoc.ServedSet{AssociationID: x.AssociationID, Month: x.Month})
		}
		s := &out[len(out)-1]
		if n := len(s.People); n == 0 || s.People[n-1] != x.PersonID {
			s.People = append(s.People, x.PersonID)
		}
	}
	return out
}

// rollupKey is one association's month.
type rollupKey struct {
	association int64
	month       string
}

// rollupChange keeps the statistics' rollup in step with a case write in
// tx: before is the case as it was (nil for a new case), after as it is
// now. Only what differs is written: the services of each kind and the
// residents of each month, and the sets of the months whose residents
// changed. The months are visited in one order (association, month) and
// each month's set row is locked before its residents are touched, so
// that two writes at once neither lose a change of the other nor wait on
// each other crosswise.
func rollupChange(ctx context.Context, tx *sql.Tx, before, after *assoc.Case) error {
	type service struct {
		rollupKey
		kind string
	}
	type person struct {
		rollupKey
		id int64
	}
	services := map[service]int{}
	people := map[person]int{}
	community := int64(0)
	for _, ch := range []struct {
		c    *assoc.Case
		sign int
	}{{before, -1}, {after, 1}} {
		if ch.c == nil {
			continue
		}
		community = ch.c.CommunityID
		k := rollupKey{ch.c.AssociationID, ch.c.Day[:7]}
		services[service{k, ch.c.Kind}] += ch.sign
		for _, p := range ch.c.People() {
			people[person{k, p}] += ch.sign
		}
	}
	months := map[rollupKey]bool{}
	for k, n := range services {
		if n != 0 {
			months[k.rollupKey] = true
		}
	}
	for k, n := range people {
		if n != 0 {
			months[k.rollupKey] = true
		}
	}
	keys := make([]rollupKey, 0, len(months))
	for k := range months {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y rollupKey) int {
		return cmp.Or(cmp.Compare(x.association, y.association), cmp.Compare(x.month, y.month))
	})
	for _, k := range keys {
		// The set row first: it is the month's lock.
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_served (community_id, association_id, month, people, ids) VALUES ($1, $2, $3, 0, '')
			ON CONFLICT (association_id, month) DO UPDATE SET people = case_served.people`, community, k.association, k.month); err != nil {
			return fmt.Errorf("rollup: %w", err)
		}
		for _, kind := range []string{assoc.KindGroup, assoc.KindIndividual} {
			n := services[service{k, kind}]
			if n == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO case_rollup (community_id, association_id, month, kind, services) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (association_id, month, kind) DO UPDATE SET services = case_rollup.services + excluded.services`,
				community, k.association, k.month, kind, n); err != nil {
				return fmt.Errorf("rollup: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM case_rollup WHERE association_id = $1 AND month = $2 AND kind = $3 AND services <= 0", k.association, k.month, kind); err != nil {
				return fmt.Errorf("rollup: %w", err)
			}
		}
		var ids []int64
		for p, n := range people {
			if p.rollupKey == k && n != 0 {
				ids = append(ids, p.id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO case_people (community_id, association_id, month, person_id, refs) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (association_id, month, person_id) DO UPDATE SET refs = case_people.refs + excluded.refs`,
				community, k.association, k.month, id, people[person{k, id}]); err != nil {
				return fmt.Errorf("rollup people: %w", err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM case_people WHERE association_id = $1 AND month = $2 AND person_id = $3 AND refs <= 0", k.association, k.month, id); err != nil {
				return fmt.Errorf("rollup people: %w", err)
			}
		}
		if len(ids) == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, servedSetSQL("association_id = $1 AND month = $2"), k.association, k.month); err != nil {
			return fmt.Errorf("rollup people: %w", err)
		}
	}
	// A month left with nobody keeps no set (its lock row included).
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, "DELETE FROM case_served WHERE association_id = $1 AND month = $2 AND NOT EXISTS (SELECT 1 FROM case_people WHERE association_id = $1 AND month = $2)",
			k.association, k.month); err != nil {
			return fmt.Errorf("rollup people: %w", err)
		}
	}
	return nil
}
