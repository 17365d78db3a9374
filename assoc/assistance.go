package assoc

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// Assistance policies (救助、补贴政策): a catalogue of relief and subsidy
// policies, each with eligibility rules kept as data. A rule is a list of
// conditions that must all hold, over a resident's own fields (age on a
// given day, a tag such as living_alone, sex) or over the fields of the
// resident's active entry in a ledger (households_in_difficulty.pension <
// 1500). A condition on a value the resident does not have (no birth date,
// no entry in the ledger, no value for the field) does not hold: nobody
// appears eligible on what is not known.

// Condition operators.
const (
	OpEq = "="
	OpNe = "!="
	OpLt = "<"
	OpLe = "<="
	OpGt = ">"
	OpGe = ">="
	OpIn = "in"
)

// Operators lists the operators of a condition.
var Operators = []string{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpIn}

// Resident fields a condition may name when it names no ledger.
const (
	ResidentAge = "age"
	ResidentTag = "tag"
	ResidentSex = "sex"
)

// ResidentFields lists them.
var ResidentFields = []string{ResidentAge, ResidentTag, ResidentSex}

// Sexes a resident's sex may be.
var Sexes = []string{"male", "female"}

// Condition is one test a resident must pass.
type Condition struct {
	// Ledger is the ledger type key; empty for a resident field.
	Ledger string `json:"ledger,omitempty" doc:"Ledger type key, e.g. households_in_difficulty; empty for a resident field"`
	Field  string `json:"field" doc:"The ledger's field key, or age, tag or sex"`
	Op     string `json:"op" enum:"=,!=,<,<=,>,>=,in"`
	// Value is a number, text, yes/no or date as the field's type; a list
	// of them for in. Checking stores it normalised.
	Value any `json:"value"`
}

// opsOf returns the operators a field of type kind admits.
func opsOf(kind string) []string {
	switch kind {
	case FieldNumber, FieldDate:
		return Operators
	case FieldBool:
		return []string{OpEq, OpNe}
	}
	return []string{OpEq, OpNe, OpIn}
}

// residentField returns how a resident field is typed: age a number,
// tag and sex choices of text.
func residentField(key string) (Field, bool) {
	switch key {
	case ResidentAge:
		return Field{Key: key, Label: "年龄", Type: FieldNumber, Min: bound(0), Max: bound(150)}, true
	case ResidentTag:
		return Field{Key: key, Label: "标签", Type: FieldText, Max: bound(40)}, true
	case ResidentSex:
		return Field{Key: key, Label: "性别", Type: FieldChoice, Choices: Sexes}, true
	}
	return Field{}, false
}

func bound(x float64) *float64 { return &x }

// FieldOf returns the field the condition tests, found among types (the
// community's ledgers by key), and the ledger it belongs to.
func (c Condition) FieldOf(types map[string]LedgerType) (Field, LedgerType, bool) {
	if c.Ledger == "" {
		f, ok := residentField(c.Field)
		return f, LedgerType{}, ok
	}
	t, ok := types[c.Ledger]
	if !ok {
		return Field{}, t, false
	}
	f, ok := t.Field(c.Field)
	return f, t, ok
}

// check validates the condition against types and normalises its value,
// adding messages under prefix.
func (c *Condition) check(p shequ.Problems, prefix string, types map[string]LedgerType) {
	c.Ledger, c.Field = strings.TrimSpace(c.Ledger), strings.TrimSpace(c.Field)
	if c.Ledger != "" {
		if _, ok := types[c.Ledger]; !ok {
			p.Add(prefix+"ledger", "there is no ledger %q in this community", c.Ledger)
			return
		}
	}
	f, _, ok := c.FieldOf(types)
	if !ok {
		if c.Ledger == "" {
			p.Add(prefix+"field", "a resident field is one of %s (or name a ledger)", strings.Join(ResidentFields, ", "))
		} else {
			p.Add(prefix+"field", "the ledger %s has no field %q", c.Ledger, c.Field)
		}
		return
	}
	ops := opsOf(f.Type)
	if !slices.Contains(ops, c.Op) {
		if slices.Contains(Operators, c.Op) {
			p.Add(prefix+"op", "%s is a %s field: use %s", c.Field, f.Type, strings.Join(ops, " "))
		} else {
			p.Add(prefix+"op", "must be one of %s", strings.Join(Operators, " "))
		}
		return
	}
	one := func(v any) (any, string) {
		if isBlank(v) {
			return nil, "give a value"
		}
		if c.Ledger == "" && c.Field == ResidentTag {
			s, ok := v.(string)
			if s = strings.TrimSpace(s); !ok || !keyPattern.MatchString(s) {
				return nil, "a tag is lower-case letters, digits and underscores, e.g. living_alone"
			}
			return s, ""
		}
		n, msg := f.normalise(v)
		if msg == "" && c.Ledger == "" && c.Field == ResidentAge && n.(float64) != math.Trunc(n.(float64)) {
			return nil, "an age is a whole number of years"
		}
		return n, msg
	}
	if c.Op == OpIn {
		list, ok := c.Value.([]any)
		if !ok || len(list) == 0 || len(list) > 50 {
			p.Add(prefix+"value", "in takes a list of 1 to 50 values")
			return
		}
		out := make([]any, 0, len(list))
		for i, v := range list {
			n, msg := one(v)
			if msg != "" {
				p.Add(fmt.Sprintf("%svalue[%d]", prefix, i), "%s", msg)
				continue
			}
			out = append(out, n)
		}
		c.Value = out
		return
	}
	n, msg := one(c.Value)
	if msg != "" {
		p.Add(prefix+"value", "%s", msg)
		return
	}
	c.Value = n
}

