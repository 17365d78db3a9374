package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/lostfound"
	"github.com/shequ/shequ/media"
)

// The board is community-wide: anyone who lives or works in a community
// reads all of it, so the scope is widened to whole communities.
var lostfoundPosts = table{
	what: "post", from: "lostfound_posts lp JOIN users u ON u.id = lp.author_id", id: "lp.id", order: "lp.created_at DESC, lp.id DESC",
	scope:   scopeCols{community: "lp.community_id"},
	columns: "lp.id, lp.community_id, lp.author_id, u.display_name, lp.kind, lp.subject, lp.title, lp.description, lp.place, lp.happened_at, lp.contact, lp.status, lp.expires_at, lp.created_at",
}

func (s *Store) scanPost(r scanner) (lostfound.Post, error) {
	var p lostfound.Post
	err := r.Scan(&p.ID, &p.CommunityID, &p.AuthorID, &p.Author, &p.Kind, &p.Subject, &p.Title, &p.Description, &p.Place, &p.HappenedAt, &p.Contact, &p.Status, &p.ExpiresAt, &p.CreatedAt)
	p.HappenedAt, p.ExpiresAt, p.CreatedAt = p.HappenedAt.UTC(), p.ExpiresAt.UTC(), p.CreatedAt.UTC()
	p.Status = p.StatusAt(s.now())
	p.Photos = []int64{}
	return p, err
}

// ListPosts returns the board of the communities scope touches.
func (s *Store) ListPosts(ctx context.Context, scope auth.Scope, f lostfound.Filter) (shequ.List[lostfound.Post], error) {
	var a args
	conds := []string{"lp.removed = FALSE"}
	if f.CommunityID != 0 {
		conds = append(conds, "lp.community_id = "+a.add(f.CommunityID))
	}
	if f.Kind != "" {
		conds = append(conds, "lp.kind = "+a.add(f.Kind))
	}
	if f.Subject != "" {
		conds = append(conds, "lp.subject = "+a.add(f.Subject))
	}
	if !f.All {
		conds = append(conds, "lp.status = 'open' AND lp.expires_at > "+a.add(s.now()))
	}
	return listOf(ctx, s.reader(), lostfoundPosts, scope.Widen(), conds, a, f.Page, s.scanPost)
}

