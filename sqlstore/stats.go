package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
)

// The associations' statistics. The dashboard's figures come from the
// rollup kept with every case write: services per association, month and
// kind (case_rollup) and the set of residents served per association and
// month (case_served, see stats_sets.go). A period that starts or ends inside a month takes those
// edge days from the cases themselves. AssociationStatsRaw computes the
// same figures from the cases alone; the tests hold the two equal and the
// benchmark compares their cost.

// AssociationStats returns the associations' figures over a period from
// the rollup: administrators get every association of their community,
// members and chairs their own associations; the total is over the
// associations shown.
func (s *Store) AssociationStats(ctx context.Context, acc assoc.Access, f assoc.StatsFilter) (assoc.ServiceStats, error) {
	return s.serviceStats(ctx, acc, f, true)
}

// AssociationStatsRaw returns the same figures as AssociationStats,
// computed from the cases and attendees without the rollup.
func (s *Store) AssociationStatsRaw(ctx context.Context, acc assoc.Access, f assoc.StatsFilter) (assoc.ServiceStats, error) {
	return s.serviceStats(ctx, acc, f, false)
}

func (s *Store) serviceStats(ctx context.Context, acc assoc.Access, f assoc.StatsFilter, fromRollup bool) (assoc.ServiceStats, error) {
	q := s.reader()
	c, err := oneCommunity(acc, f.CommunityID)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	if !acc.IsAdmin(c) && !acc.MemberIn(c) {
		return assoc.ServiceStats{}, shequ.Errorf(shequ.EFORBIDDEN, "you do not work for the associations of community %d", c)
	}
	loc, err := s.location(ctx, q, c)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	p, err := assoc.ParsePeriod(f.From, f.To, s.now().In(loc))
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	rows, err := statsRows(ctx, q, acc, c, f.AssociationID)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	ids := make([]int64, len(rows))
	for i, r := range rows {
		ids[i] = r.AssociationID
	}
	var counts []assoc.ServiceCount
	var served []assoc.PeopleCount
	if len(ids) > 0 {
		// The rollup answers the whole months: services per kind, and a set
		// of the residents served per association and month, merged into
		// the distinct counts. The days at either end that do not make a
		// whole month come from the cases, made into sets the same way.
		// Without the rollup every figure comes from the cases, and the
		// residents are counted one row at a time (DistinctPeople): a
		// second way of counting for the tests to hold the first to.
		parts := []assoc.Period{p}
		var sets []assoc.ServedSet
		if fromRollup {
			var first, last string
			first, last, parts = p.Split()
			if first != "" {
				if counts, err = rollupCounts(ctx, q, c, ids, first, last); err != nil {
					return assoc.ServiceStats{}, err
				}
				if sets, err = servedSets(ctx, q, c, ids, first, last); err != nil {
					return assoc.ServiceStats{}, err
				}
			}
		}
		var src args
		var sources []string
		for _, part := range parts {
			more, err := rawCounts(ctx, q, c, ids, part)
			if err != nil {
				return assoc.ServiceStats{}, err
			}
			counts = append(counts, more...)
			sources = append(sources,
				"SELECT cs.association_id AS association_id, SUBSTR(cs.day, 1, 7) AS month, cs.person_id AS person_id FROM assoc_cases cs WHERE cs.person_id IS NOT NULL AND "+casesIn(&src, c, ids, part),
				"SELECT cs.association_id, SUBSTR(cs.day, 1, 7), ca.person_id FROM case_attendees ca JOIN assoc_cases cs ON cs.id = ca.case_id WHERE "+casesIn(&src, c, ids, part))
		}
		var people []assoc.Served
		if len(sources) > 0 {
			if people, err = servedRows(ctx, q, strings.Join(sources, " UNION ALL "), src); err != nil {
				return assoc.ServiceStats{}, err
			}
		}
		if fromRollup {
			served = assoc.CountServed(append(sets, setsOf(people)...))
		} else {
			served = assoc.DistinctPeople(people)
		}
	}
	from, to := p.Bounds(loc)
	placements, err := placedRows(ctx, q, c, from, to, nil)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	var placedIn []assoc.Served
	for _, x := range placements {
		if slices.Contains(ids, x.associationID) {
			placedIn = append(placedIn, assoc.Served{AssociationID: x.associationID, Month: x.at.In(loc).Format("2006-01"), PersonID: x.personID})
		}
	}
	placed := assoc.DistinctPeople(placedIn)
	out := assoc.Tally(p, rows, counts, served, placed)
	out.CommunityID = c
	// Mediations and eligibility are few rows read straight, the same way
	// for both sources.
	med, err := s.MediationStats(ctx, acc, c, from, to)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	out.AddMediations(med)
	policies, err := s.EligibleUncovered(ctx, acc, c)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	out.AddEligible(policies)
	return out, nil
}

