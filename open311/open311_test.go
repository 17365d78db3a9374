package open311

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/matter"
)

var cst = time.FixedZone("CST", 8*3600)

func TestSplitFormat(t *testing.T) {
	for in, want := range map[string]struct {
		base string
		f    Format
		ok   bool
	}{
		"services.xml": {"services", XML, true}, "lift.json": {"lift", JSON, true}, "a.b.json": {"a.b", JSON, true},
		"services": {"services", XML, false}, "services.csv": {"services", XML, false}, "services.JSON": {"services", XML, false},
	} {
		b, f, ok := SplitFormat(in)
		if b != want.base || f != want.f || ok != want.ok {
			t.Errorf("%s: %q %q %v", in, b, f, ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2010-01-01T00:00:00Z":      "2010-01-01T00:00:00Z",
		"1994-11-05T08:15:30-05:00": "1994-11-05T13:15:30Z",
		"2026-11-28T17:00:00+08:00": "2026-11-28T09:00:00Z",
		"2026-11-28T17:00:00 08:00": "2026-11-28T09:00:00Z", // '+' unescaped in a query
		"2026-11-28T17:00+08:00":    "2026-11-28T09:00:00Z",
		"2026-11-28T17:00:00.5Z":    "2026-11-28T17:00:00Z",
		"2026-11-28":                "2026-11-27T16:00:00Z", // midnight in the zone given
	} {
		got, err := ParseTime(in, cst)
		if err != nil || got.UTC().Truncate(time.Second).Format(time.RFC3339) != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
	for in, says := range map[string]string{
		"2026-11-28T17:00:00": "no time zone", "2026-11-28T17:00": "no time zone", "2026-11-28T17:00:00.5": "no time zone",
		"yesterday": "not an ISO 8601", "28/11/2026": "not an ISO 8601", "2026-11-28T17:00:00+0800": "not an ISO 8601",
	} {
		if _, err := ParseTime(in, cst); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%s: %v, want %q", in, err, says)
		}
	}
	if s := FormatTime(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), cst); s != "2026-11-28T17:00:00+08:00" {
		t.Errorf("format %s", s)
	}
	if s := FormatTime(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC), time.UTC); s != "2026-11-28T09:00:00Z" {
		t.Errorf("format UTC %s", s)
	}
}

func descriptions(err error) string {
	var f *Failure
	if !errors.As(err, &f) {
		return ""
	}
	var out []string
	for _, e := range f.Errors {
		out = append(out, e.Description)
	}
	return strings.Join(out, " | ")
}

var lift = matter.Category{ID: 3, CommunityID: 1, Code: "lift", Name: "电梯故障", SLAHours: 24, Attributes: []matter.Attribute{
	{Code: "trapped", Datatype: "singlevaluelist", Required: true, Values: []string{"yes", "no"}, Order: 2, Description: "anyone trapped"},
	{Code: "floor", Datatype: "number", Order: 1},
	{Code: "when", Datatype: "datetime", Order: 3},
	{Code: "doors", Datatype: "multivaluelist", Values: []string{"front", "back"}, Order: 4},
	{Code: "note", Datatype: "string", Order: 5},
}}

