package web

// BenchmarkResidentFeed measures the resident feed, GET /api/v1/notices,
// with 10,000 notices in the store, against a bare net/http handler that
// writes the very same bytes. It runs only with -bench; see
// docs/benchmarks.md ("Resident app").
//
// The store holds the demo community and 10,000 live notices: nine in ten
// to the whole community, one in ten to one grid (the grids in turn), one
// in a hundred important, three pinned, published one a minute over the
// past week. The client is resident01, who sees the community-wide ones
// and those of their grid. The first five pages of 20 are captured once
// through the real server; then, as in BenchmarkHomes (and with its
// machinery), each side is measured over loopback HTTP with parallel
// keep-alive clients and in process with a recorder:
//
//	api   the real Server: identify (session lookup), metrics, huma,
//	      authorize, the resident's scope, COUNT + SELECT over notices,
//	      targets and confirmations, JSON encoding
//	bare  an http.HandlerFunc that writes the captured page for the offset
//	      asked for, with the captured headers
//
// The number that matters is the ratio api/bare measured in one run.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/demo"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

const (
	feedNotices  = 10000
	feedPageSize = 20
	feedPages    = 5
)

func newFeedFixture(b *testing.B, dialect string) *homesFixture {
	b.Helper()
	st := sqlstoretest.Open(b, dialect, nil)
	ctx := context.Background()
	res, err := demo.Load(ctx, st, demoPassword)
	if err != nil {
		b.Fatalf("load demo: %v", err)
	}
	grids, err := st.ListGrids(ctx, auth.Scope{{}}, community.Filter{})
	if err != nil || len(grids.Items) == 0 {
		b.Fatalf("grids: %v, %d", err, len(grids.Items))
	}
	now := time.Now().UTC()
	err = st.Atomic(ctx, func(st *sqlstore.Store) error {
		for i := range feedNotices {
			n := content.Notice{
				CommunityID: res.CommunityID,
				Title:       fmt.Sprintf("停水通知 %d", i),
				Body:        fmt.Sprintf("因管道检修，**%d 号楼**明天上午 8:00–12:00 停水，请提前储水。\n\n物业服务中心", i%40+1),
				Category:    content.NoticeCategories[i%len(content.NoticeCategories)],
				Audience:    content.Community(),
				PublishAt:   now.Add(-time.Duration(feedNotices-i) * time.Minute),
				Pinned:      i%3333 == 0,
				Important:   i%100 == 7,
			}
			if i%10 == 3 {
				n.Audience = content.Grids(grids.Items[(i/10)%len(grids.Items)].ID)
			}
			if err := st.CreateNotice(ctx, auth.Scope{{}}, &n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("notices: %v", err)
	}
	srv := New(Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "bench", LoginBurst: 100})
	f := &homesFixture{api: srv}

	f.token = benchLogin(b, srv, "resident01")

	byOffset := map[string]int{}
	for p := range feedPages {
		offset := strconv.Itoa(p * feedPageSize)
		path := "/api/v1/notices?limit=" + strconv.Itoa(feedPageSize) + "&offset=" + offset
		rec := httptest.NewRecorder()
		f.api.ServeHTTP(rec, f.request(path))
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.Bytes())
		}
		var l struct {
			Items           []struct{ ID int64 }
			Total           int
			TotalIsEstimate bool `json:"total_is_estimate"`
		}
		if err := jsonUnmarshal(rec.Body.Bytes(), &l); err != nil {
			b.Fatalf("GET %s: %v", path, err)
		}
		// Nine in ten are community-wide: the resident sees over 9,000,
		// counted only up to shequ.MaxExactTotal.
		if len(l.Items) != feedPageSize || l.Total != shequ.MaxExactTotal+1 || !l.TotalIsEstimate {
			b.Fatalf("GET %s: %d items of %d", path, len(l.Items), l.Total)
		}
		h := rec.Header().Clone()
		h.Del("Date")
		byOffset[offset] = len(f.pages)
		f.pages = append(f.pages, benchPage{path: path, header: h, body: bytes.Clone(rec.Body.Bytes())})
	}
	f.bare = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, ok := byOffset[r.URL.Query().Get("offset")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		p := &f.pages[i]
		h := w.Header()
		for k, v := range p.header {
			h[k] = v
		}
		w.Write(p.body)
	})
	return f
}

// BenchmarkResidentFeed measures GET /api/v1/notices?limit=20 as
// resident01 with 10,000 notices, real server against bare handler, on
// each dialect (PostgreSQL is skipped when unreachable).
//
//	go test -run '^$' -bench BenchmarkResidentFeed -benchtime=2s ./web/
func BenchmarkResidentFeed(b *testing.B) {
	for _, dialect := range sqlstoretest.Dialects() {
		b.Run(dialect, func(b *testing.B) {
			f := newFeedFixture(b, dialect)
			b.Run("loopback", func(b *testing.B) {
				apiSrv := httptest.NewServer(f.api)
				defer apiSrv.Close()
				bareSrv := httptest.NewServer(f.bare)
				defer bareSrv.Close()
				b.Run("api", func(b *testing.B) { f.runLoopback(b, apiSrv.URL) })
				b.Run("bare", func(b *testing.B) { f.runLoopback(b, bareSrv.URL) })
			})
			b.Run("inproc", func(b *testing.B) {
				b.Run("api", func(b *testing.B) { f.runInproc(b, f.api) })
				b.Run("bare", func(b *testing.B) { f.runInproc(b, f.bare) })
			})
		})
	}
}
