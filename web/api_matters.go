package web

import (
	"context"
	"net/http"
	"slices"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/media"
)

// matterStore is what the matters API needs.
type matterStore interface {
	ListCategories(ctx context.Context, scope auth.Scope, community int64, page shequ.Page) (shequ.List[matter.Category], error)
	CreateCategory(ctx context.Context, scope auth.Scope, c *matter.Category) error
	ListMatters(ctx context.Context, scope auth.Scope, f matter.Filter) (shequ.List[matter.Matter], error)
	Matter(ctx context.Context, scope auth.Scope, id int64) (matter.Matter, error)
	SubmitMatter(ctx context.Context, scope auth.Scope, m *matter.Matter) error
	StepMatter(ctx context.Context, scope auth.Scope, id int64, step matter.Step) (matter.Matter, error)
	AddMatterPhoto(ctx context.Context, scope auth.Scope, id int64, m media.Media) (int64, error)
	MatterPhoto(ctx context.Context, scope auth.Scope, id, photo int64) (media.Media, error)
	MatterPhotoIDs(ctx context.Context, id int64) ([]int64, error)
}

type matterBody struct {
	Category    string            `json:"category" doc:"Category code (see /api/v1/matter-categories)"`
	Description string            `json:"description" maxLength:"4000"`
	Address     string            `json:"address,omitempty" doc:"Where, when not at the resident's home"`
	Lat         float64           `json:"lat,omitempty"`
	Lng         float64           `json:"lng,omitempty"`
	Attributes  map[string]string `json:"attributes,omitempty" doc:"Answers to the category's extra questions"`
	PersonID    int64             `json:"person_id,omitempty" doc:"Staff filing for a resident who came by or phoned: the resident"`
	Channel     string            `json:"channel,omitempty" enum:"app,office,phone," doc:"How the matter came in (staff)"`
}

type matterStepBody struct {
	Note                  string `json:"note,omitempty" maxLength:"2000" doc:"Reason (reject, return), information (comment), comment (rate)"`
	AssigneeUserID        int64  `json:"assignee_user_id,omitempty"`
	AssigneeAssociationID int64  `json:"assignee_association_id,omitempty"`
	Rating                int    `json:"rating,omitempty" minimum:"0" maximum:"5"`
}

type matterDetail struct {
	matter.Matter
	Photos []int64 `json:"photos"`
}

// Which permission each matter action needs: staff actions need to handle
// matters; the resident's own need to submit; both may comment and close.
var matterActionPerm = map[string]auth.Permission{
	"accept": auth.PermMatterHandle, "assign": auth.PermMatterHandle, "start": auth.PermMatterHandle,
	"resolve": auth.PermMatterHandle, "reject": auth.PermMatterHandle, "return": auth.PermMatterHandle,
	"resubmit": auth.PermMatterOwn, "rate": auth.PermMatterOwn, "reopen": auth.PermMatterOwn,
	"comment": auth.PermMatterRead, "close": auth.PermMatterRead,
}

