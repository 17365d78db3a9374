package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
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
