package open311

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ/matter"
)

// ServiceOf is the Open311 face of a matter category. Every service is
// realtime: a request gets its id when it is filed.
func ServiceOf(c matter.Category) Service {
	kw := []string{}
	if c.NameEn != "" {
		kw = append(kw, c.NameEn)
	}
	kw = append(kw, c.Code)
	return Service{
		ServiceCode: c.Code,
		ServiceName: c.Name,
		Description: NullString(c.Description),
		Metadata:    len(c.Attributes) > 0,
		Type:        "realtime",
		Keywords:    NullString(strings.Join(kw, ", ")),
		Group:       NullString(c.Group),
	}
}

// datatypeHelp is the datatype_description of each datatype.
var datatypeHelp = map[string]string{
	"string":          "A line of text",
	"text":            "Text; it may have line breaks",
	"number":          "A number, e.g. 3 or 2.5",
	"datetime":        "A date and time in ISO 8601 with its zone, e.g. 2026-11-28T09:30:00+08:00",
	"singlevaluelist": "One of the keys listed in values",
	"multivaluelist":  "One or more of the keys listed in values, as attribute[code][]=key for each",
}

// DefinitionOf is the service definition of a category: its questions in
// the order they are asked. Every question wants an answer (variable).
// Order is the category's when it gives each question a distinct positive
// number, the position in the list otherwise.
func DefinitionOf(c matter.Category) ServiceDefinition {
	d := ServiceDefinition{ServiceCode: c.Code, Attributes: []Attribute{}}
	seen := map[int]bool{}
	own := true
	for _, a := range c.Attributes {
		if a.Order <= 0 || seen[a.Order] {
			own = false
		}
		seen[a.Order] = true
	}
	for i, a := range c.Attributes {
		order := i + 1
		if own {
			order = a.Order
		}
		at := Attribute{Variable: true, Code: a.Code, Datatype: a.Datatype, Required: a.Required,
			DatatypeDescription: NullString(datatypeHelp[a.Datatype]), Order: order, Description: a.Description}
		for _, v := range a.Values {
			at.Values = append(at.Values, Value{Key: v, Name: v})
		}
		d.Attributes = append(d.Attributes, at)
	}
	slices.SortStableFunc(d.Attributes, func(a, b Attribute) int { return a.Order - b.Order })
	return d
}

// ServiceNotice says what the community promises for a category.
func ServiceNotice(c matter.Category) string {
	if c.SLAHours <= 0 {
		return ""
	}
	return fmt.Sprintf("社区承诺在 %d 小时内处理 / The community handles this within %d hours", c.SLAHours, c.SLAHours)
}

// StatusOf maps a matter's status onto Open311's two: closed once it is
// resolved, closed or rejected; open before.
func StatusOf(status string) string {
	if status == matter.Resolved || matter.Final(status) {
		return "closed"
	}
	return "open"
}

// Place is where a request is shown to be. For a matter at a resident's
// home it is the building, never the door: the Open311 feed is public.
type Place struct {
	// BuildingID is the building, 0 when the request names none.
	BuildingID int64
	Name       string // the building's name
	Address    string // the building's street address, if known
	Lat, Lng   float64
}

// View is what a request needs beyond the matter to be shown.
type View struct {
	Category matter.Category // the matter's category: its name and notice
	Agency   string          // who handles it: the community
	Place    Place
	MediaURL string
	Zone     *time.Location // times are shown in the community's zone
}

// RequestOf is the public face of a matter. It carries no personal data:
// no names, phones or e-mail addresses; a matter at a home is placed at its
// building (address_id is the building's id) and long digit runs and
// e-mail addresses in the description are hidden.
func RequestOf(m matter.Matter, v View) Request {
	row := FeedRowOf(m, v)
	return row.Request(v)
}

// PlaceName names a building for an address: its street address when
// that names the building too, else the name and the address.
func PlaceName(name, address string) string { return joinPlace(name, address) }

// joinPlace writes a place from the most specific part to the most
// general, leaving out a part another one already says.
func joinPlace(parts ...string) string {
	var in []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			in = append(in, p)
		}
	}
	var out []string
	for i, p := range in {
		said := false
		for j, q := range in {
			if j != i && strings.Contains(q, p) && (len(q) > len(p) || j < i) {
				said = true
			}
		}
		if !said {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}

var (
	// digitRun is a phone or ID number: seven digits or more, perhaps
	// grouped with spaces or dashes, perhaps ending in the X of an ID.
	digitRun = regexp.MustCompile(`\d(?:[ \-]?\d){6,}[Xx]?`)
	email    = regexp.MustCompile(`[^\s@<>()]+@[^\s@<>()]+\.[A-Za-z]{2,}`)
)

// Scrub hides phone numbers, ID numbers and e-mail addresses in free text
// meant for the public feed.
func Scrub(s string) string {
	if !mayHoldNumberOrAddress(s) {
		return s
	}
	s = email.ReplaceAllString(s, "***@***")
	return digitRun.ReplaceAllString(s, "***")
}

// mayHoldNumberOrAddress reports whether Scrub's expressions could match
// s: an @, or seven digits in a row, each pair apart by at most one space
// or hyphen. Most descriptions hold neither, and running the expressions
// over every description of a listing was 15 % of its time.
func mayHoldNumberOrAddress(s string) bool {
	run := 0          // digits in the current run
	afterSep := false // the last byte was a separator right after a digit
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '@':
			return true
		case c >= '0' && c <= '9':
			run++
			if run >= 7 {
				return true
			}
			afterSep = false
		case (c == ' ' || c == '-') && run > 0 && !afterSep:
			afterSep = true
		default:
			run, afterSep = 0, false
		}
	}
	return false
}

// FormatTime writes t as the specification wants it: ISO 8601 (the W3C
// profile) with the zone, to the second.
func FormatTime(t time.Time, zone *time.Location) string {
	return t.In(zone).Format(time.RFC3339)
}

// ParseTime reads a date and time in the W3C profile of ISO 8601. The
// zone must be given (Z or ±hh:mm); a bare date YYYY-MM-DD is taken as
// the start of that day in zone. A '+' that a client left unescaped in a
// query string arrives as a space and is read as the '+' it was.
func ParseTime(s string, zone *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if n := len(s); n > 6 && s[n-6] == ' ' && s[n-3] == ':' {
		s = s[:n-6] + "+" + s[n-5:]
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if t, err := time.ParseInLocation("2006-01-02", s, zone); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if _, err := time.Parse(layout, strings.SplitN(s, ".", 2)[0]); err == nil {
			return time.Time{}, fmt.Errorf("%q has no time zone: end it with Z or an offset such as +08:00", s)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO 8601 date and time such as 2010-01-01T00:00:00Z", s)
}