func (s *Server) registerMatterAPI() {
	handle(s, get("/api/v1/matter-categories", auth.PermCommunitiesRead), "list-matter-categories", "The kinds of matter residents can submit, with their service levels", "matters",
		func(ctx context.Context, in *PageParams) (*listBody[matter.Category], error) {
			return list(s.store.ListCategories(ctx, scope(ctx, auth.PermCommunitiesRead), in.Community, in.page()))
		})
	handle(s, post("/api/v1/matter-categories", auth.PermMatterConfigure), "create-matter-category", "Add a matter category", "matters",
		func(ctx context.Context, in *struct{ Body matter.Category }) (*itemBody[matter.Category], error) {
			c := in.Body
			c.ID = 0
			err := s.store.CreateCategory(ctx, scope(ctx, auth.PermMatterConfigure), &c)
			return item(c, err)
		})
	handle(s, post("/api/v1/matters", auth.PermMatterSubmit), "submit-matter", "Submit a matter: a resident for their household, staff for a resident", "matters",
		func(ctx context.Context, in *struct{ Body matterBody }) (*itemBody[matter.Matter], error) {
			a := auth.ActorFrom(ctx)
			b := in.Body
			m := matter.Matter{Category: b.Category, Description: b.Description, Address: b.Address, Lat: b.Lat, Lng: b.Lng, Attributes: b.Attributes, SubmittedBy: a.User.ID, Channel: "app"}
			var sc auth.Scope
			switch {
			case b.PersonID != 0:
				if !a.Can(auth.PermMatterHandle) {
					return nil, shequ.Errorf(shequ.EFORBIDDEN, "only staff file matters for someone else")
				}
				m.PersonID, m.FiledBy, m.SubmittedBy = b.PersonID, a.User.ID, 0
				if b.Channel != "" {
					m.Channel = b.Channel
				} else {
					m.Channel = "office"
				}
				sc = scope(ctx, auth.PermMatterHandle)
			case a.User.PersonID != 0 && a.HouseholdID != 0:
				m.PersonID = a.User.PersonID
				sc = scope(ctx, auth.PermMatterSubmit)
			default:
				return nil, shequ.Invalid(map[string]string{"person_id": "say which resident the matter is for"})
			}
			err := s.store.SubmitMatter(ctx, sc, &m)
			return item(m, err)
		})
	handle(s, get("/api/v1/matters", auth.PermMatterRead), "list-matters", "Matters: a resident's own; for staff, the queue (overdue ones flagged)", "matters",
		func(ctx context.Context, in *struct {
			PageParams
			Status   string `query:"status" enum:"open,closed_any,submitted,accepted,assigned,in_progress,resolved,closed,returned,rejected,"`
			Category string `query:"category"`
			Overdue  bool   `query:"overdue"`
			Mine     bool   `query:"mine" doc:"Only matters assigned to me"`
			Tracking string `query:"tracking" doc:"A tracking number, e.g. SQ-20261128-0042"`
		}) (*listBody[matter.Matter], error) {
			f := matter.Filter{CommunityID: in.Community, Status: in.Status, Category: in.Category, Overdue: in.Overdue, Tracking: in.Tracking, Page: in.page()}
			if in.Mine {
				f.AssigneeID = auth.ActorFrom(ctx).User.ID
			}
			return list(s.store.ListMatters(ctx, scope(ctx, auth.PermMatterRead), f))
		})
	handle(s, get("/api/v1/matters/{id}", auth.PermMatterRead), "get-matter", "A matter with its timeline", "matters",
		func(ctx context.Context, in *IDParam) (*itemBody[matterDetail], error) {
			m, err := s.store.Matter(ctx, scope(ctx, auth.PermMatterRead), in.ID)
			if err != nil {
				return nil, err
			}
			photos, err := s.store.MatterPhotoIDs(ctx, in.ID)
			return item(matterDetail{Matter: m, Photos: photos}, err)
		})
	for _, action := range matter.Actions() {
		perm := matterActionPerm[action]
		handle(s, Route{Method: http.MethodPost, Path: "/api/v1/matters/{id}/" + action, Permission: perm, OK: true}, action+"-matter", "Matter workflow: "+action, "matters",
			func(ctx context.Context, in *struct {
				IDParam
				Body *matterStepBody
			}) (*itemBody[matter.Matter], error) {
				a := auth.ActorFrom(ctx)
				var b matterStepBody
				if in.Body != nil {
					b = *in.Body
				}
				staff := a.Can(auth.PermMatterHandle)
				step := matter.Step{Action: action, By: a.User.ID, Resident: !staff || slices.Contains([]string{"resubmit", "rate", "reopen"}, action),
					Note: b.Note, AssigneeUserID: b.AssigneeUserID, AssigneeAssociationID: b.AssigneeAssociationID, Rating: b.Rating}
				sc := scope(ctx, auth.PermMatterHandle)
				if step.Resident {
					// A resident acts only on their own household's matters.
					sc = ownHousehold(scope(ctx, auth.PermMatterOwn))
					if len(sc) == 0 {
						return nil, shequ.Errorf(shequ.EFORBIDDEN, "only the resident who brought the matter may %s it", action)
					}
				}
				return item(s.store.StepMatter(ctx, sc, in.ID, step))
			})
	}
	s.registerPhotoRoutes()
}

// photoIn is how every photo comes in: a JPEG, PNG or WebP image of at
// most 5 MiB, its type judged from its bytes, not its label.
var photoIn = mediaIn{Kind: media.Photo, Field: "photo", Refused: "must be a JPEG, PNG or WebP image"}

// maxPhoto is the largest photo accepted: a phone's photo, resized.
const maxPhoto = 5 << 20

// photoAnswer is what a photo upload answers: the new photo's id.
func photoAnswer(id int64, err error) (any, string, error) {
	return map[string]int64{"id": id}, "", err
}

// registerPhotoRoutes takes and serves the photos of matters.
func (s *Server) registerPhotoRoutes() {
	s.mediaUpload(Route{Method: http.MethodPost, Path: "/api/v1/matters/{id}/photos", Permission: auth.PermMatterRead}, photoIn,
		func(ctx context.Context, a *auth.Actor, id int64, up upload) (any, string, error) {
			up.CreatedBy = a.User.ID
			return photoAnswer(s.store.AddMatterPhoto(ctx, a.Scope(auth.PermMatterRead), id, up.Media))
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/matters/{id}/photos/{photo}", Permission: auth.PermMatterRead}, "photo",
		func(ctx context.Context, a *auth.Actor, id, photo int64) (media.Media, error) {
			return s.store.MatterPhoto(ctx, a.Scope(auth.PermMatterRead), id, photo)
		}, nil)
}

// ownHousehold keeps only the household reaches of a scope: what a
// resident may act on as the resident.
func ownHousehold(sc auth.Scope) auth.Scope {
	var out auth.Scope
	for _, r := range sc {
		if r.HouseholdID != 0 {
			out = append(out, r)
		}
	}
	return out
}
