package web

// Open311 GeoReport v2 over the matters (see package open311):
//
//	GET  /open311/discovery.{xml,json}
//	GET  /open311/v2/services.{fmt}
//	GET  /open311/v2/services/{service_code}.{fmt}
//	POST /open311/v2/requests.{fmt}                       api_key required
//	GET  /open311/v2/requests.{fmt}
//	GET  /open311/v2/requests/{service_request_id}.{fmt}
//	GET  /open311/v2/tokens/{token}.{fmt}
//
// The routes need no session: reads are public and filing needs an API
// key, which an admin creates under /api/v1/open311/keys. Errors come in
// the Open311 format (XML unless the resource asked for JSON), never as
// problem documents: 404 for what does not exist (an unknown format
// included, told in XML), 403 for a missing, wrong or revoked api_key
// (checked first when filing, and also when a read sends one), 405 for a
// method a resource does not serve, 400 for the rest, failures of the
// server included as the specification has it (their body code is 500).
//
// Where the specification leaves room:
//   - The jurisdiction is a community: the key's when an api_key is sent,
//     else the one jurisdiction_id names (its community code); it may be
//     left out while the deployment has one community only.
//   - Every service is realtime: POST answers 200 with the
//     service_request_id (the matter's tracking number) and no token; GET
//     tokens/{token} still answers, the token being the id.
//   - GET requests without dates covers the 90 days up to now, rounded up
//     to the whole minute (the listing is kept for that minute); with one
//     date, the 90 days after start_date or before end_date; both may not
//     be more than 90 days apart; both bounds are included; a bare date is
//     midnight in the community's zone. At most 1000 come back, newest
//     first. service_request_id overrides every other filter.
//   - open is a matter not yet resolved, closed or rejected; closed is one
//     that is. status_notes is the last reason or note given.
//   - Times are in the community's zone with its offset.
//   - The feed is public, so it carries no personal data: no names,
//     phones or e-mail addresses (those sent with a request are kept
//     sealed for staff); a matter at a home is placed at its building,
//     never its door (address_id is the building's id, lat/long the
//     building's unless the matter has its own); phone and ID numbers and
//     e-mail addresses written in descriptions and notes are hidden.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/internal/kept"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
)

// open311Store is what the Open311 endpoint and its keys need.
type open311Store interface {
	CommunityByCode(ctx context.Context, code string) (community.Community, error)
	CategoryByCode(ctx context.Context, community int64, code string) (matter.Category, error)
	CreateOpen311Key(ctx context.Context, scope auth.Scope, k *open311.Open311Key) (string, error)
	ListOpen311Keys(ctx context.Context, scope auth.Scope, community int64, page shequ.Page) (shequ.List[open311.Open311Key], error)
	RevokeOpen311Key(ctx context.Context, scope auth.Scope, id int64) error
	Open311Key(ctx context.Context, secret string) (open311.Open311Key, error)
	SubmitOpen311(ctx context.Context, key open311.Open311Key, m *matter.Matter, x open311.Extra) error
	EachOpen311Request(ctx context.Context, f open311.Filter, fn func(*open311.FeedRow) error) error
	Open311Version(ctx context.Context, community int64) (int64, error)
	Open311Changeset(ctx context.Context) (time.Time, error)
}

// open311Floor is the changeset discovery reports when no category says
// later: when this endpoint's surface was last changed.
var open311Floor = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// open311ListingBytes bounds the GET requests answers kept in memory:
// sixty listings of a thousand requests.
const open311ListingBytes = 40 << 20

// maxOpen311Form bounds a POST requests body: a 4000-character
// description and a few dozen answers fit many times over.
const maxOpen311Form = 256 << 10

// open311Everywhere is a deployment-wide scope, for the look-ups the
// Open311 endpoint makes on behalf of no one in particular.
var open311Everywhere = auth.Scope{{}}

type open311Handler func(w http.ResponseWriter, r *http.Request, f open311.Format, name string) error

