package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestNULRefusedAtTheEdge: a NUL in a body field, a query parameter or a
// form field is a 422 naming the field on both databases (PostgreSQL would
// refuse the text and answer 500).
func TestNULRefusedAtTheEdge(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			env := newTestEnv(t, dialect)
			for _, tt := range []struct {
				what, user, method, path string
				body                     any
				field                    string
			}{
				{"a matter", "resident01", "POST", "/api/v1/matters", map[string]any{"category": "lift", "description": "电梯停了\x00不动", "attributes": map[string]string{"trapped": "no", "floor": "5"}}, "body.description"},
				{"a lost-and-found post", "resident01", "POST", "/api/v1/lostfound", map[string]any{"kind": "lost", "title": "钥匙\x00", "place": "A栋"}, "body.title"},
				{"a nested value", "director", "POST", "/api/v1/ledgers/job_seekers/entries", map[string]any{"person_id": 1, "values": map[string]any{"desired_work": "保洁", "status": "seeking", "notes": []string{"电工", "x\x00"}}}, "body.values.notes[1]"},
				{"login", "", "POST", "/api/v1/auth/login", map[string]any{"username": "operator\x00", "password": "whatever-it-is"}, "body.username"},
				{"people?q=", "operator", "GET", "/api/v1/people?q=%E7%8E%8B%00", nil, "query.q"},
				{"ledger q=", "director", "GET", "/api/v1/ledgers/job_seekers/entries?q=%00", nil, "query.q"},
			} {
				resp := env.request(tt.user, tt.method, tt.path, tt.body)
				var p Problem
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				json.Unmarshal(b, &p)
				if resp.StatusCode != http.StatusUnprocessableEntity || p.Code != "invalid" || len(p.Errors) != 1 || p.Errors[0].Location != tt.field {
					t.Errorf("%s: %d %s", tt.what, resp.StatusCode, b)
				}
			}
			r := env.pageRequest(http.MethodPost, "/login", url.Values{"username": {"operator\x00"}, "password": {"whatever-it-is"}}, nil)
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `"form.username"`) {
				t.Errorf("the sign-in form: %d %s", r.status, r.body)
			}
			// Without a NUL the same requests go through.
			if got := env.do("operator", "GET", "/api/v1/people?q=%E7%8E%8B", nil, nil); got != http.StatusOK {
				t.Errorf("people?q= without a NUL: %d", got)
			}
		})
	}
}

func TestJSONWithNUL(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string
	}{
		{`"a\u0000"`, []string{"body"}},
		{`{"a":"x","b":"y\u0000"}`, []string{"body.b"}},
		{`{"a":{"b":[1,"two",{"c":"\u0000"}]}}`, []string{"body.a.b[2].c"}},
		{`{"a":[[],["x","y\u0000"]]}`, []string{"body.a[1][1]"}},
		{`{"a\u0000b":1}`, []string{"body"}},
		{`{"a":{"k\u0000":1}}`, []string{"body.a"}},
		{`{"a":[{"b":1},{"c":"\u0000"}],"d":"\u0000"}`, []string{"body.a[1].c", "body.d"}},
		{`{"a":"fine","b":[1,2.5,true,null]}`, nil},
		{"{\"a\":\"raw\x00\"", []string{"body"}}, // not JSON
	} {
		got := jsonWithNUL([]byte(tc.doc))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.doc, got, tc.want)
		}
	}
}

// TestNULScanIsBounded: anyone may send a body before signing in; a
// megabyte of tiny JSON elements with a NUL at its end, and eight times
// that, are refused without building the document (73 and 594 MiB
// before), and 64 KiB of them still name the field.
func TestNULScanIsBounded(t *testing.T) {
	srv := New(Config{})
	var b strings.Builder
	b.WriteString("[0")
	for b.Len() < 8<<20 {
		b.WriteString(",0")
	}
	b.WriteString(`,"\u0000"]`)
	for _, size := range []int{1 << 20, 8 << 20} {
		body := b.String()
		if size < len(body) {
			body = body[:size-len(`,"\u0000"]`)] + `,"\u0000"]`
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		req := httptest.NewRequest(http.MethodPost, "/no/such/page", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		if size == 1<<20 && (rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"location":"body"`)) {
			t.Errorf("a megabyte with a NUL at its end: %d %.200s", rec.Code, rec.Body.String())
		}
		alloc := after.TotalAlloc - before.TotalAlloc
		if alloc > 40<<20 {
			t.Errorf("a %d-byte body cost the NUL scan %d MiB", len(body), alloc>>20)
		}
	}
}
