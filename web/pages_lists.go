package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// pageSize is the rows of one list page: what a phone scrolls through
// without strain.
const pageSize = shequ.DefaultLimit

// pager is the "page N of M" line and its links.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string
}

// pageNumber reads the 1-based page number of a list.
func pageNumber(q url.Values) int {
	n, err := strconv.Atoi(q.Get("page"))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// listPage fetches page n of a list. Past the last page it shows the last
// one: a bookmark outlives rows.
func listPage[T any](q url.Values, fetch func(shequ.Page) (shequ.List[T], error)) (shequ.List[T], int, error) {
	return listPageOf(q, pageSize, fetch)
}

// listPageOf is listPage with size rows a page, for lists of tall cards.
func listPageOf[T any](q url.Values, size int, fetch func(shequ.Page) (shequ.List[T], error)) (shequ.List[T], int, error) {
	n := pageNumber(q)
	l, err := fetch(shequ.Page{Limit: size, Offset: (n - 1) * size})
	if err != nil {
		return l, n, err
	}
	if len(l.Items) == 0 && l.Total > 0 && n > 1 {
		n = (l.Total + size - 1) / size
		l, err = fetch(shequ.Page{Limit: size, Offset: (n - 1) * size})
	}
	return l, n, err
}

// newPager builds the paging links of a list at path, keeping the filters
// named in keys.
func newPager(path string, q url.Values, keys []string, page, total int) pager {
	return newPagerOf(path, q, keys, page, total, pageSize)
}

// newPagerOf is newPager for pages of size rows.
func newPagerOf(path string, q url.Values, keys []string, page, total, size int) pager {
	pg := pager{Page: page, Pages: max(1, (total+size-1)/size), Total: total}
	link := func(n int) string {
		v := url.Values{}
		for _, k := range keys {
			if s := q.Get(k); s != "" {
				v.Set(k, s)
			}
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return path
		}
		return path + "?" + v.Encode()
	}
	if page > 1 {
		pg.Prev = link(page - 1)
	}
	if page < pg.Pages {
		pg.Next = link(page + 1)
	}
	return pg
}

func queryID(q url.Values, key string) int64 {
	n, err := strconv.ParseInt(q.Get(key), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// --- homes ---

type homesBody struct {
	Building   int64
	Floor      string
	FloorError string
	Buildings  []community.Building
	Rows       []community.Home
	Pager      pager
}

func (s *Server) homesPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("homes.title")
	b := homesBody{Building: queryID(q, "building"), Floor: strings.TrimSpace(q.Get("floor"))}
	if p.Actor.Can(auth.PermBuildingsRead) {
		bs, err := s.store.ListBuildings(ctx, p.Actor.Scope(auth.PermBuildingsRead), community.Filter{Page: shequ.Page{Limit: shequ.MaxLimit}})
		if err != nil {
			return "", err
		}
		b.Buildings = bs.Items
	}
	f := community.Filter{BuildingID: b.Building}
	if b.Floor != "" {
		n, err := strconv.Atoi(b.Floor)
		if err != nil {
			b.FloorError = p.L.T("homes.floor.invalid")
			p.Body = b
			return "staff/homes", nil
		}
		f.Floor = &n
	}
	sc := p.Actor.Scope(auth.PermHomesRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[community.Home], error) {
		f.Page = pg
		return s.store.ListHomes(ctx, sc, f)
	})
	if err != nil {
		return "", err
	}
	b.Rows = l.Items
	b.Pager = newPager("/homes", q, []string{"building", "floor"}, n, l.Total)
	p.Body = b
	return "staff/homes", nil
}

// --- people ---

type personRow struct {
	Name, Gender, Phone, IDNumber string
	Age                           int
	Tags                          []string
}

type peopleBody struct {
	Q, Tag string
	// ByNumber: the reader may find people by whole numbers too.
	ByNumber bool
	Tags     []string
	Rows     []personRow
	Pager    pager
}

func (s *Server) peoplePage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("people.title")
	b := peopleBody{Q: strings.TrimSpace(q.Get("q")), Tag: q.Get("tag"), Tags: community.KnownTags}
	f := community.Filter{Query: b.Q, Tag: b.Tag, NumberScope: p.Actor.Scope(auth.PermPeoplePII)}
	b.ByNumber = len(f.NumberScope) > 0
	sc := p.Actor.Scope(auth.PermPeopleRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[community.Person], error) {
		f.Page = pg
		return s.store.ListPeople(ctx, sc, f)
	})
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	for _, person := range l.Items {
		// Lists never show whole numbers: revealing one is a separate,
		// audited act.
		m := person.Mask()
		b.Rows = append(b.Rows, personRow{Name: m.Name, Gender: m.Gender, Phone: m.Phone, IDNumber: m.IDNumber, Age: person.Age(now), Tags: m.Tags})
	}
	b.Pager = newPager("/people", q, []string{"q", "tag"}, n, l.Total)
	p.Body = b
	return "staff/people", nil
}

// --- associations ---

type associationRow struct {
	Name    string
	Chair   string
	Members []community.Member
}

type associationsBody struct {
	Rows  []associationRow
	Pager pager
}

func (s *Server) associationsPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("associations.title")
	sc := p.Actor.Scope(auth.PermAssociationsRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[community.Association], error) {
		return s.store.ListAssociations(ctx, sc, community.Filter{Page: pg})
	})
	if err != nil {
		return "", err
	}
	var b associationsBody
	for _, a := range l.Items {
		row := associationRow{Name: a.Name, Members: a.Members}
		if p.L.Tag == langEn && a.NameEn != "" {
			row.Name = a.NameEn
		}
		for _, m := range a.Members {
			if m.Role == "chair" {
				row.Chair = m.Name
			}
		}
		b.Rows = append(b.Rows, row)
	}
	b.Pager = newPager("/associations", q, nil, n, l.Total)
	p.Body = b
	return "staff/associations", nil
}

// --- audit ---

type auditBody struct {
	Username, Action string
	Rows             []audit.Entry
	Pager            pager
}

func (s *Server) auditPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("audit.title")
	b := auditBody{Username: strings.TrimSpace(q.Get("username")), Action: strings.TrimSpace(q.Get("action"))}
	sc := p.Actor.Scope(auth.PermAuditRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[audit.Entry], error) {
		return s.store.ListAudit(ctx, sc, audit.Filter{Username: b.Username, Action: b.Action, Page: pg})
	})
	if err != nil {
		return "", err
	}
	b.Rows = l.Items
	b.Pager = newPager("/audit", q, []string{"username", "action"}, n, l.Total)
	p.Body = b
	return "staff/audit", nil
}

// --- users ---

type userRow struct {
	Username, DisplayName string
	Roles                 []string
	Disabled              bool
}

type usersBody struct {
	Rows  []userRow
	Pager pager
}

func (s *Server) usersPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("users.title")
	sc := p.Actor.Scope(auth.PermUsersManage)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[auth.User], error) {
		return s.store.ListUsers(ctx, sc, pg)
	})
	if err != nil {
		return "", err
	}
	var b usersBody
	for _, u := range l.Items {
		row := userRow{Username: u.Username, DisplayName: u.DisplayName, Disabled: u.Disabled}
		for _, g := range u.Grants {
			name := p.L.Or("role."+string(g.Role), string(g.Role))
			if !slices.Contains(row.Roles, name) {
				row.Roles = append(row.Roles, name)
			}
		}
		b.Rows = append(b.Rows, row)
	}
	b.Pager = newPager("/users", q, nil, n, l.Total)
	p.Body = b
	return "staff/users", nil
}