// open311Route is one Open311 resource: its documented path, for the rule
// table, and how to match and serve it.
type open311Route struct {
	method string
	path   string // as documented, e.g. /open311/v2/services/{service_code}.{format}
	dir    string // the directory of the resource, e.g. "v2/services/"
	file   string // the resource's name before the format; "" when it is the path value
	serve  open311Handler
}

func (s *Server) registerOpen311() {
	listings := kept.New(kept.Limits{Bytes: open311ListingBytes}, kept.StringPageCost)
	requests := func(w http.ResponseWriter, r *http.Request, f open311.Format, _ string) error {
		return s.open311Requests(w, r, f, listings)
	}
	routes := []open311Route{
		{http.MethodGet, "/open311/discovery.{format}", "", "discovery", s.open311Discovery},
		{http.MethodGet, "/open311/v2/services.{format}", "v2/", "services", s.open311Services},
		{http.MethodGet, "/open311/v2/services/{service_code}.{format}", "v2/services/", "", s.open311Definition},
		{http.MethodPost, "/open311/v2/requests.{format}", "v2/", "requests", s.open311Submit},
		{http.MethodGet, "/open311/v2/requests.{format}", "v2/", "requests", requests},
		{http.MethodGet, "/open311/v2/requests/{service_request_id}.{format}", "v2/requests/", "", s.open311Request},
		{http.MethodGet, "/open311/v2/tokens/{token}.{format}", "v2/tokens/", "", s.open311Token},
	}
	for _, rt := range routes {
		s.routes = append(s.routes, Route{Method: rt.method, Path: rt.path, Public: true})
	}
	s.mux.HandleFunc("/open311/", func(w http.ResponseWriter, r *http.Request) {
		s.serveOpen311(w, r, routes)
	})
	s.registerOpen311Keys()
}

// serveOpen311 finds the resource a path names and serves it, turning
// every error into an Open311 error answer.
func (s *Server) serveOpen311(w http.ResponseWriter, r *http.Request, routes []open311Route) {
	rest := strings.TrimPrefix(r.URL.Path, "/open311/")
	dir, file := "", rest
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		dir, file = rest[:i+1], rest[i+1:]
	}
	name, f, ok := open311.SplitFormat(file)
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	matched := false // the path names a resource, whatever the method or format
	for _, rt := range routes {
		if rt.dir != dir || (rt.file != "" && rt.file != name) || (rt.file == "" && name == "") {
			continue
		}
		matched = true
		if rt.method != method {
			allowed = append(allowed, rt.method)
			continue
		}
		if !ok {
			break
		}
		w.Header().Set("Cache-Control", "no-store")
		if err := rt.serve(w, r, f, name); err != nil {
			s.open311Error(w, r, f, err)
		}
		return
	}
	switch {
	case matched && !ok:
		ext := strings.TrimPrefix(file, name)
		if ext == "" {
			ext = "none"
		}
		open311.WriteFailure(w, open311.XML, open311.Fail(http.StatusNotFound, "unknown format (%s): end the resource with .xml or .json", ext))
	case len(allowed) > 0:
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		open311.WriteFailure(w, f, open311.Fail(http.StatusMethodNotAllowed, "%s is not served here; use %s", r.Method, strings.Join(allowed, " or ")))
	default:
		open311.WriteFailure(w, f, open311.Fail(http.StatusNotFound, "no such Open311 resource: %s", r.URL.Path))
	}
}

