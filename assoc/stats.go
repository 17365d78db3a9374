package assoc

import (
	"math"
	"math/bits"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// The associations' statistics count as the community's report does:
//
//   - individual services: the individual cases opened in the period;
//   - group services: the group services held in the period;
//   - people served: distinct residents, the persons of those individual
//     services and the named attendees of those group services, each
//     counted once per association and once in the community total
//     (not the sum of the associations');
//   - placements: residents placed in work in the period, each once, as
//     PlacementStats counts them, credited to the association that owns
//     the job seeker's entry.
//
// A period is a span of whole days of the community's calendar.

// Period is a span of days, both ends included, as YYYY-MM-DD.
type Period struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// MaxPeriodYears bounds a period: the dashboard shows at most ten years.
const MaxPeriodYears = 10

// ParsePeriod reads a period from its ends as typed; a missing end is the
// start or end of the calendar year of today (in the community's zone).
func ParsePeriod(from, to string, today time.Time) (Period, error) {
	p := shequ.Problems{}
	year := today.Year()
	out := Period{From: strings.TrimSpace(from), To: strings.TrimSpace(to)}
	if out.From == "" {
		out.From = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	if out.To == "" {
		out.To = time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
	}
	for field, v := range map[string]string{"from": out.From, "to": out.To} {
		if checkDate(v) != "" {
			p.Add(field, "must be a date like 2026-01-01")
		}
	}
	if err := p.Err(); err != nil {
		return out, err
	}
	f, _ := time.Parse(time.DateOnly, out.From)
	t, _ := time.Parse(time.DateOnly, out.To)
	switch {
	case t.Before(f):
		p.Add("to", "must not be before from")
	case t.After(f.AddDate(MaxPeriodYears, 0, 0)):
		p.Add("to", "a period spans at most %d years", MaxPeriodYears)
	}
	return out, p.Err()
}

// ParseDays checks the days that bound a list (of cases, say): either may
// be left out, which leaves that end open, and neither caps the span the
// way a statistics period is capped.
func ParseDays(from, to string) (Period, error) {
	p := shequ.Problems{}
	out := Period{From: strings.TrimSpace(from), To: strings.TrimSpace(to)}
	for field, v := range map[string]string{"from": out.From, "to": out.To} {
		if v != "" && checkDate(v) != "" {
			p.Add(field, "must be a date like 2026-01-01")
		}
	}
	if err := p.Err(); err != nil {
		return out, err
	}
	if out.From == "" {
		out.From = "0000-01-01"
	}
	if out.To == "" {
		out.To = "9999-12-31"
	}
	if out.To < out.From {
		p.Add("to", "must not be before from")
	}
	return out, p.Err()
}

// Bounds returns the period as instants in loc: its first moment and the
// first moment after it.
func (p Period) Bounds(loc *time.Location) (time.Time, time.Time) {
	f, _ := time.ParseInLocation(time.DateOnly, p.From, loc)
	t, _ := time.ParseInLocation(time.DateOnly, p.To, loc)
	return f, t.AddDate(0, 0, 1)
}

// Months returns the months the period touches, as YYYY-MM, in order.
func (p Period) Months() []string {
	f, _ := time.Parse(time.DateOnly, p.From)
	t, _ := time.Parse(time.DateOnly, p.To)
	var out []string
	for m := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(t); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// Split divides the period into the whole months it covers (first and
// last as YYYY-MM; empty when it covers none) and the days at either end
// that fall outside them. Figures kept per month answer the first part;
// the ends need the day-by-day records.
func (p Period) Split() (first, last string, ends []Period) {
	f, _ := time.Parse(time.DateOnly, p.From)
	t, _ := time.Parse(time.DateOnly, p.To)
	start := time.Date(f.Year(), f.Month(), 1, 0, 0, 0, 0, time.UTC)
	if !start.Equal(f) {
		start = start.AddDate(0, 1, 0)
	}
	// end is the first day of the month after the last whole month.
	end := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	if t.AddDate(0, 0, 1).Month() != t.Month() {
		end = end.AddDate(0, 1, 0)
	}
	day := func(x time.Time) string { return x.Format(time.DateOnly) }
	if !start.Before(end) {
		return "", "", []Period{p}
	}
	if f.Before(start) {
		ends = append(ends, Period{From: p.From, To: day(start.AddDate(0, 0, -1))})
	}
	if end.Before(t) || end.Equal(t) {
		ends = append(ends, Period{From: day(end), To: p.To})
	}
	return start.Format("2006-01"), end.AddDate(0, -1, 0).Format("2006-01"), ends
}

// ServiceCount is a number of services of one kind an association gave
// in one month (YYYY-MM).
type ServiceCount struct {
	AssociationID int64
	Month         string
	Kind          string
	Services      int
}

// Served is one resident an association served, or placed, in one month.
type Served struct {
	AssociationID int64
	Month         string
	PersonID      int64
}

// PeopleCount is a number of distinct residents: served (or placed) by an
// association, or in the community when AssociationID is 0, in a month
// (YYYY-MM), or over the whole period when Month is "".
type PeopleCount struct {
	AssociationID int64
	Month         string
	People        int
}

// DistinctPeople counts residents as the statistics do: each once per
// association and month, once per association over the period, and the
// same for the community, across associations.
func DistinctPeople(people []Served) []PeopleCount {
	n := map[PeopleCount]int{}
	seen := map[Served]bool{}
	var order []PeopleCount
	for _, x := range people {
		for _, k := range []Served{x, {x.AssociationID, "", x.PersonID}, {0, x.Month, x.PersonID}, {0, "", x.PersonID}} {
			if seen[k] {
				continue
			}
			seen[k] = true
			key := PeopleCount{AssociationID: k.AssociationID, Month: k.Month}
			if _, ok := n[key]; !ok {
				order = append(order, key)
			}
			n[key]++
		}
	}
	out := make([]PeopleCount, len(order))
	for i, k := range order {
		k.People = n[k]
		out[i] = k
	}
	return out
}

// ServedSet is the residents an association served in one month: their
// ids, ascending, each once. A rollup that keeps one such set per
// association and month answers every people-served figure of a period
// exactly, by merging the sets of its months (CountServed).
type ServedSet struct {
	AssociationID int64
	Month         string
	People        []int64
}

// CountServed counts the residents of sets as DistinctPeople counts the
// same residents given one by one: each once per association and month,
// per association over the sets' months, per month over the associations
// (AssociationID 0) and once in all. Each set must be ascending without
// repeats, and there must be at most one set per association and month.
// Distinct people over several months are counted without a map: in
// bitmaps over the span of the ids when they lie close together, as a
// community's residents do, else by merging the sorted sets.
func CountServed(sets []ServedSet) []PeopleCount {
	var assocs []int64
	var months []string
	seenAssoc, seenMonth := map[int64]int{}, map[string]int{}
	out := make([]PeopleCount, 0, len(sets))
	lo, hi, n := int64(math.MaxInt64), int64(math.MinInt64), 0
	for _, s := range sets {
		if len(s.People) == 0 {
			continue
		}
		if _, ok := seenAssoc[s.AssociationID]; !ok {
			seenAssoc[s.AssociationID] = len(assocs)
			assocs = append(assocs, s.AssociationID)
		}
		if _, ok := seenMonth[s.Month]; !ok {
			seenMonth[s.Month] = len(months)
			months = append(months, s.Month)
		}
		lo, hi, n = min(lo, s.People[0]), max(hi, s.People[len(s.People)-1]), n+len(s.People)
		out = append(out, PeopleCount{AssociationID: s.AssociationID, Month: s.Month, People: len(s.People)})
	}
	if n == 0 {
		return out
	}
	// The bitmaps take at most 16 bytes per id given (and 32 KiB).
	if words := uint64(hi-lo)/64 + 1; words*uint64(len(assocs)+2) <= uint64(2*n+4096) {
		return countBits(out, sets, assocs, months, seenAssoc, seenMonth, lo, int(words))
	}
	byAssoc := make([][][]int64, len(assocs))
	byMonth := make([][][]int64, len(months))
	for _, s := range sets {
		if len(s.People) > 0 {
			a, m := seenAssoc[s.AssociationID], seenMonth[s.Month]
			byAssoc[a] = append(byAssoc[a], s.People)
			byMonth[m] = append(byMonth[m], s.People)
		}
	}
	var each [][]int64
	for i, a := range assocs {
		u := unionSorted(byAssoc[i])
		out = append(out, PeopleCount{AssociationID: a, People: len(u)})
		each = append(each, u)
	}
	for i, m := range months {
		out = append(out, PeopleCount{Month: m, People: len(unionSorted(byMonth[i]))})
	}
	return append(out, PeopleCount{People: len(unionSorted(each))})
}

// countBits is CountServed's count in bitmaps of words words from id lo:
// one per association, one for all, and one for the month at hand.
func countBits(out []PeopleCount, sets []ServedSet, assocs []int64, months []string, assocIndex map[int64]int, monthIndex map[string]int, lo int64, words int) []PeopleCount {
	bm := make([]uint64, (len(assocs)+2)*words)
	all, month := bm[len(assocs)*words:(len(assocs)+1)*words], bm[(len(assocs)+1)*words:]
	perMonth := make([][]int, len(months)) // the sets of each month
	for i, s := range sets {
		if len(s.People) == 0 {
			continue
		}
		m := monthIndex[s.Month]
		perMonth[m] = append(perMonth[m], i)
		a := assocIndex[s.AssociationID]
		mine := bm[a*words : (a+1)*words]
		for _, id := range s.People {
			x := id - lo
			mine[x>>6] |= 1 << (x & 63)
		}
	}
	for i, a := range assocs {
		n := 0
		for w, b := range bm[i*words : (i+1)*words] {
			n += bits.OnesCount64(b)
			all[w] |= b
		}
		out = append(out, PeopleCount{AssociationID: a, People: n})
	}
	for m, name := range months {
		n := 0
		for _, i := range perMonth[m] {
			for _, id := range sets[i].People {
				x := id - lo
				if b := uint64(1) << (x & 63); month[x>>6]&b == 0 {
					month[x>>6] |= b
					n++
				}
			}
		}
		for _, i := range perMonth[m] {
			for _, id := range sets[i].People {
				month[(id-lo)>>6] = 0
			}
		}
		out = append(out, PeopleCount{Month: name, People: n})
	}
	n := 0
	for _, b := range all {
		n += bits.OnesCount64(b)
	}
	return append(out, PeopleCount{People: n})
}

// unionSorted merges ascending sets into one, pairwise so that each id is
// copied about log2(len(sets)) times. The sets are not changed.
func unionSorted(sets [][]int64) []int64 {
	switch len(sets) {
	case 0:
		return nil
	case 1:
		return sets[0]
	}
	level := make([][]int64, len(sets))
	copy(level, sets)
	for len(level) > 1 {
		next := level[:0]
		for i := 0; i < len(level); i += 2 {
			if i+1 == len(level) {
				next = append(next, level[i])
				continue
			}
			next = append(next, mergeTwo(make([]int64, 0, len(level[i])+len(level[i+1])), level[i], level[i+1]))
		}
		level = next
	}
	return level[0]
}

// mergeTwo appends the union of ascending x and y to dst.
func mergeTwo(dst, x, y []int64) []int64 {
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch {
		case x[i] < y[j]:
			dst = append(dst, x[i])
			i++
		case x[i] > y[j]:
			dst = append(dst, y[j])
			j++
		default:
			dst = append(dst, x[i])
			i++
			j++
		}
	}
	dst = append(dst, x[i:]...)
	return append(dst, y[j:]...)
}

// MonthStats is one month of an association's figures, for charts.
type MonthStats struct {
	Month        string `json:"month" doc:"YYYY-MM"`
	Individual   int    `json:"individual"`
	Group        int    `json:"group"`
	PeopleServed int    `json:"people_served"`
	Placements   int    `json:"placements"`
}

// AssociationStats is one association's figures over a period, or the
// community's (AssociationID 0).
type AssociationStats struct {
	AssociationID int64  `json:"association_id,omitempty"`
	Key           string `json:"key,omitempty"`
	Name          string `json:"name"`
	NameEn        string `json:"name_en,omitempty"`
	Individual    int    `json:"individual" doc:"Individual services (个别服务): cases opened in the period"`
	Group         int    `json:"group" doc:"Group services (集中服务): events held in the period"`
	PeopleServed  int    `json:"people_served" doc:"Distinct residents: persons of the individual services and named attendees of the group services"`
	Placements    int    `json:"placements" doc:"Residents placed in work in the period, each once"`
	// Mediations are the association's mediation cases over the period.
	Mediations MediationCount `json:"mediations" doc:"Mediations opened in the period, and those concluded in it by outcome, with the share agreed"`
	// EligibleUncovered is as of today, whatever the period.
	EligibleUncovered int `json:"eligible_uncovered" doc:"Residents who appear eligible for one of the association's assistance policies today and are not covered by it, counted once per policy"`
	// Months has one line per month the period touches, in order.
	Months []MonthStats `json:"months"`
}

// ServiceStats is the associations' statistics of a community over a
// period: one line per association and the community's total.
type ServiceStats struct {
	CommunityID  int64              `json:"community_id"`
	Period       Period             `json:"period"`
	Associations []AssociationStats `json:"associations"`
	Total        AssociationStats   `json:"total"`
	// Policies are the assistance policies in force today with how many
	// residents appear eligible and are not covered.
	Policies []PolicyCount `json:"policies"`
}

// AddMediations puts the mediation figures of the same period beside the
// services: each association's on its line, and on the total the sum of
// the lines shown (a case belongs to one association, so the sum counts
// each once). Associations the statistics do not show are left out.
func (s *ServiceStats) AddMediations(m MediationStats) {
	total := MediationCount{Name: s.Total.Name}
	for _, c := range m.Associations {
		for i := range s.Associations {
			if s.Associations[i].AssociationID == c.AssociationID {
				s.Associations[i].Mediations = c
				total.Opened += c.Opened
				total.AddOutcomes(c.Agreed, c.Failed, c.Withdrawn)
			}
		}
	}
	s.Total.Mediations = total
}

// AddEligible puts the eligible-but-uncovered counts of today's policies
// on the lines of the associations that own them, and their sum on the
// total. A resident eligible under two policies counts under each.
func (s *ServiceStats) AddEligible(policies []PolicyCount) {
	s.Policies = []PolicyCount{}
	for _, p := range policies {
		shown := false
		for i := range s.Associations {
			if s.Associations[i].AssociationID == p.AssociationID {
				s.Associations[i].EligibleUncovered += p.Uncovered
				shown = true
			}
		}
		if shown {
			s.Policies = append(s.Policies, p)
			s.Total.EligibleUncovered += p.Uncovered
		}
	}
}

// Tally puts the statistics together from services counted per
// association, month and kind, and the distinct residents served and
// placed (see DistinctPeople). rows names the associations to report, in
// order; figures of other associations are left out. The total's people
// are the community's counts (association 0), not sums.
func Tally(p Period, rows []AssociationStats, counts []ServiceCount, served, placed []PeopleCount) ServiceStats {
	months := p.Months()
	index := map[string]int{}
	for i, m := range months {
		index[m] = i
	}
	out := ServiceStats{Period: p, Associations: make([]AssociationStats, len(rows)), Total: AssociationStats{Name: "合计", NameEn: "Total"}}
	line := map[int64]*AssociationStats{0: &out.Total}
	newMonths := func() []MonthStats {
		ms := make([]MonthStats, len(months))
		for i, m := range months {
			ms[i].Month = m
		}
		return ms
	}
	for i, r := range rows {
		r.Individual, r.Group, r.PeopleServed, r.Placements = 0, 0, 0, 0
		r.Months = newMonths()
		out.Associations[i] = r
		line[r.AssociationID] = &out.Associations[i]
	}
	out.Total.Months = newMonths()
	for _, c := range counts {
		a, ok := line[c.AssociationID]
		m, inPeriod := index[c.Month]
		if !ok || c.AssociationID == 0 || !inPeriod {
			continue
		}
		for _, s := range []*AssociationStats{a, &out.Total} {
			switch c.Kind {
			case KindIndividual:
				s.Individual += c.Services
				s.Months[m].Individual += c.Services
			case KindGroup:
				s.Group += c.Services
				s.Months[m].Group += c.Services
			}
		}
	}
	people := func(counts []PeopleCount, field func(*AssociationStats) *int, monthField func(*MonthStats) *int) {
		for _, c := range counts {
			a, ok := line[c.AssociationID]
			if !ok {
				continue
			}
			if c.Month == "" {
				*field(a) = c.People
			} else if m, inPeriod := index[c.Month]; inPeriod {
				*monthField(&a.Months[m]) = c.People
			}
		}
	}
	people(served, func(s *AssociationStats) *int { return &s.PeopleServed }, func(m *MonthStats) *int { return &m.PeopleServed })
	people(placed, func(s *AssociationStats) *int { return &s.Placements }, func(m *MonthStats) *int { return &m.Placements })
	return out
}
