// Package open311 is the Open311 GeoReport v2 face of residents' matters:
// the documents the specification defines (service list, service
// definition, service requests, tokens, errors, discovery) in its two
// formats, XML (required) and JSON (the Spark convention: the XML with the
// list wrappers dropped), the mapping between a matter category and a
// service and between a matter and a service request, and the reading of
// the forms and queries clients send. It knows no SQL; the web package
// routes requests to it and the store keeps what it needs.
//
// Specification: http://wiki.open311.org/GeoReport_v2 and
// http://wiki.open311.org/Service_Discovery.
package open311

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/shequ/shequ/internal/jsonstr"
)

// Specification is the token discovery uses for GeoReport v2.
const Specification = "http://wiki.open311.org/GeoReport_v2"

// Format is an output format, chosen by the extension of the resource.
type Format string

// The formats served. XML is the one the specification requires.
const (
	XML  Format = "xml"
	JSON Format = "json"
)

// Formats lists the MIME types served, as discovery announces them.
var Formats = []string{"text/xml", "application/json"}

// ContentType is the HTTP content type of f.
func (f Format) ContentType() string {
	if f == JSON {
		return "application/json; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}

// SplitFormat splits "lift.json" into "lift" and JSON. ok is false when
// the name has no extension or one that is not a format served.
func SplitFormat(name string) (base string, f Format, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name, XML, false
	}
	switch Format(name[i+1:]) {
	case XML:
		return name[:i], XML, true
	case JSON:
		return name[:i], JSON, true
	}
	return name[:i], XML, false
}

// NullString is an optional text field: JSON null when empty (as the
// specification's examples have it), an empty element in XML.
type NullString string

// MarshalJSON writes "" as null, and a text as the listing's encoder
// does (HTML left unescaped; json.Marshal escapes it again on its own).
func (s NullString) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte("null"), nil
	}
	return jsonstr.Append(make([]byte, 0, len(s)+2), string(s), false), nil
}

// Service is one kind of request a client may file: a matter category.
type Service struct {
	ServiceCode string     `xml:"service_code" json:"service_code"`
	ServiceName string     `xml:"service_name" json:"service_name"`
	Description NullString `xml:"description" json:"description"`
	Metadata    bool       `xml:"metadata" json:"metadata"`
	Type        string     `xml:"type" json:"type"`
	Keywords    NullString `xml:"keywords" json:"keywords"`
	Group       NullString `xml:"group" json:"group"`
}

// Services is the answer of GET services: <services><service>….
type Services []Service

// MarshalXML wraps the list in <services>.
func (s Services) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(struct {
		Items []Service `xml:"service"`
	}{s}, root("services"))
}

// ServiceDefinition is the answer of GET services/{code}: the extra
// questions of a service.
type ServiceDefinition struct {
	ServiceCode string      `json:"service_code"`
	Attributes  []Attribute `json:"attributes"`
}

// MarshalXML writes <service_definition> with an <attributes> element even
// when there are none.
func (d ServiceDefinition) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	type attributes struct {
		Items []Attribute `xml:"attribute"`
	}
	return e.EncodeElement(struct {
		ServiceCode string     `xml:"service_code"`
		Attributes  attributes `xml:"attributes"`
	}{d.ServiceCode, attributes{d.Attributes}}, root("service_definition"))
}

// Attribute is one question of a service definition.
type Attribute struct {
	Variable            bool       `xml:"variable" json:"variable"`
	Code                string     `xml:"code" json:"code"`
	Datatype            string     `xml:"datatype" json:"datatype"`
	Required            bool       `xml:"required" json:"required"`
	DatatypeDescription NullString `xml:"datatype_description" json:"datatype_description"`
	Order               int        `xml:"order" json:"order"`
	Description         string     `xml:"description" json:"description"`
	Values              Values     `xml:"values,omitempty" json:"values,omitempty"`
}

// Values are the choices of a list attribute; XML leaves out <values>
// when there are none.
type Values []Value

// MarshalXML writes <values><value>….
func (v Values) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	return e.EncodeElement(struct {
		Items []Value `xml:"value"`
	}{v}, start)
}

// Value is one choice of a list attribute.
type Value struct {
	Key  string `xml:"key" json:"key"`
	Name string `xml:"name" json:"name"`
}

// Request is a service request: a matter as the public sees it.
type Request struct {
	ServiceRequestID  string     `xml:"service_request_id" json:"service_request_id"`
	Status            string     `xml:"status" json:"status"`
	StatusNotes       NullString `xml:"status_notes" json:"status_notes"`
	ServiceName       string     `xml:"service_name" json:"service_name"`
	ServiceCode       string     `xml:"service_code" json:"service_code"`
	Description       NullString `xml:"description" json:"description"`
	AgencyResponsible NullString `xml:"agency_responsible" json:"agency_responsible"`
	ServiceNotice     NullString `xml:"service_notice" json:"service_notice"`
	RequestedDatetime string     `xml:"requested_datetime" json:"requested_datetime"`
	UpdatedDatetime   string     `xml:"updated_datetime" json:"updated_datetime"`
	ExpectedDatetime  NullString `xml:"expected_datetime" json:"expected_datetime"`
	Address           NullString `xml:"address" json:"address"`
	AddressID         NullString `xml:"address_id" json:"address_id"`
	Zipcode           NullString `xml:"zipcode" json:"zipcode"`
	// Lat and Long are null in JSON and left out of XML when unknown.
	Lat      *float64   `xml:"lat,omitempty" json:"lat"`
	Long     *float64   `xml:"long,omitempty" json:"long"`
	MediaURL NullString `xml:"media_url" json:"media_url"`
}

