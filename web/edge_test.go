package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/shequ/shequ/sqlstore"
)

// TestEdgeAnswers: routes that do not exist, methods a route does not
// take and headers too large are answered with problems, and API answers
// are neither cached nor sniffed.
func TestEdgeAnswers(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	for _, tt := range []struct {
		what, method, path string
		header             http.Header
		status             int
		code               string
	}{
		{"no such route", "GET", "/api/v1/no-such-thing", nil, 404, "not_found"},
		{"a method the route does not take", "DELETE", "/api/v1/incidents", nil, 405, "invalid"},
		{"headers too large", "GET", "/api/v1/auth/me", http.Header{"X-Padding": {strings.Repeat("x", MaxHeaderBytes)}}, 431, "invalid"},
	} {
		req, _ := http.NewRequest(tt.method, env.http.URL+tt.path, nil)
		for k, v := range tt.header {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var p Problem
		err = json.Unmarshal(b, &p)
		if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") || err != nil || p.Code != tt.code || p.Status != tt.status {
			t.Errorf("%s: %d %q %s", tt.what, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
		if tt.status == 405 && !strings.Contains(resp.Header.Get("Allow"), "GET") {
			t.Errorf("%s: Allow %q", tt.what, resp.Header.Get("Allow"))
		}
	}
	resp := env.request("operator", "GET", "/api/v1/incidents", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("API answer: %d, Cache-Control %q, X-Content-Type-Options %q", resp.StatusCode, resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"))
	}
}
