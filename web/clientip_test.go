package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/sqlstore"
)

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name  string
		proxy bool
		xff   []string // header lines, the client's first
		want  string
	}{
		{name: "no proxy: the connection", xff: []string{"203.0.113.66"}, want: "192.0.2.1"},
		{name: "proxy, no header", proxy: true, want: "192.0.2.1"},
		{name: "proxy's line only", proxy: true, xff: []string{"198.51.100.7"}, want: "198.51.100.7"},
		{name: "client's line, then the proxy's", proxy: true, xff: []string{"203.0.113.66", "198.51.100.7"}, want: "198.51.100.7"},
		{name: "appended after a comma", proxy: true, xff: []string{"203.0.113.66, 10.0.0.1,198.51.100.7"}, want: "198.51.100.7"},
		{name: "empty last entry", proxy: true, xff: []string{"203.0.113.66,"}, want: "192.0.2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "192.0.2.1:40000"
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			s := &Server{proxy: tc.proxy}
			if got := s.clientIP(r); got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSignInLimitBehindTheProxy: behind the documented proxy (it appends
// the address it saw), a client writing a fresh X-Forwarded-For of its own
// on every attempt is still held by the per-address sign-in limit.
func TestSignInLimitBehindTheProxy(t *testing.T) {
	env := newTestEnv(t, sqlstore.SQLite)
	srv := New(Config{Store: env.store, Clock: env.clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), TrustProxy: true, Hub: live.NewHub()})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	refused := 0
	for i := range 40 {
		b, _ := json.Marshal(map[string]string{"username": fmt.Sprintf("nobody%d", i), "password": "x"})
		req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/v1/auth/login", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-Forwarded-For", fmt.Sprintf("10.9.%d.%d", i/250, i%250)) // the client's
		req.Header.Add("X-Forwarded-For", "198.51.100.7")                          // the proxy's
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused == 0 {
		t.Error("40 sign-ins from one address behind the proxy, each with an address of its own written in X-Forwarded-For, and none refused")
	}
}
