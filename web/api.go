package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

func jsonEncode(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// handle registers one API operation behind the authorize gate. Every route
// goes through here, so the route list the tests walk is complete.
func handle[I, O any](s *Server, rt Route, id, summary, tag string, h func(context.Context, *I) (*O, error)) {
	register(s, rt, id, summary, tag, h, nil)
}

// register is handle with a last say on the operation (tweak may be nil).
func register[I, O any](s *Server, rt Route, id, summary, tag string, h func(context.Context, *I) (*O, error), tweak func(*huma.Operation)) {
	s.routes = append(s.routes, rt)
	op := huma.Operation{
		OperationID: id, Method: rt.Method, Path: rt.Path, Summary: summary, Tags: []string{tag},
		Metadata: map[string]any{"route": rt},
	}
	if !rt.Public {
		op.Security = []map[string][]string{{"bearer": {}}, {"cookie": {}}}
		if rt.Permission != "" {
			op.Description = "Needs permission `" + string(rt.Permission) + "`; rows are limited to the caller's scope."
		}
	}
	if rt.Method == http.MethodPost && !rt.OK && !strings.HasPrefix(rt.Path, "/api/v1/auth/") {
		op.DefaultStatus = http.StatusCreated
	}
	if tweak != nil {
		tweak(&op)
	}
	huma.Register(s.api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			p := problemOf(err)
			if p.Status >= 500 {
				s.log.Error("request failed", "op", id, "err", err)
			}
			return nil, p
		}
		if rt.Method != http.MethodGet {
			// A write may have added to the live stream: wake it.
			s.changed()
		}
		return out, nil
	})
}

func get(path string, p auth.Permission) Route {
	return Route{Method: http.MethodGet, Path: path, Permission: p}
}
func post(path string, p auth.Permission) Route {
	return Route{Method: http.MethodPost, Path: path, Permission: p}
}
func put(path string, p auth.Permission) Route {
	return Route{Method: http.MethodPut, Path: path, Permission: p}
}
func remove(path string, p auth.Permission) Route {
	return Route{Method: http.MethodDelete, Path: path, Permission: p}
}

// scope returns where the request's actor may use p.
func scope(ctx context.Context, p auth.Permission) auth.Scope {
	return auth.ActorFrom(ctx).Scope(p)
}

type PageParams struct {
	Limit     int   `query:"limit" minimum:"0" maximum:"500" doc:"Items per page; 50 when not given"`
	Offset    int   `query:"offset" minimum:"0" doc:"Items to skip"`
	Community int64 `query:"community" doc:"Only this community, for users who work in several"`
}

func (p PageParams) page() shequ.Page { return shequ.Page{Limit: p.Limit, Offset: p.Offset} }

func (p PageParams) filter() community.Filter {
	return community.Filter{CommunityID: p.Community, Page: p.page()}
}

type IDParam struct {
	ID int64 `path:"id" minimum:"1"`
}

type listBody[T any] struct {
	Body shequ.List[T]
}

type itemBody[T any] struct {
	Body T
}

type noContent struct{}

// bodyInput is the input of an operation that takes a JSON body only.
// The body's schema is named after T, which must therefore be a named type.
type bodyInput[T any] struct {
	Body T
}

// idBodyInput is the input of an operation on /…/{id} that takes a JSON
// body; T must be a named type, as for bodyInput.
type idBodyInput[T any] struct {
	IDParam
	Body T
}

func item[T any](v T, err error) (*itemBody[T], error) {
	if err != nil {
		return nil, err
	}
	return &itemBody[T]{Body: v}, nil
}

func list[T any](v shequ.List[T], err error) (*listBody[T], error) {
	if err != nil {
		return nil, err
	}
	return &listBody[T]{Body: v}, nil
}

