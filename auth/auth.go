// Package auth owns who may do what: users, roles granted within a scope,
// the permissions each role carries, sessions and password hashing. It knows
// nothing of HTTP or SQL.
package auth

import (
	"context"
	"slices"
	"time"
)

// Role is a job a person does in a community.
type Role string

const (
	RoleAdmin             Role = "admin"
	RoleOperator          Role = "operator"
	RoleGridWorker        Role = "grid_worker"
	RoleBuildingHead      Role = "building_head"
	RoleAssociationMember Role = "association_member"
	RoleAssociationChair  Role = "association_chair"
	RolePartner           Role = "partner"
	RolePolice            Role = "police"
	RoleBroadcastManager  Role = "broadcast_manager"
	RoleResident          Role = "resident"
)

// Roles lists every role, in the order pages show them.
var Roles = []Role{
	RoleAdmin, RoleOperator, RoleGridWorker, RoleBuildingHead,
	RoleAssociationMember, RoleAssociationChair, RolePartner, RolePolice,
	RoleBroadcastManager, RoleResident,
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Grant gives a user a role within a scope. CommunityID 0 is only allowed
// for admins and means every community of the deployment. GridID narrows a
// grid worker or building head to one grid; AssociationID and PartnerID
// name the association or partner organisation the role acts for.
type Grant struct {
	ID            int64 `json:"id"`
	UserID        int64 `json:"user_id"`
	Role          Role  `json:"role"`
	CommunityID   int64 `json:"community_id,omitempty"`
	GridID        int64 `json:"grid_id,omitempty"`
	AssociationID int64 `json:"association_id,omitempty"`
	PartnerID     int64 `json:"partner_id,omitempty"`
}

// User is an account that can sign in.
type User struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	PersonID    int64  `json:"person_id,omitempty"`
	// Phone reaches staff by SMS (dispatches, escalations). It is written,
	// never read back into lists.
	Phone     string    `json:"-"`
	Disabled  bool      `json:"disabled"`
	Grants    []Grant   `json:"grants"`
	CreatedAt time.Time `json:"created_at"`
}

// Credentials are what the store keeps to check a login.
type Credentials struct {
	UserID       int64
	PasswordHash string
	Disabled     bool
}

// Session is a signed-in user's session: a cookie for the web or a bearer
// token for apps and machines. Only a hash of the secret is stored.
type Session struct {
	ID        int64
	UserID    int64
	Kind      string // "web" or "token"
	CSRFToken string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Actor is the signed-in user a request acts for, with what the store
// resolved about them.
type Actor struct {
	User    User
	Session Session
	// HouseholdID is the household of the resident the user is, 0 if none.
	HouseholdID int64
	// ViaCookie is true when the session came from a cookie, so writes need
	// a CSRF token.
	ViaCookie bool
}

// HasRole reports whether the actor holds r anywhere.
func (a *Actor) HasRole(r Role) bool {
	for _, g := range a.User.Grants {
		if g.Role == r {
			return true
		}
	}
	return false
}

// Roles returns the distinct roles the actor holds.
func (a *Actor) Roles() []Role {
	var out []Role
	for _, g := range a.User.Grants {
		if !slices.Contains(out, g.Role) {
			out = append(out, g.Role)
		}
	}
	return out
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, nil when the request is anonymous.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}
