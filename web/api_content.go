package web

import (
	"context"
	"mime"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/media"
)

// contentStore is what notices, guides, policies and search need.
type contentStore interface {
	ListNotices(ctx context.Context, read, write auth.Scope, f content.NoticeFilter) (shequ.List[content.Notice], error)
	Notice(ctx context.Context, read, write auth.Scope, id int64) (content.Notice, error)
	CreateNotice(ctx context.Context, scope auth.Scope, n *content.Notice) error
	UpdateNotice(ctx context.Context, scope auth.Scope, n *content.Notice) error
	DeleteNotice(ctx context.Context, scope auth.Scope, id int64) error
	ConfirmNotice(ctx context.Context, scope auth.Scope, id int64) (time.Time, error)
	UnconfirmedHouseholds(ctx context.Context, scope auth.Scope, id int64, page shequ.Page) (shequ.List[content.UnconfirmedHousehold], error)

	ListGuides(ctx context.Context, scope auth.Scope, f content.ListFilter) (shequ.List[content.Guide], error)
	Guide(ctx context.Context, scope auth.Scope, id int64) (content.Guide, error)
	CreateGuide(ctx context.Context, scope auth.Scope, g *content.Guide) error
	UpdateGuide(ctx context.Context, scope auth.Scope, g *content.Guide) error
	DeleteGuide(ctx context.Context, scope auth.Scope, id int64) error

	ListPolicies(ctx context.Context, read, write auth.Scope, f content.ListFilter) (shequ.List[content.Policy], error)
	Policy(ctx context.Context, read, write auth.Scope, id int64) (content.Policy, error)
	CreatePolicy(ctx context.Context, scope auth.Scope, x *content.Policy) error
	UpdatePolicy(ctx context.Context, scope auth.Scope, x *content.Policy) error
	DeletePolicy(ctx context.Context, scope auth.Scope, id int64) error

	AddAttachment(ctx context.Context, write auth.Scope, kind string, owner int64, x *content.Attachment, blob media.Media) error
	Attachment(ctx context.Context, read, write auth.Scope, kind string, owner int64, n int) (content.Attachment, error)
	DeleteAttachment(ctx context.Context, write auth.Scope, kind string, owner int64, n int) error

	Search(ctx context.Context, scopes map[string]auth.Scope, q string, community int64, page shequ.Page) (shequ.List[content.SearchResult], error)
}

// searchKinds are the kinds search looks through and the permission whose
// scope each is found within. Matters add theirs here.
var searchKinds = map[string]auth.Permission{
	content.KindNotice: auth.PermContentRead,
	content.KindGuide:  auth.PermContentRead,
	content.KindPolicy: auth.PermContentRead,
	"matter":           auth.PermMatterRead,
}

// readWrite returns the actor's scopes to read content live and to see it
// in any status.
func readWrite(ctx context.Context) (auth.Scope, auth.Scope) {
	return scope(ctx, auth.PermContentRead), scope(ctx, auth.PermContentWrite)
}

type noticeBody struct {
	CommunityID int64             `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	Title       string            `json:"title" maxLength:"200"`
	Body        string            `json:"body" doc:"Markdown; images may come from the notice's attachments"`
	Category    string            `json:"category,omitempty" enum:"news,event,notice,police_alert,good_deed,reminder,policy," doc:"notice when not given"`
	Audience    *content.Audience `json:"audience,omitempty" doc:"The whole community when not given; grid workers must name their grid or its buildings"`
	PublishAt   *time.Time        `json:"publish_at,omitempty" doc:"Now when not given; later schedules it"`
	ExpiresAt   *time.Time        `json:"expires_at,omitempty" doc:"It leaves the feed then; never when not given"`
	Pinned      bool              `json:"pinned,omitempty" doc:"Shown before the others"`
	Important   bool              `json:"important,omitempty" doc:"Residents are asked to confirm reading it, and are notified"`
	Broadcast   bool              `json:"broadcast,omitempty" doc:"Also read on the loudspeakers, once, in the next slot of the zones covering its audience (on creation only)"`
}

func (b noticeBody) notice(id, community int64) content.Notice {
	n := content.Notice{ID: id, CommunityID: community, Title: b.Title, Body: b.Body, Category: b.Category, ExpiresAt: b.ExpiresAt, Pinned: b.Pinned, Important: b.Important, Broadcast: b.Broadcast}
	if b.Audience != nil {
		n.Audience = *b.Audience
	}
	if b.PublishAt != nil {
		n.PublishAt = *b.PublishAt
	}
	return n
}

type guideBody struct {
	CommunityID int64                    `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	Name        string                   `json:"name" maxLength:"200" doc:"The service, e.g. 办理居住证"`
	Category    string                   `json:"category,omitempty" enum:"household,social_security,medical_insurance,civil_affairs,elderly,disability,employment,housing,family_planning,other,"`
	Summary     string                   `json:"summary,omitempty"`
	Steps       []string                 `json:"steps,omitempty" doc:"In order"`
	Documents   []string                 `json:"documents,omitempty" doc:"What to bring"`
	Office      string                   `json:"office,omitempty" doc:"Where"`
	Hours       string                   `json:"hours,omitempty" doc:"When the office is open"`
	Fees        string                   `json:"fees,omitempty"`
	Duration    string                   `json:"duration,omitempty" doc:"How long it takes"`
	Contacts    []content.ServiceContact `json:"contacts,omitempty"`
	Forms       []content.Link           `json:"forms,omitempty" doc:"Related forms: links, or the guide's attachments"`
	Body        string                   `json:"body,omitempty" doc:"Further notes, Markdown"`
}

