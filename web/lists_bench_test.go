package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// BenchmarkLists measures the answers of issue 13's table that have no
// benchmark of their own, on the demo community as it is, each against a
// bare handler writing the same bytes with the same headers (the machinery
// of BenchmarkHomes):
//
//	notices         GET /api/v1/notices as resident01 (the demo's notices)
//	incidents-open  GET /api/v1/incidents?status=open as the operator, with
//	                88 open (an SOS from each of 88 homes, as in the issue)
//	resident-home   GET / as resident01 with the session cookie (HTML)
//
//	go test -run '^$' -bench BenchmarkLists -benchtime=2000x ./web/
func BenchmarkLists(b *testing.B) {
	cases := []struct {
		name, user, path string
		cookie           bool
	}{
		{"notices", "resident01", "/api/v1/notices", false},
		{"incidents-open", "operator", "/api/v1/incidents?status=open", false},
		{"resident-home", "resident01", "/", true},
	}
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			st := sqlstoretest.Open(b, dialect, nil)
			ctx := context.Background()
			if _, err := demo.Load(ctx, st, demoPassword); err != nil {
				b.Fatalf("load demo: %v", err)
			}
			homes, err := st.ListHomes(ctx, auth.Scope{{}}, community.Filter{Page: shequ.Page{Limit: 88, Offset: 100}})
			if err != nil || len(homes.Items) != 88 {
				b.Fatalf("homes: %v, %d", err, len(homes.Items))
			}
			for _, h := range homes.Items {
				if _, err := st.RaiseSOS(ctx, auth.Scope{{}}, h.ID, "合成求助", 0, 0); err != nil {
					b.Fatalf("sos: %v", err)
				}
			}
			srv := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "bench", LoginBurst: 100})
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					f := &homesFixture{api: srv, token: benchLogin(b, srv, c.user), cookie: c.cookie}
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, f.request(c.path))
					if rec.Code != http.StatusOK {
						b.Fatalf("GET %s: %d %s", c.path, rec.Code, rec.Body.Bytes())
					}
					h := rec.Header().Clone()
					h.Del("Date")
					f.pages = []benchPage{{path: c.path, header: h, body: bytes.Clone(rec.Body.Bytes())}}
					page := &f.pages[0]
					f.bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						for k, v := range page.header {
							w.Header()[k] = v
						}
						w.Write(page.body)
					})
					b.Run("loopback", func(b *testing.B) {
						apiSrv := httptest.NewServer(f.api)
						defer apiSrv.Close()
						bareSrv := httptest.NewServer(f.bare)
						defer bareSrv.Close()
						b.Run("api", func(b *testing.B) { f.runLoopback(b, apiSrv.URL) })
						b.Run("bare", func(b *testing.B) { f.runLoopback(b, bareSrv.URL) })
					})
					// In process, for CPU profiles of the handler alone.
					b.Run("inproc", func(b *testing.B) { f.runInproc(b, f.api) })
				})
			}
		})
	}
}
