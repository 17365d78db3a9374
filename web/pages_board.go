package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/media"
)

type boardRow struct {
	ID                  int64
	Kind, KindWord      string
	Subject             string
	Title, Place        string
	When                string
	Status, StatusWord  string
	Author              string
	Replies, PhotoCount int
	Photo               string
}

func (s *Server) boardRow(p *pageData, post lostfound.Post, now time.Time) boardRow {
	row := boardRow{ID: post.ID, Kind: post.Kind, KindWord: p.L.T("lostfound.kind." + post.Kind + "." + post.Subject), Subject: post.Subject,
		Title: post.Title, Place: post.Place, When: p.Date(post.HappenedAt), Status: post.StatusAt(now), Author: post.Author,
		Replies: len(post.Replies), PhotoCount: len(post.Photos)}
	row.StatusWord = p.L.T("lostfound.status." + row.Status)
	if len(post.Photos) > 0 {
		row.Photo = fmt.Sprintf("/api/v1/lostfound/%d/photos/%d", post.ID, post.Photos[0])
	}
	return row
}

type boardBody struct {
	Kind    string
	All     bool
	Rows    []boardRow
	Pager   pager
	CanPost bool
}

func (s *Server) boardPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("lostfound.title")
	b := boardBody{Kind: q.Get("kind"), All: q.Get("all") == "1", CanPost: p.Actor.Can(auth.PermBoardPost)}
	if b.Kind != "lost" && b.Kind != "found" {
		b.Kind = ""
	}
	sc := p.Actor.Scope(auth.PermBoardRead)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[lostfound.Post], error) {
		return s.store.ListPosts(ctx, sc, lostfound.Filter{Kind: b.Kind, All: b.All, Page: pg})
	})
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	for _, post := range l.Items {
		b.Rows = append(b.Rows, s.boardRow(p, post, now))
	}
	b.Pager = newPager("/lostfound", q, []string{"kind", "all"}, n, l.Total)
	p.Body = b
	return "resident/lostfound", nil
}

type boardForm struct {
	Kind, Subject, Title, Description, Place, Contact string
	DraftKey                                          string
	Errors                                            map[string]string
	Error                                             string
}

func (s *Server) boardFormPage(r *http.Request, p *pageData) (string, error) {
	p.Title = p.L.T("lostfound.new.title")
	kind := r.URL.Query().Get("kind")
	if kind != "found" {
		kind = "lost"
	}
	p.Body = &boardForm{Kind: kind, Subject: "item", DraftKey: newDraftKey(), Errors: map[string]string{}}
	return "resident/lostfound_new", nil
}

func (s *Server) boardSubmit(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	f := &boardForm{Kind: r.PostFormValue("kind"), Subject: r.PostFormValue("subject"), Title: r.PostFormValue("title"), Description: r.PostFormValue("description"),
		Place: r.PostFormValue("place"), Contact: strings.TrimSpace(r.PostFormValue("contact")), DraftKey: r.PostFormValue("draft_key"), Errors: map[string]string{}}
	fail := func() error {
		p.Title, p.Self = p.L.T("lostfound.new.title"), "/lostfound/new"
		f.Error = p.L.T("matterform.fix")
		p.Body = f
		s.render(w, r, p, "resident/lostfound_new", http.StatusUnprocessableEntity)
		return nil
	}
	photo, err := formPhoto(r)
	if err != nil {
		f.Errors["photo"] = p.L.T("form.photo.bad")
		return fail()
	}
	if utf8.RuneCountInString(f.Contact) > 100 {
		f.Errors["contact"] = p.L.T("lostfound.contact.bad")
		return fail()
	}
	cs := a.Scope(auth.PermBoardPost).Communities()
	if len(cs) != 1 {
		return shequ.Errorf(shequ.EINVALID, "say which community's board")
	}
	key := fmt.Sprintf("%p/%d/lf/%s", s, a.User.ID, f.DraftKey)
	if f.DraftKey != "" {
		id, mine, err := drafts.claim(ctx, key, s.clock.Now())
		if err != nil {
			return err
		}
		if !mine {
			http.Redirect(w, r, fmt.Sprintf("/lostfound/%d", id), http.StatusSeeOther)
			return nil
		}
	}
	post := lostfound.Post{CommunityID: cs[0], AuthorID: a.User.ID, Author: a.User.DisplayName, Kind: f.Kind, Subject: f.Subject, Title: f.Title,
		Description: f.Description, Place: f.Place, Contact: f.Contact}
	err = s.store.CreatePost(ctx, a.Scope(auth.PermBoardPost), &post)
	if f.DraftKey != "" {
		drafts.finish(key, post.ID)
	}
	if err != nil {
		var se *shequ.Error
		if !errors.As(err, &se) || se.Code != shequ.EINVALID {
			return err
		}
		for field := range se.Fields {
			switch field {
			case "title", "place", "description":
				f.Errors[field] = p.L.T("lostfound." + field + ".bad")
			case "kind", "subject":
				f.Errors["kind"] = p.L.T("lostfound.kind.bad")
			}
		}
		return fail()
	}
	s.changed()
	if photo != nil {
		if err := s.keepFormPhoto(ctx, photo, a.User.ID, func(ph media.Media) error {
			_, err := s.store.AddPostPhoto(ctx, a.Scope(auth.PermBoardPost), post.ID, a.User.ID, ph)
			return err
		}); err != nil {
			s.log.Error("post photo", "post", post.ID, "err", err)
		}
	}
	http.Redirect(w, r, fmt.Sprintf("/lostfound/%d", post.ID), http.StatusSeeOther)
	return nil
}

