package web

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/internal/open311client"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// The formats every Open311 test runs in: XML is the one the
// specification requires, JSON the optional one.
var open311Formats = []string{"xml", "json"}

// o311Answer is one Open311 answer as it came over the wire.
type o311Answer struct {
	status int
	ctype  string
	body   []byte
}

// o311 sends an Open311 request: a GET with query, or a form POST.
func (e *testEnv) o311(method, path string, form url.Values) o311Answer {
	e.t.Helper()
	var body io.Reader
	u := e.http.URL + path
	if method == http.MethodPost {
		body = strings.NewReader(form.Encode())
	} else if len(form) > 0 {
		u += "?" + form.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return o311Answer{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

// open311Key creates an API key for the demo community as its director.
func (e *testEnv) open311Key(name string) (id int64, secret string) {
	e.t.Helper()
	var out struct {
		ID     int64  `json:"id"`
		APIKey string `json:"api_key"`
	}
	if st := e.do("director", http.MethodPost, "/api/v1/open311/keys", map[string]any{"community_id": e.demo.CommunityID, "name": name}, &out); st != http.StatusCreated || out.APIKey == "" {
		e.t.Fatalf("create key: %d %+v", st, out)
	}
	return out.ID, out.APIKey
}

// xmlNode is any XML element, for reading answers without the server's types.
type xmlNode struct {
	XMLName xml.Name
	Text    string    `xml:",chardata"`
	Nodes   []xmlNode `xml:",any"`
}

// items reads a list answer (services, requests, errors) into one map per
// item, the same way for both formats: values are their text, JSON null
// and a missing XML element both "".
func (a o311Answer) items(t *testing.T, format, root, item string) []map[string]string {
	t.Helper()
	a.mustBe(t, format)
	var out []map[string]string
	if format == "json" {
		var list []map[string]any
		if err := json.Unmarshal(a.body, &list); err != nil {
			t.Fatalf("JSON list: %v: %s", err, a.body)
		}
		for _, it := range list {
			m := map[string]string{}
			for k, v := range it {
				m[k] = text(v)
			}
			out = append(out, m)
		}
		return out
	}
	var n xmlNode
	if err := xml.Unmarshal(a.body, &n); err != nil {
		t.Fatalf("XML: %v: %s", err, a.body)
	}
	if n.XMLName.Local != root {
		t.Fatalf("XML root %s, want %s: %s", n.XMLName.Local, root, a.body)
	}
	for _, c := range n.Nodes {
		if c.XMLName.Local != item {
			t.Fatalf("XML item %s, want %s", c.XMLName.Local, item)
		}
		m := map[string]string{}
		for _, f := range c.Nodes {
			m[f.XMLName.Local] = strings.TrimSpace(f.Text)
		}
		out = append(out, m)
	}
	return out
}

func text(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// mustBe checks the content type and, for XML, the declaration.
func (a o311Answer) mustBe(t *testing.T, format string) {
	t.Helper()
	want := map[string]string{"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}[format]
	if a.ctype != want {
		t.Fatalf("content type %q, want %q (%d %s)", a.ctype, want, a.status, a.body)
	}
	if format == "xml" && !bytes.HasPrefix(a.body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Fatalf("XML without its declaration: %s", a.body)
	}
}

// failed checks an error answer: the status, the errors document in the
// format, each error's code the status, and a description containing want.
func (a o311Answer) failed(t *testing.T, format string, status int, want string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d: %s", a.status, status, a.body)
		return
	}
	errs := a.items(t, format, "errors", "error")
	if len(errs) == 0 {
		t.Errorf("no errors listed: %s", a.body)
		return
	}
	var descs []string
	for _, e := range errs {
		if e["code"] != strconv.Itoa(status) || e["description"] == "" {
			t.Errorf("error %v in a %d answer", e, status)
		}
		descs = append(descs, e["description"])
	}
	if !strings.Contains(strings.Join(descs, " | "), want) {
		t.Errorf("errors %q do not say %q", descs, want)
	}
	if format == "json" {
		var raw []map[string]any
		json.Unmarshal(a.body, &raw)
		if _, ok := raw[0]["code"].(float64); !ok {
			t.Errorf("JSON error code is not a number: %s", a.body)
		}
	}
}

var w3cWithZone = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$`)

func TestOpen311Keys(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	id, secret := env.open311Key("12345 hotline")
	if !strings.HasPrefix(secret, "o311_") {
		t.Errorf("secret %q", secret)
	}
	var keys page[open311.Open311Key]
	resp := env.request("director", http.MethodGet, "/api/v1/open311/keys", nil)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	json.Unmarshal(b, &keys)
	if keys.Total != 1 || keys.Items[0].ID != id || keys.Items[0].RevokedAt != nil || bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("hash")) {
		t.Errorf("keys %s", b)
	}
	if st, code := env.problemCode("director", http.MethodPost, "/api/v1/open311/keys", map[string]any{"community_id": env.demo.CommunityID, "name": ""}); st != http.StatusUnprocessableEntity {
		t.Errorf("nameless key: %d %s", st, code)
	}
	if st, _ := env.problemCode("operator", http.MethodPost, "/api/v1/open311/keys", map[string]any{"community_id": env.demo.CommunityID, "name": "x"}); st != http.StatusForbidden {
		t.Errorf("an operator made a key: %d", st)
	}
	form := url.Values{"api_key": {secret}, "service_code": {"repair"}, "address_string": {"东门"}, "description": {"门禁坏了"}}
	if a := env.o311(http.MethodPost, "/open311/v2/requests.xml", form); a.status != http.StatusOK {
		t.Fatalf("filing with the key: %d %s", a.status, a.body)
	}
	if st := env.do("director", http.MethodDelete, fmt.Sprintf("/api/v1/open311/keys/%d", id), nil, nil); st != http.StatusNoContent {
		t.Fatalf("revoke: %d", st)
	}
	for _, f := range open311Formats {
		env.o311(http.MethodPost, "/open311/v2/requests."+f, form).failed(t, f, http.StatusForbidden, "revoked")
		env.o311(http.MethodGet, "/open311/v2/services."+f, url.Values{"api_key": {secret}}).failed(t, f, http.StatusForbidden, "revoked")
	}
	audits, err := env.store.ListAudit(t.Context(), auth.Scope{{}}, audit.Filter{Entity: "open311_key"})
	if err != nil || audits.Total != 2 || audits.Items[0].Action != "open311_key.revoke" || audits.Items[1].Username != "director" {
		t.Errorf("audit %+v %v", audits, err)
	}
}

// TestOpen311Methods calls every method in both formats and checks the
// documents against the specification's field lists.
func TestOpen311Methods(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	_, key := env.open311Key("app")
	for _, f := range open311Formats {
		t.Run(f, func(t *testing.T) {
			// Discovery.
			a := env.o311(http.MethodGet, "/open311/discovery."+f, nil)
			if a.status != http.StatusOK {
				t.Fatalf("discovery %d %s", a.status, a.body)
			}
			a.mustBe(t, f)
			var d struct {
				Changeset  string `json:"changeset" xml:"changeset"`
				Contact    string `json:"contact" xml:"contact"`
				KeyService string `json:"key_service" xml:"key_service"`
				Endpoints  []struct {
					Specification string   `json:"specification" xml:"specification"`
					URL           string   `json:"url" xml:"url"`
					Changeset     string   `json:"changeset" xml:"changeset"`
					Type          string   `json:"type" xml:"type"`
					Formats       []string `json:"formats" xml:"formats>format"`
				} `json:"endpoints" xml:"endpoints>endpoint"`
			}
			unmarshal(t, f, a.body, &d)
			if d.Changeset == "" || !strings.Contains(d.Contact, "宝圣东路社区") || d.KeyService == "" || len(d.Endpoints) != 1 {
				t.Errorf("discovery %+v", d)
			} else if ep := d.Endpoints[0]; ep.Specification != "http://wiki.open311.org/GeoReport_v2" || ep.URL != env.http.URL+"/open311/v2" ||
				ep.Type != "production" || !slices.Equal(ep.Formats, []string{"text/xml", "application/json"}) || ep.Changeset == "" {
				t.Errorf("endpoint %+v", ep)
			}

			// Services: every category, metadata where it asks questions.
			services := env.o311(http.MethodGet, "/open311/v2/services."+f, nil).items(t, f, "services", "service")
			byCode := map[string]map[string]string{}
			for _, s := range services {
				byCode[s["service_code"]] = s
			}
			if len(services) != 7 || byCode["lift"]["metadata"] != "true" || byCode["repair"]["metadata"] != "false" ||
				byCode["lift"]["service_name"] != "电梯故障" || byCode["lift"]["type"] != "realtime" || byCode["lift"]["group"] != "物业" ||
				!strings.Contains(byCode["lift"]["keywords"], "Lift out of order") || byCode["repair"]["description"] == "" {
				t.Errorf("services %v", services)
			}

			// Service definitions, with and without questions.
			a = env.o311(http.MethodGet, "/open311/v2/services/lift."+f, nil)
			if a.status != http.StatusOK {
				t.Fatalf("definition %d %s", a.status, a.body)
			}
			a.mustBe(t, f)
			var def serviceDefinition
			unmarshal(t, f, a.body, &def)
			if def.ServiceCode != "lift" || len(def.Attributes) != 2 {
				t.Fatalf("definition %+v", def)
			}
			floor, trapped := def.Attributes[0], def.Attributes[1]
			if !floor.Variable || floor.Code != "floor" || floor.Datatype != "number" || floor.Required || floor.Order != 1 || floor.DatatypeDescription == "" || floor.Description == "" {
				t.Errorf("floor %+v", floor)
			}
			if trapped.Code != "trapped" || trapped.Datatype != "singlevaluelist" || !trapped.Required || trapped.Order != 2 ||
				len(trapped.Values) != 2 || trapped.Values[0].Key != "yes" || trapped.Values[0].Name != "yes" {
				t.Errorf("trapped %+v", trapped)
			}
			a = env.o311(http.MethodGet, "/open311/v2/services/repair."+f, nil)
			var plain serviceDefinition
			unmarshal(t, f, a.body, &plain)
			if a.status != http.StatusOK || plain.ServiceCode != "repair" || len(plain.Attributes) != 0 {
				t.Errorf("definition without questions: %d %s", a.status, a.body)
			}
			if f == "xml" && !bytes.Contains(a.body, []byte("<attributes></attributes>")) {
				t.Errorf("no attributes element: %s", a.body)
			}
			if f == "json" && !bytes.Contains(a.body, []byte(`"attributes":[]`)) {
				t.Errorf("attributes not an empty list: %s", a.body)
			}

			// POST requests.
			cst := time.FixedZone("", 8*3600)
			now := env.clock.Now()
			a = env.o311(http.MethodPost, "/open311/v2/requests."+f, url.Values{"api_key": {key}, "service_code": {"lift"},
				"lat": {"29.7201"}, "long": {"106.6302"}, "attribute[trapped]": {"no"}, "attribute[floor]": {"3"},
				"description": {"电梯停在3楼"}, "media_url": {"https://example.org/lift.jpg"}, "email": {"zhang@example.org"}, "first_name": {"三"}, "last_name": {"张"}})
			if a.status != http.StatusOK {
				t.Fatalf("POST %d %s", a.status, a.body)
			}
			created := a.items(t, f, "service_requests", "request")
			if len(created) != 1 || !strings.HasPrefix(created[0]["service_request_id"], "SQ-") || created[0]["token"] != "" ||
				!strings.Contains(created[0]["service_notice"], "24") {
				t.Fatalf("created %v", created)
			}
			if _, ok := created[0]["account_id"]; !ok {
				t.Errorf("no account_id: %s", a.body)
			}
			id := created[0]["service_request_id"]
			if f == "json" && !bytes.Contains(a.body, []byte(`"service_request_id":"`+id+`"`)) || f == "json" && !bytes.Contains(a.body, []byte(`"account_id":null`)) {
				t.Errorf("JSON id not a string or account_id not null: %s", a.body)
			}

			// GET requests/{id}: a one-element list.
			one := env.o311(http.MethodGet, "/open311/v2/requests/"+id+"."+f, nil).items(t, f, "service_requests", "request")
			if len(one) != 1 {
				t.Fatalf("requests/%s: %v", id, one)
			}
			r := one[0]
			for k, want := range map[string]string{
				"service_request_id": id, "status": "open", "service_code": "lift", "service_name": "电梯故障", "description": "电梯停在3楼",
				"agency_responsible": "宝圣东路社区", "lat": "29.7201", "long": "106.6302", "media_url": "https://example.org/lift.jpg",
				"status_notes": "", "address": "", "address_id": "", "zipcode": "",
				"requested_datetime": now.In(cst).Format(time.RFC3339), "updated_datetime": now.In(cst).Format(time.RFC3339),
				"expected_datetime": now.Add(24 * time.Hour).In(cst).Format(time.RFC3339),
			} {
				if r[k] != want {
					t.Errorf("%s = %q, want %q", k, r[k], want)
				}
			}
			for _, k := range []string{"requested_datetime", "updated_datetime", "expected_datetime"} {
				if !w3cWithZone.MatchString(r[k]) {
					t.Errorf("%s %q is not ISO 8601 with a zone", k, r[k])
				}
			}
			if bytes.Contains(a.body, []byte("zhang")) || strings.Contains(fmt.Sprint(r), "张") {
				t.Errorf("contact details in the feed: %v", r)
			}

			// GET tokens/{token}: the token is the id.
			tok := env.o311(http.MethodGet, "/open311/v2/tokens/"+id+"."+f, nil).items(t, f, "service_requests", "request")
			if len(tok) != 1 || tok[0]["service_request_id"] != id || tok[0]["token"] != id {
				t.Errorf("token %v", tok)
			}

			// GET requests lists it.
			all := env.o311(http.MethodGet, "/open311/v2/requests."+f, nil).items(t, f, "service_requests", "request")
			if len(all) == 0 || all[0]["service_request_id"] != id {
				t.Errorf("requests %v", all)
			}
			if f == "json" {
				var raw []map[string]any
				json.Unmarshal(env.o311(http.MethodGet, "/open311/v2/requests.json", nil).body, &raw)
				for _, it := range raw {
					for _, k := range []string{"service_request_id", "service_code", "status", "requested_datetime"} {
						if _, ok := it[k].(string); !ok {
							t.Errorf("%s is not a string: %v", k, it[k])
						}
					}
					if _, ok := it["lat"].(float64); !ok {
						t.Errorf("lat is not a number: %v", it["lat"])
					}
				}
			}
			env.clock.Advance(time.Minute)
		})
	}
}

type serviceDefinition struct {
	ServiceCode string `json:"service_code" xml:"service_code"`
	Attributes  []struct {
		Variable            bool   `json:"variable" xml:"variable"`
		Code                string `json:"code" xml:"code"`
		Datatype            string `json:"datatype" xml:"datatype"`
		Required            bool   `json:"required" xml:"required"`
		DatatypeDescription string `json:"datatype_description" xml:"datatype_description"`
		Order               int    `json:"order" xml:"order"`
		Description         string `json:"description" xml:"description"`
		Values              []struct {
			Key  string `json:"key" xml:"key"`
			Name string `json:"name" xml:"name"`
		} `json:"values" xml:"values>value"`
	} `json:"attributes" xml:"attributes>attribute"`
}

func unmarshal(t *testing.T, f string, b []byte, v any) {
	t.Helper()
	var err error
	if f == "json" {
		err = json.Unmarshal(b, v)
	} else {
		err = xml.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("%s: %v: %s", f, err, b)
	}
}

// TestOpen311Filters checks every GET requests filter, the default window
// and the cap, in both formats.
func TestOpen311Filters(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	ctx := t.Context()
	_, key := env.open311Key("filters")
	file := func(code string, extra url.Values) string {
		t.Helper()
		form := url.Values{"api_key": {key}, "service_code": {code}, "address_string": {"广场"}, "description": {code + " matter"}}
		for k, v := range extra {
			form[k] = v
		}
		a := env.o311(http.MethodPost, "/open311/v2/requests.json", form)
		if a.status != http.StatusOK {
			t.Fatalf("file %s: %d %s", code, a.status, a.body)
		}
		return a.items(t, "json", "", "")[0]["service_request_id"]
	}
	old := file("repair", nil) // 2026-11-28 09:00Z, 100 days before the rest
	env.clock.Advance(100 * 24 * time.Hour)
	t0 := env.clock.Now()
	a := file("repair", nil)
	env.clock.Advance(time.Hour)
	b := file("lift", url.Values{"attribute[trapped]": {"yes"}})
	env.clock.Advance(time.Hour)
	c := file("sanitation", nil)
	env.clock.Advance(time.Hour)
	// a is resolved (closed), c is rejected (closed), b stays open.
	for tracking, steps := range map[string][]matter.Step{
		a: {{Action: "accept", By: 1}, {Action: "resolve", By: 1, Note: "修好了"}},
		c: {{Action: "reject", By: 1, Note: "不属于社区"}},
	} {
		l, err := env.store.ListMatters(ctx, auth.Scope{{}}, matter.Filter{Tracking: tracking})
		if err != nil || l.Total != 1 {
			t.Fatalf("find %s: %v", tracking, err)
		}
		for _, s := range steps {
			if _, err := env.store.StepMatter(ctx, auth.Scope{{}}, l.Items[0].ID, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	z := func(h int) string { return t0.Add(time.Duration(h) * time.Hour).Format(time.RFC3339) }
	cst := func(h int) string {
		return t0.Add(time.Duration(h) * time.Hour).In(time.FixedZone("", 8*3600)).Format(time.RFC3339)
	}
	day := t0.In(time.FixedZone("", 8*3600)).Format("2006-01-02")
	for name, tc := range map[string]struct {
		q    url.Values
		want []string
	}{
		"default: the last 90 days, newest first": {url.Values{}, []string{c, b, a}},
		"service_request_id":                      {url.Values{"service_request_id": {a}}, []string{a}},
		"service_request_id list, old one too":    {url.Values{"service_request_id": {a + "," + old + ", SQ-nope"}}, []string{a, old}},
		"service_request_id overrides the rest":   {url.Values{"service_request_id": {a}, "status": {"open"}, "service_code": {"lift"}, "end_date": {z(-1000)}}, []string{a}},
		"service_code":                            {url.Values{"service_code": {"lift"}}, []string{b}},
		"service_code list":                       {url.Values{"service_code": {"lift,sanitation"}}, []string{c, b}},
		"service_code unknown":                    {url.Values{"service_code": {"nope"}}, nil},
		"status open":                             {url.Values{"status": {"open"}}, []string{b}},
		"status closed":                           {url.Values{"status": {"closed"}}, []string{c, a}},
		"status open,closed":                      {url.Values{"status": {"open,closed"}}, []string{c, b, a}},
		"status in capitals":                      {url.Values{"status": {"OPEN"}}, []string{b}},
		"start_date":                              {url.Values{"start_date": {z(1)}}, []string{c, b}},
		"end_date":                                {url.Values{"end_date": {z(1)}}, []string{b, a}},
		"start_date and end_date, inclusive":      {url.Values{"start_date": {z(1)}, "end_date": {z(1)}}, []string{b}},
		"dates with an offset":                    {url.Values{"start_date": {cst(1)}, "end_date": {cst(2)}}, []string{c, b}},
		"offset with an unescaped plus":           {url.Values{"start_date": {strings.Replace(cst(1), "+", " ", 1)}}, []string{c, b}},
		"date only, in the community's zone":      {url.Values{"start_date": {day}}, []string{c, b, a}},
		"end_date alone reaches 90 days back":     {url.Values{"end_date": {z(-1)}}, nil},
		"window around the old one":               {url.Values{"start_date": {z(-100*24 - 1)}, "end_date": {z(-100*24 + 1)}}, []string{old}},
		"combined":                                {url.Values{"service_code": {"repair,lift"}, "status": {"closed"}, "start_date": {z(-1)}}, []string{a}},
		"empty arguments count as none":           {url.Values{"service_code": {""}, "status": {""}, "start_date": {""}, "jurisdiction_id": {""}}, []string{c, b, a}},
		"with the jurisdiction":                   {url.Values{"jurisdiction_id": {demo.Code}}, []string{c, b, a}},
		"with the api_key":                        {url.Values{"api_key": {key}}, []string{c, b, a}},
	} {
		for _, f := range open311Formats {
			got := env.o311(http.MethodGet, "/open311/v2/requests."+f, tc.q).items(t, f, "service_requests", "request")
			var ids []string
			for _, r := range got {
				ids = append(ids, r["service_request_id"])
			}
			if !slices.Equal(ids, tc.want) {
				t.Errorf("%s (%s): got %v, want %v", name, f, ids, tc.want)
			}
		}
	}
	closed := env.o311(http.MethodGet, "/open311/v2/requests/"+a+".json", nil).items(t, "json", "", "")[0]
	if closed["status"] != "closed" || closed["status_notes"] != "修好了" || closed["updated_datetime"] != cst(3) {
		t.Errorf("resolved request %v", closed)
	}

	// At most 1000 come back, newest first.
	err := env.store.Atomic(ctx, func(st *sqlstore.Store) error {
		for i := range 1000 {
			m := matter.Matter{CommunityID: env.demo.CommunityID, Category: "other", Description: fmt.Sprintf("bulk %d", i), Channel: "office"}
			if err := st.SubmitMatter(ctx, auth.Scope{{}}, &m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range open311Formats {
		got := env.o311(http.MethodGet, "/open311/v2/requests."+f, nil).items(t, f, "service_requests", "request")
		if len(got) != 1000 || got[0]["description"] != "bulk 999" {
			t.Errorf("%s: %d requests, first %v", f, len(got), got[0])
		}
	}
}

// TestOpen311Errors checks each error the endpoint gives, in both formats.
func TestOpen311Errors(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	keyID, key := env.open311Key("errors")
	_, revoked := env.open311Key("revoked")
	var k page[open311.Open311Key]
	env.do("director", http.MethodGet, "/api/v1/open311/keys", nil, &k)
	for _, it := range k.Items {
		if it.ID != keyID {
			env.do("director", http.MethodDelete, fmt.Sprintf("/api/v1/open311/keys/%d", it.ID), nil, nil)
		}
	}
	good := func(extra ...string) url.Values {
		v := url.Values{"api_key": {key}, "service_code": {"lift"}, "lat": {"29.72"}, "long": {"106.63"}, "attribute[trapped]": {"no"}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				v.Del(extra[i])
			} else {
				v.Set(extra[i], extra[i+1])
			}
		}
		return v
	}
	type call struct {
		method, path string
		form         url.Values
		status       int
		says         string
	}
	for _, f := range open311Formats {
		for name, c := range map[string]call{
			"missing api_key":       {"POST", "requests", good("api_key", ""), 403, "api_key is required"},
			"wrong api_key":         {"POST", "requests", good("api_key", "o311_wrong"), 403, "invalid api_key"},
			"revoked api_key":       {"POST", "requests", good("api_key", revoked), 403, "revoked"},
			"key of another place":  {"POST", "requests", good("jurisdiction_id", "elsewhere"), 403, "not valid for jurisdiction_id"},
			"wrong key on a read":   {"GET", "services", url.Values{"api_key": {"nope"}}, 403, "invalid api_key"},
			"no service_code":       {"POST", "requests", good("service_code", ""), 400, "service_code was not provided"},
			"unknown service_code":  {"POST", "requests", good("service_code", "nope"), 404, `service_code "nope" was not found`},
			"no location":           {"POST", "requests", good("lat", "", "long", ""), 400, "a location is required"},
			"lat without long":      {"POST", "requests", good("long", ""), 400, "lat and long must be sent together"},
			"lat not a number":      {"POST", "requests", good("lat", "north"), 400, "WGS84"},
			"address_id unknown":    {"POST", "requests", good("lat", "", "long", "", "address_id", "999999"), 400, "address_id 999999"},
			"address_id not an id":  {"POST", "requests", good("lat", "", "long", "", "address_id", "B栋"), 400, "address_id"},
			"required attribute":    {"POST", "requests", good("attribute[trapped]", ""), 400, "attribute[trapped] is required"},
			"attribute not a value": {"POST", "requests", good("attribute[trapped]", "maybe"), 400, "attribute[trapped] must be one of yes, no"},
			"attribute unknown":     {"POST", "requests", good("attribute[colour]", "red"), 400, "attribute[colour] is not a question"},
			"attribute not number":  {"POST", "requests", good("attribute[floor]", "third"), 400, "attribute[floor] must be a number"},
			"bad media_url":         {"POST", "requests", good("media_url", "javascript:alert(1)"), 400, "media_url"},
			"long description":      {"POST", "requests", good("description", strings.Repeat("长", 4001)), 400, "4000"},
			"unknown service":       {"GET", "services/nope", nil, 404, `service_code "nope" was not found`},
			"unknown request":       {"GET", "requests/SQ-20000101-0001", nil, 404, `service_request_id "SQ-20000101-0001" was not found`},
			"unknown token":         {"GET", "tokens/nope", nil, 404, `token "nope" was not found`},
			"unknown jurisdiction":  {"GET", "services", url.Values{"jurisdiction_id": {"nowhere"}}, 404, `jurisdiction_id "nowhere" was not found`},
			"start_date garbage":    {"GET", "requests", url.Values{"start_date": {"yesterday"}}, 400, "start_date"},
			"start_date no zone":    {"GET", "requests", url.Values{"start_date": {"2026-11-01T00:00:00"}}, 400, "no time zone"},
			"end_date no zone":      {"GET", "requests", url.Values{"end_date": {"2026-11-01T00:00"}}, 400, "no time zone"},
			"end before start":      {"GET", "requests", url.Values{"start_date": {"2026-11-02T00:00:00Z"}, "end_date": {"2026-11-01T00:00:00Z"}}, 400, "before start_date"},
			"more than 90 days":     {"GET", "requests", url.Values{"start_date": {"2026-01-01T00:00:00Z"}, "end_date": {"2026-11-01T00:00:00Z"}}, 400, "90 days"},
			"unknown status":        {"GET", "requests", url.Values{"status": {"pending"}}, 400, `status "pending"`},
			"unknown resource":      {"GET", "widgets", nil, 404, "no such Open311 resource"},
			"wrong method":          {"DELETE", "requests", nil, 405, "DELETE is not served"},
		} {
			t.Run(f+"/"+name, func(t *testing.T) {
				env.o311(c.method, "/open311/v2/"+c.path+"."+f, c.form).failed(t, f, c.status, c.says)
			})
		}
	}
	// Several problems at once come back together.
	a := env.o311(http.MethodPost, "/open311/v2/requests.json", good("attribute[trapped]", "maybe", "attribute[floor]", "third"))
	if errs := a.items(t, "json", "", ""); a.status != 400 || len(errs) != 2 {
		t.Errorf("two bad answers: %d %s", a.status, a.body)
	}
	// A format that is not served is a resource that does not exist, told
	// in XML, the format every client reads.
	for _, p := range []string{"/open311/v2/services.csv", "/open311/v2/services", "/open311/v2/requests/SQ-1.html", "/open311/discovery.yaml"} {
		env.o311(http.MethodGet, p, nil).failed(t, "xml", 404, "format")
	}
	env.o311(http.MethodPut, "/open311/v2/requests.xml", nil).failed(t, "xml", 405, "use POST or GET")
	// Nothing was filed by all that.
	if l, _ := env.store.ListMatters(t.Context(), auth.Scope{{}}, matter.Filter{}); l.Total != 0 {
		t.Errorf("%d matters filed by failed requests", l.Total)
	}

	// Once there are two communities, reads must say which.
	env.secondCommunity()
	for _, f := range open311Formats {
		env.o311(http.MethodGet, "/open311/v2/services."+f, nil).failed(t, f, 400, "jurisdiction_id was not provided")
		env.o311(http.MethodGet, "/open311/v2/requests."+f, nil).failed(t, f, 400, "jurisdiction_id was not provided")
		if a := env.o311(http.MethodGet, "/open311/v2/services."+f, url.Values{"jurisdiction_id": {"other"}}); a.status != 200 || len(a.items(t, f, "services", "service")) != 0 {
			t.Errorf("the other community's services: %d %s", a.status, a.body)
		}
		if a := env.o311(http.MethodGet, "/open311/v2/services."+f, url.Values{"api_key": {key}}); a.status != 200 || len(a.items(t, f, "services", "service")) != 7 {
			t.Errorf("the key says which: %d", a.status)
		}
	}
}

// TestOpen311Privacy checks that a resident's matter shows in the feed
// without who filed it or their door.
func TestOpen311Privacy(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	var m matter.Matter
	if st := env.do("resident01", http.MethodPost, "/api/v1/matters", map[string]any{"category": "repair",
		"description": "楼道灯坏了，请打我电话 139-1234-5678 或发邮件 wang@example.org"}, &m); st != http.StatusCreated {
		t.Fatalf("resident files: %d", st)
	}
	home, err := env.store.Home(t.Context(), auth.Scope{{}}, env.residentHomeID())
	if err != nil {
		t.Fatal(err)
	}
	b, err := env.store.Building(t.Context(), auth.Scope{{}}, home.BuildingID)
	if err != nil {
		t.Fatal(err)
	}
	people, _ := env.store.ListPeople(t.Context(), auth.Scope{{}}, community.Filter{HouseholdID: m.HouseholdID})
	for _, f := range open311Formats {
		a := env.o311(http.MethodGet, "/open311/v2/requests/"+m.Tracking+"."+f, nil)
		r := a.items(t, f, "service_requests", "request")[0]
		if !strings.Contains(r["address"], b.Name) || strings.Contains(string(a.body), home.Door) || r["address_id"] != strconv.FormatInt(b.ID, 10) {
			t.Errorf("address %q (door %q)", r["address"], home.Door)
		}
		if r["lat"] != text(b.Lat) || r["long"] != text(b.Lng) {
			t.Errorf("lat/long %s,%s; the building's is %v,%v", r["lat"], r["long"], b.Lat, b.Lng)
		}
		if strings.Contains(string(a.body), "5678") || strings.Contains(string(a.body), "wang@") || !strings.Contains(r["description"], "楼道灯坏了") {
			t.Errorf("description %q", r["description"])
		}
		for _, p := range people.Items {
			if strings.Contains(string(a.body), p.Name) || (p.Phone != "" && strings.Contains(string(a.body), p.Phone)) {
				t.Errorf("%s appears in the feed", p.Name)
			}
		}
	}
}

// TestOpen311IndependentClient drives the server through a client written
// from the specification alone (internal/open311client), the whole way:
// discovery, services, a definition, filing in both formats, listing with
// filters, one request, a token, and an error.
func TestOpen311IndependentClient(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := newTestEnv(t, dialect)
			_, key := env.open311Key("independent client")
			ctx := t.Context()
			hc := env.http.Client()

			d, err := open311client.Discover(ctx, hc, env.http.URL+"/open311/discovery.xml")
			if err != nil {
				t.Fatal(err)
			}
			dj, err := open311client.Discover(ctx, hc, env.http.URL+"/open311/discovery.json")
			if err != nil || dj.Changeset != d.Changeset {
				t.Fatalf("JSON discovery %+v %v", dj, err)
			}
			ep, ok := d.GeoReport("text/xml")
			if !ok {
				t.Fatalf("no GeoReport v2 endpoint: %+v", d)
			}
			var ids []string
			for i, format := range []string{"xml", "json"} {
				if _, ok := d.GeoReport(map[string]string{"xml": "text/xml", "json": "application/json"}[format]); !ok {
					t.Fatalf("%s not announced", format)
				}
				c := &open311client.Client{Endpoint: ep.URL, Format: format, APIKey: key, Jurisdiction: demo.Code, HTTP: hc}
				services, err := c.Services(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var lift open311client.Service
				for _, s := range services {
					if s.Code == "lift" {
						lift = s
					}
				}
				if !lift.Metadata || lift.Type != "realtime" {
					t.Fatalf("lift %+v in %+v", lift, services)
				}
				def, err := c.Definition(ctx, lift.Code)
				if err != nil {
					t.Fatal(err)
				}
				answers := map[string][]string{}
				for _, a := range def.Attributes {
					switch {
					case a.Datatype == "number":
						answers[a.Code] = []string{"3"}
					case len(a.Values) > 0:
						answers[a.Code] = []string{a.Values[len(a.Values)-1].Key}
					}
				}
				lat, long := 29.7205, 106.6307
				created, err := c.Create(ctx, open311client.NewRequest{ServiceCode: lift.Code, Lat: &lat, Long: &long, Attributes: answers,
					Description: fmt.Sprintf("电梯不动了 (%s)", format), Email: "li@example.org", FirstName: "四", LastName: "李", Phone: "13800000000",
					DeviceID: "dev-1", MediaURL: "https://example.org/m.jpg"})
				if err != nil {
					t.Fatal(err)
				}
				if len(created) != 1 || created[0].ID == "" || created[0].Notice == "" || created[0].AccountID != "" {
					t.Fatalf("created %+v", created)
				}
				id := created[0].ID
				ids = append(ids, id)
				r, err := c.Request(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				_, offset := r.Requested.Zone()
				if r.ID != id || r.Status != "open" || r.ServiceCode != "lift" || r.Lat == nil || *r.Lat != lat || r.Long == nil || *r.Long != long ||
					r.Expected.Sub(r.Requested) != 24*time.Hour || offset != 8*3600 || r.MediaURL != "https://example.org/m.jpg" || r.AgencyResponsible == "" {
					t.Errorf("request %+v", r)
				}
				if got, err := c.Token(ctx, id); err != nil || got != id {
					t.Errorf("token: %q %v", got, err)
				}
				open, err := c.Requests(ctx, open311client.Query{Codes: []string{"lift"}, Status: []string{"open"},
					Start: env.clock.Now().Add(-time.Hour), End: env.clock.Now().Add(time.Hour)})
				if err != nil || len(open) != i+1 || open[0].ID != id {
					t.Errorf("open lift requests: %+v %v", open, err)
				}
				byIDs, err := c.Requests(ctx, open311client.Query{IDs: ids, Status: []string{"closed"}})
				if err != nil || len(byIDs) != len(ids) {
					t.Errorf("by ids: %+v %v", byIDs, err)
				}
				if closed, err := c.Requests(ctx, open311client.Query{Status: []string{"closed"}}); err != nil || len(closed) != 0 {
					t.Errorf("closed: %+v %v", closed, err)
				}
				bad := *c
				bad.APIKey = "o311_not-a-key"
				_, err = bad.Create(ctx, open311client.NewRequest{ServiceCode: "repair", AddressString: "东门"})
				if ae, ok := err.(*open311client.APIError); !ok || ae.Status != 403 || ae.Errors[0].Code != 403 {
					t.Errorf("bad key: %v", err)
				}
				if _, err := c.Definition(ctx, "nope"); err == nil || err.(*open311client.APIError).Status != 404 {
					t.Errorf("unknown service: %v", err)
				}
				env.clock.Advance(time.Minute)
			}
			// The matters are the same ones staff see, on the open311 channel.
			for _, id := range ids {
				l, err := env.store.ListMatters(ctx, auth.Scope{{}}, matter.Filter{Tracking: id})
				if err != nil || l.Total != 1 || l.Items[0].Channel != "open311" || l.Items[0].PersonID != 0 || l.Items[0].CommunityID != env.demo.CommunityID {
					t.Errorf("matter %s: %+v %v", id, l, err)
				}
			}
		})
	}
}

// open311Clients is how many clients BenchmarkOpen311Requests runs at
// once over loopback, each on its own kept connection.
const open311Clients = 32

// BenchmarkOpen311Requests measures GET /open311/v2/requests.json with
// 1,000 requests in the window: the real server (jurisdiction, the
// SELECT with its joins, the categories, mapping, JSON) against a bare
// handler writing the same bytes, side by side: over loopback HTTP with
// 32 clients (median and 99th percentile of the requests' times as
// p50-ms and p99-ms), and in process one request at a time. The ratio
// api/bare is the number to read; the machines are small and noisy. Run
// with -bench.
func BenchmarkOpen311Requests(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			st := sqlstoretest.Open(b, dialect, nil)
			ctx := context.Background()
			res, err := demo.Load(ctx, st, demoPassword)
			if err != nil {
				b.Fatal(err)
			}
			err = st.Atomic(ctx, func(st *sqlstore.Store) error {
				for i := range 1000 {
					m := matter.Matter{CommunityID: res.CommunityID, Category: "repair", Description: fmt.Sprintf("楼道灯坏了 %d", i), Address: "东门", Lat: 29.72, Lng: 106.63, Channel: "office"}
					if err := st.SubmitMatter(ctx, auth.Scope{{}}, &m); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			api := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "bench"})
			const path = "/open311/v2/requests.json"
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			var got []map[string]any
			if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || len(got) != 1000 {
				b.Fatalf("GET %s: %d, %d requests", path, rec.Code, len(got))
			}
			body, ct := bytes.Clone(rec.Body.Bytes()), rec.Header().Get("Content-Type")
			bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", ct)
				w.Header().Set("Cache-Control", "no-store")
				w.Write(body)
			})
			for _, side := range []struct {
				name string
				h    http.Handler
			}{{"api", api}, {"bare", bare}} {
				// loopback: through a real socket, several clients at once.
				b.Run(side.name+"/loopback", func(b *testing.B) {
					hs := httptest.NewServer(side.h)
					defer hs.Close()
					// 32 clients, each keeping its connection.
					hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: open311Clients, MaxConnsPerHost: open311Clients}}
					defer hc.CloseIdleConnections()
					b.SetParallelism(max(1, open311Clients/runtime.GOMAXPROCS(0)))
					b.SetBytes(int64(len(body)))
					var mu sync.Mutex
					var took []time.Duration
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						var mine []time.Duration
						defer func() {
							mu.Lock()
							took = append(took, mine...)
							mu.Unlock()
						}()
						for pb.Next() {
							began := time.Now()
							resp, err := hc.Get(hs.URL + path)
							if err != nil {
								b.Error(err)
								return
							}
							n, _ := io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							mine = append(mine, time.Since(began))
							if resp.StatusCode != http.StatusOK || n != int64(len(body)) {
								b.Errorf("%d, %d bytes", resp.StatusCode, n)
								return
							}
						}
					})
					b.StopTimer()
					slices.Sort(took)
					if len(took) > 0 {
						rank := func(p float64) float64 {
							return float64(took[max(0, int(math.Ceil(p*float64(len(took))))-1)].Microseconds()) / 1000
						}
						b.ReportMetric(rank(0.50), "p50-ms")
						b.ReportMetric(rank(0.99), "p99-ms")
					}
				})
				// inproc: the handler alone, one request at a time.
				b.Run(side.name+"/inproc", func(b *testing.B) {
					b.SetBytes(int64(len(body)))
					for b.Loop() {
						rec := httptest.NewRecorder()
						side.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
						if rec.Code != http.StatusOK || rec.Body.Len() != len(body) {
							b.Fatalf("%d, %d bytes", rec.Code, rec.Body.Len())
						}
					}
				})
			}
		})
	}
}
