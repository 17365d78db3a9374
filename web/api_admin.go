package web

import (
	"context"
	"time"

	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

type userBody struct {
	Username    string      `json:"username"`
	DisplayName string      `json:"display_name,omitempty"`
	Password    string      `json:"password,omitempty" doc:"At least 10 characters; without one the account cannot sign in yet"`
	PersonID    int64       `json:"person_id,omitempty" doc:"The resident this account belongs to, for residents"`
	Grants      []grantBody `json:"grants,omitempty"`
}

type grantBody struct {
	Role          auth.Role `json:"role" enum:"admin,operator,grid_worker,building_head,association_member,association_chair,partner,police,broadcast_manager,resident"`
	CommunityID   int64     `json:"community_id,omitempty"`
	GridID        int64     `json:"grid_id,omitempty"`
	AssociationID int64     `json:"association_id,omitempty"`
	PartnerID     int64     `json:"partner_id,omitempty"`
}

func (g grantBody) grant(user int64) auth.Grant {
	return auth.Grant{UserID: user, Role: g.Role, CommunityID: g.CommunityID, GridID: g.GridID, AssociationID: g.AssociationID, PartnerID: g.PartnerID}
}

type auditFilter struct {
	PageParams
	Username string    `query:"username"`
	Action   string    `query:"action" doc:"e.g. person.update, person.read_pii, auth.login"`
	Entity   string    `query:"entity"`
	EntityID int64     `query:"entity_id"`
	Since    time.Time `query:"since"`
	Until    time.Time `query:"until"`
}

func (s *Server) registerAdminAPI() {
	handle(s, get("/api/v1/users", auth.PermUsersManage), "list-users", "List accounts with their roles", "admin",
		func(ctx context.Context, in *PageParams) (*listBody[auth.User], error) {
			return list(s.store.ListUsers(ctx, scope(ctx, auth.PermUsersManage), in.page()))
		})
	handle(s, get("/api/v1/staff", auth.PermStaffRead), "list-staff", "List the community's staff and their roles", "community",
		func(ctx context.Context, in *PageParams) (*listBody[auth.User], error) {
			return list(s.store.ListStaff(ctx, scope(ctx, auth.PermStaffRead), in.page()))
		})
	handle(s, post("/api/v1/users", auth.PermUsersManage), "create-user", "Create an account", "admin",
		func(ctx context.Context, in *struct{ Body userBody }) (*itemBody[auth.User], error) {
			u := auth.User{Username: in.Body.Username, DisplayName: in.Body.DisplayName, PersonID: in.Body.PersonID, Grants: []auth.Grant{}}
			for _, g := range in.Body.Grants {
				u.Grants = append(u.Grants, g.grant(0))
			}
			err := s.store.CreateUser(ctx, scope(ctx, auth.PermUsersManage), &u, in.Body.Password)
			return item(u, err)
		})
	handle(s, post("/api/v1/users/{id}/grants", auth.PermUsersManage), "add-grant", "Give an account a role", "admin",
		func(ctx context.Context, in *struct {
			IDParam
			Body grantBody
		}) (*itemBody[auth.Grant], error) {
			g := in.Body.grant(in.ID)
			err := s.store.AddGrant(ctx, scope(ctx, auth.PermUsersManage), &g)
			return item(g, err)
		})
	handle(s, remove("/api/v1/user-grants/{id}", auth.PermUsersManage), "revoke-grant", "Take a role away", "admin",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.RevokeGrant(ctx, scope(ctx, auth.PermUsersManage), in.ID)
		})
	handle(s, get("/api/v1/audit", auth.PermAuditRead), "list-audit", "Read the audit log, newest first", "admin",
		func(ctx context.Context, in *auditFilter) (*listBody[audit.Entry], error) {
			sc := scope(ctx, auth.PermAuditRead)
			if in.Community != 0 {
				sc = sc.Restrict(in.Community)
			}
			return list(s.store.ListAudit(ctx, sc, audit.Filter{
				Username: in.Username, Action: in.Action, Entity: in.Entity, EntityID: in.EntityID,
				Since: in.Since, Until: in.Until, Page: in.page(),
			}))
		})
}