func (s *Server) registerAPI() {
	s.registerAuthAPI()
	s.registerCommunityAPI()
	s.registerPeopleAPI()
	s.registerDeviceAPI()
	s.registerAdminAPI()
	s.registerJobsAPI()
	s.registerAlarmAPI()
	s.registerNotifyAPI()
	s.registerFieldAPI()
	s.registerMatterAPI()
	s.registerOpen311()
	s.registerBoardAPI()
	s.registerContentAPI()
	s.registerTransferAPI()
	s.registerAssocAPI()
	s.registerCaseAPI()
	s.registerMediationAPI()
	s.registerAssistanceAPI()
	s.registerBroadcastAPI()
	s.registerAccessAPI()
	s.registerPrivacyAPI()
	s.registerEvidenceAPI()
}

// --- sign-in ---

type loginInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"64"`
		Password string `json:"password" minLength:"1" maxLength:"256"`
		Kind     string `json:"kind,omitempty" enum:"token,web" doc:"token (default) for apps and machines; web also sets the session cookie"`
	}
}

type loginOutput struct {
	SetCookie string `header:"Set-Cookie"`
	Body      struct {
		Token     string    `json:"token" doc:"Send as 'Authorization: Bearer <token>'"`
		CSRFToken string    `json:"csrf_token" doc:"Send as X-CSRF-Token on writes made with the cookie"`
		ExpiresAt time.Time `json:"expires_at"`
		User      auth.User `json:"user"`
	}
}

type meOutput struct {
	Body struct {
		User        auth.User         `json:"user"`
		Roles       []auth.Role       `json:"roles"`
		Permissions []auth.Permission `json:"permissions"`
		HouseholdID int64             `json:"household_id,omitempty"`
		CSRFToken   string            `json:"csrf_token"`
	}
}

// login checks the per-address rate limit, then the throttle of the
// (username, address) pair and the password.
func (s *Server) login(ctx context.Context, username, password, kind string) (string, auth.Session, error) {
	ip := audit.OriginFrom(ctx).IP
	if !s.limiter.Allow(ip, s.clock.Now()) {
		return "", auth.Session{}, shequ.Errorf(shequ.ETOOMANY, "too many sign-in attempts: try again in a minute")
	}
	return auth.Login(ctx, s.store, s.clock, username, password, kind, ip)
}

// sessionCookie carries token until expires. It says how long the cookie
// lives (Max-Age) rather than until when (Expires): the browser counts
// Max-Age on its own clock, so a phone or office PC whose clock is off by
// days still keeps the cookie for the session's life. An expires in the
// past ends the cookie at once.
func (s *Server) sessionCookie(token string, expires time.Time) *http.Cookie {
	c := &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
	c.MaxAge = int(expires.Sub(s.clock.Now()) / time.Second)
	if c.MaxAge <= 0 {
		c.MaxAge = -1
	}
	return c
}

func (s *Server) registerAuthAPI() {
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/auth/login", Public: true}, "login", "Sign in", "auth",
		func(ctx context.Context, in *loginInput) (*loginOutput, error) {
			token, sess, err := s.login(ctx, in.Body.Username, in.Body.Password, in.Body.Kind)
			if err != nil {
				return nil, err
			}
			a, err := s.store.Actor(ctx, token)
			if err != nil {
				return nil, err
			}
			out := &loginOutput{}
			out.Body.Token, out.Body.CSRFToken, out.Body.ExpiresAt, out.Body.User = token, sess.CSRFToken, sess.ExpiresAt, a.User
			if sess.Kind == "web" {
				out.SetCookie = s.sessionCookie(token, sess.ExpiresAt).String()
			}
			return out, nil
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/auth/logout", SignedIn: true}, "logout", "Sign out: the session ends at once", "auth",
		func(ctx context.Context, _ *struct{}) (*struct {
			SetCookie string `header:"Set-Cookie"`
		}, error) {
			a := auth.ActorFrom(ctx)
			if err := s.store.RevokeSession(ctx, a.Session.ID); err != nil {
				return nil, err
			}
			c := s.sessionCookie("", time.Unix(0, 0))
			return &struct {
				SetCookie string `header:"Set-Cookie"`
			}{SetCookie: c.String()}, nil
		})
	handle(s, Route{Method: http.MethodGet, Path: "/api/v1/auth/me", SignedIn: true}, "me", "Who am I", "auth",
		func(ctx context.Context, _ *struct{}) (*meOutput, error) {
			a := auth.ActorFrom(ctx)
			out := &meOutput{}
			out.Body.User, out.Body.Roles, out.Body.HouseholdID, out.Body.CSRFToken = a.User, a.Roles(), a.HouseholdID, a.Session.CSRFToken
			out.Body.Permissions = []auth.Permission{}
			seen := map[auth.Permission]bool{}
			for _, r := range a.Roles() {
				for _, p := range auth.PermissionsOf(r) {
					if !seen[p] && a.Can(p) {
						seen[p] = true
						out.Body.Permissions = append(out.Body.Permissions, p)
					}
				}
			}
			return out, nil
		})
}

// --- community tree ---

type communityBody struct {
	Code     string `json:"code" doc:"Short lower-case code, e.g. baosheng-east"`
	Name     string `json:"name"`
	NameEn   string `json:"name_en,omitempty"`
	Timezone string `json:"timezone,omitempty" doc:"IANA zone; Asia/Shanghai when not given"`
	Phone    string `json:"phone,omitempty" doc:"The office phone residents call"`
	Address  string `json:"address,omitempty"`
}

func (b communityBody) community(id int64) community.Community {
	return community.Community{ID: id, Code: b.Code, Name: b.Name, NameEn: b.NameEn, Timezone: b.Timezone, Phone: b.Phone, Address: b.Address}
}

type gridBody struct {
	CommunityID  int64  `json:"community_id,omitempty" doc:"Required on create"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	Polygon      string `json:"polygon,omitempty" doc:"GeoJSON Polygon of the grid's outline"`
	WorkerUserID int64  `json:"worker_user_id,omitempty"`
}