type boardPostBody struct {
	Row         boardRow
	Description string
	Contact     string
	Photos      []string
	Replies     []boardReply
	Mine        bool
	CanReply    bool
	CanResolve  bool
	Error       string
}

type boardReply struct {
	Author, When, Body string
	Mine               bool
}

func (s *Server) boardPost(r *http.Request, p *pageData, msg string) (*boardPostBody, error) {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return nil, err
	}
	post, err := s.store.Post(ctx, a.Scope(auth.PermBoardRead), id)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	b := &boardPostBody{Row: s.boardRow(p, post, now), Description: post.Description, Contact: post.Contact, Mine: post.AuthorID == a.User.ID, Error: msg}
	open := b.Row.Status == "open"
	b.CanReply = open && a.Can(auth.PermBoardPost)
	b.CanResolve = open && (b.Mine || a.Scope(auth.PermBoardModerate).WholeCommunity(post.CommunityID))
	for _, ph := range post.Photos {
		b.Photos = append(b.Photos, fmt.Sprintf("/api/v1/lostfound/%d/photos/%d", post.ID, ph))
	}
	for _, rp := range post.Replies {
		b.Replies = append(b.Replies, boardReply{Author: rp.Author, When: p.Date(rp.CreatedAt), Body: rp.Body, Mine: rp.AuthorID == a.User.ID})
	}
	p.Title = post.Title
	return b, nil
}

func (s *Server) boardPostPage(r *http.Request, p *pageData) (string, error) {
	b, err := s.boardPost(r, p, "")
	if err != nil {
		return "", err
	}
	p.Body = b
	return "resident/lostfound_post", nil
}

// boardStep replies to a post or marks one's own post resolved.
func (s *Server) boardStep(w http.ResponseWriter, r *http.Request, p *pageData) error {
	ctx, a := r.Context(), p.Actor
	id, err := idOf(r, "id")
	if err != nil {
		return err
	}
	sc := a.Scope(auth.PermBoardPost)
	switch r.PathValue("action") {
	case "reply":
		_, err = s.store.ReplyToPost(ctx, sc, id, a.User.ID, strings.TrimSpace(r.PostFormValue("body")))
	case "resolve":
		err = s.store.ClosePost(ctx, sc, id, a.User.ID, a.Scope(auth.PermBoardModerate), false)
	default:
		return shequ.Errorf(shequ.ENOTFOUND, "no such action")
	}
	if err != nil {
		code := shequ.ErrorCode(err)
		if code != shequ.EINVALID && code != shequ.ECONFLICT {
			return err
		}
		msg := p.L.T("lostfound.refused")
		if code == shequ.EINVALID {
			msg = p.L.T("lostfound.reply.bad")
		}
		b, berr := s.boardPost(r, p, msg)
		if berr != nil {
			return berr
		}
		p.Body, p.Self = b, fmt.Sprintf("/lostfound/%d", id)
		s.render(w, r, p, "resident/lostfound_post", errorStatus(err))
		return nil
	}
	s.changed()
	http.Redirect(w, r, fmt.Sprintf("/lostfound/%d", id), http.StatusSeeOther)
	return nil
}