func (b guideBody) guide(id, community int64) content.Guide {
	return content.Guide{ID: id, CommunityID: community, Name: b.Name, Category: b.Category, Summary: b.Summary, Steps: b.Steps, Documents: b.Documents,
		Office: b.Office, Hours: b.Hours, Fees: b.Fees, Duration: b.Duration, Contacts: b.Contacts, Forms: b.Forms, Body: b.Body}
}

type policyBody struct {
	CommunityID int64      `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	Title       string     `json:"title" maxLength:"200"`
	Category    string     `json:"category,omitempty" enum:"household,social_security,medical_insurance,civil_affairs,elderly,disability,employment,housing,family_planning,other,"`
	Summary     string     `json:"summary,omitempty"`
	Body        string     `json:"body,omitempty" doc:"Markdown"`
	Eligibility string     `json:"eligibility,omitempty"`
	HowToApply  string     `json:"how_to_apply,omitempty"`
	Documents   []string   `json:"documents,omitempty"`
	ValidFrom   *time.Time `json:"valid_from,omitempty" doc:"Shown from then; now when not given"`
	ValidUntil  *time.Time `json:"valid_until,omitempty" doc:"Gone from then; never when not given"`
	GuideIDs    []int64    `json:"guide_ids,omitempty"`
}

func (b policyBody) policy(id, community int64) content.Policy {
	x := content.Policy{ID: id, CommunityID: community, Title: b.Title, Category: b.Category, Summary: b.Summary, Body: b.Body,
		Eligibility: b.Eligibility, HowToApply: b.HowToApply, Documents: b.Documents, ValidUntil: b.ValidUntil, GuideIDs: b.GuideIDs}
	if b.ValidFrom != nil {
		x.ValidFrom = *b.ValidFrom
	}
	return x
}

type confirmation struct {
	NoticeID    int64     `json:"notice_id"`
	ConfirmedAt time.Time `json:"confirmed_at"`
}

type noticeListInput struct {
	PageParams
	Conditional
	Status    string `query:"status" enum:"live,scheduled,expired,all," doc:"live when not given; the others for those who write notices"`
	Category  string `query:"category" enum:"news,event,notice,police_alert,good_deed,reminder,policy,"`
	Important bool   `query:"important" doc:"Only notices that ask for a confirmation"`
}

func (s *Server) registerContentAPI() {
	handleKept[noticeListInput, content.Notice](s, get("/api/v1/notices", auth.PermContentRead), "list-notices", "The notice feed: live notices for the caller's home or area, pinned first, then the newest; writers may list scheduled and expired ones", "content",
		func(ctx context.Context, in *noticeListInput) (*keptAnswer, error) {
			read, write := readWrite(ctx)
			f := content.NoticeFilter{CommunityID: in.Community, Status: in.Status, Category: in.Category, Important: in.Important, Page: in.page()}
			// Only a reader's feed is kept (as the store keeps it): staff's
			// lists show who wrote and who confirmed what, which the
			// notices' version does not follow.
			keep := true
			for _, r := range write {
				keep = keep && r.HouseholdID != 0
			}
			key := []any{read, write, f.CommunityID, f.Status, f.Category, f.Important, f.Page.Normalize()}
			return s.keptList(ctx, "notices", key, keep, in.IfNoneMatch, func(ctx context.Context) ([]byte, error) {
				l, err := s.store.ListNotices(ctx, read, write, f)
				if err != nil {
					return nil, err
				}
				return encodeJSON(l)
			})
		})
	handle(s, get("/api/v1/notices/{id}", auth.PermContentRead), "get-notice", "A notice with its body rendered to safe HTML", "content",
		func(ctx context.Context, in *IDParam) (*itemBody[content.Notice], error) {
			read, write := readWrite(ctx)
			return item(s.store.Notice(ctx, read, write, in.ID))
		})
	handle(s, post("/api/v1/notices", auth.PermContentWrite), "create-notice", "Write a notice; an important one notifies its audience when published", "content",
		func(ctx context.Context, in *struct{ Body noticeBody }) (*itemBody[content.Notice], error) {
			c, err := s.transferCommunity(ctx, auth.PermContentWrite, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			n := in.Body.notice(0, c)
			err = s.store.CreateNotice(ctx, scope(ctx, auth.PermContentWrite), &n)
			return item(n, err)
		})
	handle(s, put("/api/v1/notices/{id}", auth.PermContentWrite), "update-notice", "Rewrite a notice", "content",
		func(ctx context.Context, in *struct {
			IDParam
			Body noticeBody
		}) (*itemBody[content.Notice], error) {
			n := in.Body.notice(in.ID, 0)
			err := s.store.UpdateNotice(ctx, scope(ctx, auth.PermContentWrite), &n)
			return item(n, err)
		})
	handle(s, remove("/api/v1/notices/{id}", auth.PermContentWrite), "delete-notice", "Delete a notice with its attachments and confirmations", "content",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteNotice(ctx, scope(ctx, auth.PermContentWrite), in.ID)
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/notices/{id}/confirm", Permission: auth.PermContentConfirm, OK: true}, "confirm-notice",
		"A resident confirms their household has read a notice; again changes nothing", "content",
		func(ctx context.Context, in *IDParam) (*itemBody[confirmation], error) {
			at, err := s.store.ConfirmNotice(ctx, scope(ctx, auth.PermContentConfirm), in.ID)
			return item(confirmation{NoticeID: in.ID, ConfirmedAt: at}, err)
		})
	handle(s, get("/api/v1/notices/{id}/unconfirmed", auth.PermContentTrack), "list-unconfirmed", "The households of a notice's audience, within the caller's area, that have not confirmed it: where to knock", "content",
		func(ctx context.Context, in *struct {
			IDParam
			PageParams
		}) (*listBody[content.UnconfirmedHousehold], error) {
			return list(s.store.UnconfirmedHouseholds(ctx, scope(ctx, auth.PermContentTrack), in.ID, in.page()))
		})

	handle(s, get("/api/v1/guides", auth.PermContentRead), "list-guides", "Service guides (办事流程)", "content",
		func(ctx context.Context, in *struct {
			PageParams
			Category string `query:"category"`
		}) (*listBody[content.Guide], error) {
			return list(s.store.ListGuides(ctx, scope(ctx, auth.PermContentRead), content.ListFilter{CommunityID: in.Community, Category: in.Category, Page: in.page()}))
		})
	handle(s, get("/api/v1/guides/{id}", auth.PermContentRead), "get-guide", "A service guide", "content",
		func(ctx context.Context, in *IDParam) (*itemBody[content.Guide], error) {
			return item(s.store.Guide(ctx, scope(ctx, auth.PermContentRead), in.ID))
		})
	handle(s, post("/api/v1/guides", auth.PermContentWrite), "create-guide", "Write a service guide (whole community)", "content",
		func(ctx context.Context, in *struct{ Body guideBody }) (*itemBody[content.Guide], error) {
			c, err := s.transferCommunity(ctx, auth.PermContentWrite, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			g := in.Body.guide(0, c)
			err = s.store.CreateGuide(ctx, scope(ctx, auth.PermContentWrite), &g)
			return item(g, err)
		})
	handle(s, put("/api/v1/guides/{id}", auth.PermContentWrite), "update-guide", "Rewrite a service guide", "content",
		func(ctx context.Context, in *struct {
			IDParam
			Body guideBody
		}) (*itemBody[content.Guide], error) {
			g := in.Body.guide(in.ID, 0)
			err := s.store.UpdateGuide(ctx, scope(ctx, auth.PermContentWrite), &g)
			return item(g, err)
		})
	handle(s, remove("/api/v1/guides/{id}", auth.PermContentWrite), "delete-guide", "Delete a service guide", "content",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteGuide(ctx, scope(ctx, auth.PermContentWrite), in.ID)
		})

	handle(s, get("/api/v1/policies", auth.PermContentRead), "list-policies", "Convenience policies (便民服务政策) valid now; writers may list upcoming and lapsed ones", "content",
		func(ctx context.Context, in *struct {
			PageParams
			Status   string `query:"status" enum:"live,scheduled,expired,all," doc:"live when not given"`
			Category string `query:"category"`
		}) (*listBody[content.Policy], error) {
			read, write := readWrite(ctx)
			return list(s.store.ListPolicies(ctx, read, write, content.ListFilter{CommunityID: in.Community, Status: in.Status, Category: in.Category, Page: in.page()}))
		})
	handle(s, get("/api/v1/policies/{id}", auth.PermContentRead), "get-policy", "A policy", "content",
		func(ctx context.Context, in *IDParam) (*itemBody[content.Policy], error) {
			read, write := readWrite(ctx)
			return item(s.store.Policy(ctx, read, write, in.ID))
		})
	handle(s, post("/api/v1/policies", auth.PermContentWrite), "create-policy", "Write a policy (whole community)", "content",
		func(ctx context.Context, in *struct{ Body policyBody }) (*itemBody[content.Policy], error) {
			c, err := s.transferCommunity(ctx, auth.PermContentWrite, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			x := in.Body.policy(0, c)
			err = s.store.CreatePolicy(ctx, scope(ctx, auth.PermContentWrite), &x)
			return item(x, err)
		})
	handle(s, put("/api/v1/policies/{id}", auth.PermContentWrite), "update-policy", "Rewrite a policy", "content",
		func(ctx context.Context, in *struct {
			IDParam
			Body policyBody
		}) (*itemBody[content.Policy], error) {
			x := in.Body.policy(in.ID, 0)
			err := s.store.UpdatePolicy(ctx, scope(ctx, auth.PermContentWrite), &x)
			return item(x, err)
		})
	handle(s, remove("/api/v1/policies/{id}", auth.PermContentWrite), "delete-policy", "Delete a policy", "content",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeletePolicy(ctx, scope(ctx, auth.PermContentWrite), in.ID)
		})

	handle(s, get("/api/v1/search", auth.PermContentRead), "search", "Search notices, guides, policies and matters, in Chinese or English; only what the caller may read now", "content",
		func(ctx context.Context, in *struct {
			PageParams
			Q    string `query:"q" maxLength:"200" doc:"Words to find; Chinese needs no spaces. Empty finds nothing"`
			Kind string `query:"kind" enum:"notice,guide,policy,matter," doc:"Only this kind"`
		}) (*listBody[content.SearchResult], error) {
			scopes := map[string]auth.Scope{}
			for k, p := range searchKinds {
				if in.Kind == "" || in.Kind == k {
					scopes[k] = scope(ctx, p)
				}
			}
			return list(s.store.Search(ctx, scopes, in.Q, in.Community, in.page()))
		})

	for _, kind := range []string{content.KindNotice, content.KindGuide, content.KindPolicy} {
		s.registerAttachmentRoutes(kind)
	}
}

// attachmentIn is how attachments come in: the store weighs the sniffed
// type against the declared one.
var attachmentIn = mediaIn{Kind: media.Attachment, Field: "file"}

// registerAttachmentRoutes takes, serves and removes the files of one kind
// of content.
func (s *Server) registerAttachmentRoutes(kind string) {
	base := "/api/v1/" + map[string]string{content.KindNotice: "notices", content.KindGuide: "guides", content.KindPolicy: "policies"}[kind] + "/{id}/attachments"
	s.mediaUpload(Route{Method: http.MethodPost, Path: base, Permission: auth.PermContentWrite}, attachmentIn,
		func(ctx context.Context, a *auth.Actor, id int64, up upload) (any, string, error) {
			x := content.Attachment{Name: up.Name, ContentType: up.Declared}
			err := s.store.AddAttachment(ctx, a.Scope(auth.PermContentWrite), kind, id, &x, up.Media)
			return x, x.URL, err
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: base + "/{n}", Permission: auth.PermContentRead}, "n",
		func(ctx context.Context, a *auth.Actor, id, n int64) (media.Media, error) {
			x, err := s.store.Attachment(ctx, a.Scope(auth.PermContentRead), a.Scope(auth.PermContentWrite), kind, id, int(n))
			return media.Media{Name: x.Name, ContentType: x.ContentType, Size: int64(x.Size), SHA256: x.SHA256, CreatedAt: x.CreatedAt}, err
		},
		func(h http.Header, m media.Media) {
			disposition := "attachment"
			if content.IsImage(m.ContentType) {
				disposition = "inline"
			}
			h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": m.Name}))
			h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
			h.Set("Cache-Control", "private, max-age=3600")
		})
	s.rawRoute(Route{Method: http.MethodDelete, Path: base + "/{n}", Permission: auth.PermContentWrite}, func(w http.ResponseWriter, r *http.Request, a *auth.Actor) error {
		id, n, err := pathIDs(r, "id", "n")
		if err != nil {
			return err
		}
		if err := s.store.DeleteAttachment(r.Context(), a.Scope(auth.PermContentWrite), kind, id, int(n)); err != nil {
			return err
		}
		s.changed()
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}