func (b gridBody) grid(id int64) community.Grid {
	return community.Grid{ID: id, CommunityID: b.CommunityID, Code: b.Code, Name: b.Name, Polygon: b.Polygon, WorkerUserID: b.WorkerUserID}
}

type buildingBody struct {
	CommunityID int64   `json:"community_id,omitempty" doc:"Required on create"`
	GridID      int64   `json:"grid_id"`
	Name        string  `json:"name" doc:"e.g. B栋"`
	Address     string  `json:"address,omitempty"`
	Lat         float64 `json:"lat,omitempty"`
	Lng         float64 `json:"lng,omitempty"`
	Floors      int     `json:"floors,omitempty"`
	HeadUserID  int64   `json:"head_user_id,omitempty" doc:"The building head (楼栋长)"`
}

func (b buildingBody) building(id int64) community.Building {
	return community.Building{ID: id, CommunityID: b.CommunityID, GridID: b.GridID, Name: b.Name, Address: b.Address, Lat: b.Lat, Lng: b.Lng, Floors: b.Floors, HeadUserID: b.HeadUserID}
}

type homeBody struct {
	BuildingID int64  `json:"building_id,omitempty" doc:"Required on create; a home does not move"`
	Entrance   string `json:"entrance,omitempty" doc:"Entrance or stairwell (单元)"`
	Floor      int    `json:"floor"`
	Door       string `json:"door" doc:"Door number, unique in the building"`
}

func (b homeBody) home(id int64) community.Home {
	return community.Home{ID: id, BuildingID: b.BuildingID, Entrance: b.Entrance, Floor: b.Floor, Door: b.Door}
}

type homeFilter struct {
	PageParams
	Conditional
	Building int64  `query:"building" doc:"Only homes of this building"`
	Grid     int64  `query:"grid" doc:"Only homes of this grid"`
	Floor    string `query:"floor" doc:"Only homes on this floor (1 is the ground floor)"`
}

