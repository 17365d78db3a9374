package assoc

import (
	"errors"
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
