// Package assoc owns the work of the resident self-governance associations
// (居民自治协会): the typed ledgers (台账) they keep on residents, whose
// fields an administrator defines without code; what a ledger entry may
// hold and how it is checked; the grants that share part of a ledger with a
// partner organisation (which ledger, which entries, which fields, for what
// purpose, until when, with each resident's consent); the follow-ups a
// partner records; job openings and placements; the problems residents
// bring to an association (intake); the services associations give
// (individual cases and group events, cases.go) and how the statistics
// count them (stats.go); mediation cases and their state machine
// (mediation.go); and the relief and subsidy policies whose eligibility
// rules are data over resident and ledger fields (assistance.go). It
// holds types and rules, no SQL and no HTTP.
//
// Who sees what (the store narrows every query to this; View.See checks it
// once more on each entry):
//
//   - An administrator of a community (its whole-community admin grant)
//     reaches every ledger and entry of it, every field.
//   - A member or chair of an association (a grant naming the association)
//     reads and writes the entries their association owns, every field.
//     They also read the entries of the community's other ledgers that are
//     not sensitive, without the fields marked sensitive, and cannot change
//     them. A member whose grant names no association reads only those.
//   - A sensitive ledger (help-education, health) is seen only by its
//     owner association's members and the community's administrators: to
//     anyone else it is forbidden, its entries not found.
//   - A partner organisation reaches a ledger only through a live grant
//     (not revoked, not expired). It sees an entry only when the grant's
//     filter matches it and the resident has consented to that partner,
//     and then only the granted fields, the entry id and a masked name.
//     Sensitive ledgers and sensitive fields cannot be granted. Every entry
//     a partner reads is written to the audit log.
//   - Services (cases) are reached like owned entries: administrators
//     every case of their community, members and chairs their
//     associations' cases, nobody else; their statistics likewise, with
//     the total over the associations shown.
package assoc

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Field types a ledger field may have.
const (
	FieldText   = "text"
	FieldNumber = "number"
	FieldDate   = "date"
	FieldChoice = "choice"
	FieldBool   = "bool"
)

// FieldTypes lists the field types.
var FieldTypes = []string{FieldText, FieldNumber, FieldDate, FieldChoice, FieldBool}

// Ledger type keys the platform knows by name; others are added as data.
const (
	JobSeekers             = "job_seekers"
	ElderlyAlone           = "elderly_alone"
	HouseholdsInDifficulty = "households_in_difficulty"
	Disabilities           = "disabilities"
	HelpEducation          = "help_education"
)

// MaxTextLength is how long a text value may be when its field sets no max.
const MaxTextLength = 2000

// Field is one question a ledger asks about a resident.
type Field struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	LabelEn  string   `json:"label_en,omitempty"`
	Type     string   `json:"type" enum:"text,number,date,choice,bool"`
	Required bool     `json:"required,omitempty"`
	Choices  []string `json:"choices,omitempty" doc:"The allowed values of a choice field"`
	// Min and Max bound a number's value and a text's length in characters.
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Sensitive fields (health, say) are shown only to the owner
	// association and administrators, and are never granted to a partner.
	Sensitive bool `json:"sensitive,omitempty"`
}

