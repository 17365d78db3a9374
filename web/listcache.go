package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/open311"
)

// Kept pages (issue 13): the busiest lists — the homes, the incident queue,
// the notice feed — are answered from their encoded bytes while the
// store's stamp of what they show has not moved (sqlstore/liststamp.go:
// change counters moved by triggers in the writing transaction, on every
// node). A request then costs the session and the stamp — both usually
// from the store's in-memory mirror of the counters, no statement at all
// (sqlstore/countermirror.go) — and a write of the bytes, instead of the
// page's queries and its JSON.
//
// A page is kept per list, per the asker's scope and per filter: the key
// holds everything the answer depends on, so one scope's rows are never
// sent to another. Every answer carries an ETag (a hash of its bytes); a
// client that sends it back in If-None-Match gets 304 Not Modified while
// the page is the same.

// listStamper is a store that says when a list changed; without it nothing
// is kept (every answer still has its ETag).
type listStamper interface {
	ListStamp(ctx context.Context, list string) (stamp int64, ok bool, err error)
	ListUntil(ctx context.Context, list string, now time.Time) (time.Time, error)
}

const (
	// maxKeptPages and maxKeptBytes bound the pages kept; past either, all
	// are dropped and kept again as they are asked for.
	maxKeptPages = 4096
	maxKeptBytes = 32 << 20
)

type keptPages struct {
	store listStamper
	clock shequ.Clock

	mu    sync.Mutex
	pages map[string]keptPage
	bytes int
}

type keptPage struct {
	stamp       int64
	read, until time.Time
	body        []byte
	etag        string
}

func newKeptPages(store any, clock shequ.Clock) *keptPages {
	st, _ := store.(listStamper)
	return &keptPages{store: st, clock: clock, pages: map[string]keptPage{}}
}

func (k *keptPages) get(key string, stamp int64, now time.Time) (keptPage, bool) {
	k.mu.Lock()
	p, ok := k.pages[key]
	k.mu.Unlock()
	if !ok || p.stamp != stamp || now.Before(p.read) || !now.Before(p.until) {
		return keptPage{}, false
	}
	return p, true
}

func (k *keptPages) put(key string, p keptPage) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.pages[key]; ok {
		k.bytes -= len(old.body)
	}
	if len(k.pages) >= maxKeptPages || k.bytes+len(p.body) > maxKeptBytes {
		clear(k.pages)
		k.bytes = 0
	}
	k.pages[key] = p
	k.bytes += len(p.body)
}

// keptAnswer is the answer of a kept list: its bytes, or 304.
type keptAnswer struct {
	Body func(huma.Context)
}

// Conditional is the request header of the kept lists' inputs.
type Conditional struct {
	IfNoneMatch string `header:"If-None-Match" doc:"The ETag of a copy the client has: 304 Not Modified when the list is still the same"`
}

// keptList answers one page of list for the asker's scope and the filter
// (keyParts) from the kept bytes while the list's stamp holds, else from
// read, whose bytes are kept when keep is true.
func (s *Server) keptList(ctx context.Context, list string, keyParts []any, keep bool, ifNoneMatch string, read func(context.Context) ([]byte, error)) (*keptAnswer, error) {
	key := pageKey(list, keyParts)
	var stamp int64
	ok := keep && s.kept.store != nil
	if ok {
		var err error
		if stamp, ok, err = s.kept.store.ListStamp(ctx, list); err != nil {
			return nil, err
		}
	}
	now := s.clock.Now()
	if ok {
		if p, hit := s.kept.get(key, stamp, now); hit {
			return s.keptAnswer(p.body, p.etag, ifNoneMatch), nil
		}
	}
	// The stamp was read before the page: a change committed meanwhile
	// moves it past stamp, and this page is not used again.
	body, err := read(ctx)
	if err != nil {
		return nil, err
	}
	p := keptPage{stamp: stamp, read: now, body: body, etag: open311.ETag(body)}
	if ok {
		if p.until, err = s.kept.store.ListUntil(ctx, list, now); err != nil {
			return nil, err
		}
		s.kept.put(key, p)
	}
	return s.keptAnswer(p.body, p.etag, ifNoneMatch), nil
}

// pageKey names a kept page by its list and the parts its answer depends
// on, each written with its type in Go syntax and set apart, so that two
// different filters never make one key (fmt.Sprint of grid 1 and floor
// "2" and of grid 12 and no floor were the same text).
func pageKey(list string, parts []any) string {
	var b strings.Builder
	b.WriteString(list)
	for _, p := range parts {
		fmt.Fprintf(&b, "\x00%T:%#v", p, p)
	}
	return b.String()
}

func (s *Server) keptAnswer(body []byte, etag, ifNoneMatch string) *keptAnswer {
	return &keptAnswer{Body: func(ctx huma.Context) {
		if accept := ctx.Header("Accept"); accept != "" {
			if _, err := s.api.Negotiate(accept); err != nil {
				huma.WriteErr(s.api, ctx, http.StatusNotAcceptable, "unable to marshal response", err)
				return
			}
		}
		ctx.SetHeader("ETag", etag)
		if open311.NotModified(ifNoneMatch, etag) {
			ctx.SetStatus(http.StatusNotModified)
			return
		}
		ctx.SetHeader("Content-Type", "application/json")
		ctx.SetStatus(http.StatusOK)
		ctx.BodyWriter().Write(body)
	}}
}

// encodeJSON writes v as huma's JSON format does (no HTML escaping, a
// final newline), so a kept answer is byte for byte what huma would send.
func encodeJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// handleKept registers a GET operation answered by keptList, documenting
// its answer as a shequ.List[T] and its 304.
func handleKept[I, T any](s *Server, rt Route, id, summary, tag string, h func(context.Context, *I) (*keptAnswer, error)) {
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[shequ.List[T]](), true, id+"Response")
	register(s, rt, id, summary, tag, h, func(op *huma.Operation) {
		op.Responses = map[string]*huma.Response{
			"200": {
				Description: "OK",
				Headers:     map[string]*huma.Param{"ETag": {Schema: &huma.Schema{Type: "string"}, Description: "Send it back in If-None-Match"}},
				Content:     map[string]*huma.MediaType{"application/json": {Schema: schema}},
			},
			"304": {Description: "Not Modified: the copy named in If-None-Match is current"},
		}
	})
}
