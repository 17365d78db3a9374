package web

import (
	"context"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/media"
)

// boardStore is what the lost-and-found board needs.
type boardStore interface {
	ListPosts(ctx context.Context, scope auth.Scope, f lostfound.Filter) (shequ.List[lostfound.Post], error)
	Post(ctx context.Context, scope auth.Scope, id int64) (lostfound.Post, error)
	CreatePost(ctx context.Context, scope auth.Scope, p *lostfound.Post) error
	ReplyToPost(ctx context.Context, scope auth.Scope, id, author int64, body string) (lostfound.Reply, error)
	ClosePost(ctx context.Context, scope auth.Scope, id, by int64, moderate auth.Scope, remove bool) error
	AddPostPhoto(ctx context.Context, scope auth.Scope, id, by int64, m media.Media) (int64, error)
	PostPhoto(ctx context.Context, scope auth.Scope, id, photo int64) (media.Media, error)
}

type postBody struct {
	Kind        string    `json:"kind" enum:"lost,found"`
	Subject     string    `json:"subject,omitempty" enum:"item,pet," doc:"item (default) or pet"`
	Title       string    `json:"title" maxLength:"80"`
	Description string    `json:"description,omitempty" maxLength:"2000"`
	Place       string    `json:"place" maxLength:"120"`
	HappenedAt  time.Time `json:"happened_at,omitempty"`
	Contact     string    `json:"contact,omitempty" maxLength:"100" doc:"How to reach you, if you want it shown"`
	ExpiresAt   time.Time `json:"expires_at,omitempty" doc:"Default: 30 days"`
	CommunityID int64     `json:"community_id,omitempty" doc:"For users of several communities"`
}

func (s *Server) registerBoardAPI() {
	handle(s, get("/api/v1/lostfound", auth.PermBoardRead), "list-lostfound", "The lost-and-found board: open posts, newest first", "lostfound",
		func(ctx context.Context, in *struct {
			PageParams
			Kind    string `query:"kind" enum:"lost,found,"`
			Subject string `query:"subject" enum:"item,pet,"`
			All     bool   `query:"all" doc:"Include resolved and expired posts"`
		}) (*listBody[lostfound.Post], error) {
			return list(s.store.ListPosts(ctx, scope(ctx, auth.PermBoardRead), lostfound.Filter{CommunityID: in.Community, Kind: in.Kind, Subject: in.Subject, All: in.All, Page: in.page()}))
		})
	handle(s, get("/api/v1/lostfound/{id}", auth.PermBoardRead), "get-lostfound", "A post with its replies", "lostfound",
		func(ctx context.Context, in *IDParam) (*itemBody[lostfound.Post], error) {
			return item(s.store.Post(ctx, scope(ctx, auth.PermBoardRead), in.ID))
		})
	handle(s, post("/api/v1/lostfound", auth.PermBoardPost), "create-lostfound", "Post a lost or found item or pet", "lostfound",
		func(ctx context.Context, in *struct{ Body postBody }) (*itemBody[lostfound.Post], error) {
			a := auth.ActorFrom(ctx)
			b := in.Body
			sc := scope(ctx, auth.PermBoardPost)
			community := b.CommunityID
			if community == 0 {
				cs := sc.Communities()
				if len(cs) != 1 {
					return nil, shequ.Invalid(map[string]string{"community_id": "say which community's board"})
				}
				community = cs[0]
			}
			p := lostfound.Post{CommunityID: community, AuthorID: a.User.ID, Author: a.User.DisplayName, Kind: b.Kind, Subject: b.Subject, Title: b.Title,
				Description: b.Description, Place: b.Place, HappenedAt: b.HappenedAt, Contact: b.Contact, ExpiresAt: b.ExpiresAt}
			err := s.store.CreatePost(ctx, sc, &p)
			return item(p, err)
		})
	handle(s, post("/api/v1/lostfound/{id}/replies", auth.PermBoardPost), "reply-lostfound", "Answer a post", "lostfound",
		func(ctx context.Context, in *struct {
			IDParam
			Body struct {
				Body string `json:"body" minLength:"1" maxLength:"1000"`
			}
		}) (*itemBody[lostfound.Reply], error) {
			return item(s.store.ReplyToPost(ctx, scope(ctx, auth.PermBoardPost), in.ID, auth.ActorFrom(ctx).User.ID, in.Body.Body))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/lostfound/{id}/resolve", Permission: auth.PermBoardPost, OK: true}, "resolve-lostfound", "Mark a post resolved (its poster or a moderator)", "lostfound",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			a := auth.ActorFrom(ctx)
			return &noContent{}, s.store.ClosePost(ctx, scope(ctx, auth.PermBoardPost), in.ID, a.User.ID, a.Scope(auth.PermBoardModerate), false)
		})
	handle(s, remove("/api/v1/lostfound/{id}", auth.PermBoardPost), "delete-lostfound", "Take a post down (its poster or a moderator)", "lostfound",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			a := auth.ActorFrom(ctx)
			return &noContent{}, s.store.ClosePost(ctx, scope(ctx, auth.PermBoardPost), in.ID, a.User.ID, a.Scope(auth.PermBoardModerate), true)
		})
	s.mediaUpload(Route{Method: http.MethodPost, Path: "/api/v1/lostfound/{id}/photos", Permission: auth.PermBoardPost}, photoIn,
		func(ctx context.Context, a *auth.Actor, id int64, up upload) (any, string, error) {
			return photoAnswer(s.store.AddPostPhoto(ctx, a.Scope(auth.PermBoardPost), id, a.User.ID, up.Media))
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/lostfound/{id}/photos/{photo}", Permission: auth.PermBoardRead}, "photo",
		func(ctx context.Context, a *auth.Actor, id, photo int64) (media.Media, error) {
			return s.store.PostPhoto(ctx, a.Scope(auth.PermBoardRead), id, photo)
		}, nil)
}
