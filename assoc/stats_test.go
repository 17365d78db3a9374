package assoc

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/shequ/shequ"
)

// Mediations and eligibility go on the lines of the associations shown
// and nowhere else: a member's statistics never carry another
// association's policies.
func TestStatsAddMediationsAndEligible(t *testing.T) {
	s := ServiceStats{Associations: []AssociationStats{{AssociationID: 1}, {AssociationID: 2}}, Total: AssociationStats{Name: "合计"}}
	s.AddMediations(MediationStats{
		Associations: []MediationCount{{AssociationID: 2, Opened: 3, Agreed: 1, Concluded: 2, SuccessRate: 0.5}, {AssociationID: 9, Opened: 5}},
		Total:        MediationCount{Name: "all", Opened: 8, Agreed: 1, Concluded: 2, SuccessRate: 0.5},
	})
	s.AddEligible([]PolicyCount{{PolicyID: 10, AssociationID: 1, Uncovered: 4}, {PolicyID: 11, AssociationID: 1, Uncovered: 2}, {PolicyID: 12, AssociationID: 9, Uncovered: 7}})
	tests := []struct {
		name                string
		got                 AssociationStats
		opened, eligibleNow int
	}{
		{"association 1", s.Associations[0], 0, 6},
		{"association 2", s.Associations[1], 3, 0},
		{"total", s.Total, 3, 6},
	}
	for _, tt := range tests {
		if tt.got.Mediations.Opened != tt.opened || tt.got.EligibleUncovered != tt.eligibleNow {
			t.Errorf("%s: %d mediations, %d eligible; want %d, %d", tt.name, tt.got.Mediations.Opened, tt.got.EligibleUncovered, tt.opened, tt.eligibleNow)
		}
	}
	if s.Total.Name != "合计" || len(s.Policies) != 2 {
		t.Errorf("total named %q, policies %+v", s.Total.Name, s.Policies)
	}
}

func TestParseDays(t *testing.T) {
	tests := []struct {
		from, to         string
		wantFrom, wantTo string
		bad              string
	}{
		{"", "2025-12-31", "0000-01-01", "2025-12-31", ""},
		{"2010-01-01", "", "2010-01-01", "9999-12-31", ""},
		{"2010-01-01", "2026-06-30", "2010-01-01", "2026-06-30", ""},
		{"2026-02-30", "", "", "", "from"},
		{"2026-03-01", "2026-02-01", "", "", "to"},
	}
	for _, tt := range tests {
		p, err := ParseDays(tt.from, tt.to)
		if tt.bad != "" {
			var e *shequ.Error
			if !errors.As(err, &e) || e.Fields[tt.bad] == "" {
				t.Errorf("%q–%q: %v, want a problem with %s", tt.from, tt.to, err, tt.bad)
			}
			continue
		}
		if err != nil || p.From != tt.wantFrom || p.To != tt.wantTo {
			t.Errorf("%q–%q: %+v %v", tt.from, tt.to, p, err)
		}
	}
}

// CountServed, merging each month's set, counts as DistinctPeople does
// one resident at a time: random residents served by a few associations
// over a few months, repeats included; ids close together (counted in
// bitmaps) and far apart (counted by merging).
func TestCountServedEqualsDistinctPeople(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 34))
	for round := range 200 {
		var people []Served
		scale := int64(1)
		if round%2 == 1 {
			scale = 1_000_003
		}
		for range rng.IntN(300) {
			people = append(people, Served{AssociationID: int64(1 + rng.IntN(4)), Month: fmt.Sprintf("2026-%02d", 1+rng.IntN(6)), PersonID: scale * int64(1+rng.IntN(1+rng.IntN(80)))})
		}
		sets := map[[2]string][]int64{}
		for _, x := range people {
			k := [2]string{strconv.FormatInt(x.AssociationID, 10), x.Month}
			if !slices.Contains(sets[k], x.PersonID) {
				sets[k] = append(sets[k], x.PersonID)
			}
		}
		var in []ServedSet
		for k, ids := range sets {
			a, _ := strconv.ParseInt(k[0], 10, 64)
			slices.Sort(ids)
			in = append(in, ServedSet{AssociationID: a, Month: k[1], People: ids})
		}
		rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		want, got := map[PeopleCount]bool{}, map[PeopleCount]bool{}
		for _, c := range DistinctPeople(people) {
			want[c] = true
		}
		for _, c := range CountServed(in) {
			if got[c] {
				t.Fatalf("round %d: %+v twice", round, c)
			}
			got[c] = true
		}
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: merged sets count\n%v\none by one\n%v", round, got, want)
		}
	}
	if got := CountServed(nil); len(got) != 0 {
		t.Errorf("no sets: %v", got)
	}
	// The hand-counted case: two associations, two months.
	got := CountServed([]ServedSet{
		{AssociationID: 1, Month: "2026-03", People: []int64{10, 11, 12}},
		{AssociationID: 1, Month: "2026-04", People: []int64{11, 13}},
		{AssociationID: 2, Month: "2026-03", People: []int64{12, 14}},
	})
	want := []PeopleCount{{1, "2026-03", 3}, {1, "2026-04", 2}, {2, "2026-03", 2}, {1, "", 4}, {2, "", 2}, {0, "2026-03", 4}, {0, "2026-04", 2}, {0, "", 5}}
	if !slices.Equal(got, want) {
		t.Errorf("hand count: got %v, want %v", got, want)
	}
}