// open311Error writes err as an Open311 error answer (see the top of the
// file for the statuses).
func (s *Server) open311Error(w http.ResponseWriter, r *http.Request, f open311.Format, err error) {
	var fl *open311.Failure
	if !errors.As(err, &fl) {
		switch shequ.ErrorCode(err) {
		case shequ.ENOTFOUND:
			fl = open311.Fail(http.StatusNotFound, "%s", shequ.ErrorMessage(err))
		case shequ.EFORBIDDEN, shequ.EUNAUTHORIZED:
			fl = open311.Fail(http.StatusForbidden, "%s", shequ.ErrorMessage(err))
		case shequ.EINVALID:
			var se *shequ.Error
			errors.As(err, &se)
			fl = &open311.Failure{Status: http.StatusBadRequest}
			for _, k := range slices.Sorted(maps.Keys(se.Fields)) {
				fl.Errors = append(fl.Errors, open311.Error{Code: http.StatusBadRequest, Description: k + ": " + se.Fields[k]})
			}
			if len(fl.Errors) == 0 {
				fl.Errors = open311.Errors{{Code: http.StatusBadRequest, Description: se.Message}}
			}
		case shequ.EINTERNAL:
			s.log.Error("open311 request failed", "path", r.URL.Path, "err", err)
			fl = &open311.Failure{Status: http.StatusBadRequest, Errors: open311.Errors{{Code: http.StatusInternalServerError,
				Description: "general service error: the request could not be processed; try again later"}}}
		default:
			fl = open311.Fail(http.StatusBadRequest, "%s", shequ.ErrorMessage(err))
		}
	}
	if err := open311.WriteFailure(w, f, fl); err != nil {
		s.log.Warn("open311 error not written", "err", err)
	}
}

// open311Zones caches the communities' time zones.
var open311Zones sync.Map

func open311Zone(name string) *time.Location {
	if z, ok := open311Zones.Load(name); ok {
		return z.(*time.Location)
	}
	z := zoneOf(name)
	open311Zones.Store(name, z)
	return z
}

// open311Where is the community (jurisdiction) a request is for, and the
// key it came with, if any.
type open311Where struct {
	community community.Community
	key       *open311.Open311Key
	zone      *time.Location
}

// open311Jurisdiction works out the community: the key's when an api_key
// is sent (a wrong or revoked key is refused even where none is needed),
// else the one jurisdiction_id names, else the only one there is.
func (s *Server) open311Jurisdiction(ctx context.Context, apiKey, id string) (open311Where, error) {
	var j open311Where
	switch {
	case apiKey != "":
		k, err := s.store.Open311Key(ctx, apiKey)
		if err != nil {
			return j, err
		}
		j.key = &k
		if j.community, err = s.store.Community(ctx, open311Everywhere, k.CommunityID); err != nil {
			return j, err
		}
		if id != "" && id != j.community.Code {
			return j, open311.Fail(http.StatusForbidden, "this api_key is not valid for jurisdiction_id %q", id)
		}
	case id != "":
		c, err := s.store.CommunityByCode(ctx, id)
		if shequ.ErrorCode(err) == shequ.ENOTFOUND {
			return j, open311.Fail(http.StatusNotFound, "jurisdiction_id %q was not found", id)
		} else if err != nil {
			return j, err
		}
		j.community = c
	default:
		cs, err := s.store.ListCommunities(ctx, open311Everywhere, shequ.Page{Limit: 2})
		if err != nil {
			return j, err
		}
		switch cs.Total {
		case 0:
			return j, open311.Fail(http.StatusNotFound, "this endpoint serves no jurisdiction yet")
		case 1:
			j.community = cs.Items[0]
		default:
			return j, open311.BadRequest("jurisdiction_id was not provided: this endpoint serves %d jurisdictions; send the community code", cs.Total)
		}
	}
	j.zone = open311Zone(j.community.Timezone)
	return j, nil
}

