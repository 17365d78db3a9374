package assoc

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func reliefLedgers() map[string]LedgerType {
	return map[string]LedgerType{
		HouseholdsInDifficulty: {ID: 3, CommunityID: 1, Key: HouseholdsInDifficulty, Fields: []Field{
			{Key: "pension", Label: "养老金", Type: FieldNumber},
			{Key: "difficulty", Label: "困难类型", Type: FieldChoice, Choices: []string{"elderly", "illness"}},
			{Key: "low_income_certified", Label: "低保", Type: FieldBool},
			{Key: "since", Label: "起始", Type: FieldDate},
			{Key: "subsidies", Label: "补贴", Type: FieldText},
		}},
	}
}

func TestPolicyRulesValidation(t *testing.T) {
	hid := HouseholdsInDifficulty
	for _, tc := range []struct {
		name  string
		rule  Condition
		field string // "" when the rule is good
		value any    // the value after normalising, for good rules
	}{
		{"age at least 60", Condition{Field: ResidentAge, Op: OpGe, Value: 60.0}, "", 60.0},
		{"age as text", Condition{Field: ResidentAge, Op: OpGe, Value: "60"}, "", 60.0},
		{"age not whole", Condition{Field: ResidentAge, Op: OpGe, Value: 59.5}, "rules[0].value", nil},
		{"age of 200", Condition{Field: ResidentAge, Op: OpLt, Value: 200.0}, "rules[0].value", nil},
		{"living alone", Condition{Field: ResidentTag, Op: OpEq, Value: "living_alone"}, "", "living_alone"},
		{"tag with spaces", Condition{Field: ResidentTag, Op: OpEq, Value: "living alone"}, "rules[0].value", nil},
		{"tag compared", Condition{Field: ResidentTag, Op: OpLt, Value: "a_tag"}, "rules[0].op", nil},
		{"sex", Condition{Field: ResidentSex, Op: OpIn, Value: []any{"female"}}, "", []any{"female"}},
		{"sex unknown", Condition{Field: ResidentSex, Op: OpEq, Value: "other"}, "rules[0].value", nil},
		{"unknown resident field", Condition{Field: "income", Op: OpEq, Value: 1.0}, "rules[0].field", nil},
		{"pension under 1500", Condition{Ledger: hid, Field: "pension", Op: OpLt, Value: 1500.0}, "", 1500.0},
		{"pension in a list", Condition{Ledger: hid, Field: "pension", Op: OpIn, Value: []any{1130.0, "1200"}}, "", []any{1130.0, 1200.0}},
		{"pension not a number", Condition{Ledger: hid, Field: "pension", Op: OpLt, Value: "low"}, "rules[0].value", nil},
		{"in without a list", Condition{Ledger: hid, Field: "pension", Op: OpIn, Value: 1.0}, "rules[0].value", nil},
		{"in with a bad item", Condition{Ledger: hid, Field: "pension", Op: OpIn, Value: []any{1.0, "x"}}, "rules[0].value[1]", nil},
		{"choice compared", Condition{Ledger: hid, Field: "difficulty", Op: OpGe, Value: "elderly"}, "rules[0].op", nil},
		{"choice not a choice", Condition{Ledger: hid, Field: "difficulty", Op: OpEq, Value: "poverty"}, "rules[0].value", nil},
		{"choice in", Condition{Ledger: hid, Field: "difficulty", Op: OpIn, Value: []any{"elderly", "illness"}}, "", []any{"elderly", "illness"}},
		{"yes/no", Condition{Ledger: hid, Field: "low_income_certified", Op: OpEq, Value: "yes"}, "", true},
		{"yes/no in", Condition{Ledger: hid, Field: "low_income_certified", Op: OpIn, Value: []any{true}}, "rules[0].op", nil},
		{"date before", Condition{Ledger: hid, Field: "since", Op: OpLt, Value: "2025-01-01"}, "", "2025-01-01"},
		{"date not a date", Condition{Ledger: hid, Field: "since", Op: OpLt, Value: "2025-13-01"}, "rules[0].value", nil},
		{"text equal", Condition{Ledger: hid, Field: "subsidies", Op: OpEq, Value: "高龄津贴"}, "", "高龄津贴"},
		{"text compared", Condition{Ledger: hid, Field: "subsidies", Op: OpGt, Value: "a"}, "rules[0].op", nil},
		{"unknown ledger field", Condition{Ledger: hid, Field: "pensio", Op: OpLt, Value: 1.0}, "rules[0].field", nil},
		{"unknown ledger", Condition{Ledger: "nope", Field: "x", Op: OpEq, Value: "y"}, "rules[0].ledger", nil},
		{"unknown operator", Condition{Ledger: hid, Field: "pension", Op: "~", Value: 1.0}, "rules[0].op", nil},
		{"no value", Condition{Ledger: hid, Field: "pension", Op: OpEq}, "rules[0].value", nil},
	} {
		p := AssistancePolicy{CommunityID: 1, AssociationID: 2, Name: "定点救助政策", Benefit: "减免", ValidFrom: "2026-01-01", Rules: []Condition{tc.rule}}
		err := p.Check(reliefLedgers())
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			} else if got := p.Rules[0].Value; Canonical(got) != Canonical(tc.value) && !sameList(got, tc.value) {
				t.Errorf("%s: value %#v, want %#v", tc.name, got, tc.value)
			}
			continue
		}
		e, ok := err.(*shequ.Error)
		if !ok || e.Fields[tc.field] == "" {
			t.Errorf("%s: got %v, want a message for %s", tc.name, err, tc.field)
		}
	}
}

