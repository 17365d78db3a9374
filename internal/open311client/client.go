// Package open311client is a small Open311 GeoReport v2 client written
// from the specification (wiki.open311.org/GeoReport_v2 and
// Service_Discovery, with the types of open311/schema-validation) and
// nothing else: it shares no code with the server it is pointed at, so a
// test that drives the server through it checks the server against the
// specification rather than against itself.
//
// It is strict where the specification is: XML must start with its
// declaration naming UTF-8, the content type must match the format asked
// for, ids and codes are strings, times carry a zone, and errors come as
// an errors document with the HTTP status.
package open311client

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Client talks to one GeoReport v2 endpoint in one format.
type Client struct {
	// Endpoint is the URL discovery gives, e.g. https://city.gov/open311/v2.
	Endpoint string
	// Format is "xml" (what every server serves) or "json".
	Format string
	// APIKey is sent when filing requests.
	APIKey string
	// Jurisdiction is sent as jurisdiction_id when not empty.
	Jurisdiction string
	HTTP         *http.Client
}

// ErrorItem is one error of an error answer.
type ErrorItem struct {
	Code        int
	Description string
}

// APIError is an answer in error: its HTTP status and the errors listed.
type APIError struct {
	Status int
	Errors []ErrorItem
}

func (e *APIError) Error() string {
	var parts []string
	for _, it := range e.Errors {
		parts = append(parts, fmt.Sprintf("%d %s", it.Code, it.Description))
	}
	return fmt.Sprintf("open311: HTTP %d: %s", e.Status, strings.Join(parts, "; "))
}

// Discovery is a service discovery document.
type Discovery struct {
	Changeset  string
	Contact    string
	KeyService string
	Endpoints  []Endpoint
}

// Endpoint is one API of a discovery document.
type Endpoint struct {
	Specification string
	URL           string
	Changeset     string
	Type          string
	Formats       []string
}

// Service is one service type.
type Service struct {
	Code        string
	Name        string
	Description string
	Metadata    bool
	Type        string
	Keywords    string
	Group       string
}

// Definition is a service definition.
type Definition struct {
	Code       string
	Attributes []Attribute
}

// Attribute is one field of a service definition.
type Attribute struct {
	Variable            bool
	Code                string
	Datatype            string
	Required            bool
	DatatypeDescription string
	Order               int
	Description         string
	Values              []Value
}

// Value is one choice of a list attribute.
type Value struct{ Key, Name string }

// Request is a service request as GET requests returns it.
type Request struct {
	ID                string
	Status            string
	StatusNotes       string
	ServiceName       string
	ServiceCode       string
	Description       string
	AgencyResponsible string
	ServiceNotice     string
	Requested         time.Time
	Updated           time.Time
	Expected          time.Time // zero when not returned
	Address           string
	AddressID         string
	Zipcode           string
	Lat, Long         *float64
	MediaURL          string
}

// Created is what POST requests returns for one request: an id or a token.
type Created struct {
	ID        string
	Token     string
	Notice    string
	AccountID string
}

// NewRequest is a service request to file.
type NewRequest struct {
	ServiceCode   string
	Lat, Long     *float64
	AddressString string
	AddressID     string
	// Attributes maps an attribute code to its answers; more than one
	// answer is sent as attribute[code][]=….
	Attributes                        map[string][]string
	Email, FirstName, LastName, Phone string
	DeviceID, AccountID               string
	Description, MediaURL             string
}

// Query is GET requests' filter; zero fields are not sent.
type Query struct {
	IDs        []string
	Codes      []string
	Start, End time.Time
	Status     []string
}

