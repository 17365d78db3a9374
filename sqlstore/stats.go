package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
)

// The associations' statistics. The dashboard's figures come from the
// rollup kept with every case write: services per association, month and
// kind (case_rollup) and the set of residents served per association and
// month (case_served, see stats_sets.go). A period that starts or ends
// inside a month takes those edge days from the cases themselves.
// AssociationStatsRaw computes the same figures from the cases alone; the
// tests hold the two equal and the benchmark compares their cost.
//
// A read is few queries (issue 13: under load each waits for a CPU, on
// PostgreSQL for a round trip too): the zone with the statistics' version
// (stats_cache.go; while it has not moved the figures kept answer and
// that is all), one query for the associations, the services counted,
// the sets, the edge days' residents and the placements together
// (readStats), and beside it one for the mediations and the eligibility
// counts of today's policies (eligibleUncovered: the policies, the
// ledgers, then every policy's count in one query).

// AssociationStats returns the associations' figures over a period from
// the rollup: administrators get every association of their community,
// members and chairs their own associations; the total is over the
// associations shown.
func (s *Store) AssociationStats(ctx context.Context, acc assoc.Access, f assoc.StatsFilter) (assoc.ServiceStats, error) {
	return s.serviceStats(ctx, acc, f, true)
}

// AssociationStatsRaw returns the same figures as AssociationStats,
// computed from the cases and attendees without the rollup, and never
// kept.
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
	tz, version, err := statsVersion(ctx, q, c)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	loc := zone(tz)
	today := s.now().In(loc)
	// Inside a transaction (Atomic) the figures may hold writes that are
	// not committed, and the version moves back if they are rolled back.
	if !fromRollup || s.txn != nil {
		return s.computeStats(ctx, q, acc, c, f, loc, today, fromRollup)
	}
	return s.stats.figures(ctx, statsKey(c, f, tz, today.Format(time.DateOnly), acc), version, func() (assoc.ServiceStats, error) {
		return s.computeStats(ctx, q, acc, c, f, loc, today, true)
	})
}

// computeStats reads the figures of community c in zone loc, where it is
// today.
func (s *Store) computeStats(ctx context.Context, q querier, acc assoc.Access, c int64, f assoc.StatsFilter, loc *time.Location, today time.Time, fromRollup bool) (assoc.ServiceStats, error) {
	p, err := assoc.ParsePeriod(f.From, f.To, today)
	if err != nil {
		return assoc.ServiceStats{}, err
	}
	from, to := p.Bounds(loc)
	// The mediations and the eligibility counts are read beside the
	// services, on connections of their own, so that a read waits for
	// four round trips rather than six; inside a transaction, which has
	// one connection, one after the other.
	var med assoc.MediationStats
	var policies []assoc.PolicyCount
	var medErr, polErr error
	mediations := func() {
		med, medErr = s.MediationStats(ctx, acc, c, from, to)
	}
	eligible := func() {
		policies, polErr = s.eligibleUncovered(ctx, acc, c, time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC))
	}
	var wg sync.WaitGroup
	if s.txn == nil {
		wg.Go(mediations)
		wg.Go(eligible)
	} else {
		mediations()
		eligible()
	}
	r, err := readStats(ctx, q, acc, c, f.AssociationID, p, loc, fromRollup)
	wg.Wait()
	if err = cmp.Or(err, medErr, polErr); err != nil {
		return assoc.ServiceStats{}, err
	}
	var served []assoc.PeopleCount
	if fromRollup {
		// The rollup's sets of whole months and the edge days' sets, merged
		// into the distinct counts. Without the rollup the residents are
		// counted one row at a time (DistinctPeople): a second way of
		// counting for the tests to hold the first to.
		served = assoc.CountServed(append(r.sets, setsOf(r.people)...))
	} else {
		served = assoc.DistinctPeople(r.people)
	}
	out := assoc.Tally(p, r.lines, r.counts, served, assoc.DistinctPeople(r.placed))
	out.CommunityID = c
	out.AddMediations(med)
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

// statsRead is what statsQuery read, of the associations shown only.
type statsRead struct {
	lines  []assoc.AssociationStats
	counts []assoc.ServiceCount
	sets   []assoc.ServedSet
	people []assoc.Served // residents served on days the sets do not cover
	placed []assoc.Served
}