// Requests is the answer of GET requests and GET requests/{id}:
// <service_requests><request>….
type Requests []Request

// MarshalXML wraps the list in <service_requests>.
func (r Requests) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(struct {
		Items []Request `xml:"request"`
	}{r}, root("service_requests"))
}

// Created is the answer to POST requests for one request. This server
// files requests at once (type realtime), so it returns the
// service_request_id and never a token.
type Created struct {
	ServiceRequestID string     `xml:"service_request_id,omitempty" json:"service_request_id,omitempty"`
	Token            string     `xml:"token,omitempty" json:"token,omitempty"`
	ServiceNotice    NullString `xml:"service_notice" json:"service_notice"`
	AccountID        NullString `xml:"account_id" json:"account_id"`
}

// CreatedList is the answer to POST requests.
type CreatedList []Created

// MarshalXML wraps the list in <service_requests>.
func (c CreatedList) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(struct {
		Items []Created `xml:"request"`
	}{c}, root("service_requests"))
}

// Token is the answer of GET tokens/{token} for one request.
type Token struct {
	ServiceRequestID string `xml:"service_request_id" json:"service_request_id"`
	Token            string `xml:"token" json:"token"`
}

// Tokens is the answer of GET tokens/{token}.
type Tokens []Token

// MarshalXML wraps the list in <service_requests>.
func (t Tokens) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(struct {
		Items []Token `xml:"request"`
	}{t}, root("service_requests"))
}

// Discovery is the service discovery document.
type Discovery struct {
	XMLName    xml.Name   `xml:"discovery" json:"-"`
	Changeset  string     `xml:"changeset" json:"changeset"`
	Contact    string     `xml:"contact" json:"contact"`
	KeyService string     `xml:"key_service" json:"key_service"`
	Endpoints  []Endpoint `xml:"endpoints>endpoint" json:"endpoints"`
}

// Endpoint is one API a discovery document points to.
type Endpoint struct {
	Specification string   `xml:"specification" json:"specification"`
	URL           string   `xml:"url" json:"url"`
	Changeset     string   `xml:"changeset" json:"changeset"`
	Type          string   `xml:"type" json:"type"`
	Formats       []string `xml:"formats>format" json:"formats"`
}

// Error is one error of an error answer.
type Error struct {
	Code        int    `xml:"code" json:"code"`
	Description string `xml:"description" json:"description"`
}

// Errors is an error answer: <errors><error>….
type Errors []Error

// MarshalXML wraps the list in <errors>.
func (es Errors) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(struct {
		Items []Error `xml:"error"`
	}{es}, root("errors"))
}

// Failure is a request the server cannot fulfil: the HTTP status (404 for
// what does not exist, 403 for a missing or wrong api_key, 400 for the
// rest) and the errors of the body, whose codes are the status too.
type Failure struct {
	Status int
	Errors Errors
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "open311: %d", f.Status)
	for _, e := range f.Errors {
		b.WriteString(": " + e.Description)
	}
	return b.String()
}

// Fail returns a failure with one error whose code is the status.
func Fail(status int, format string, args ...any) *Failure {
	return &Failure{Status: status, Errors: Errors{{Code: status, Description: fmt.Sprintf(format, args...)}}}
}

// invalid collects several 400 errors, one per field, in a stable order.
type invalid []Error

func (v *invalid) add(format string, args ...any) {
	*v = append(*v, Error{Code: http.StatusBadRequest, Description: fmt.Sprintf(format, args...)})
}

func (v invalid) err() error {
	if len(v) == 0 {
		return nil
	}
	return &Failure{Status: http.StatusBadRequest, Errors: Errors(v)}
}

func root(name string) xml.StartElement { return xml.StartElement{Name: xml.Name{Local: name}} }

// Encode returns v in format f: XML with its declaration, or JSON.
func Encode(f Format, v any) ([]byte, error) {
	if rs, ok := v.(Requests); ok && f == JSON {
		return rs.appendJSON(make([]byte, 0, 640*len(rs)+2)), nil
	}
	if f == JSON {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	b, err := xml.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(xml.Header)+len(b)+1)
	out = append(out, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"...)
	out = append(out, b...)
	return append(out, '\n'), nil
}

// Write sends v in format f with status.
func Write(w http.ResponseWriter, f Format, status int, v any) error {
	b, err := Encode(f, v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", f.ContentType())
	w.WriteHeader(status)
	_, err = w.Write(b)
	return err
}

// WriteFailure sends a failure in format f.
func WriteFailure(w http.ResponseWriter, f Format, fl *Failure) error {
	return Write(w, f, fl.Status, fl.Errors)
}
