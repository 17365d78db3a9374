package web

import (
	"errors"
	"net/http"
	"sort"

	"github.com/danielgtaylor/huma/v2"

	"github.com/shequ/shequ"
)

// Problem is an RFC 9457 problem document with shequ's stable error code.
type Problem struct {
	Type     string         `json:"type"`
	Title    string         `json:"title"`
	Status   int            `json:"status"`
	Detail   string         `json:"detail,omitempty"`
	Code     string         `json:"code" doc:"Stable machine-readable error code"`
	Errors   []ProblemField `json:"errors,omitempty" doc:"The input fields at fault"`
	Instance string         `json:"instance,omitempty"`
}

// ProblemField names one input at fault.
type ProblemField struct {
	Location string `json:"location"`
	Message  string `json:"message"`
	Value    any    `json:"value,omitempty"`
}

func (p *Problem) Error() string  { return p.Detail }
func (p *Problem) GetStatus() int { return p.Status }

// ContentType makes huma send problems as application/problem+json.
func (p *Problem) ContentType(ct string) string {
	if ct == "application/json" {
		return "application/problem+json"
	}
	return ct
}

// statusOf is the one table from error codes to HTTP statuses.
var statusOf = map[string]int{
	shequ.EINVALID:      http.StatusUnprocessableEntity,
	shequ.ENOTFOUND:     http.StatusNotFound,
	shequ.ECONFLICT:     http.StatusConflict,
	shequ.EFORBIDDEN:    http.StatusForbidden,
	shequ.EUNAUTHORIZED: http.StatusUnauthorized,
	shequ.ETOOMANY:      http.StatusTooManyRequests,
	shequ.ENOTIMPL:      http.StatusNotImplemented,
	shequ.EINTERNAL:     http.StatusInternalServerError,
}

// codeOf goes the other way, for errors huma itself raises.
func codeOf(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return shequ.EINVALID
	}
	for code, s := range statusOf {
		if s == status && code != shequ.EINVALID {
			return code
		}
	}
	if status >= 500 {
		return shequ.EINTERNAL
	}
	return shequ.EINVALID
}

func newProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "https://shequ.dev/problems/" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// problemOf turns any error into the problem a client sees; internal errors
// say nothing of their cause.
func problemOf(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	code := shequ.ErrorCode(err)
	p = newProblem(statusOf[code], code, shequ.ErrorMessage(err))
	var e *shequ.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p.Errors = append(p.Errors, ProblemField{Location: "body." + k, Message: e.Fields[k]})
		}
		p.Detail = "the input is not valid: " + keys[0] + " " + e.Fields[keys[0]]
	}
	return p
}

func init() {
	// Errors huma raises on its own (validation, bad JSON) get our shape.
	huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
		p := newProblem(status, codeOf(status), msg)
		for _, e := range errs {
			var d *huma.ErrorDetail
			if errors.As(e, &d) {
				p.Errors = append(p.Errors, ProblemField{Location: d.Location, Message: d.Message, Value: d.Value})
			} else if e != nil {
				p.Errors = append(p.Errors, ProblemField{Message: e.Error()})
			}
		}
		return p
	}
}