// Discover reads a discovery document at url, which ends in
// discovery.xml or discovery.json.
func Discover(ctx context.Context, hc *http.Client, u string) (Discovery, error) {
	format := "xml"
	if strings.HasSuffix(u, ".json") {
		format = "json"
	}
	c := &Client{Format: format, HTTP: hc}
	var d Discovery
	body, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return d, err
	}
	if format == "json" {
		var j struct {
			Changeset  *string `json:"changeset"`
			Contact    *string `json:"contact"`
			KeyService *string `json:"key_service"`
			Endpoints  []struct {
				Specification string   `json:"specification"`
				URL           string   `json:"url"`
				Changeset     string   `json:"changeset"`
				Type          string   `json:"type"`
				Formats       []string `json:"formats"`
			} `json:"endpoints"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return d, fmt.Errorf("discovery: %w", err)
		}
		if j.Changeset == nil || j.Contact == nil || j.KeyService == nil || j.Endpoints == nil {
			return d, errors.New("discovery: changeset, contact, key_service and endpoints are all required")
		}
		d = Discovery{Changeset: *j.Changeset, Contact: *j.Contact, KeyService: *j.KeyService}
		for _, e := range j.Endpoints {
			d.Endpoints = append(d.Endpoints, Endpoint(e))
		}
		return d, checkDiscovery(d)
	}
	var x struct {
		XMLName    xml.Name `xml:"discovery"`
		Changeset  string   `xml:"changeset"`
		Contact    string   `xml:"contact"`
		KeyService string   `xml:"key_service"`
		Endpoints  []struct {
			Specification string   `xml:"specification"`
			URL           string   `xml:"url"`
			Changeset     string   `xml:"changeset"`
			Type          string   `xml:"type"`
			Formats       []string `xml:"formats>format"`
		} `xml:"endpoints>endpoint"`
	}
	if err := xml.Unmarshal(body, &x); err != nil {
		return d, fmt.Errorf("discovery: %w", err)
	}
	d = Discovery{Changeset: x.Changeset, Contact: x.Contact, KeyService: x.KeyService}
	for _, e := range x.Endpoints {
		d.Endpoints = append(d.Endpoints, Endpoint(e))
	}
	return d, checkDiscovery(d)
}

func checkDiscovery(d Discovery) error {
	if len(d.Endpoints) == 0 {
		return errors.New("discovery: no endpoints")
	}
	for _, e := range d.Endpoints {
		if e.Type != "production" && e.Type != "test" {
			return fmt.Errorf("discovery: endpoint type %q is not production or test", e.Type)
		}
		if _, err := url.Parse(e.URL); err != nil || e.URL == "" {
			return fmt.Errorf("discovery: endpoint url %q", e.URL)
		}
	}
	return nil
}

// GeoReport returns the first production GeoReport v2 endpoint of d that
// serves format (a MIME type).
func (d Discovery) GeoReport(mime string) (Endpoint, bool) {
	for _, e := range d.Endpoints {
		if e.Specification == "http://wiki.open311.org/GeoReport_v2" && e.Type == "production" && slices.Contains(e.Formats, mime) {
			return e, true
		}
	}
	return Endpoint{}, false
}

// Services lists the service types.
func (c *Client) Services(ctx context.Context) ([]Service, error) {
	body, err := c.do(ctx, http.MethodGet, c.url("services", c.common()), nil)
	if err != nil {
		return nil, err
	}
	type service struct {
		Code        jsonString `json:"service_code" xml:"service_code"`
		Name        string     `json:"service_name" xml:"service_name"`
		Description *string    `json:"description" xml:"description"`
		Metadata    *bool      `json:"metadata" xml:"metadata"`
		Type        string     `json:"type" xml:"type"`
		Keywords    *string    `json:"keywords" xml:"keywords"`
		Group       *string    `json:"group" xml:"group"`
	}
	var list []service
	if c.Format == "json" {
		err = json.Unmarshal(body, &list)
	} else {
		var x struct {
			XMLName xml.Name  `xml:"services"`
			Items   []service `xml:"service"`
		}
		err = xml.Unmarshal(body, &x)
		list = x.Items
	}
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	out := make([]Service, 0, len(list))
	for _, s := range list {
		if s.Code == "" || s.Name == "" || s.Metadata == nil {
			return nil, fmt.Errorf("services: service_code, service_name and metadata are required: %+v", s)
		}
		if !slices.Contains([]string{"realtime", "batch", "blackbox"}, s.Type) {
			return nil, fmt.Errorf("services: type %q", s.Type)
		}
		out = append(out, Service{Code: string(s.Code), Name: s.Name, Description: deref(s.Description), Metadata: *s.Metadata,
			Type: s.Type, Keywords: deref(s.Keywords), Group: deref(s.Group)})
	}
	return out, nil
}

// Definition returns the definition of a service whose metadata is true.
func (c *Client) Definition(ctx context.Context, code string) (Definition, error) {
	body, err := c.do(ctx, http.MethodGet, c.url("services/"+url.PathEscape(code), c.common()), nil)
	if err != nil {
		return Definition{}, err
	}
	type value struct {
		Key  jsonString `json:"key" xml:"key"`
		Name string     `json:"name" xml:"name"`
	}
	type attribute struct {
		Variable            bool       `json:"variable" xml:"variable"`
		Code                jsonString `json:"code" xml:"code"`
		Datatype            string     `json:"datatype" xml:"datatype"`
		Required            bool       `json:"required" xml:"required"`
		DatatypeDescription *string    `json:"datatype_description" xml:"datatype_description"`
		Order               int        `json:"order" xml:"order"`
		Description         *string    `json:"description" xml:"description"`
		Values              []value    `json:"values" xml:"values>value"`
	}
	var d struct {
		XMLName    xml.Name    `json:"-" xml:"service_definition"`
		Code       jsonString  `json:"service_code" xml:"service_code"`
		Attributes []attribute `json:"attributes" xml:"attributes>attribute"`
	}
	if c.Format == "json" {
		err = json.Unmarshal(body, &d)
	} else {
		err = xml.Unmarshal(body, &d)
	}
	if err != nil {
		return Definition{}, fmt.Errorf("service definition: %w", err)
	}
	out := Definition{Code: string(d.Code)}
	for _, a := range d.Attributes {
		if !slices.Contains([]string{"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}, a.Datatype) {
			return out, fmt.Errorf("service definition: datatype %q", a.Datatype)
		}
		at := Attribute{Variable: a.Variable, Code: string(a.Code), Datatype: a.Datatype, Required: a.Required,
			DatatypeDescription: deref(a.DatatypeDescription), Order: a.Order, Description: deref(a.Description)}
		for _, v := range a.Values {
			at.Values = append(at.Values, Value{Key: string(v.Key), Name: v.Name})
		}
		out.Attributes = append(out.Attributes, at)
	}
	return out, nil
}

// Create files a service request (form-encoded, with the API key).
func (c *Client) Create(ctx context.Context, r NewRequest) ([]Created, error) {
	f := c.common()
	f.Set("api_key", c.APIKey)
	set := func(k, v string) {
		if v != "" {
			f.Set(k, v)
		}
	}
	set("service_code", r.ServiceCode)
	if r.Lat != nil && r.Long != nil {
		f.Set("lat", strconv.FormatFloat(*r.Lat, 'f', -1, 64))
		f.Set("long", strconv.FormatFloat(*r.Long, 'f', -1, 64))
	}
	set("address_string", r.AddressString)
	set("address_id", r.AddressID)
	set("email", r.Email)
	set("device_id", r.DeviceID)
	set("account_id", r.AccountID)
	set("first_name", r.FirstName)
	set("last_name", r.LastName)
	set("phone", r.Phone)
	set("description", r.Description)
	set("media_url", r.MediaURL)
	for code, vals := range r.Attributes {
		if len(vals) == 1 {
			f.Set("attribute["+code+"]", vals[0])
		} else {
			f["attribute["+code+"][]"] = vals
		}
	}
	body, err := c.do(ctx, http.MethodPost, c.url("requests", nil), []byte(f.Encode()))
	if err != nil {
		return nil, err
	}
	type created struct {
		ID        *jsonString `json:"service_request_id" xml:"service_request_id"`
		Token     *jsonString `json:"token" xml:"token"`
		Notice    *string     `json:"service_notice" xml:"service_notice"`
		AccountID *jsonString `json:"account_id" xml:"account_id"`
	}
	var list []created
	if c.Format == "json" {
		err = json.Unmarshal(body, &list)
	} else {
		var x struct {
			XMLName xml.Name  `xml:"service_requests"`
			Items   []created `xml:"request"`
		}
		err = xml.Unmarshal(body, &x)
		list = x.Items
	}
	if err != nil {
		return nil, fmt.Errorf("create: %w", err)
	}
	var out []Created
	for _, it := range list {
		id, token := derefJS(it.ID), derefJS(it.Token)
		if (id == "") == (token == "") {
			return nil, fmt.Errorf("create: a request must come back with a service_request_id or a token, not both or neither")
		}
		out = append(out, Created{ID: id, Token: token, Notice: deref(it.Notice), AccountID: derefJS(it.AccountID)})
	}
	return out, nil
}

// Token returns the service_request_id a token stands for.
func (c *Client) Token(ctx context.Context, token string) (string, error) {
	body, err := c.do(ctx, http.MethodGet, c.url("tokens/"+url.PathEscape(token), c.common()), nil)
	if err != nil {
		return "", err
	}
	type tok struct {
		ID    jsonString `json:"service_request_id" xml:"service_request_id"`
		Token jsonString `json:"token" xml:"token"`
	}
	var list []tok
	if c.Format == "json" {
		err = json.Unmarshal(body, &list)
	} else {
		var x struct {
			XMLName xml.Name `xml:"service_requests"`
			Items   []tok    `xml:"request"`
		}
		err = xml.Unmarshal(body, &x)
		list = x.Items
	}
	if err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if len(list) != 1 || string(list[0].Token) != token {
		return "", fmt.Errorf("token: want one request for token %q, got %+v", token, list)
	}
	return string(list[0].ID), nil
}

// Requests lists service requests.
func (c *Client) Requests(ctx context.Context, q Query) ([]Request, error) {
	v := c.common()
	if len(q.IDs) > 0 {
		v.Set("service_request_id", strings.Join(q.IDs, ","))
	}
	if len(q.Codes) > 0 {
		v.Set("service_code", strings.Join(q.Codes, ","))
	}
	if !q.Start.IsZero() {
		v.Set("start_date", q.Start.Format(time.RFC3339))
	}
	if !q.End.IsZero() {
		v.Set("end_date", q.End.Format(time.RFC3339))
	}
	if len(q.Status) > 0 {
		v.Set("status", strings.Join(q.Status, ","))
	}
	return c.requests(ctx, c.url("requests", v))
}

// Request returns one service request.
func (c *Client) Request(ctx context.Context, id string) (Request, error) {
	list, err := c.requests(ctx, c.url("requests/"+url.PathEscape(id), c.common()))
	if err != nil {
		return Request{}, err
	}
	if len(list) != 1 {
		return Request{}, fmt.Errorf("request %s: want a one-element list, got %d", id, len(list))
	}
	return list[0], nil
}

func (c *Client) requests(ctx context.Context, u string) ([]Request, error) {
	body, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	type request struct {
		ID                jsonString  `json:"service_request_id" xml:"service_request_id"`
		Status            string      `json:"status" xml:"status"`
		StatusNotes       *string     `json:"status_notes" xml:"status_notes"`
		ServiceName       *string     `json:"service_name" xml:"service_name"`
		ServiceCode       jsonString  `json:"service_code" xml:"service_code"`
		Description       *string     `json:"description" xml:"description"`
		AgencyResponsible *string     `json:"agency_responsible" xml:"agency_responsible"`
		ServiceNotice     *string     `json:"service_notice" xml:"service_notice"`
		Requested         string      `json:"requested_datetime" xml:"requested_datetime"`
		Updated           *string     `json:"updated_datetime" xml:"updated_datetime"`
		Expected          *string     `json:"expected_datetime" xml:"expected_datetime"`
		Address           *string     `json:"address" xml:"address"`
		AddressID         *jsonString `json:"address_id" xml:"address_id"`
		Zipcode           *jsonString `json:"zipcode" xml:"zipcode"`
		Lat               jsonNumber  `json:"lat" xml:"lat"`
		Long              jsonNumber  `json:"long" xml:"long"`
		MediaURL          *string     `json:"media_url" xml:"media_url"`
	}
	var list []request
	if c.Format == "json" {
		err = json.Unmarshal(body, &list)
	} else {
		var x struct {
			XMLName xml.Name  `xml:"service_requests"`
			Items   []request `xml:"request"`
		}
		err = xml.Unmarshal(body, &x)
		list = x.Items
	}
	if err != nil {
		return nil, fmt.Errorf("requests: %w", err)
	}
	out := make([]Request, 0, len(list))
	for _, r := range list {
		if r.ID == "" || r.ServiceCode == "" {
			return nil, errors.New("requests: service_request_id and service_code are required")
		}
		if r.Status != "open" && r.Status != "closed" {
			return nil, fmt.Errorf("requests: status %q is not open or closed", r.Status)
		}
		req := Request{ID: string(r.ID), Status: r.Status, StatusNotes: deref(r.StatusNotes), ServiceName: deref(r.ServiceName),
			ServiceCode: string(r.ServiceCode), Description: deref(r.Description), AgencyResponsible: deref(r.AgencyResponsible),
			ServiceNotice: deref(r.ServiceNotice), Address: deref(r.Address), AddressID: derefJS(r.AddressID), Zipcode: derefJS(r.Zipcode),
			Lat: r.Lat.v, Long: r.Long.v, MediaURL: deref(r.MediaURL)}
		if req.Requested, err = parseTime(r.Requested); err != nil {
			return nil, fmt.Errorf("requests: requested_datetime: %w", err)
		}
		if s := deref(r.Updated); s != "" {
			if req.Updated, err = parseTime(s); err != nil {
				return nil, fmt.Errorf("requests: updated_datetime: %w", err)
			}
		}
		if s := deref(r.Expected); s != "" {
			if req.Expected, err = parseTime(s); err != nil {
				return nil, fmt.Errorf("requests: expected_datetime: %w", err)
			}
		}
		out = append(out, req)
	}
	return out, nil
}

// w3cTime is the W3C profile of ISO 8601 with the zone the specification
// requires: Z or ±hh:mm.
var w3cTime = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$`)

func parseTime(s string) (time.Time, error) {
	if !w3cTime.MatchString(s) {
		return time.Time{}, fmt.Errorf("%q is not a W3C date and time with a zone", s)
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04Z07:00", s)
}

func (c *Client) common() url.Values {
	v := url.Values{}
	if c.Jurisdiction != "" {
		v.Set("jurisdiction_id", c.Jurisdiction)
	}
	return v
}

func (c *Client) url(resource string, q url.Values) string {
	u := strings.TrimSuffix(c.Endpoint, "/") + "/" + resource + "." + c.Format
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do sends a request and returns the body of a 2xx answer; any other
// answer becomes an *APIError read from the errors document.
func (c *Client) do(ctx context.Context, method, u string, form []byte) ([]byte, error) {
	var body io.Reader
	if form != nil {
		body = bytes.NewReader(form)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	// An error about the format itself may come in XML, the required one.
	var format string
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/xml") || strings.HasPrefix(ct, "application/xml") {
		format = "xml"
	} else if strings.HasPrefix(ct, "application/json") {
		format = "json"
	} else {
		return nil, fmt.Errorf("%s %s: HTTP %d with content type %q", method, u, resp.StatusCode, ct)
	}
	if resp.StatusCode/100 == 2 && format != c.Format {
		return nil, fmt.Errorf("%s %s: asked for %s, got %s", method, u, c.Format, resp.Header.Get("Content-Type"))
	}
	if format == "xml" {
		if !bytes.HasPrefix(b, []byte("<?xml")) || !regexp.MustCompile(`(?i)^<\?xml[^>]*encoding=["']utf-8["']`).Match(b) {
			return nil, fmt.Errorf("%s %s: XML without a declaration naming UTF-8", method, u)
		}
	}
	if resp.StatusCode/100 == 2 {
		return b, nil
	}
	e := &APIError{Status: resp.StatusCode}
	type item struct {
		Code        int    `json:"code" xml:"code"`
		Description string `json:"description" xml:"description"`
	}
	var items []item
	if format == "json" {
		err = json.Unmarshal(b, &items)
	} else {
		var x struct {
			XMLName xml.Name `xml:"errors"`
			Items   []item   `xml:"error"`
		}
		err = xml.Unmarshal(b, &x)
		items = x.Items
	}
	if err != nil || len(items) == 0 {
		return nil, fmt.Errorf("%s %s: HTTP %d without an errors document: %q", method, u, resp.StatusCode, b)
	}
	for _, it := range items {
		e.Errors = append(e.Errors, ErrorItem(it))
	}
	return nil, e
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefJS(s *jsonString) string {
	if s == nil {
		return ""
	}
	return string(*s)
}

// jsonString is a field the schema types as a string: in JSON it must be
// a string (or null); a number is an error. In XML all is text.
type jsonString string

func (s *jsonString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("want a string, got %s", b)
	}
	*s = jsonString(v)
	return nil
}

// jsonNumber is a number that may be null in JSON or empty or absent in XML.
type jsonNumber struct{ v *float64 }

func (n *jsonNumber) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	n.v = &f
	return nil
}

func (n *jsonNumber) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var s string
	if err := d.DecodeElement(&s, &start); err != nil {
		return err
	}
	if s = strings.TrimSpace(s); s == "" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	n.v = &f
	return nil
}
