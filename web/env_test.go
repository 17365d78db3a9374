package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/live"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
	"golang.org/x/crypto/argon2"
)

// demoPassword is the password of every demo account in tests.
const demoPassword = "demo-password-for-tests"

// testEnv is a running server over a store holding the demo community.
type testEnv struct {
	t      *testing.T
	store  *sqlstore.Store
	server *Server
	http   *httptest.Server
	clock  *shequtest.Clock
	demo   demo.Result
	tokens map[string]string
	// cookies are the web sessions of pageAs, by user.
	cookies map[string]*http.Cookie
}

// demoStore is the migrated store holding the demo community that every
// test env gets a copy of: loading the demo takes seconds, a copy a
// fraction of that.
var demoStore = &sqlstoretest.Template{
	Name:  "demo",
	Clock: shequtest.NewClock(env0),
	Build: func(ctx context.Context, st *sqlstore.Store) error {
		res, err := demo.LoadWith(ctx, st, demoPassword, demo.Options{HashPassword: cheapHash})
		if err != nil {
			return err
		}
		demoResults.Store(st.Dialect(), res)
		return nil
	},
}

// demoResults holds what loading the demo into demoStore said, by dialect.
var demoResults sync.Map

// cheapHash hashes a password with argon2id at the lowest cost the
// algorithm admits instead of the production parameters, which every
// sign-in would pay for: the tests sign in a few hundred times.
// auth.VerifyPassword reads the parameters from the hash.
func cheapHash(password string) (string, error) {
	salt := make([]byte, 16)
	rand.Read(salt)
	const memory, passes, threads = 8, 1, 1 // KiB; the least argon2 allows
	key := argon2.IDKey([]byte(password), salt, passes, memory, threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memory, passes, threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

func newTestEnv(t *testing.T, dialect string) *testEnv {
	t.Helper()
	clock := shequtest.NewClock(env0)
	st := demoStore.Open(t, dialect, clock)
	v, ok := demoResults.Load(dialect)
	if !ok {
		t.Fatalf("no demo result for %s", dialect)
	}
	res := v.(demo.Result)
	blobs, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Config{Store: st, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", LoginBurst: 1000, Hub: live.NewHub(), Media: blobs})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &testEnv{t: t, store: st, server: srv, http: hs, clock: clock, demo: res, tokens: map[string]string{}}
}

// token signs user in once and returns their bearer token.
func (e *testEnv) token(user string) string {
	e.t.Helper()
	if tok, ok := e.tokens[user]; ok {
		return tok
	}
	var out struct{ Token string }
	status := e.do("", http.MethodPost, "/api/v1/auth/login", map[string]string{"username": user, "password": demoPassword}, &out)
	if status != http.StatusOK || out.Token == "" {
		e.t.Fatalf("login %s: status %d", user, status)
	}
	e.tokens[user] = out.Token
	return out.Token
}

// do sends a JSON request as user ("" for anonymous) and decodes the answer
// into out when out is not nil. It returns the status.
func (e *testEnv) do(user, method, path string, body any, out any) int {
	e.t.Helper()
	resp := e.request(user, method, path, body)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func (e *testEnv) request(user, method, path string, body any) *http.Response {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.http.URL+path, r)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.token(user))
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// problemCode returns the "code" of a problem answer.
func (e *testEnv) problemCode(user, method, path string, body any) (int, string) {
	e.t.Helper()
	resp := e.request(user, method, path, body)
	defer resp.Body.Close()
	var p Problem
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
			e.t.Errorf("%s %s: error with content type %q", method, path, ct)
		}
		json.Unmarshal(b, &p)
	}
	return resp.StatusCode, p.Code
}

var env0 = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs
}

// streamStatus opens a stream as user and returns the status of its
// answer without waiting for the stream to end.
func (e *testEnv) streamStatus(user, path string) int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.http.URL+path, nil)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+e.token(user))
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("stream %s: %v", path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