func (s *Server) registerCommunityAPI() {
	handle(s, get("/api/v1/communities", auth.PermCommunitiesRead), "list-communities", "List communities", "community",
		func(ctx context.Context, in *PageParams) (*listBody[community.Community], error) {
			return list(s.store.ListCommunities(ctx, scope(ctx, auth.PermCommunitiesRead), in.page()))
		})
	handle(s, get("/api/v1/communities/{id}", auth.PermCommunitiesRead), "get-community", "Get a community", "community",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Community], error) {
			return item(s.store.Community(ctx, scope(ctx, auth.PermCommunitiesRead), in.ID))
		})
	handle(s, post("/api/v1/communities", auth.PermCommunitiesWrite), "create-community", "Create a community", "community",
		func(ctx context.Context, in *struct{ Body communityBody }) (*itemBody[community.Community], error) {
			c := in.Body.community(0)
			err := s.store.CreateCommunity(ctx, scope(ctx, auth.PermCommunitiesWrite), &c)
			return item(c, err)
		})
	handle(s, put("/api/v1/communities/{id}", auth.PermCommunitiesWrite), "update-community", "Update a community", "community",
		func(ctx context.Context, in *struct {
			IDParam
			Body communityBody
		}) (*itemBody[community.Community], error) {
			c := in.Body.community(in.ID)
			err := s.store.UpdateCommunity(ctx, scope(ctx, auth.PermCommunitiesWrite), &c)
			return item(c, err)
		})

	handle(s, get("/api/v1/grids", auth.PermGridsRead), "list-grids", "List grids", "community",
		func(ctx context.Context, in *PageParams) (*listBody[community.Grid], error) {
			return list(s.store.ListGrids(ctx, scope(ctx, auth.PermGridsRead), in.filter()))
		})
	handle(s, get("/api/v1/grids/{id}", auth.PermGridsRead), "get-grid", "Get a grid", "community",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Grid], error) {
			return item(s.store.Grid(ctx, scope(ctx, auth.PermGridsRead), in.ID))
		})
	handle(s, post("/api/v1/grids", auth.PermGridsWrite), "create-grid", "Create a grid", "community",
		func(ctx context.Context, in *struct{ Body gridBody }) (*itemBody[community.Grid], error) {
			g := in.Body.grid(0)
			err := s.store.CreateGrid(ctx, scope(ctx, auth.PermGridsWrite), &g)
			return item(g, err)
		})
	handle(s, put("/api/v1/grids/{id}", auth.PermGridsWrite), "update-grid", "Update a grid", "community",
		func(ctx context.Context, in *struct {
			IDParam
			Body gridBody
		}) (*itemBody[community.Grid], error) {
			g := in.Body.grid(in.ID)
			err := s.store.UpdateGrid(ctx, scope(ctx, auth.PermGridsWrite), &g)
			return item(g, err)
		})
	handle(s, remove("/api/v1/grids/{id}", auth.PermGridsWrite), "delete-grid", "Delete a grid without buildings", "community",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteGrid(ctx, scope(ctx, auth.PermGridsWrite), in.ID)
		})

	handle(s, get("/api/v1/buildings", auth.PermBuildingsRead), "list-buildings", "List buildings", "community",
		func(ctx context.Context, in *struct {
			PageParams
			Grid int64 `query:"grid"`
		}) (*listBody[community.Building], error) {
			f := in.filter()
			f.GridID = in.Grid
			return list(s.store.ListBuildings(ctx, scope(ctx, auth.PermBuildingsRead), f))
		})
	handle(s, get("/api/v1/buildings/{id}", auth.PermBuildingsRead), "get-building", "Get a building", "community",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Building], error) {
			return item(s.store.Building(ctx, scope(ctx, auth.PermBuildingsRead), in.ID))
		})
	handle(s, post("/api/v1/buildings", auth.PermBuildingsWrite), "create-building", "Create a building", "community",
		func(ctx context.Context, in *struct{ Body buildingBody }) (*itemBody[community.Building], error) {
			b := in.Body.building(0)
			err := s.store.CreateBuilding(ctx, scope(ctx, auth.PermBuildingsWrite), &b)
			return item(b, err)
		})
	handle(s, put("/api/v1/buildings/{id}", auth.PermBuildingsWrite), "update-building", "Update a building", "community",
		func(ctx context.Context, in *struct {
			IDParam
			Body buildingBody
		}) (*itemBody[community.Building], error) {
			b := in.Body.building(in.ID)
			err := s.store.UpdateBuilding(ctx, scope(ctx, auth.PermBuildingsWrite), &b)
			return item(b, err)
		})
	handle(s, remove("/api/v1/buildings/{id}", auth.PermBuildingsWrite), "delete-building", "Delete a building without homes", "community",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteBuilding(ctx, scope(ctx, auth.PermBuildingsWrite), in.ID)
		})

	handleKept[homeFilter, community.Home](s, get("/api/v1/homes", auth.PermHomesRead), "list-homes", "List homes", "community",
		func(ctx context.Context, in *homeFilter) (*keptAnswer, error) {
			f := in.filter()
			f.BuildingID, f.GridID = in.Building, in.Grid
			if in.Floor != "" {
				n, err := strconv.Atoi(in.Floor)
				if err != nil {
					return nil, shequ.Invalid(map[string]string{"floor": "must be a whole number"})
				}
				f.Floor = &n
			}
			sc := scope(ctx, auth.PermHomesRead)
			key := []any{sc, f.CommunityID, f.BuildingID, f.GridID, in.Floor, f.Page.Normalize()}
			return s.keptList(ctx, "homes", key, true, in.IfNoneMatch, func(ctx context.Context) ([]byte, error) {
				l, err := s.store.ListHomes(ctx, sc, f)
				if err != nil {
					return nil, err
				}
				return encodeJSON(l)
			})
		})
	handle(s, get("/api/v1/homes/{id}", auth.PermHomesRead), "get-home", "Get a home", "community",
		func(ctx context.Context, in *IDParam) (*itemBody[community.Home], error) {
			return item(s.store.Home(ctx, scope(ctx, auth.PermHomesRead), in.ID))
		})
	handle(s, post("/api/v1/homes", auth.PermHomesWrite), "create-home", "Create a home", "community",
		func(ctx context.Context, in *struct{ Body homeBody }) (*itemBody[community.Home], error) {
			h := in.Body.home(0)
			err := s.store.CreateHome(ctx, scope(ctx, auth.PermHomesWrite), &h)
			return item(h, err)
		})
	handle(s, put("/api/v1/homes/{id}", auth.PermHomesWrite), "update-home", "Update a home", "community",
		func(ctx context.Context, in *struct {
			IDParam
			Body homeBody
		}) (*itemBody[community.Home], error) {
			h := in.Body.home(in.ID)
			err := s.store.UpdateHome(ctx, scope(ctx, auth.PermHomesWrite), &h)
			return item(h, err)
		})
	handle(s, remove("/api/v1/homes/{id}", auth.PermHomesWrite), "delete-home", "Delete an empty home", "community",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteHome(ctx, scope(ctx, auth.PermHomesWrite), in.ID)
		})

	handle(s, get("/api/v1/households", auth.PermHomesRead), "list-households", "List households", "community",
		func(ctx context.Context, in *struct {
			PageParams
			Home int64 `query:"home"`
		}) (*listBody[community.Household], error) {
			f := in.filter()
			f.HomeID = in.Home
			return list(s.store.ListHouseholds(ctx, scope(ctx, auth.PermHomesRead), f))
		})
	handle(s, post("/api/v1/households", auth.PermHomesWrite), "create-household", "Create a household in a home", "community",
		func(ctx context.Context, in *struct {
			Body struct {
				HomeID int64  `json:"home_id"`
				Name   string `json:"name,omitempty"`
			}
		}) (*itemBody[community.Household], error) {
			h := community.Household{HomeID: in.Body.HomeID, Name: in.Body.Name}
			err := s.store.CreateHousehold(ctx, scope(ctx, auth.PermHomesWrite), &h)
			return item(h, err)
		})

	handle(s, get("/api/v1/associations", auth.PermAssociationsRead), "list-associations", "List associations with their members", "community",
		func(ctx context.Context, in *PageParams) (*listBody[community.Association], error) {
			return list(s.store.ListAssociations(ctx, scope(ctx, auth.PermAssociationsRead), in.filter()))
		})
}
