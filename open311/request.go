package open311

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ/matter"
)

// Contact is who filed a request, as the client says. It is kept sealed
// for the community's staff and never shown in the feed.
type Contact struct {
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// Empty reports whether no contact detail was given.
func (c Contact) Empty() bool { return c == Contact{} }

// Submission is the form of POST requests, read but not yet checked
// against its service.
type Submission struct {
	JurisdictionID string
	APIKey         string
	ServiceCode    string
	// The location: lat and long, an address string, or an address id
	// (here the id of a building of the community).
	HasPoint      bool
	Lat, Long     float64
	AddressString string
	AddressID     int64
	// Attributes are the answers, attribute[code]=value; the several
	// answers to a multivaluelist (attribute[code][]=…) are joined with
	// commas.
	Attributes  map[string]string
	multi       map[string][]string
	Description string
	MediaURL    string
	Contact     Contact
}

// form returns the first non-blank value of key. Blank counts as not
// given: the specification treats an empty optional argument as absent.
func form(f url.Values, key string) string {
	for _, v := range f[key] {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// ReadSubmission reads and checks the form of POST requests as far as it
// can without the service: a service_code and a full location are
// required; lat and long come together; lengths are bounded. The api_key
// is read, not checked.
func ReadSubmission(f url.Values) (Submission, error) {
	var bad invalid
	s := Submission{
		JurisdictionID: form(f, "jurisdiction_id"),
		APIKey:         form(f, "api_key"),
		ServiceCode:    form(f, "service_code"),
		AddressString:  form(f, "address_string"),
		Description:    form(f, "description"),
		MediaURL:       form(f, "media_url"),
		Contact: Contact{Email: form(f, "email"), FirstName: form(f, "first_name"), LastName: form(f, "last_name"),
			Phone: form(f, "phone"), DeviceID: form(f, "device_id"), AccountID: form(f, "account_id")},
		Attributes: map[string]string{},
		multi:      map[string][]string{},
	}
	if s.ServiceCode == "" {
		bad.add("service_code was not provided")
	}
	lat, long := form(f, "lat"), form(f, "long")
	placed := false // a location was sent, good or bad
	switch {
	case lat != "" || long != "":
		placed = true
		if lat == "" || long == "" {
			bad.add("lat and long must be sent together")
			break
		}
		var err1, err2 error
		s.Lat, err1 = strconv.ParseFloat(lat, 64)
		s.Long, err2 = strconv.ParseFloat(long, 64)
		if err1 != nil || err2 != nil || s.Lat < -90 || s.Lat > 90 || s.Long < -180 || s.Long > 180 {
			bad.add("lat and long must be a WGS84 latitude (-90 to 90) and longitude (-180 to 180)")
			break
		}
		s.HasPoint = true
	}
	if id := form(f, "address_id"); id != "" {
		placed = true
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 1 {
			bad.add("address_id %q is not an address id of this jurisdiction (the id of a building)", id)
		}
		s.AddressID = n
	}
	if !placed && s.AddressString == "" {
		bad.add("a location is required: lat and long, address_string or address_id")
	}
	if utf8.RuneCountInString(s.AddressString) > 200 {
		bad.add("address_string must be at most 200 characters")
	}
	if utf8.RuneCountInString(s.Description) > 4000 {
		bad.add("description must be at most 4000 characters")
	}
	if s.MediaURL != "" {
		u, err := url.Parse(s.MediaURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(s.MediaURL) > 1000 {
			bad.add("media_url must be an http or https URL of at most 1000 characters")
		}
	}
	for name, c := range map[string]string{"email": s.Contact.Email, "first_name": s.Contact.FirstName, "last_name": s.Contact.LastName,
		"phone": s.Contact.Phone, "device_id": s.Contact.DeviceID, "account_id": s.Contact.AccountID} {
		if utf8.RuneCountInString(c) > 200 {
			bad.add("%s must be at most 200 characters", name)
		}
	}
	// attribute[code]=v and attribute[code][]=v.
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !strings.HasPrefix(k, "attribute[") {
			continue
		}
		rest := k[len("attribute["):]
		end := strings.IndexByte(rest, ']')
		if end <= 0 || (rest[end+1:] != "" && rest[end+1:] != "[]") {
			bad.add("%s is not of the form attribute[code] or attribute[code][]", k)
			continue
		}
		code := rest[:end]
		for _, v := range f[k] {
			if v = strings.TrimSpace(v); v != "" {
				if utf8.RuneCountInString(v) > 1000 {
					bad.add("attribute[%s] must be at most 1000 characters", code)
				}
				s.multi[code] = append(s.multi[code], v)
			}
		}
		if len(s.multi[code]) > 0 {
			s.Attributes[code] = strings.Join(s.multi[code], ",")
		}
	}
	return s, bad.err()
}

// Check checks the answers against the service's questions: required
// ones answered, none unknown, numbers numbers, datetimes ISO 8601, list
// answers among the keys, one answer only unless the list takes several.
func (s *Submission) Check(c matter.Category) error {
	var bad invalid
	codes := make([]string, 0, len(s.multi))
	for code := range s.multi {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if !slices.ContainsFunc(c.Attributes, func(a matter.Attribute) bool { return a.Code == code }) {
			bad.add("attribute[%s] is not a question of service %s", code, c.Code)
		}
	}
	for _, a := range c.Attributes {
		vals := s.multi[a.Code]
		if len(vals) == 0 {
			if a.Required {
				bad.add("attribute[%s] is required: %s", a.Code, a.Description)
			}
			continue
		}
		if len(vals) > 1 && a.Datatype != "multivaluelist" {
			bad.add("attribute[%s] takes one answer", a.Code)
			continue
		}
		for _, v := range vals {
			switch a.Datatype {
			case "number":
				if _, err := strconv.ParseFloat(v, 64); err != nil {
					bad.add("attribute[%s] must be a number", a.Code)
				}
			case "datetime":
				if _, err := ParseTime(v, time.UTC); err != nil {
					bad.add("attribute[%s]: %v", a.Code, err)
				}
			case "string":
				if strings.ContainsAny(v, "\r\n") {
					bad.add("attribute[%s] must be one line", a.Code)
				}
			case "singlevaluelist", "multivaluelist":
				if len(a.Values) > 0 && !slices.Contains(a.Values, v) {
					bad.add("attribute[%s] must be one of %s", a.Code, strings.Join(a.Values, ", "))
				}
			}
		}
	}
	return bad.err()
}

// Matter is the matter a checked submission files: for the category, on
// the open311 channel. With no description the service's name stands in,
// since a matter must say what it is.
func (s *Submission) Matter(c matter.Category) matter.Matter {
	m := matter.Matter{Category: c.Code, CategoryID: c.ID, CommunityID: c.CommunityID, Description: s.Description,
		Address: s.AddressString, Channel: "open311"}
	if m.Description == "" {
		m.Description = c.Name
	}
	if s.HasPoint {
		m.Lat, m.Lng = s.Lat, s.Long
	}
	if len(s.Attributes) > 0 {
		m.Attributes = s.Attributes
	}
	return m
}

// The volume limits of GET requests the specification sets.
const (
	MaxDays    = 90
	MaxResults = 1000
)

// WindowStep is what the end of the default window, now, is rounded up
// to: the window without dates stays the same for that long, so the
// listing of it can be kept (ListingKey) rather than read again on every
// request while the clock moves. Rounding up keeps a request filed a
// moment ago in it.
const WindowStep = time.Minute

// Query is GET requests' filter.
type Query struct {
	JurisdictionID string
	APIKey         string
	// IDs are service_request_id values; when given, the other filters
	// are ignored, as the specification says.
	IDs []string
	// Codes are service codes; none means all.
	Codes []string
	// Status is "open", "closed" or "" for both.
	Status string
	// Start and End bound requested_datetime, both included.
	Start, End time.Time
	Limit      int
}

// list splits a comma list, dropping blanks and repeats.
func list(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// ReadQuery reads GET requests' arguments. Without dates the window is
// the 90 days up to now rounded up to the WindowStep; with one date it is the 90 days after start_date
// or before end_date; the two may not be more than 90 days apart. At most
// 1000 requests come back, newest first.
func ReadQuery(f url.Values, now time.Time, zone *time.Location) (Query, error) {
	var bad invalid
	q := Query{JurisdictionID: form(f, "jurisdiction_id"), APIKey: form(f, "api_key"), Limit: MaxResults}
	q.IDs = list(strings.Join(f["service_request_id"], ","))
	if len(q.IDs) > MaxResults {
		bad.add("service_request_id lists at most %d ids", MaxResults)
	}
	if len(q.IDs) > 0 {
		return q, bad.err()
	}
	q.Codes = list(strings.Join(f["service_code"], ","))
	open, closed := false, false
	for _, st := range list(strings.Join(f["status"], ",")) {
		switch strings.ToLower(st) {
		case "open":
			open = true
		case "closed":
			closed = true
		default:
			bad.add("status %q is not open or closed", st)
		}
	}
	if open != closed {
		q.Status = map[bool]string{true: "open", false: "closed"}[open]
	}
	var err error
	if v := form(f, "start_date"); v != "" {
		if q.Start, err = ParseTime(v, zone); err != nil {
			bad.add("start_date: %v", err)
		}
	}
	if v := form(f, "end_date"); v != "" {
		if q.End, err = ParseTime(v, zone); err != nil {
			bad.add("end_date: %v", err)
		}
	}
	if len(bad) > 0 {
		return q, bad.err()
	}
	span := MaxDays * 24 * time.Hour
	switch {
	case q.Start.IsZero() && q.End.IsZero():
		q.End = now.Truncate(WindowStep)
		if q.End.Before(now) {
			q.End = q.End.Add(WindowStep)
		}
		q.Start = q.End.Add(-span)
	case q.Start.IsZero():
		q.Start = q.End.Add(-span)
	case q.End.IsZero():
		q.End = q.Start.Add(span)
	}
	if q.End.Before(q.Start) {
		bad.add("end_date is before start_date")
	} else if q.End.Sub(q.Start) > span {
		bad.add("start_date and end_date may not span more than %d days", MaxDays)
	}
	return q, bad.err()
}

// BadRequest is a 400 failure with one error.
func BadRequest(format string, args ...any) *Failure {
	return Fail(http.StatusBadRequest, format, args...)
}