// readStats reads in one query what the figures of community c over p
// are made of: the associations, services per association, month and
// kind, residents served (the rollup's sets of the whole months and the
// cases' rows of the other days, or every day's rows without the rollup)
// and placements. The query is a UNION ALL of differently shaped reads,
// each row tagged with what it is, in the columns
//
//	what, id, t1, t2, t3, n, at
//
// 'a': an association: id, key (t1), name (t2), name_en (t3);
// 'c': services: association, month (t1), kind (t2), count (n);
// 's': a set: association, month (t1), ids (t3), how many (n);
// 'p': a resident served: association, month (t1), resident (n);
// 'j': a placement: association, resident (n), when (at).
//
// The placements come first: PostgreSQL types a UNION's columns from the
// left, and SQLite's driver reads a column's declared type from the first
// SELECT. Every association of c is read; acc and asked choose the lines,
// and figures of other associations are dropped here.
func readStats(ctx context.Context, q querier, acc assoc.Access, c, asked int64, p assoc.Period, loc *time.Location, fromRollup bool) (statsRead, error) {
	var a args
	comm := a.add(c)
	from, to := p.Bounds(loc)
	branches := []string{
		"SELECT 'j' AS what, e.association_id AS id, CAST(NULL AS TEXT) AS t1, CAST(NULL AS TEXT) AS t2, CAST(NULL AS TEXT) AS t3, e.person_id AS n, f.at AS at FROM " + placedFrom(&a, comm, from, to),
		"SELECT 'a', id, key, name, name_en, 0, NULL FROM associations WHERE community_id = " + comm,
	}
	parts := []assoc.Period{p}
	if fromRollup {
		var first, last string
		first, last, parts = p.Split()
		if first != "" {
			months := " WHERE community_id = " + comm + " AND month >= " + a.add(first) + " AND month <= " + a.add(last)
			branches = append(branches,
				"SELECT 'c', association_id, month, kind, NULL, services, NULL FROM case_rollup"+months,
				"SELECT 's', association_id, month, NULL, ids, people, NULL FROM case_served"+months)
		}
	}
	for _, part := range parts {
		in := casesIn(&a, comm, part)
		branches = append(branches,
			"SELECT 'c', cs.association_id, SUBSTR(cs.day, 1, 7), cs.kind, NULL, COUNT(*), NULL FROM assoc_cases cs WHERE "+in+" GROUP BY cs.association_id, SUBSTR(cs.day, 1, 7), cs.kind",
			"SELECT 'p', cs.association_id, SUBSTR(cs.day, 1, 7), NULL, NULL, cs.person_id, NULL FROM assoc_cases cs WHERE cs.person_id IS NOT NULL AND "+in,
			"SELECT 'p', cs.association_id, SUBSTR(cs.day, 1, 7), NULL, NULL, ca.person_id, NULL FROM case_attendees ca JOIN assoc_cases cs ON cs.id = ca.case_id WHERE "+in)
	}
	rows, err := q.QueryContext(ctx, strings.Join(branches, " UNION ALL "), a...)
	if err != nil {
		return statsRead{}, fmt.Errorf("statistics: %w", err)
	}
	defer rows.Close()
	var all []assoc.AssociationStats
	var r statsRead
	var what, t1, t2, t3 sql.RawBytes
	var id, n sql.NullInt64
	var at time.Time
	var atValid bool
	var ids []int64              // one backing array for every set, grown as needed
	names := map[string]string{} // months and kinds, one string each
	name := func(b []byte) string {
		if x, ok := names[string(b)]; ok {
			return x
		}
		x := string(b)
		names[x] = x
		return x
	}
	for rows.Next() {
		if err := rows.Scan(&what, &id, &t1, &t2, &t3, &n, scanTime{&at, &atValid}); err != nil {
			return statsRead{}, fmt.Errorf("statistics: %w", err)
		}
		switch string(what) {
		case "a":
			all = append(all, assoc.AssociationStats{AssociationID: id.Int64, Key: string(t1), Name: string(t2), NameEn: string(t3)})
		case "c":
			r.counts = append(r.counts, assoc.ServiceCount{AssociationID: id.Int64, Month: name(t1), Kind: name(t2), Services: int(n.Int64)})
		case "s":
			people := int(n.Int64)
			if cap(ids)-len(ids) < people {
				ids = make([]int64, 0, max(people, 4096))
			}
			start := len(ids)
			if ids, err = parseServedSet(ids, t3); err != nil {
				return statsRead{}, err
			}
			set := assoc.ServedSet{AssociationID: id.Int64, Month: name(t1), People: ids[start:len(ids):len(ids)]}
			if len(set.People) != people {
				return statsRead{}, fmt.Errorf("served set of association %d, %s: %d ids, %d said", set.AssociationID, set.Month, len(set.People), people)
			}
			r.sets = append(r.sets, set)
		case "p":
			r.people = append(r.people, assoc.Served{AssociationID: id.Int64, Month: name(t1), PersonID: n.Int64})
		case "j":
			if !atValid {
				return statsRead{}, fmt.Errorf("statistics: a placement without its time")
			}
			r.placed = append(r.placed, assoc.Served{AssociationID: id.Int64, Month: at.In(loc).Format("2006-01"), PersonID: n.Int64})
		}
	}
	if err := rows.Err(); err != nil {
		return statsRead{}, fmt.Errorf("statistics: %w", err)
	}
	if r.lines, err = statsLines(all, acc, c, asked); err != nil {
		return statsRead{}, err
	}
	shown := map[int64]bool{}
	for _, l := range r.lines {
		shown[l.AssociationID] = true
	}
	r.counts = slices.DeleteFunc(r.counts, func(x assoc.ServiceCount) bool { return !shown[x.AssociationID] })
	r.sets = slices.DeleteFunc(r.sets, func(x assoc.ServedSet) bool { return !shown[x.AssociationID] })
	r.people = slices.DeleteFunc(r.people, func(x assoc.Served) bool { return !shown[x.AssociationID] })
	r.placed = slices.DeleteFunc(r.placed, func(x assoc.Served) bool { return !shown[x.AssociationID] })
	return r, nil
}

