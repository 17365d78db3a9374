package web

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/shequ/shequ"
)

// MaxHeaderBytes is the most request header shequ reads. The http.Server's
// own limit must be higher (cmd/shequ sets four times this): past it the
// server answers 431 in plain text before any handler runs, below it this
// package answers with a problem document.
const MaxHeaderBytes = 64 << 10

// edge sets the headers every answer carries and answers, as problems,
// what the mux and the server would answer in plain text: a header too
// large (431) and, under /api/, a route that does not exist (404) or does
// not take the method (405).
func (s *Server) edge(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if api {
			// Answers carry personal data; no cache along the way may keep
			// them. A handler that serves something cacheable says so.
			w.Header().Set("Cache-Control", "no-store")
		}
		if headerBytes(r) > MaxHeaderBytes {
			writeProblem(w, newProblem(http.StatusRequestHeaderFieldsTooLarge, shequ.EINVALID,
				fmt.Sprintf("the request's headers are larger than %d KiB", MaxHeaderBytes>>10)))
			return
		}
		if api {
			if _, pattern := s.mux.Handler(r); pattern == "" {
				if allow := s.allowed(r); len(allow) > 0 {
					w.Header().Set("Allow", strings.Join(allow, ", "))
					writeProblem(w, newProblem(http.StatusMethodNotAllowed, shequ.EINVALID, r.Method+" is not served here: use "+strings.Join(allow, " or ")))
				} else {
					writeProblem(w, newProblem(http.StatusNotFound, shequ.ENOTFOUND, "there is no such API route"))
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// allowed returns the methods a path is served with.
func (s *Server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" {
			out = append(out, m)
		}
	}
	return out
}

// headerBytes counts a request's header as the server read it, near
// enough: names, values and the line breaks and separators between them.
func headerBytes(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}