// LedgerType is one register an association keeps, with its fields.
type LedgerType struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	NameEn      string `json:"name_en,omitempty"`
	// AssociationID is the association that owns the ledger.
	AssociationID int64 `json:"association_id"`
	// Sensitive ledgers are seen only by the owner association and admins.
	Sensitive bool      `json:"sensitive"`
	Fields    []Field   `json:"fields"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Shared is set when a partner reads the type: the live grants through
	// which it sees it. Fields then lists only what they share.
	Shared []LedgerGrant `json:"shared,omitempty"`
}

var (
	keyPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)
	datePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Validate checks a ledger type before it is stored.
func (t *LedgerType) Validate() error {
	p := shequ.Problems{}
	t.Key = strings.TrimSpace(t.Key)
	if !keyPattern.MatchString(t.Key) {
		p.Add("key", "use 2 to 40 lower-case letters, digits and underscores, starting with a letter")
	}
	t.Name = strings.TrimSpace(t.Name)
	p.RequireText("name", t.Name, 100)
	p.OptionalText("name_en", t.NameEn, 100)
	if t.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	if t.AssociationID == 0 {
		p.Add("association_id", "say which association owns the ledger")
	}
	seen := map[string]bool{}
	for i := range t.Fields {
		prefix := fmt.Sprintf("fields[%d].", i)
		t.Fields[i].check(p, prefix)
		if seen[t.Fields[i].Key] {
			p.Add(prefix+"key", "%q appears twice", t.Fields[i].Key)
		}
		seen[t.Fields[i].Key] = true
	}
	if t.Fields == nil {
		t.Fields = []Field{}
	}
	return p.Err()
}

// Validate checks one field definition.
func (f *Field) Validate() error {
	p := shequ.Problems{}
	f.check(p, "")
	return p.Err()
}

func (f *Field) check(p shequ.Problems, prefix string) {
	f.Key = strings.TrimSpace(f.Key)
	if !keyPattern.MatchString(f.Key) {
		p.Add(prefix+"key", "use 2 to 40 lower-case letters, digits and underscores, starting with a letter")
	}
	f.Label = strings.TrimSpace(f.Label)
	p.RequireText(prefix+"label", f.Label, 100)
	p.OptionalText(prefix+"label_en", f.LabelEn, 100)
	if !slices.Contains(FieldTypes, f.Type) {
		p.Add(prefix+"type", "must be one of %s", strings.Join(FieldTypes, ", "))
	}
	switch f.Type {
	case FieldChoice:
		if len(f.Choices) == 0 {
			p.Add(prefix+"choices", "a choice field needs its choices")
		}
		seen := map[string]bool{}
		for _, c := range f.Choices {
			if strings.TrimSpace(c) == "" || seen[c] || utf8.RuneCountInString(c) > 100 {
				p.Add(prefix+"choices", "choices must be distinct, not empty and at most 100 characters")
			}
			seen[c] = true
		}
	default:
		if len(f.Choices) > 0 {
			p.Add(prefix+"choices", "only a choice field has choices")
		}
	}
	switch f.Type {
	case FieldNumber, FieldText:
		if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
			p.Add(prefix+"min", "must not be more than max")
		}
		if f.Type == FieldText && ((f.Min != nil && *f.Min < 0) || (f.Max != nil && *f.Max < 1)) {
			p.Add(prefix+"max", "a text length must be positive")
		}
	default:
		if f.Min != nil || f.Max != nil {
			p.Add(prefix+"min", "only number and text fields have bounds")
		}
	}
}

// Field returns the field with key.
func (t LedgerType) Field(key string) (Field, bool) {
	for _, f := range t.Fields {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// AddField appends a field to the type, or says why it cannot.
func (t *LedgerType) AddField(f Field) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if _, ok := t.Field(f.Key); ok {
		return shequ.Invalid(map[string]string{"key": fmt.Sprintf("the ledger has a field %q already", f.Key)})
	}
	t.Fields = append(t.Fields, f)
	return nil
}

// Restrict returns the type with only the fields keys names, in the type's
// order: what a partner sees of it.
func (t LedgerType) Restrict(keys []string) LedgerType {
	out := t
	out.Fields = []Field{}
	for _, f := range t.Fields {
		if slices.Contains(keys, f.Key) {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

// WithoutSensitive returns the type without its sensitive fields.
func (t LedgerType) WithoutSensitive() LedgerType {
	out := t
	out.Fields = []Field{}
	for _, f := range t.Fields {
		if !f.Sensitive {
			out.Fields = append(out.Fields, f)
		}
	}
	return out
}

// CheckValues checks values against the type's fields and returns them
// normalised (numbers as float64, booleans as bool, dates as YYYY-MM-DD).
// Errors name each field at fault as values.<key>.
func (t LedgerType) CheckValues(values map[string]any) (map[string]any, error) {
	out, found := t.Check(values)
	if len(found) == 0 {
		return out, nil
	}
	p := shequ.Problems{}
	for k, pr := range found {
		f, ok := t.Field(k)
		if !ok {
			p.Add("values."+k, "is not a field of the ledger %s", t.Key)
			continue
		}
		p.Add("values."+k, "%s", pr.English(f))
	}
	return nil, p.Err()
}

// Check is CheckValues for a page that explains each problem in its
// reader's language: the normalised values, or the problems by field key
// (a key that is no field of the type gets ProblemUnknown).
func (t LedgerType) Check(values map[string]any) (map[string]any, map[string]Problem) {
	found := map[string]Problem{}
	out := map[string]any{}
	for k := range values {
		if _, ok := t.Field(k); !ok {
			found[k] = Problem{Code: ProblemUnknown}
		}
	}
	for _, f := range t.Fields {
		v, given := values[f.Key]
		if given && isBlank(v) {
			given = false
		}
		if !given {
			if f.Required {
				found[f.Key] = Problem{Code: ProblemRequired}
			}
			continue
		}
		n, pr := f.Normalise(v)
		if pr != nil {
			found[f.Key] = *pr
			continue
		}
		out[f.Key] = n
	}
	if len(found) > 0 {
		return nil, found
	}
	return out, nil
}

func isBlank(v any) bool {
	if v == nil {
		return true
	}
	s, ok := v.(string)
	return ok && strings.TrimSpace(s) == ""
}

// Problem codes: why a value does not fit its field.
const (
	ProblemRequired = "required"
	ProblemUnknown  = "unknown"
	ProblemText     = "text"
	ProblemTooLong  = "too_long"
	ProblemTooShort = "too_short"
	ProblemNumber   = "number"
	ProblemTooSmall = "too_small"
	ProblemTooBig   = "too_big"
	ProblemDate     = "date"
	ProblemNoDate   = "not_a_date"
	ProblemChoice   = "choice"
	ProblemBool     = "bool"
	ProblemType     = "type"
)

// ProblemCodes lists the problem codes, for the pages' translations.
var ProblemCodes = []string{ProblemRequired, ProblemUnknown, ProblemText, ProblemTooLong, ProblemTooShort, ProblemNumber, ProblemTooSmall,
	ProblemTooBig, ProblemDate, ProblemNoDate, ProblemChoice, ProblemBool, ProblemType}

// Problem is why a value does not fit its field, in a form a page can
// put into its reader's language. Limit is the bound that was crossed.
type Problem struct {
	Code  string
	Limit string
}

// English says the problem in the words of the API.
func (p Problem) English(f Field) string {
	switch p.Code {
	case ProblemRequired:
		return fmt.Sprintf("is required (%s)", f.Label)
	case ProblemUnknown:
		return "is not a field of the ledger"
	case ProblemText:
		return "must be text"
	case ProblemTooLong:
		return "must be at most " + p.Limit + " characters"
	case ProblemTooShort:
		return "must be at least " + p.Limit + " characters"
	case ProblemNumber:
		return "must be a number"
	case ProblemTooSmall:
		return "must be at least " + p.Limit
	case ProblemTooBig:
		return "must be at most " + p.Limit
	case ProblemDate:
		return "must be a date like 2026-03-21"
	case ProblemNoDate:
		return "is not a real date"
	case ProblemChoice:
		return "must be one of " + strings.Join(f.Choices, ", ")
	case ProblemBool:
		return "must be yes or no (true or false)"
	}
	return "has an unknown type"
}

// Normalise checks one value and returns it in its stored form, or what
// is wrong with it.
func (f Field) Normalise(v any) (any, *Problem) {
	bad := func(code string, limit ...float64) (any, *Problem) {
		p := &Problem{Code: code}
		if len(limit) > 0 {
			p.Limit = fmtNumber(limit[0])
		}
		return nil, p
	}
	switch f.Type {
	case FieldText:
		s, ok := v.(string)
		if !ok {
			return bad(ProblemText)
		}
		s = strings.TrimSpace(s)
		n := float64(utf8.RuneCountInString(s))
		max := float64(MaxTextLength)
		if f.Max != nil {
			max = *f.Max
		}
		if n > max {
			return bad(ProblemTooLong, max)
		}
		if f.Min != nil && n < *f.Min {
			return bad(ProblemTooShort, *f.Min)
		}
		return s, nil
	case FieldNumber:
		var x float64
		switch n := v.(type) {
		case float64:
			x = n
		case int:
			x = float64(n)
		case int64:
			x = float64(n)
		case json.Number:
			var err error
			if x, err = n.Float64(); err != nil {
				return bad(ProblemNumber)
			}
		case string:
			var err error
			if x, err = strconv.ParseFloat(strings.TrimSpace(n), 64); err != nil {
				return bad(ProblemNumber)
			}
		default:
			return bad(ProblemNumber)
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return bad(ProblemNumber)
		}
		if f.Min != nil && x < *f.Min {
			return bad(ProblemTooSmall, *f.Min)
		}
		if f.Max != nil && x > *f.Max {
			return bad(ProblemTooBig, *f.Max)
		}
		return x, nil
	case FieldDate:
		s, ok := v.(string)
		if !ok || !datePattern.MatchString(strings.TrimSpace(s)) {
			return bad(ProblemDate)
		}
		s = strings.TrimSpace(s)
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return bad(ProblemNoDate)
		}
		return s, nil
	case FieldChoice:
		s, ok := v.(string)
		if !ok || !slices.Contains(f.Choices, s) {
			return bad(ProblemChoice)
		}
		return s, nil
	case FieldBool:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			switch strings.ToLower(strings.TrimSpace(b)) {
			case "true", "yes":
				return true, nil
			case "false", "no":
				return false, nil
			}
		}
		return bad(ProblemBool)
	}
	return bad(ProblemType)
}

// normalise is Normalise with the problem in the API's words.
func (f Field) normalise(v any) (any, string) {
	n, p := f.Normalise(v)
	if p != nil {
		return nil, p.English(f)
	}
	return n, ""
}

func fmtNumber(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// Canonical returns the text form of a normalised value that filters
// compare: numbers without trailing zeros, booleans as true/false.
func Canonical(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return fmtNumber(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// LedgerEntry statuses.
const (
	EntryActive = "active"
	EntryClosed = "closed"
)

// LedgerEntry is one resident's line in a ledger.
type LedgerEntry struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id,omitempty"`
	Ledger      string `json:"ledger"`
	TypeID      int64  `json:"-"`
	PersonID    int64  `json:"person_id,omitempty"`
	PersonName  string `json:"person_name"`
	// AssociationID is the association that owns the entry.
	AssociationID int64          `json:"association_id,omitempty"`
	Status        string         `json:"status,omitempty"`
	Values        map[string]any `json:"values"`
	CreatedBy     int64          `json:"created_by,omitempty"`
	UpdatedBy     int64          `json:"updated_by,omitempty"`
	CreatedAt     time.Time      `json:"created_at,omitzero"`
	UpdatedAt     time.Time      `json:"updated_at,omitzero"`
	// Masked marks a partner's view: granted fields and a masked name only.
	Masked    bool       `json:"masked,omitempty"`
	Consents  []Consent  `json:"consents,omitempty"`
	FollowUps []FollowUp `json:"followups,omitempty"`
}