func TestSubmission(t *testing.T) {
	f := url.Values{"api_key": {"k"}, "service_code": {"lift"}, "lat": {"29.72"}, "long": {"106.63"}, "address_string": {""},
		"attribute[trapped]": {"no"}, "attribute[floor]": {"3"}, "attribute[doors][]": {"front", "back"}, "attribute[when]": {"2026-11-28T08:00:00+08:00"},
		"description": {"  停了  "}, "email": {"a@example.org"}, "media_url": {"https://example.org/x.jpg"}}
	s, err := ReadSubmission(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(lift); err != nil {
		t.Fatal(descriptions(err))
	}
	m := s.Matter(lift)
	if m.Category != "lift" || m.Lat != 29.72 || m.Lng != 106.63 || m.Description != "停了" || m.Channel != "open311" ||
		m.Attributes["doors"] != "front,back" || m.Attributes["floor"] != "3" || s.Contact.Email != "a@example.org" || s.MediaURL == "" {
		t.Errorf("matter %+v / %+v", m, s)
	}
	// No description: the service's name says what it is.
	s, _ = ReadSubmission(url.Values{"service_code": {"lift"}, "address_string": {"东门"}})
	if m := s.Matter(lift); m.Description != "电梯故障" || m.Address != "东门" || s.APIKey != "" {
		t.Errorf("bare matter %+v", m)
	}

	for name, c := range map[string]struct {
		form url.Values
		says string
	}{
		"no service_code":  {url.Values{"lat": {"1"}, "long": {"2"}}, "service_code was not provided"},
		"no location":      {url.Values{"service_code": {"x"}}, "a location is required"},
		"only lat":         {url.Values{"service_code": {"x"}, "lat": {"1"}}, "lat and long must be sent together"},
		"lat out of range": {url.Values{"service_code": {"x"}, "lat": {"91"}, "long": {"2"}}, "WGS84"},
		"address_id":       {url.Values{"service_code": {"x"}, "address_id": {"abc"}}, `address_id "abc"`},
		"media_url":        {url.Values{"service_code": {"x"}, "address_string": {"y"}, "media_url": {"ftp://x/y"}}, "media_url"},
		"attribute form":   {url.Values{"service_code": {"x"}, "address_string": {"y"}, "attribute[a]b": {"1"}}, "attribute[a]b is not of the form"},
	} {
		if _, err := ReadSubmission(c.form); !strings.Contains(descriptions(err), c.says) {
			t.Errorf("%s: %q, want %q", name, descriptions(err), c.says)
		}
	}
	for name, c := range map[string]struct {
		attrs url.Values
		says  string
	}{
		"required":     {url.Values{"attribute[floor]": {"2"}}, "attribute[trapped] is required: anyone trapped"},
		"not in list":  {url.Values{"attribute[trapped]": {"maybe"}}, "attribute[trapped] must be one of yes, no"},
		"not a number": {url.Values{"attribute[trapped]": {"no"}, "attribute[floor]": {"二"}}, "attribute[floor] must be a number"},
		"datetime":     {url.Values{"attribute[trapped]": {"no"}, "attribute[when]": {"8am"}}, "attribute[when]"},
		"multi value":  {url.Values{"attribute[trapped]": {"no"}, "attribute[doors][]": {"front", "side"}}, "attribute[doors] must be one of front, back"},
		"two answers":  {url.Values{"attribute[trapped][]": {"no", "yes"}}, "attribute[trapped] takes one answer"},
		"unknown":      {url.Values{"attribute[trapped]": {"no"}, "attribute[colour]": {"red"}}, "attribute[colour] is not a question of service lift"},
		"line break":   {url.Values{"attribute[trapped]": {"no"}, "attribute[note]": {"a\nb"}}, "attribute[note] must be one line"},
	} {
		c.attrs.Set("service_code", "lift")
		c.attrs.Set("address_string", "东门")
		s, err := ReadSubmission(c.attrs)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := s.Check(lift); !strings.Contains(descriptions(err), c.says) {
			t.Errorf("%s: %q, want %q", name, descriptions(err), c.says)
		}
	}
}

func TestReadQuery(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	q, err := ReadQuery(url.Values{}, now, cst)
	if err != nil || !q.End.Equal(now) || !q.Start.Equal(now.Add(-90*24*time.Hour)) || q.Limit != 1000 || q.Status != "" {
		t.Errorf("defaults %+v %v", q, err)
	}
	q, _ = ReadQuery(url.Values{"service_request_id": {"a, b,,a"}, "status": {"bogus"}}, now, cst)
	if strings.Join(q.IDs, " ") != "a b" {
		t.Errorf("ids %+v", q)
	}
	q, _ = ReadQuery(url.Values{"service_code": {"a,b"}, "status": {"open", "closed"}}, now, cst)
	if strings.Join(q.Codes, " ") != "a b" || q.Status != "" {
		t.Errorf("codes and both statuses %+v", q)
	}
	q, _ = ReadQuery(url.Values{"status": {"closed"}, "start_date": {"2026-10-01T00:00:00Z"}}, now, cst)
	if q.Status != "closed" || !q.End.Equal(q.Start.Add(90*24*time.Hour)) {
		t.Errorf("start only %+v", q)
	}
	q, _ = ReadQuery(url.Values{"end_date": {"2026-10-01T00:00:00Z"}}, now, cst)
	if !q.Start.Equal(q.End.Add(-90 * 24 * time.Hour)) {
		t.Errorf("end only %+v", q)
	}
	for in, says := range map[string]string{
		"status=pending":        `status "pending"`,
		"start_date=x":          "start_date",
		"end_date=2026-11-01T1": "end_date",
		"start_date=2026-11-02T00:00:00Z&end_date=2026-11-01T00:00:00Z": "end_date is before start_date",
		"start_date=2026-01-01T00:00:00Z&end_date=2026-05-01T00:00:00Z": "more than 90 days",
	} {
		v, _ := url.ParseQuery(in)
		if _, err := ReadQuery(v, now, cst); !strings.Contains(descriptions(err), says) {
			t.Errorf("%s: %q, want %q", in, descriptions(err), says)
		}
	}
}

func TestMapping(t *testing.T) {
	s := ServiceOf(lift)
	if s.ServiceCode != "lift" || !s.Metadata || s.Type != "realtime" || s.Keywords != "lift" {
		t.Errorf("service %+v", s)
	}
	d := DefinitionOf(lift)
	if d.Attributes[0].Code != "floor" || d.Attributes[1].Code != "trapped" || d.Attributes[1].Values[1] != (Value{"no", "no"}) || !d.Attributes[0].Variable {
		t.Errorf("definition %+v", d)
	}
	// Orders that are not distinct and positive give way to the list's.
	same := matter.Category{Code: "x", Attributes: []matter.Attribute{{Code: "b"}, {Code: "a"}}}
	if d := DefinitionOf(same); d.Attributes[0].Order != 1 || d.Attributes[1].Order != 2 || d.Attributes[0].Code != "b" {
		t.Errorf("positions %+v", d)
	}
	for status, want := range map[string]string{matter.Submitted: "open", matter.Accepted: "open", matter.Assigned: "open", matter.InProgress: "open",
		matter.Returned: "open", matter.Resolved: "closed", matter.Closed: "closed", matter.Rejected: "closed"} {
		if got := StatusOf(status); got != want {
			t.Errorf("%s: %s", status, got)
		}
	}
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	m := matter.Matter{Tracking: "SQ-20261128-0001", Category: "lift", Status: matter.Resolved, StatusNote: "call 13912345678",
		Description: "王芳 13912345678 / 139 1234 5678 / wang@example.org / 500112195003011234 / 3楼", Address: "A栋 1-101", HomeID: 7,
		CreatedAt: at, UpdatedAt: at.Add(time.Hour), DueAt: at.Add(24 * time.Hour)}
	r := RequestOf(m, View{Category: lift, Agency: "宝圣东路社区", Zone: cst, Place: Place{BuildingID: 4, Name: "A栋", Address: "宝圣东路1号A栋", Lat: 29.7, Lng: 106.6}})
	if r.ServiceRequestID != "SQ-20261128-0001" || r.Status != "closed" || r.ServiceName != "电梯故障" || r.RequestedDatetime != "2026-11-28T17:00:00+08:00" ||
		r.UpdatedDatetime != "2026-11-28T18:00:00+08:00" || r.ExpectedDatetime != "2026-11-29T17:00:00+08:00" || r.AddressID != "4" ||
		r.Address != "宝圣东路1号A栋, 宝圣东路社区" || *r.Lat != 29.7 || r.StatusNotes != "call ***" {
		t.Errorf("request %+v", r)
	}
	if strings.ContainsAny(string(r.Description), "0123456789@") && string(r.Description) != "王芳 *** / *** / ***@*** / *** / 3楼" {
		t.Errorf("description %q", r.Description)
	}
	// A request away from any home shows the address it was given.
	m.HomeID, m.Address, m.Lat, m.Lng = 0, "东门", 0, 0
	if r := RequestOf(m, View{Agency: "社区"}); r.Address != "东门, 社区" || r.Lat != nil || r.AddressID != "" || r.ServiceName != "lift" || r.RequestedDatetime != "2026-11-28T09:00:00Z" {
		t.Errorf("away %+v", r)
	}
}

func TestEncode(t *testing.T) {
	for name, c := range map[string]struct {
		v         any
		xml, json string
	}{
		"errors": {Errors{{Code: 403, Description: "Invalid api_key"}},
			`<errors><error><code>403</code><description>Invalid api_key</description></error></errors>`,
			`[{"code":403,"description":"Invalid api_key"}]`},
		"created": {CreatedList{{ServiceRequestID: "SQ-1", ServiceNotice: "soon"}},
			`<service_requests><request><service_request_id>SQ-1</service_request_id><service_notice>soon</service_notice><account_id></account_id></request></service_requests>`,
			`[{"service_request_id":"SQ-1","service_notice":"soon","account_id":null}]`},
		"token": {Tokens{{ServiceRequestID: "SQ-1", Token: "SQ-1"}},
			`<service_requests><request><service_request_id>SQ-1</service_request_id><token>SQ-1</token></request></service_requests>`,
			`[{"service_request_id":"SQ-1","token":"SQ-1"}]`},
		"empty list": {Requests{}, `<service_requests></service_requests>`, `[]`},
		"text as written": {Errors{{Code: 400, Description: `a <b> & "c"`}},
			`<errors><error><code>400</code><description>a &lt;b&gt; &amp; &#34;c&#34;</description></error></errors>`,
			`[{"code":400,"description":"a <b> & \"c\""}]`},
		"text that needs escaping": {CreatedList{{ServiceRequestID: "1", ServiceNotice: "a\"b\\c\nd\u2028\xff"}},
			"<service_requests><request><service_request_id>1</service_request_id><service_notice>a&#34;b\\c&#xA;d\u2028\uFFFD</service_notice><account_id></account_id></request></service_requests>",
			`[{"service_request_id":"1","service_notice":"a\"b\\c\nd\u2028\ufffd","account_id":null}]`},
		"null text as written": {CreatedList{{ServiceRequestID: "1", ServiceNotice: "<&>"}},
			`<service_requests><request><service_request_id>1</service_request_id><service_notice>&lt;&amp;&gt;</service_notice><account_id></account_id></request></service_requests>`,
			`[{"service_request_id":"1","service_notice":"<&>","account_id":null}]`},
		"definition": {ServiceDefinition{ServiceCode: "x", Attributes: []Attribute{}},
			`<service_definition><service_code>x</service_code><attributes></attributes></service_definition>`,
			`{"service_code":"x","attributes":[]}`},
	} {
		x, err := Encode(XML, c.v)
		if err != nil || string(x) != `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+c.xml+"\n" {
			t.Errorf("%s XML: %s %v", name, x, err)
		}
		j, err := Encode(JSON, c.v)
		if err != nil || string(j) != c.json+"\n" {
			t.Errorf("%s JSON: %s %v", name, j, err)
		}
	}
}

// TestScrubFastPath: the check that skips the expressions never skips a
// text they would change.
func TestScrubFastPath(t *testing.T) {
	alphabet := []string{"0", "1", "9", " ", "-", "@", "a", ".", "x", "X", "楼", "\n", "cn"}
	rng := rand.New(rand.NewPCG(311, 7))
	for range 200000 {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		s := b.String()
		scrubbed := email.ReplaceAllString(digitRun.ReplaceAllString(s, "***"), "***@***")
		if !mayHoldNumberOrAddress(s) && scrubbed != s {
			t.Fatalf("%q skipped, but the expressions make it %q", s, scrubbed)
		}
	}
	for s, want := range map[string]bool{
		"楼道灯坏了 12":         false,
		"电话 138 0013 8000": true,
		"1-2-3-4-5-6-7":    true,
		"12--34567":        false,
		"123456":           false,
		"a@b.cn":           true,
	} {
		if got := mayHoldNumberOrAddress(s); got != want {
			t.Errorf("mayHoldNumberOrAddress(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRequestsJSON: the requests written without reflection are byte for
// byte what encoding/json writes, escapes, nulls and numbers included.
func TestRequestsJSON(t *testing.T) {
	lat, long, tiny, big := 29.7201, 106.63, 1e-9, 3e21
	neg := -0.5
	rs := Requests{
		{ServiceRequestID: "M-1", Status: "open", ServiceName: "路灯", ServiceCode: "repair", RequestedDatetime: "2026-12-06T10:00:00+08:00", UpdatedDatetime: "2026-12-06T10:00:00+08:00", Lat: &lat, Long: &long},
		{ServiceRequestID: `quo"te`, Status: "closed", StatusNotes: "行\n二\t\"引\" \\ <b>&amp;</b> \u2028 \x01 \b\f", Description: "a\xffb", AgencyResponsible: "社区",
			ServiceNotice: "三日内", ExpectedDatetime: "2026-12-09T10:00:00+08:00", Address: "3栋", AddressID: "12", Zipcode: "400000", MediaURL: "https://x.test/m/1?a=1&b=2", Lat: &tiny, Long: &big},
		{ServiceRequestID: "M-3", Lat: &neg},
	}
	for _, in := range []Requests{rs, {}, nil, rs[:1]} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode([]Request(in)); err != nil {
			t.Fatal(err)
		}
		got, err := Encode(JSON, in)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("got\n%s\nwant\n%s", got, want.Bytes())
		}
	}
}