func sameList(a, b any) bool {
	x, ok1 := a.([]any)
	y, ok2 := b.([]any)
	if !ok1 || !ok2 || len(x) != len(y) {
		return false
	}
	for i := range x {
		if Canonical(x[i]) != Canonical(y[i]) {
			return false
		}
	}
	return true
}

func TestPolicyFields(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     AssistancePolicy
		field string
	}{
		{"no rules", AssistancePolicy{CommunityID: 1, AssociationID: 2, Name: "x", Benefit: "y", ValidFrom: "2026-01-01"}, "rules"},
		{"no benefit", AssistancePolicy{CommunityID: 1, AssociationID: 2, Name: "x", ValidFrom: "2026-01-01"}, "benefit"},
		{"ends before it starts", AssistancePolicy{CommunityID: 1, AssociationID: 2, Name: "x", Benefit: "y", ValidFrom: "2026-01-01", ValidTo: "2025-12-31"}, "valid_to"},
		{"no start", AssistancePolicy{CommunityID: 1, AssociationID: 2, Name: "x", Benefit: "y"}, "valid_from"},
		{"no owner", AssistancePolicy{CommunityID: 1, Name: "x", Benefit: "y", ValidFrom: "2026-01-01"}, "association_id"},
	} {
		e, ok := tc.p.Check(reliefLedgers()).(*shequ.Error)
		if !ok || e.Fields[tc.field] == "" {
			t.Errorf("%s: want a message for %s, got %v", tc.name, tc.field, e)
		}
	}
	p := AssistancePolicy{ValidFrom: "2026-01-01", ValidTo: "2026-12-31"}
	for day, want := range map[string]bool{"2025-12-31": false, "2026-01-01": true, "2026-12-31": true, "2027-01-01": false} {
		if p.ValidOn(day) != want {
			t.Errorf("valid on %s: %v", day, !want)
		}
	}
}

func TestAgesAndBirthDates(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, tc := range []struct {
		on     string
		years  int
		bornBy string
	}{
		{"2026-11-28", 60, "1966-11-28"},
		{"2026-01-01", 60, "1966-01-01"},
		{"2024-02-29", 60, "1964-02-29"}, // 1964 is a leap year
		{"2028-02-29", 61, "1967-02-28"}, // 1967 is not
	} {
		if got := BornBy(day(tc.on), tc.years); got != tc.bornBy {
			t.Errorf("BornBy(%s, %d) = %s, want %s", tc.on, tc.years, got, tc.bornBy)
		}
		// Whoever is born by then is that old; a day later, not yet.
		if AgeOn(tc.bornBy, day(tc.on)) != tc.years {
			t.Errorf("AgeOn(%s, %s) = %d, want %d", tc.bornBy, tc.on, AgeOn(tc.bornBy, day(tc.on)), tc.years)
		}
		if next := day(tc.bornBy).AddDate(0, 0, 1).Format(time.DateOnly); AgeOn(next, day(tc.on)) != tc.years-1 {
			t.Errorf("AgeOn(%s, %s) = %d, want %d", next, tc.on, AgeOn(next, day(tc.on)), tc.years-1)
		}
	}
	// Born on 29 February: of age on 1 March in a common year.
	if AgeOn("1964-02-29", day("2025-02-28")) != 60 || AgeOn("1964-02-29", day("2025-03-01")) != 61 {
		t.Errorf("leap-day birthday: %d, %d", AgeOn("1964-02-29", day("2025-02-28")), AgeOn("1964-02-29", day("2025-03-01")))
	}
	if AgeOn("", day("2026-01-01")) != -1 {
		t.Error("an unknown birth date has an age")
	}
}

func TestApplicationDecide(t *testing.T) {
	a := Application{ID: 1, PolicyID: 2, PersonID: 3}
	if err := a.Validate(); err != nil || a.Status != ApplicationPending {
		t.Fatalf("%v %+v", err, a)
	}
	if _, err := a.Decide(ApplicationRefused, " ", "", "2026-11-28"); shequ.ErrorCode(err) != shequ.EINVALID {
		t.Errorf("refused without a reason: %v", err)
	}
	if _, err := a.Decide("maybe", "", "", "2026-11-28"); shequ.ErrorCode(err) != shequ.EINVALID {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := a.Decide(ApplicationGranted, "", "2026-11-29", "2026-11-28"); shequ.ErrorCode(err) != shequ.EINVALID {
		t.Errorf("decided tomorrow: %v", err)
	}
	g, err := a.Decide(ApplicationGranted, "", "", "2026-11-28")
	if err != nil || g.Status != ApplicationGranted || g.DecidedOn != "2026-11-28" {
		t.Fatalf("%v %+v", err, g)
	}
	if _, err := g.Decide(ApplicationRefused, "x", "", "2026-11-28"); shequ.ErrorCode(err) != shequ.ECONFLICT {
		t.Errorf("deciding twice: %v", err)
	}
}