func (s *Server) open311Discovery(w http.ResponseWriter, r *http.Request, f open311.Format, _ string) error {
	ctx := r.Context()
	changed, err := s.store.Open311Changeset(ctx)
	if err != nil {
		return err
	}
	if changed.Before(open311Floor) {
		changed = open311Floor
	}
	contact := "Ask the community office (社区居委会) that looks after the place; its phone is on the community's notice board."
	if j, err := s.open311Jurisdiction(ctx, "", r.FormValue("jurisdiction_id")); err == nil {
		contact = joinNonEmpty(", ", j.community.Name, j.community.Phone, j.community.Address)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); s.proxy && (p == "http" || p == "https") {
		scheme = p
	}
	cs := changed.Format(time.RFC3339)
	d := open311.Discovery{
		Changeset:  cs,
		Contact:    contact,
		KeyService: "API keys to file requests are issued by the community's administrator (POST /api/v1/open311/keys); ask the community office. Reading needs no key.",
		Endpoints: []open311.Endpoint{{Specification: open311.Specification, URL: scheme + "://" + r.Host + "/open311/v2", Changeset: cs,
			Type: "production", Formats: open311.Formats}},
	}
	return open311.Write(w, f, http.StatusOK, d)
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func (s *Server) open311Categories(ctx context.Context, c int64) ([]matter.Category, error) {
	l, err := s.store.ListCategories(ctx, auth.Scope{{CommunityID: c}}, c, shequ.Page{Limit: shequ.MaxLimit})
	return l.Items, err
}

func (s *Server) open311Services(w http.ResponseWriter, r *http.Request, f open311.Format, _ string) error {
	j, err := s.open311Jurisdiction(r.Context(), r.FormValue("api_key"), r.FormValue("jurisdiction_id"))
	if err != nil {
		return err
	}
	cats, err := s.open311Categories(r.Context(), j.community.ID)
	if err != nil {
		return err
	}
	out := make(open311.Services, 0, len(cats))
	for _, c := range cats {
		out = append(out, open311.ServiceOf(c))
	}
	return open311.Write(w, f, http.StatusOK, out)
}

func (s *Server) open311Category(ctx context.Context, j open311Where, code string) (matter.Category, error) {
	c, err := s.store.CategoryByCode(ctx, j.community.ID, code)
	if shequ.ErrorCode(err) == shequ.ENOTFOUND {
		return c, open311.Fail(http.StatusNotFound, "service_code %q was not found", code)
	}
	return c, err
}

func (s *Server) open311Definition(w http.ResponseWriter, r *http.Request, f open311.Format, code string) error {
	j, err := s.open311Jurisdiction(r.Context(), r.FormValue("api_key"), r.FormValue("jurisdiction_id"))
	if err != nil {
		return err
	}
	c, err := s.open311Category(r.Context(), j, code)
	if err != nil {
		return err
	}
	return open311.Write(w, f, http.StatusOK, open311.DefinitionOf(c))
}

// open311Submit files a request. The key comes first: without a good one
// nothing else is looked at.
func (s *Server) open311Submit(w http.ResponseWriter, r *http.Request, f open311.Format, _ string) error {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxOpen311Form)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxOpen311Form)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return open311.BadRequest("the form could not be read: send application/x-www-form-urlencoded in UTF-8, at most %d KiB", maxOpen311Form>>10)
	}
	apiKey := strings.TrimSpace(r.Form.Get("api_key"))
	if apiKey == "" {
		return open311.Fail(http.StatusForbidden, "api_key is required to create a service request")
	}
	j, err := s.open311Jurisdiction(ctx, apiKey, strings.TrimSpace(r.Form.Get("jurisdiction_id")))
	if err != nil {
		return err
	}
	sub, err := open311.ReadSubmission(r.Form)
	if err != nil {
		return err
	}
	c, err := s.open311Category(ctx, j, sub.ServiceCode)
	if err != nil {
		return err
	}
	if err := sub.Check(c); err != nil {
		return err
	}
	m := sub.Matter(c)
	if sub.AddressID != 0 {
		b, err := s.store.Building(ctx, auth.Scope{{CommunityID: j.community.ID}}, sub.AddressID)
		if shequ.ErrorCode(err) == shequ.ENOTFOUND {
			return open311.BadRequest("address_id %d is not an address of this jurisdiction (the id of one of its buildings)", sub.AddressID)
		} else if err != nil {
			return err
		}
		if m.Address == "" {
			m.Address = open311.PlaceName(b.Name, b.Address)
		}
		if !sub.HasPoint {
			m.Lat, m.Lng = b.Lat, b.Lng
		}
	}
	var contact any
	if !sub.Contact.Empty() {
		contact = sub.Contact
	}
	if err := s.store.SubmitOpen311(ctx, *j.key, &m, open311.Extra{BuildingID: sub.AddressID, MediaURL: sub.MediaURL, Contact: contact}); err != nil {
		return err
	}
	s.changed()
	return open311.Write(w, f, http.StatusOK, open311.CreatedList{{ServiceRequestID: m.Tracking, ServiceNotice: open311.NullString(open311.ServiceNotice(c))}})
}

