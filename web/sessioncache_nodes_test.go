package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// TestSessionChangesAcrossNodes: a session is kept in memory on each node
// (and its kept pages with it), yet a session revoked or a role taken on
// one node is refused by the other at its next request once the change is
// heard (PostgreSQL's notification, SQLite's next poll of the file), and
// by the node that made it at once.
func TestSessionChangesAcrossNodes(t *testing.T) {
	for _, dialect := range sqlstoretest.Dialects() {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			clock := shequtest.NewClock(env0)
			dsn := demoStore.DSN(t, dialect)
			quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
			type node struct {
				store *sqlstore.Store
				srv   *Server
			}
			open := func() node {
				st := sqlstoretest.OpenDSN(t, dsn, clock)
				return node{st, New(Config{Store: st, Clock: clock, Logger: quiet, Version: "test", LoginBurst: 1000})}
			}
			a, b := open(), open()
			// get asks n straight away, without waiting to hear anything.
			get := func(n node, token, path string) int {
				t.Helper()
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				n.srv.ServeHTTP(rec, r)
				return rec.Code
			}
			heard := func(n node) {
				t.Helper()
				if err := n.store.HeardCounters(ctx); err != nil {
					t.Fatal(err)
				}
			}
			actor := func(token string) *auth.Actor {
				t.Helper()
				x, err := b.store.Actor(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				return x
			}
			warm := func(token, path string) {
				t.Helper()
				for range 3 {
					if code := get(a, token, path); code != http.StatusOK {
						t.Fatalf("GET %s on node a: %d", path, code)
					}
				}
			}

			// A session signed out on node b.
			resident := benchLogin(t, b.srv, "resident01")
			warm(resident, "/api/v1/notices")
			if err := b.store.RevokeSession(ctx, actor(resident).Session.ID); err != nil {
				t.Fatal(err)
			}
			heard(a)
			if code := get(a, resident, "/api/v1/notices"); code != http.StatusUnauthorized {
				t.Errorf("a session revoked on node b, node a's next request: %d, want 401", code)
			}

			// A role taken on node b: the kept list is not sent.
			operator := benchLogin(t, b.srv, "operator")
			warm(operator, "/api/v1/homes?limit=5")
			for _, g := range actor(operator).User.Grants {
				if err := b.store.RevokeGrant(ctx, auth.Scope{{}}, g.ID); err != nil {
					t.Fatal(err)
				}
			}
			heard(a)
			if code := get(a, operator, "/api/v1/homes?limit=5"); code != http.StatusForbidden {
				t.Errorf("the operator's roles taken on node b, node a's next request: %d, want 403", code)
			}

			// On the node that made the change, at once.
			grid := benchLogin(t, a.srv, "grid01")
			warm(grid, "/api/v1/homes?limit=5")
			if err := a.store.RevokeSession(ctx, actor(grid).Session.ID); err != nil {
				t.Fatal(err)
			}
			if code := get(a, grid, "/api/v1/homes?limit=5"); code != http.StatusUnauthorized {
				t.Errorf("a session revoked on node a, its next request there: %d, want 401", code)
			}
		})
	}
}