// Validate checks what a new or changed entry says besides its values.
func (e *LedgerEntry) Validate() error {
	p := shequ.Problems{}
	if e.PersonID == 0 {
		p.Add("person_id", "say which resident the entry is about")
	}
	if e.Status == "" {
		e.Status = EntryActive
	}
	if e.Status != EntryActive && e.Status != EntryClosed {
		p.Add("status", "must be active or closed")
	}
	return p.Err()
}

// Merge applies changes to values: a key with a value sets it, a key with
// null clears it. The result still needs CheckValues.
func Merge(values, changes map[string]any) map[string]any {
	out := make(map[string]any, len(values)+len(changes))
	for k, v := range values {
		out[k] = v
	}
	for k, v := range changes {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Only returns the values whose keys are listed.
func Only(values map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := values[k]; ok {
			out[k] = v
		}
	}
	return out
}

// MaskName keeps the first character of a name and hides the rest:
// 王秀英 becomes 王**.
func MaskName(name string) string {
	r := []rune(strings.TrimSpace(name))
	if len(r) == 0 {
		return ""
	}
	return string(r[0]) + strings.Repeat("*", max(1, len(r)-1))
}

// HistoryLine is one line of an entry's history.
type HistoryLine struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	UserID   int64          `json:"user_id,omitempty"`
	Username string         `json:"username,omitempty"`
	Action   string         `json:"action"` // create, update, consent, followup
	Before   map[string]any `json:"before,omitempty"`
	After    map[string]any `json:"after,omitempty"`
}