// open311Find returns the requests f keeps, in their public form.
func (s *Server) open311Find(ctx context.Context, j open311Where, filter open311.Filter) (open311.Requests, error) {
	filter.CommunityID = j.community.ID
	cats, err := s.open311Categories(ctx, j.community.ID)
	if err != nil {
		return nil, err
	}
	byCode := make(map[string]matter.Category, len(cats))
	for _, c := range cats {
		byCode[c.Code] = c
	}
	out := open311.Requests{}
	err = s.store.EachOpen311Request(ctx, filter, func(row *open311.FeedRow) error {
		out = append(out, row.Request(open311.View{Category: byCode[row.Category], Agency: j.community.Name, Zone: j.zone}))
		return nil
	})
	return out, err
}

// open311Requests answers GET requests. The answer is kept in listings
// by what was asked and sent again, with its ETag (304 when the client
// has it), while the community's Open311 version (read with every
// request, moved by the database on any change the listing shows, from
// any node) is the one it was read at. Without listings it is read and
// written every time.
func (s *Server) open311Requests(w http.ResponseWriter, r *http.Request, f open311.Format, listings *kept.Cache[string, kept.Page]) error {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		return open311.BadRequest("the query could not be read")
	}
	j, err := s.open311Jurisdiction(ctx, strings.TrimSpace(r.Form.Get("api_key")), strings.TrimSpace(r.Form.Get("jurisdiction_id")))
	if err != nil {
		return err
	}
	q, err := open311.ReadQuery(r.Form, s.clock.Now(), j.zone)
	if err != nil {
		return err
	}
	filter := open311.Filter{CommunityID: j.community.ID, Tracking: q.IDs, Categories: q.Codes, Status: q.Status, Since: q.Start, Until: q.End, Limit: q.Limit}
	if listings == nil {
		w.Header().Set("Content-Type", f.ContentType())
		if started, err := s.open311Listing(ctx, w, j, f, filter); err != nil {
			if started {
				// Part of a 200 has gone: end the connection, so the
				// client sees a broken answer rather than a short list.
				s.log.Warn("open311 listing broken off", "err", err)
				panic(http.ErrAbortHandler)
			}
			return err
		}
		return nil
	}
	// The version first: a change committed after it moves it, so a
	// listing read after a change is never kept under an earlier number.
	version, err := s.store.Open311Version(ctx, j.community.ID)
	if err != nil {
		return err
	}
	l, err := listings.Get(ctx, open311.ListingKey(filter, f, j.community.Name, j.community.Timezone), version, s.clock.Now(), func(ctx context.Context) (kept.Page, time.Time, error) {
		var b bytes.Buffer
		if _, err := s.open311Listing(ctx, &b, j, f, filter); err != nil {
			return kept.Page{}, time.Time{}, err
		}
		return kept.NewPage(b.Bytes()), time.Time{}, nil
	})
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", f.ContentType())
	h.Set("ETag", l.ETag)
	// The listing is public: a client may keep it and ask again with
	// If-None-Match.
	h.Set("Cache-Control", "no-cache")
	if kept.NotModified(r.Header.Get("If-None-Match"), l.ETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	// A failed write is the client gone, not an answer to give.
	w.Write(l.Body)
	return nil
}