// statsLines keeps the associations of community c whose figures acc may
// see (one, when asked), in id order: all for an administrator, their own
// for members.
func statsLines(all []assoc.AssociationStats, acc assoc.Access, c, asked int64) ([]assoc.AssociationStats, error) {
	slices.SortFunc(all, func(x, y assoc.AssociationStats) int { return cmp.Compare(x.AssociationID, y.AssociationID) })
	out := []assoc.AssociationStats{}
	for _, r := range all {
		if (asked == 0 || asked == r.AssociationID) && acc.ActsFor(c, r.AssociationID) {
			out = append(out, r)
		}
	}
	if asked != 0 && len(out) == 0 {
		return nil, notFound("association", asked)
	}
	return out, nil
}

// casesIn is the condition on cs that keeps the cases of the community
// in placeholder comm whose day falls in p.
func casesIn(a *args, comm string, p assoc.Period) string {
	return "cs.community_id = " + comm + " AND cs.day >= " + a.add(p.From) + " AND cs.day <= " + a.add(p.To)
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

// placedFrom is the FROM and WHERE of the placements of the community in
// placeholder comm in [from, to): follow-ups f of kind placed on ledger
// entries e, with their partner pa when there is one. It is the one rule
// of what counts as a placement.
func placedFrom(a *args, comm string, from, to time.Time) string {
	return "ledger_followups f JOIN ledger_entries e ON e.id = f.entry_id LEFT JOIN partners pa ON pa.id = f.partner_id WHERE e.community_id = " + comm +
		" AND f.kind = 'placed' AND f.at >= " + a.add(from.UTC()) + " AND f.at < " + a.add(to.UTC())
}

// placedRows lists the placements of community c's residents in
// [from, to), by the partners named (all when nil), in time order.
func placedRows(ctx context.Context, q querier, c int64, from, to time.Time, partners []int64) ([]placedRow, error) {
	var a args
	query := "SELECT f.at, e.person_id, f.partner_id, COALESCE(pa.name, ''), e.association_id FROM " + placedFrom(&a, a.add(c), from, to)
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