// Consent methods.
var ConsentMethods = []string{"paper", "app", "verbal"}

// Consent is a resident's yes or no to sharing their entry with one
// partner. The latest word counts.
type Consent struct {
	EntryID   int64  `json:"entry_id"`
	PartnerID int64  `json:"partner_id"`
	Given     bool   `json:"given"`
	Method    string `json:"method"`
	// RecordedBy names who took the consent, if not the user recording it.
	RecordedBy string    `json:"recorded_by,omitempty"`
	UserID     int64     `json:"user_id,omitempty"`
	At         time.Time `json:"at"`
}

// Validate checks a consent record.
func (c *Consent) Validate() error {
	p := shequ.Problems{}
	if c.PartnerID == 0 {
		p.Add("partner_id", "say which partner the consent is for")
	}
	if !slices.Contains(ConsentMethods, c.Method) {
		p.Add("method", "must be one of %s", strings.Join(ConsentMethods, ", "))
	}
	p.OptionalText("recorded_by", c.RecordedBy, 100)
	return p.Err()
}

// FilterValue turns a value typed into a filter (a query string) into the
// canonical text the stored values are compared in.
func (t LedgerType) FilterValue(key, raw string) (string, error) {
	f, ok := t.Field(key)
	if !ok {
		return "", shequ.Invalid(map[string]string{"filter." + key: "is not a field of the ledger " + t.Key})
	}
	n, msg := f.normalise(raw)
	if msg != "" {
		return "", shequ.Invalid(map[string]string{"filter." + key: msg})
	}
	return Canonical(n), nil
}
