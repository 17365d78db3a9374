package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/internal/kept"
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
// the page is the same. While one request reads a page, others asking for
// the same page at the same stamp wait for it (internal/kept).
//
// The readers' notice feeds of the web pages (the news, the home page's
// feed) are kept the same way, as lists (noticeList): the store keeps
// none, so that a feed is kept in one place, not once as bytes here and
// again as a list below.

// listStamper is a store that says when a list changed; without it nothing
// is kept (every answer still has its ETag).
type listStamper interface {
	ListStamp(ctx context.Context, list string) (stamp int64, ok bool, err error)
	ListUntil(ctx context.Context, list string, now time.Time) (time.Time, error)
}

// keptLimits bound the pages kept; past them the least recently used go.
var keptLimits = kept.Limits{Entries: 4096, Bytes: 32 << 20}

// maxKeptNoticeLists bounds the readers' notice lists kept for the pages
// (noticeList): a few KB each.
const maxKeptNoticeLists = 4096

// keptPages are the kept answers of the lists, each under the key of its
// list, scope and filter (pageKey) and the list's stamp.
type keptPages struct {
	store listStamper
	// pages are the API's encoded answers.
	pages *kept.Cache[string, kept.Page]
	// notices are readers' notice feeds for the web pages (the news,
	// the home page's feed).
	notices *kept.Cache[string, shequ.List[content.Notice]]
}

func newKeptPages(store any) *keptPages {
	st, _ := store.(listStamper)
	return &keptPages{
		store:   st,
		pages:   kept.New(keptLimits, kept.StringPageCost),
		notices: kept.New[string, shequ.List[content.Notice]](kept.Limits{Entries: maxKeptNoticeLists}, nil),
	}
}

// keptRead returns the value of key, of list, from c while the list's
// stamp holds, else from read, and keeps it when keep is true.
func keptRead[V any](ctx context.Context, s *Server, c *kept.Cache[string, V], list, key string, keep bool, read func(context.Context) (V, error)) (V, error) {
	if !keep || s.kept.store == nil {
		return read(ctx)
	}
	stamp, ok, err := s.kept.store.ListStamp(ctx, list)
	if err != nil {
		var zero V
		return zero, err
	}
	if !ok {
		return read(ctx)
	}
	// The stamp was read before the page: a change committed meanwhile
	// moves it past stamp, and this page is not used again.
	now := s.clock.Now()
	return c.Get(ctx, key, stamp, now, func(ctx context.Context) (V, time.Time, error) {
		v, err := read(ctx)
		if err != nil {
			return v, time.Time{}, err
		}
		until, err := s.kept.store.ListUntil(ctx, list, now)
		return v, until, err
	})
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
	p, err := keptRead(ctx, s, s.kept.pages, list, pageKey(list, keyParts), keep, func(ctx context.Context) (kept.Page, error) {
		body, err := read(ctx)
		if err != nil {
			return kept.Page{}, err
		}
		return kept.NewPage(body), nil
	})
	if err != nil {
		return nil, err
	}
	return s.keptAnswer(p.Body, p.ETag, ifNoneMatch), nil
}

// noticeList returns a reader's notice feed for a page, kept while the
// notices' stamp holds. Its items are shared with other requests: read
// only.
func (s *Server) noticeList(ctx context.Context, read auth.Scope, f content.NoticeFilter) (shequ.List[content.Notice], error) {
	key := pageKey("notices", []any{read, f.CommunityID, f.Status, f.Category, f.Important, f.Page.Normalize()})
	return keptRead(ctx, s, s.kept.notices, "notices", key, true, func(ctx context.Context) (shequ.List[content.Notice], error) {
		return s.store.ListNotices(ctx, read, nil, f)
	})
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
		if kept.NotModified(ifNoneMatch, etag) {
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
