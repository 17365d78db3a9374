package web

import (
	"context"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// sessionStore is what signing in and out needs.
type sessionStore interface {
	auth.LoginStore
	Actor(ctx context.Context, token string) (*auth.Actor, error)
	RevokeSession(ctx context.Context, id int64) error
}

// communityStore is what the community pages and API need.
type communityStore interface {
	ListCommunities(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[community.Community], error)
	Community(ctx context.Context, scope auth.Scope, id int64) (community.Community, error)
	CreateCommunity(ctx context.Context, scope auth.Scope, c *community.Community) error
	UpdateCommunity(ctx context.Context, scope auth.Scope, c *community.Community) error

	ListGrids(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Grid], error)
	Grid(ctx context.Context, scope auth.Scope, id int64) (community.Grid, error)
	CreateGrid(ctx context.Context, scope auth.Scope, g *community.Grid) error
	UpdateGrid(ctx context.Context, scope auth.Scope, g *community.Grid) error
	DeleteGrid(ctx context.Context, scope auth.Scope, id int64) error

	ListBuildings(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Building], error)
	Building(ctx context.Context, scope auth.Scope, id int64) (community.Building, error)
	CreateBuilding(ctx context.Context, scope auth.Scope, b *community.Building) error
	UpdateBuilding(ctx context.Context, scope auth.Scope, b *community.Building) error
	DeleteBuilding(ctx context.Context, scope auth.Scope, id int64) error

	ListHomes(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Home], error)
	Home(ctx context.Context, scope auth.Scope, id int64) (community.Home, error)
	CreateHome(ctx context.Context, scope auth.Scope, h *community.Home) error
	UpdateHome(ctx context.Context, scope auth.Scope, h *community.Home) error
	DeleteHome(ctx context.Context, scope auth.Scope, id int64) error

	ListHouseholds(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Household], error)
	Household(ctx context.Context, scope auth.Scope, id int64) (community.Household, error)
	CreateHousehold(ctx context.Context, scope auth.Scope, h *community.Household) error

	ListPeople(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Person], error)
	Person(ctx context.Context, scope auth.Scope, id int64) (community.Person, error)
	CreatePerson(ctx context.Context, scope auth.Scope, p *community.Person) error
	UpdatePerson(ctx context.Context, scope auth.Scope, p *community.Person) error
	DeletePerson(ctx context.Context, scope auth.Scope, id int64) error
	RecordPIIRead(ctx context.Context, ps []community.Person) error

	ListDevices(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Device], error)
	Device(ctx context.Context, scope auth.Scope, id int64) (community.Device, error)
	CreateDevice(ctx context.Context, scope auth.Scope, d *community.Device) error
	UpdateDevice(ctx context.Context, scope auth.Scope, d *community.Device) error
	DeleteDevice(ctx context.Context, scope auth.Scope, id int64) error

	ListAssociations(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Association], error)
}

// accountStore is what managing users needs.
type accountStore interface {
	ListUsers(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[auth.User], error)
	ListStaff(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[auth.User], error)
	CreateUser(ctx context.Context, scope auth.Scope, u *auth.User, password string) error
	AddGrant(ctx context.Context, scope auth.Scope, g *auth.Grant) error
	RevokeGrant(ctx context.Context, scope auth.Scope, id int64) error
}

// auditStore is what reading the audit log needs.
type auditStore interface {
	ListAudit(ctx context.Context, scope auth.Scope, f audit.Filter) (shequ.List[audit.Entry], error)
}

// Store is everything the web layer needs of storage.
type Store interface {
	Ping(ctx context.Context) error
	sessionStore
	communityStore
	accountStore
	auditStore
	alarmStore
	notifyStore
	fieldStore
	matterStore
	open311Store
	boardStore
	contentStore
	transferStore
	assocStore
	caseStore
	mediationStore
	assistanceStore
	mediaStore
	jobsStore
	broadcastStore
	deviceHealthStore
	accessStore
	privacyStore
	opsStore
	homePageStore
	presenceStore
	siteStore
	evidenceStore
}