// oneCommunity is the community asked for, or the one acc touches.
func oneCommunity(acc assoc.Access, asked int64) (int64, error) {
	if asked != 0 {
		if !acc.IsAdmin(asked) && !slices.Contains(acc.Communities(), asked) {
			return 0, notFound("community", asked)
		}
		return asked, nil
	}
	cs := acc.Communities()
	if len(cs) != 1 {
		return 0, shequ.Invalid(map[string]string{"community": "say which community"})
	}
	return cs[0], nil
}

// statsRows lists the associations of community c whose figures acc may
// see (one, when asked): all for an administrator, their own for members.
func statsRows(ctx context.Context, q querier, acc assoc.Access, c, asked int64) ([]assoc.AssociationStats, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, key, name, name_en FROM associations WHERE community_id = $1 ORDER BY id", c)
	if err != nil {
		return nil, fmt.Errorf("associations: %w", err)
	}
	defer rows.Close()
	out := []assoc.AssociationStats{}
	for rows.Next() {
		var r assoc.AssociationStats
		if err := rows.Scan(&r.AssociationID, &r.Key, &r.Name, &r.NameEn); err != nil {
			return nil, err
		}
		if (asked == 0 || asked == r.AssociationID) && acc.ActsFor(c, r.AssociationID) {
			out = append(out, r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if asked != 0 && len(out) == 0 {
		return nil, notFound("association", asked)
	}
	return out, nil
}

// scanCounts reads association, month, kind, count rows.
func scanCounts(ctx context.Context, q querier, query string, a args) ([]assoc.ServiceCount, error) {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("service counts: %w", err)
	}
	defer rows.Close()
	var out []assoc.ServiceCount
	for rows.Next() {
		var x assoc.ServiceCount
		if err := rows.Scan(&x.AssociationID, &x.Month, &x.Kind, &x.Services); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

func rollupCounts(ctx context.Context, q querier, c int64, ids []int64, first, last string) ([]assoc.ServiceCount, error) {
	var a args
	query := "SELECT association_id, month, kind, services FROM case_rollup WHERE community_id = " + a.add(c) +
		" AND month >= " + a.add(first) + " AND month <= " + a.add(last) + " AND association_id IN " + inList(&a, ids)
	return scanCounts(ctx, q, query, a)
}

// servedRows reads the association, month and person rows of source.
func servedRows(ctx context.Context, q querier, source string, a args) ([]assoc.Served, error) {
	rows, err := q.QueryContext(ctx, source, a...)
	if err != nil {
		return nil, fmt.Errorf("people served: %w", err)
	}
	defer rows.Close()
	var out []assoc.Served
	for rows.Next() {
		var x assoc.Served
		if err := rows.Scan(&x.AssociationID, &x.Month, &x.PersonID); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// casesIn is the condition on cs that keeps community c's cases of
// associations ids whose day falls in p.
func casesIn(a *args, c int64, ids []int64, p assoc.Period) string {
	return "cs.community_id = " + a.add(c) + " AND cs.day >= " + a.add(p.From) + " AND cs.day <= " + a.add(p.To) + " AND cs.association_id IN " + inList(a, ids)
}

func rawCounts(ctx context.Context, q querier, c int64, ids []int64, p assoc.Period) ([]assoc.ServiceCount, error) {
	var a args
	query := "SELECT cs.association_id, SUBSTR(cs.day, 1, 7), cs.kind, COUNT(*) FROM assoc_cases cs WHERE " + casesIn(&a, c, ids, p) +
		" GROUP BY cs.association_id, SUBSTR(cs.day, 1, 7), cs.kind"
	return scanCounts(ctx, q, query, a)
}

// placedRow is one placement follow-up: when, which resident, by which
// partner, on an entry of which association.
type placedRow struct {
	at            time.Time
	personID      int64
	partnerID     int64
	partnerName   string
	associationID int64
}

// placedRows lists the placements of community c's residents in
// [from, to), by the partners named (all when nil), in time order. It is
// the one rule of what counts as a placement.
func placedRows(ctx context.Context, q querier, c int64, from, to time.Time, partners []int64) ([]placedRow, error) {
	var a args
	query := `SELECT f.at, e.person_id, f.partner_id, COALESCE(pa.name, ''), e.association_id FROM ledger_followups f JOIN ledger_entries e ON e.id = f.entry_id LEFT JOIN partners pa ON pa.id = f.partner_id
		WHERE e.community_id = ` + a.add(c) + ` AND f.kind = 'placed' AND f.at >= ` + a.add(from.UTC()) + ` AND f.at < ` + a.add(to.UTC())
	if partners != nil {
		query += " AND f.partner_id IN " + inList(&a, partners)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY f.at, f.id", a...)
	if err != nil {
		return nil, fmt.Errorf("placements: %w", err)
	}
	defer rows.Close()
	var out []placedRow
	for rows.Next() {
		var x placedRow
		var partner sql.NullInt64
		if err := rows.Scan(&x.at, &x.personID, &partner, &x.partnerName, &x.associationID); err != nil {
			return nil, err
		}
		x.partnerID = partner.Int64
		out = append(out, x)
	}
	return out, rows.Err()
}