// Post returns one post with its replies and photos.
func (s *Store) Post(ctx context.Context, scope auth.Scope, id int64) (lostfound.Post, error) {
	var a args
	p, err := s.scanPost(s.reader().QueryRowContext(ctx, "SELECT "+lostfoundPosts.columns+" FROM "+lostfoundPosts.from+" WHERE lp.removed = FALSE AND lp.id = "+a.add(id)+" AND "+scopeWhere(scope.Widen(), lostfoundPosts.scope, &a), a...))
	if err == sql.ErrNoRows {
		return p, notFound("post", id)
	} else if err != nil {
		return p, err
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT r.id, r.author_id, u.display_name, r.body, r.created_at FROM lostfound_replies r JOIN users u ON u.id = r.author_id WHERE r.post_id = $1 ORDER BY r.id", id)
	if err != nil {
		return p, fmt.Errorf("replies: %w", err)
	}
	defer rows.Close()
	p.Replies = []lostfound.Reply{}
	for rows.Next() {
		var r lostfound.Reply
		if err := rows.Scan(&r.ID, &r.AuthorID, &r.Author, &r.Body, &r.CreatedAt); err != nil {
			return p, err
		}
		r.CreatedAt = r.CreatedAt.UTC()
		p.Replies = append(p.Replies, r)
	}
	if err := rows.Err(); err != nil {
		return p, err
	}
	p.Photos, err = mediaIDs(ctx, s.reader(), "lostfound", id)
	return p, err
}

// CreatePost puts a post on the board of a community the author is in.
func (s *Store) CreatePost(ctx context.Context, scope auth.Scope, p *lostfound.Post) error {
	if err := p.Validate(s.now()); err != nil {
		return err
	}
	if !scope.Widen().WholeCommunity(p.CommunityID) {
		return shequ.Errorf(shequ.EFORBIDDEN, "you may post only on your own community's board")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		p.CreatedAt = s.now()
		id, err := insert(ctx, tx, `INSERT INTO lostfound_posts (community_id, author_id, kind, subject, title, description, place, happened_at, contact, status, expires_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.CommunityID, p.AuthorID, p.Kind, p.Subject, p.Title, p.Description, p.Place, p.HappenedAt.UTC(), p.Contact, p.Status, p.ExpiresAt.UTC(), p.CreatedAt)
		if err != nil {
			return err
		}
		p.ID = id
		p.Photos = []int64{}
		return s.change(ctx, tx, p.CommunityID, "create", "lostfound", id, nil, p)
	})
}

// ReplyToPost adds a neighbour's answer to an open post.
func (s *Store) ReplyToPost(ctx context.Context, scope auth.Scope, id, author int64, body string) (lostfound.Reply, error) {
	var r lostfound.Reply
	if body == "" || len([]rune(body)) > 1000 {
		return r, shequ.Invalid(map[string]string{"body": "write 1 to 1000 characters"})
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		p, err := s.Post(ctx, scope, id)
		if err != nil {
			return err
		}
		if p.Status != "open" {
			return shequ.Errorf(shequ.ECONFLICT, "this post is %s", p.Status)
		}
		r = lostfound.Reply{AuthorID: author, Body: body, CreatedAt: s.now()}
		if r.ID, err = insert(ctx, tx, "INSERT INTO lostfound_replies (post_id, author_id, body, created_at) VALUES ($1, $2, $3, $4)", id, author, body, r.CreatedAt); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "SELECT display_name FROM users WHERE id = $1", author).Scan(&r.Author); err != nil {
			return err
		}
		return s.change(ctx, tx, p.CommunityID, "reply", "lostfound", id, nil, r)
	})
	return r, err
}

// ClosePost marks a post resolved (by its author or a moderator) or
// removes it (a moderator, or the author taking it down). moderate is where
// by may moderate the board: only a moderator of the post's own community
// closes another's post, not an admin of some other community who merely
// lives here.
func (s *Store) ClosePost(ctx context.Context, scope auth.Scope, id, by int64, moderate auth.Scope, remove bool) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// Locked before it is read, so two closes of one post are one
		// after the other and the second sees the first's status.
		if err := s.lockRow(ctx, tx, "lostfound_posts", id); err != nil {
			return err
		}
		p, err := s.Post(ctx, scope, id)
		if err != nil {
			return err
		}
		if p.AuthorID != by && !moderate.WholeCommunity(p.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the poster or a moderator may do this")
		}
		if remove {
			if _, err := tx.ExecContext(ctx, "UPDATE lostfound_posts SET removed = TRUE WHERE id = $1", id); err != nil {
				return err
			}
			return s.change(ctx, tx, p.CommunityID, "delete", "lostfound", id, p, nil)
		}
		if p.Status != "open" {
			return shequ.Errorf(shequ.ECONFLICT, "this post is %s already", p.Status)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE lostfound_posts SET status = 'resolved' WHERE id = $1", id); err != nil {
			return err
		}
		return s.change(ctx, tx, p.CommunityID, "resolve", "lostfound", id, p, map[string]string{"status": "resolved"})
	})
}

// AddPostPhoto records a photo of a post by its author, its bytes put.
func (s *Store) AddPostPhoto(ctx context.Context, scope auth.Scope, id, by int64, m media.Media) (int64, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Locked so that photos added at once count each other against
		// the cap.
		if err := s.lockRow(ctx, tx, "lostfound_posts", id); err != nil {
			return err
		}
		p, err := s.Post(ctx, scope, id)
		if err != nil {
			return err
		}
		if p.AuthorID != by {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the poster adds photos")
		}
		m.CreatedBy = by
		return s.addPhoto(ctx, tx, p.CommunityID, "lostfound", id, &m)
	})
	return m.ID, err
}

// PostPhoto returns a photo of a post scope reaches.
func (s *Store) PostPhoto(ctx context.Context, scope auth.Scope, id, photo int64) (media.Media, error) {
	if _, err := s.Post(ctx, scope, id); err != nil {
		return media.Media{}, err
	}
	return mediaByID(ctx, s.reader(), "lostfound", id, photo)
}
