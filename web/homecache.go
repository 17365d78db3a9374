package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/internal/kept"
)

// The resident's home page kept (issue 13). Rendering it was a dozen
// queries (the community, the alarm state, open incidents, two lists of
// matters, the categories, the board, the feed) and html/template over
// the whole page: ~1/15 of a bare handler's rate. A rendered page is now
// kept per session, language and text size, and shown again while
//
//   - the page's version has not moved: the sum of change counters that
//     triggers move on every change the page can show (migration 00046 and
//     sqlstore/homepage.go), read in one query of at most four rows, or
//     without one from the store's mirror of the counters while it holds
//     (sqlstore/countermirror.go). It is in the database, so a change made
//     by another node (PostgreSQL) or another process (the command line on
//     SQLite) shows once the store has heard of it (its notification, the
//     file's next poll), and one made here at the next request;
//   - nothing on it has come due: a notice published or expiring, a post
//     expiring, a matter shown becoming overdue; and at most a minute.
//
// Everything else the page shows comes from the session (the name, the
// roles and so the menu, the CSRF token) and is part of the key, as are
// the language and the text size.

// keptHomeLimits bound the pages kept (~20 KB each); past them the least
// recently used go.
var keptHomeLimits = kept.Limits{Entries: 1024, Bytes: 32 << 20}

// homePageVersioner is a store that versions the resident's home page.
type homePageVersioner interface {
	HomePageVersion(ctx context.Context, household, home int64) (int64, error)
	HomePageUntil(ctx context.Context, now time.Time) (time.Time, error)
}

type keptHomes struct {
	store homePageVersioner
	// hits counts the pages served kept (tests).
	hits  atomic.Int64
	pages *kept.Cache[string, keptHome]
}

// keptHome is a rendered page and what its version was read for.
type keptHome struct {
	household, home int64
	body            []byte
}

// newKeptHomes returns nil when the store cannot version the page: then
// every visit renders it.
func newKeptHomes(store any) *keptHomes {
	v, ok := store.(homePageVersioner)
	if !ok {
		return nil
	}
	cost := func(key string, h keptHome) int { return len(key) + len(h.body) }
	return &keptHomes{store: v, pages: kept.New(keptHomeLimits, cost)}
}

// keptHomeKey names what a page depends on besides the database: the
// session (its token for forms), the account and its grants, the language
// and the text size.
func keptHomeKey(p *pageData) string {
	a := p.Actor
	var b strings.Builder
	b.WriteString(p.L.Tag)
	b.WriteString(strconv.FormatBool(p.Large))
	for _, n := range []int64{a.Session.ID, a.User.ID, a.HouseholdID} {
		b.WriteByte('|')
		b.WriteString(strconv.FormatInt(n, 10))
	}
	for _, s := range []string{p.CSRF, a.User.Username, a.User.DisplayName} {
		b.WriteByte('|')
		b.WriteString(strconv.Quote(s))
	}
	for _, g := range a.User.Grants {
		b.WriteByte('|')
		b.WriteString(string(g.Role))
		for _, n := range []int64{g.CommunityID, g.GridID, g.AssociationID, g.PartnerID} {
			b.WriteByte('/')
			b.WriteString(strconv.FormatInt(n, 10))
		}
	}
	return b.String()
}

// homeRoute is "/": the resident's home kept when it may be, else the
// page as every other (homePage).
func (s *Server) homeRoute(w http.ResponseWriter, r *http.Request) {
	if s.serveKeptHome(w, r) {
		return
	}
	p, ok := s.signedInPage(w, r, "/", "")
	if !ok {
		return
	}
	e, keep := s.startKeptHome(r, p)
	view, err := s.homePage(r, p)
	if err != nil {
		s.renderErr(w, r, p, err)
		return
	}
	if !keep || !keepable(p, e.Read, &e.Until) {
		s.render(w, r, p, view, http.StatusOK)
		return
	}
	body, err := execute(r, p, view)
	if err != nil {
		s.log.Error("render page", "view", view, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	e.Value.body = body
	s.homes.pages.Put(keptHomeKey(p), e)
	writePage(w, http.StatusOK, body)
}

// keptHomeAsked reports whether r may be answered by a kept page: the
// resident's own home, with no query (the page's forms come back to its
// address).
func keptHomeAsked(r *http.Request, a *auth.Actor) bool {
	return a != nil && r.URL.RawQuery == "" && residentView(a)
}

// serveKeptHome answers r with its kept page if it still holds.
func (s *Server) serveKeptHome(w http.ResponseWriter, r *http.Request) bool {
	if s.homes == nil || !keptHomeAsked(r, auth.ActorFrom(r.Context())) {
		return false
	}
	e, ok := s.homes.pages.Peek(keptHomeKey(s.newPage(r)), s.clock.Now())
	if !ok {
		return false
	}
	v, err := s.homes.store.HomePageVersion(r.Context(), e.Value.household, e.Value.home)
	if err != nil || v != e.Version {
		return false
	}
	s.homes.hits.Add(1)
	pageHeaders(w)
	writePage(w, http.StatusOK, e.Value.body)
	return true
}

// startKeptHome reads the version of p's page before the page itself, so
// that a change committed meanwhile leaves the kept page stale at birth,
// never wrong. It reports false when the page is not to be kept.
func (s *Server) startKeptHome(r *http.Request, p *pageData) (kept.Entry[keptHome], bool) {
	var none kept.Entry[keptHome]
	if s.homes == nil || !keptHomeAsked(r, p.Actor) {
		return none, false
	}
	ctx := r.Context()
	home, err := s.residentHome(ctx, p.Actor)
	if err != nil {
		return none, false
	}
	e := kept.Entry[keptHome]{Value: keptHome{household: p.Actor.HouseholdID, home: home}, Read: s.clock.Now()}
	if e.Version, err = s.homes.store.HomePageVersion(ctx, e.Value.household, home); err != nil {
		s.log.Error("home page version", "err", err)
		return none, false
	}
	// A household that moved between the home's read and the version's
	// would be kept under its old home's counter, deaf to its new home's
	// alarm: the page is then not kept (a move after the version's read
	// moves the version, through 'notices').
	if again, err := s.residentHome(ctx, p.Actor); err != nil || again != home {
		return none, false
	}
	if e.Until, err = s.homes.store.HomePageUntil(ctx, e.Read); err != nil {
		s.log.Error("home page until", "err", err)
		return none, false
	}
	return e, true
}

// keepable reports whether the page rendered for p may be kept, and
// brings until forward to when a matter shown becomes overdue. A page
// that could not read the alarm's state says so, and is not kept.
func keepable(p *pageData, read time.Time, until *time.Time) bool {
	b, ok := p.Body.(residentHomeBody)
	if !ok || b.Alarm != nil && b.Alarm.Problem {
		return false
	}
	for _, m := range b.Matters {
		if openMatter(m.Status) && m.DueAtTs.After(read) && m.DueAtTs.Before(*until) {
			*until = m.DueAtTs
		}
	}
	return true
}