// Values returns the condition's value as a list: the list of in, or the
// one value of any other operator.
func (c Condition) Values() []any {
	if list, ok := c.Value.([]any); ok {
		return list
	}
	return []any{c.Value}
}

// AssistancePolicy is a relief or subsidy policy with its eligibility rules.
type AssistancePolicy struct {
	ID            int64  `json:"id"`
	CommunityID   int64  `json:"community_id"`
	AssociationID int64  `json:"association_id" doc:"The association that owns the policy"`
	Name          string `json:"name"`
	Description   string `json:"description,omitempty"`
	Benefit       string `json:"benefit" doc:"What an eligible resident receives"`
	ValidFrom     string `json:"valid_from" doc:"YYYY-MM-DD"`
	ValidTo       string `json:"valid_to,omitempty" doc:"YYYY-MM-DD, the last day; open-ended when empty"`
	// Rules must all hold for a resident to appear eligible.
	Rules     []Condition `json:"rules"`
	CreatedBy int64       `json:"created_by,omitempty"`
	CreatedAt time.Time   `json:"created_at,omitzero"`
	UpdatedAt time.Time   `json:"updated_at,omitzero"`
}

// MaxConditions is how many conditions a policy's rules may hold.
const MaxConditions = 20

// Check validates a policy against the community's ledgers (by key) and
// normalises its conditions' values. Errors name each field at fault, a
// condition's as rules[i].field.
func (x *AssistancePolicy) Check(types map[string]LedgerType) error {
	p := shequ.Problems{}
	if x.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	if x.AssociationID == 0 {
		p.Add("association_id", "say which association owns the policy")
	}
	x.Name, x.Description, x.Benefit = strings.TrimSpace(x.Name), strings.TrimSpace(x.Description), strings.TrimSpace(x.Benefit)
	p.RequireText("name", x.Name, 100)
	p.OptionalText("description", x.Description, 4000)
	p.RequireText("benefit", x.Benefit, 500)
	if msg := checkDate(x.ValidFrom); msg != "" {
		p.Add("valid_from", "%s", msg)
	}
	if x.ValidTo != "" {
		if msg := checkDate(x.ValidTo); msg != "" {
			p.Add("valid_to", "%s", msg)
		} else if x.ValidTo < x.ValidFrom {
			p.Add("valid_to", "must not be before valid_from")
		}
	}
	switch {
	case len(x.Rules) == 0:
		p.Add("rules", "a policy needs at least one condition")
	case len(x.Rules) > MaxConditions:
		p.Add("rules", "at most %d conditions", MaxConditions)
	}
	for i := range x.Rules {
		x.Rules[i].check(p, fmt.Sprintf("rules[%d].", i), types)
	}
	if x.Rules == nil {
		x.Rules = []Condition{}
	}
	return p.Err()
}

// ValidOn reports whether the policy runs on day (YYYY-MM-DD).
func (x AssistancePolicy) ValidOn(day string) bool {
	return x.ValidFrom <= day && (x.ValidTo == "" || day <= x.ValidTo)
}