// open311Listing writes the listing filter keeps in format f to w: JSON
// while its rows are read (up to a thousand requests are never held as
// values), XML built whole. started reports whether a failure came after
// part of it was written.
func (s *Server) open311Listing(ctx context.Context, w io.Writer, j open311Where, f open311.Format, filter open311.Filter) (started bool, err error) {
	if f != open311.JSON {
		out, err := s.open311Find(ctx, j, filter)
		if err != nil {
			return false, err
		}
		b, err := open311.Encode(f, out)
		if err != nil {
			return false, err
		}
		_, err = w.Write(b)
		return err != nil, err
	}
	cats, err := s.open311Categories(ctx, j.community.ID)
	if err != nil {
		return false, err
	}
	out := open311.NewRequestStream(w, j.community.Name, j.zone, cats)
	if err := s.store.EachOpen311Request(ctx, filter, out.Add); err != nil {
		return out.Started(), err
	}
	return true, out.Close()
}

// open311One returns the request with this id, or a 404 failure that
// calls the id what.
func (s *Server) open311One(r *http.Request, id, what string) (open311.Request, error) {
	j, err := s.open311Jurisdiction(r.Context(), r.FormValue("api_key"), r.FormValue("jurisdiction_id"))
	if err != nil {
		return open311.Request{}, err
	}
	out, err := s.open311Find(r.Context(), j, open311.Filter{Tracking: []string{id}, Limit: 1})
	if err != nil {
		return open311.Request{}, err
	}
	if len(out) == 0 {
		return open311.Request{}, open311.Fail(http.StatusNotFound, "%s %q was not found", what, id)
	}
	return out[0], nil
}

func (s *Server) open311Request(w http.ResponseWriter, r *http.Request, f open311.Format, id string) error {
	req, err := s.open311One(r, id, "service_request_id")
	if err != nil {
		return err
	}
	return open311.Write(w, f, http.StatusOK, open311.Requests{req})
}

// open311Token answers for a token. Requests are filed at once, so a
// token is the service_request_id itself; the method is there for
// clients that ask anyway.
func (s *Server) open311Token(w http.ResponseWriter, r *http.Request, f open311.Format, token string) error {
	req, err := s.open311One(r, token, "token")
	if err != nil {
		return err
	}
	return open311.Write(w, f, http.StatusOK, open311.Tokens{{ServiceRequestID: req.ServiceRequestID, Token: token}})
}

// --- keys ---

type open311KeyBody struct {
	CommunityID int64  `json:"community_id" minimum:"1" doc:"The community whose matters the key files"`
	Name        string `json:"name" minLength:"1" maxLength:"100" doc:"Who the key is for, e.g. the city's 12345 hotline"`
}

type open311KeyCreated struct {
	open311.Open311Key
	APIKey string `json:"api_key" doc:"The secret, shown this once: the client sends it as api_key"`
}

func (s *Server) registerOpen311Keys() {
	handle(s, post("/api/v1/open311/keys", auth.PermOpen311Manage), "create-open311-key", "Create an Open311 API key for a community; the secret is shown once", "open311",
		func(ctx context.Context, in *struct{ Body open311KeyBody }) (*itemBody[open311KeyCreated], error) {
			k := open311.Open311Key{CommunityID: in.Body.CommunityID, Name: in.Body.Name}
			secret, err := s.store.CreateOpen311Key(ctx, scope(ctx, auth.PermOpen311Manage), &k)
			return item(open311KeyCreated{Open311Key: k, APIKey: secret}, err)
		})
	handle(s, get("/api/v1/open311/keys", auth.PermOpen311Manage), "list-open311-keys", "Open311 API keys, revoked ones included, without their secrets", "open311",
		func(ctx context.Context, in *PageParams) (*listBody[open311.Open311Key], error) {
			return list(s.store.ListOpen311Keys(ctx, scope(ctx, auth.PermOpen311Manage), in.Community, in.page()))
		})
	handle(s, remove("/api/v1/open311/keys/{id}", auth.PermOpen311Manage), "revoke-open311-key", "Revoke an Open311 API key: requests with it are refused at once", "open311",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.RevokeOpen311Key(ctx, scope(ctx, auth.PermOpen311Manage), in.ID)
		})
}
