package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/shequ/shequ"
)

// maxNULScan is how much of a JSON or form body refuseNUL reads, before
// sign-in and routing: every route takes less (huma's JSON bodies at most
// 1 MiB, forms at most 256 KiB), and the rest of a larger body is left to
// their limits.
const maxNULScan = 1 << 20

// maxNULPaths is the largest JSON body whose NULs are named field by
// field (jsonWithNUL); a larger one is answered "body". Anyone may send a
// body, before signing in, and naming the fields builds the document
// whole: a value and a path for each element, 73 bytes for each byte of
// a megabyte of tiny elements.
const maxNULPaths = 64 << 10

// refuseNUL answers 422 to a request whose path, query or JSON or form
// body carries a NUL character, naming where. PostgreSQL refuses NUL in
// text (SQLSTATE 22021), so without this one database answered 500 where
// the other stored it; here both refuse it alike, before any handler.
// Multipart bodies (files, whose bytes may be anything) are left alone.
func refuseNUL(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var bad []string
		if strings.IndexByte(r.URL.Path, 0) >= 0 {
			bad = append(bad, "path")
		}
		if strings.Contains(r.URL.RawQuery, "%00") || strings.IndexByte(r.URL.RawQuery, 0) >= 0 {
			bad = append(bad, valuesWithNUL("query", r.URL.Query())...)
		}
		if len(bad) == 0 && r.Body != nil && r.Body != http.NoBody {
			ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			isJSON := ct == "application/json" || strings.HasSuffix(ct, "+json")
			if isJSON || ct == "application/x-www-form-urlencoded" {
				data, err := io.ReadAll(io.LimitReader(r.Body, maxNULScan))
				if err != nil {
					writeProblem(w, newProblem(http.StatusBadRequest, shequ.EINVALID, "the request body could not be read"))
					return
				}
				r.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
				switch {
				case isJSON && (bytes.Contains(data, []byte(`\u0000`)) || bytes.IndexByte(data, 0) >= 0):
					bad = []string{"body"}
					if len(data) <= maxNULPaths {
						bad = jsonWithNUL(data)
					}
				case !isJSON && (bytes.Contains(data, []byte("%00")) || bytes.IndexByte(data, 0) >= 0):
					if form, err := url.ParseQuery(string(data)); err == nil {
						bad = valuesWithNUL("form", form)
					}
				}
			}
		}
		if len(bad) > 0 {
			p := newProblem(http.StatusUnprocessableEntity, shequ.EINVALID, "the input is not valid: "+bad[0]+" contains a NUL character")
			for _, loc := range bad {
				p.Errors = append(p.Errors, ProblemField{Location: loc, Message: "must not contain a NUL character"})
			}
			writeProblem(w, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func valuesWithNUL(where string, v url.Values) []string {
	var bad []string
	for k, vs := range v {
		for _, x := range append([]string{k}, vs...) {
			if strings.IndexByte(x, 0) >= 0 {
				bad = append(bad, where+"."+k)
				break
			}
		}
	}
	sort.Strings(bad)
	return bad
}

// jsonWithNUL returns where in a JSON document a string (or a key) holds
// a NUL, as huma names body fields: body.a.b[2].c.
func jsonWithNUL(data []byte) []string {
	var doc any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		// Not JSON: a raw NUL in it is the fault to name.
		return []string{"body"}
	}
	var bad []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case string:
			if strings.IndexByte(x, 0) >= 0 {
				bad = append(bad, path)
			}
		case []any:
			for i, e := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if strings.IndexByte(k, 0) >= 0 {
					bad = append(bad, path)
					continue
				}
				walk(path+"."+k, x[k])
			}
		}
	}
	walk("body", doc)
	return bad
}