// Ledgers returns the keys of the ledgers the rules look at.
func (x AssistancePolicy) Ledgers() []string {
	var out []string
	for _, c := range x.Rules {
		if c.Ledger != "" && !slices.Contains(out, c.Ledger) {
			out = append(out, c.Ledger)
		}
	}
	return out
}

// BornBy returns the latest birth date (YYYY-MM-DD) of someone who is at
// least years old on day. Someone born on 29 February comes of age on 1
// March in other years.
func BornBy(day time.Time, years int) string {
	y, m, d := day.Year()-years, day.Month(), day.Day()
	if m == time.February && d == 29 && !leap(y) {
		d = 28
	}
	return fmt.Sprintf("%04d-%02d-%02d", y, int(m), d)
}

func leap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// AgeOn returns how old someone born on birth (YYYY-MM-DD) is on day, -1
// when the birth date is unknown.
func AgeOn(birth string, day time.Time) int {
	b, err := time.Parse(time.DateOnly, birth)
	if err != nil {
		return -1
	}
	age := day.Year() - b.Year()
	if day.Month() < b.Month() || (day.Month() == b.Month() && day.Day() < b.Day()) {
		age--
	}
	return age
}

// Application statuses.
const (
	ApplicationPending = "pending"
	ApplicationGranted = "granted"
	ApplicationRefused = "refused"
)

// Application is a resident's application under a policy and its outcome.
// A resident with a granted application is covered by the policy.
type Application struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	PolicyID    int64  `json:"policy_id"`
	PolicyName  string `json:"policy_name,omitempty"`
	PersonID    int64  `json:"person_id"`
	PersonName  string `json:"person_name,omitempty"`
	Note        string `json:"note,omitempty"`
	Status      string `json:"status" enum:"pending,granted,refused"`
	Reason      string `json:"reason,omitempty"`
	DecidedOn   string `json:"decided_on,omitempty"`
	DecidedBy   int64  `json:"decided_by,omitempty"`
	CreatedBy   int64  `json:"created_by,omitempty"`
	// AssociationID is the policy's owner association, which decides.
	AssociationID int64     `json:"association_id,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	UpdatedAt     time.Time `json:"updated_at,omitzero"`
}

// Validate checks a new application; it starts pending.
func (a *Application) Validate() error {
	p := shequ.Problems{}
	if a.PolicyID == 0 {
		p.Add("policy_id", "say which policy")
	}
	if a.PersonID == 0 {
		p.Add("person_id", "say which resident applies")
	}
	a.Note = strings.TrimSpace(a.Note)
	p.OptionalText("note", a.Note, 2000)
	a.Status, a.Reason, a.DecidedOn, a.DecidedBy = ApplicationPending, "", "", 0
	return p.Err()
}

// Decide records the outcome of a pending application on day (empty:
// today), or says why it cannot: a decided application stays decided.
func (a Application) Decide(status, reason, day, today string) (Application, error) {
	p := shequ.Problems{}
	if status != ApplicationGranted && status != ApplicationRefused {
		p.Add("status", "must be granted or refused")
	}
	reason = strings.TrimSpace(reason)
	if status == ApplicationRefused {
		p.RequireText("reason", reason, 2000)
	}
	p.OptionalText("reason", reason, 2000)
	if day == "" {
		day = today
	}
	if msg := checkDate(day); msg != "" {
		p.Add("date", "%s", msg)
	} else if day > today {
		p.Add("date", "must not be in the future")
	}
	if err := p.Err(); err != nil {
		return a, err
	}
	if a.Status != ApplicationPending {
		return a, shequ.Errorf(shequ.ECONFLICT, "application %d was %s already", a.ID, a.Status)
	}
	a.Status, a.Reason, a.DecidedOn = status, reason, day
	return a, nil
}

// EligibleResident is a resident who appears eligible for a policy.
type EligibleResident struct {
	PersonID  int64  `json:"person_id"`
	Name      string `json:"name"`
	BirthDate string `json:"birth_date,omitempty"` // its year only, "1950-**-**" (community.Person.Mask)
	Age       int    `json:"age,omitempty"`
	Sex       string `json:"sex,omitempty"`
	// Values are the ledger values the rules looked at, as ledger.field.
	Values map[string]any `json:"values,omitempty"`
}

// PolicyCount is how many residents appear eligible for a policy and are
// not covered by it.
type PolicyCount struct {
	PolicyID      int64  `json:"policy_id"`
	Name          string `json:"name"`
	AssociationID int64  `json:"association_id"`
	Uncovered     int    `json:"uncovered"`
}
