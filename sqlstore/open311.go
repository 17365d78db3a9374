package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
)

// open311KeyPrefix starts every secret, so a leaked one is recognisable.
const open311KeyPrefix = "o311_"

var open311Keys = table{
	what: "Open311 key", from: "open311_keys k", id: "k.id", order: "k.community_id, k.id",
	scope:   scopeCols{community: "k.community_id"},
	columns: "k.id, k.community_id, k.name, k.created_by, k.created_at, k.revoked_at, k.last_used_at",
}

func scanOpen311Key(r scanner) (open311.Open311Key, error) {
	var k open311.Open311Key
	var by sql.NullInt64
	var revoked, used sql.NullTime
	err := r.Scan(&k.ID, &k.CommunityID, &k.Name, &by, &k.CreatedAt, &revoked, &used)
	k.CreatedBy, k.CreatedAt, k.RevokedAt, k.LastUsedAt = by.Int64, k.CreatedAt.UTC(), timePtr(revoked), timePtr(used)
	return k, err
}

// CreateOpen311Key adds an API key to a community and returns its secret,
// which is not kept and cannot be shown again.
func (s *Store) CreateOpen311Key(ctx context.Context, scope auth.Scope, k *open311.Open311Key) (string, error) {
	k.Name = strings.TrimSpace(k.Name)
	if n := utf8.RuneCountInString(k.Name); n == 0 || n > 100 {
		return "", shequ.Invalid(map[string]string{"name": "say who the key is for, in at most 100 characters"})
	}
	if err := mustReachCommunity(scope, k.CommunityID); err != nil {
		return "", err
	}
	secret := open311KeyPrefix + auth.NewToken()
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, "SELECT COUNT(*) FROM communities WHERE id = $1", k.CommunityID); err != nil {
			return err
		} else if n == 0 {
			return shequ.Invalid(map[string]string{"community_id": "no such community"})
		}
		if a := auth.ActorFrom(ctx); a != nil {
			k.CreatedBy = a.User.ID
		}
		k.CreatedAt, k.RevokedAt, k.LastUsedAt = s.now(), nil, nil
		id, err := insert(ctx, tx, "INSERT INTO open311_keys (community_id, name, key_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5)",
			k.CommunityID, k.Name, auth.HashToken(secret), nullID(k.CreatedBy), k.CreatedAt)
		if err != nil {
			return err
		}
		k.ID = id
		return s.change(ctx, tx, k.CommunityID, "create", "open311_key", id, nil, k)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// ListOpen311Keys returns the keys of the communities scope reaches,
// revoked ones included, without their secrets.
func (s *Store) ListOpen311Keys(ctx context.Context, scope auth.Scope, community int64, page shequ.Page) (shequ.List[open311.Open311Key], error) {
	var a args
	var conds []string
	if community != 0 {
		conds = append(conds, "k.community_id = "+a.add(community))
	}
	return listOf(ctx, s.reader(), open311Keys, scope, conds, a, page, scanOpen311Key)
}

// RevokeOpen311Key ends a key: requests sent with it are refused from now
// on. Revoking a revoked key changes nothing.
func (s *Store) RevokeOpen311Key(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		k, err := oneOf(ctx, tx, open311Keys, scope, id, scanOpen311Key)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, k.CommunityID); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE open311_keys SET revoked_at = $1 WHERE id = $2", now, id); err != nil {
			return err
		}
		after := k
		after.RevokedAt = &now
		return s.change(ctx, tx, k.CommunityID, "revoke", "open311_key", id, k, after)
	})
}

// SubmitOpen311 files a matter that came with key: in the key's
// community, on the open311 channel, with no resident behind it. The
// audit log names the key. The matter and its extras (the reporter's
// contact, the only way to reach an anonymous reporter, the media URL and
// the building) are written in one transaction: both or neither, so that
// a client told of a failure files the matter again and one told of
// success has it whole.
func (s *Store) SubmitOpen311(ctx context.Context, key open311.Open311Key, m *matter.Matter, x open311.Extra) error {
	ctx = auth.WithActor(ctx, &auth.Actor{User: auth.User{Username: "open311:" + key.Name}})
	m.CommunityID, m.PersonID, m.HouseholdID, m.HomeID, m.SubmittedBy, m.FiledBy, m.Channel = key.CommunityID, 0, 0, 0, 0, 0, "open311"
	if x.BuildingID != 0 {
		var grid int64
		err := s.reader().QueryRowContext(ctx, "SELECT grid_id FROM buildings WHERE id = $1 AND community_id = $2", x.BuildingID, key.CommunityID).Scan(&grid)
		if err == sql.ErrNoRows {
			return shequ.Invalid(map[string]string{"address_id": "is not a building of this community"})
		} else if err != nil {
			return err
		}
		m.GridID = grid
	}
	contact := ""
	if x.Contact != nil {
		b, _ := json.Marshal(x.Contact)
		if string(b) != "{}" && string(b) != "null" {
			contact = s.cipher.Seal(string(b))
		}
	}
	return s.Atomic(ctx, func(in *Store) error {
		if err := in.SubmitMatter(ctx, auth.Scope{{CommunityID: key.CommunityID}}, m); err != nil {
			return err
		}
		return in.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "INSERT INTO open311_requests (matter_id, key_id, building_id, media_url, contact, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
				m.ID, key.ID, nullID(x.BuildingID), x.MediaURL, contact, in.now()); err != nil {
				return fmt.Errorf("open311 request of matter %d: %w", m.ID, mapError(err))
			}
			_, err := tx.ExecContext(ctx, "UPDATE open311_keys SET last_used_at = $1 WHERE id = $2", in.now(), key.ID)
			return err
		})
	})
}

// Open311Contact returns the contact details sent with a matter filed over
// Open311, as JSON; "" when none were sent.
func (s *Store) Open311Contact(ctx context.Context, scope auth.Scope, matterID int64) (string, error) {
	if err := mustReach(ctx, s.reader(), matters, scope, matterID); err != nil {
		return "", err
	}
	var sealed string
	err := s.reader().QueryRowContext(ctx, "SELECT contact FROM open311_requests WHERE matter_id = $1", matterID).Scan(&sealed)
	if err == sql.ErrNoRows {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return s.cipher.Open(sealed)
}

// extraScanner scans a row whose first columns scanMatter reads and whose
// last ones are extra.
type extraScanner struct {
	r     scanner
	extra []any
}

func (e extraScanner) Scan(dest ...any) error { return e.r.Scan(append(dest, e.extra...)...) }

// open311Where is the condition and order of the matters f keeps.
func open311Where(a *args, f open311.Filter) (string, error) {
	conds := []string{"m.community_id = " + a.add(f.CommunityID)}
	if len(f.Tracking) > 0 {
		conds = append(conds, "m.tracking IN ("+a.list(f.Tracking)+")")
	} else {
		if len(f.Categories) > 0 {
			conds = append(conds, "mc.code IN ("+a.list(f.Categories)+")")
		}
		switch f.Status {
		case "open":
			conds = append(conds, "m.status NOT IN ('resolved', 'closed', 'rejected')")
		case "closed":
			conds = append(conds, "m.status IN ('resolved', 'closed', 'rejected')")
		case "":
		default:
			return "", shequ.Invalid(map[string]string{"status": "must be open or closed"})
		}
		if !f.Since.IsZero() {
			conds = append(conds, "m.created_at >= "+a.add(f.Since.UTC()))
		}
		if !f.Until.IsZero() {
			conds = append(conds, "m.created_at <= "+a.add(f.Until.UTC()))
		}
	}
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	return " WHERE " + strings.Join(conds, " AND ") + " ORDER BY " + matters.order + " LIMIT " + a.add(f.Limit), nil
}

// open311Joins are the building (of the home, or the one address_id
// named) and the Open311 extras of a matter.
const open311Joins = " LEFT JOIN open311_requests o ON o.matter_id = m.id LEFT JOIN homes h ON h.id = m.home_id LEFT JOIN buildings b ON b.id = COALESCE(h.building_id, o.building_id)"

// ListOpen311Requests returns the matters of one community that f keeps,
// read whole, newest first, without a count: the feed wants no total.
func (s *Store) ListOpen311Requests(ctx context.Context, f open311.Filter) ([]open311.StoredRequest, error) {
	var a args
	where, err := open311Where(&a, f)
	if err != nil {
		return nil, err
	}
	query := "SELECT " + matters.columns + ", COALESCE(b.id, 0), COALESCE(b.name, ''), COALESCE(b.address, ''), COALESCE(b.lat, 0), COALESCE(b.lng, 0), COALESCE(o.media_url, '')" +
		" FROM " + matters.from + open311Joins + where
	rows, err := s.reader().QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []open311.StoredRequest{}
	for rows.Next() {
		var r open311.StoredRequest
		r.Matter, err = s.scanMatter(extraScanner{rows, []any{&r.Building.ID, &r.Building.Name, &r.Building.Address, &r.Building.Lat, &r.Building.Lng, &r.MediaURL}})
		if err != nil {
			return nil, err
		}
		r.Building.CommunityID = r.Matter.CommunityID
		out = append(out, r)
	}
	return out, rows.Err()
}

// EachOpen311Request reads the feed's rows of the matters f keeps, newest
// first, and hands each to fn as it comes; the row is reused, so fn must
// not keep it. It reads only what the feed shows, the texts as scrubbed
// when they were written (a matter written by an older build, which kept
// no scrubbed text, is scrubbed here), and on SQLite the times as text,
// parsed by scanTime rather than by the driver's trial of layouts.
func (s *Store) EachOpen311Request(ctx context.Context, f open311.Filter, fn func(*open311.FeedRow) error) error {
	var a args
	where, err := open311Where(&a, f)
	if err != nil {
		return err
	}
	times := "m.due_at, m.created_at, m.updated_at"
	if s.dialect == SQLite {
		times = "CAST(m.due_at AS TEXT), CAST(m.created_at AS TEXT), CAST(m.updated_at AS TEXT)"
	}
	query := "SELECT m.tracking, m.status, mc.code, COALESCE(m.public_description, m.description), COALESCE(m.public_note, m.status_note), COALESCE(m.public_address, m.address), " +
		"CASE WHEN m.public_description IS NULL OR m.public_note IS NULL OR m.public_address IS NULL THEN 1 ELSE 0 END, COALESCE(m.home_id, 0), m.lat, m.lng, " + times +
		", COALESCE(b.id, 0), COALESCE(b.name, ''), COALESCE(b.address, ''), COALESCE(b.lat, 0), COALESCE(b.lng, 0), COALESCE(o.media_url, '')" +
		" FROM " + matters.from + open311Joins + where
	rows, err := s.reader().QueryContext(ctx, query, a...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var r open311.FeedRow
	var unscrubbed int
	var home int64
	var dueSet bool
	due, created, updated := scanTime{t: &r.DueAt, valid: &dueSet}, scanTime{t: &r.CreatedAt}, scanTime{t: &r.UpdatedAt}
	for rows.Next() {
		if err := rows.Scan(&r.Tracking, &r.Status, &r.Category, &r.Description, &r.StatusNote, &r.Address, &unscrubbed, &home, &r.Lat, &r.Lng, due, created, updated,
			&r.Place.BuildingID, &r.Place.Name, &r.Place.Address, &r.Place.Lat, &r.Place.Lng, &r.MediaURL); err != nil {
			return err
		}
		r.AtHome = home != 0
		if unscrubbed != 0 {
			r.Description, r.StatusNote, r.Address = open311.Scrub(r.Description), open311.Scrub(r.StatusNote), open311.Scrub(r.Address)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// list adds each value and returns their placeholders, comma separated.
func (a *args) list(vs []string) string {
	ph := make([]string, len(vs))
	for i, v := range vs {
		ph[i] = a.add(v)
	}
	return strings.Join(ph, ", ")
}

// Open311Changeset returns when the Open311 services last changed: when
// the newest matter category was added. It is zero when there are none.
func (s *Store) Open311Changeset(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := s.reader().QueryRowContext(ctx, "SELECT created_at FROM matter_categories ORDER BY created_at DESC LIMIT 1").Scan(&t)
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	return t.UTC(), err
}

// Open311Version returns the version of a community's Open311 listing:
// a number the database moves (migration 00047's triggers) with every
// change to what the listing can show, whichever node made it, so a
// listing kept in memory at one version is still right while it reads
// the same. A community nothing has changed in since then is 0.
func (s *Store) Open311Version(ctx context.Context, community int64) (int64, error) {
	var v int64
	err := s.reader().QueryRowContext(ctx, "SELECT version FROM open311_feed_versions WHERE community_id = $1", community).Scan(&v)
	if err == sql.ErrNoRows {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("open311 version: %w", err)
	}
	return v, nil
}

// Open311Key returns the live key whose secret this is. An unknown
// secret and a revoked key are both EFORBIDDEN, with different messages.
func (s *Store) Open311Key(ctx context.Context, secret string) (open311.Open311Key, error) {
	var k open311.Open311Key
	if !strings.HasPrefix(secret, open311KeyPrefix) {
		return k, shequ.Errorf(shequ.EFORBIDDEN, "invalid api_key")
	}
	k, err := scanOpen311Key(s.reader().QueryRowContext(ctx, "SELECT "+open311Keys.columns+" FROM open311_keys k WHERE k.key_hash = $1", auth.HashToken(secret)))
	switch {
	case err == sql.ErrNoRows:
		return k, shequ.Errorf(shequ.EFORBIDDEN, "invalid api_key")
	case err != nil:
		return k, err
	case k.RevokedAt != nil:
		return k, shequ.Errorf(shequ.EFORBIDDEN, "this api_key was revoked")
	}
	return k, nil
}

// publicTextVersion is the migration that added the matters' scrubbed
// texts.
const publicTextVersion = 35

// scrubPublicTexts fills the scrubbed texts of the matters that have none:
// those stored before migration 35 (Scrub is Go, so SQL cannot), and any
// an older build wrote since. It runs after every migration; with nothing
// to do it is one look into a partial index.
func (s *Store) scrubPublicTexts(ctx context.Context) (int, error) {
	done := 0
	for {
		var batch []struct {
			id                      int64
			description, note, addr string
		}
		err := func() error {
			rows, err := s.write.QueryContext(ctx, `SELECT id, description, status_note, address FROM matters
				WHERE public_description IS NULL OR public_note IS NULL OR public_address IS NULL ORDER BY id LIMIT 500`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var x struct {
					id                      int64
					description, note, addr string
				}
				if err := rows.Scan(&x.id, &x.description, &x.note, &x.addr); err != nil {
					return err
				}
				batch = append(batch, x)
			}
			return rows.Err()
		}()
		if err != nil || len(batch) == 0 {
			return done, err
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			for _, x := range batch {
				if _, err := tx.ExecContext(ctx, "UPDATE matters SET public_description = $1, public_note = $2, public_address = $3 WHERE id = $4",
					open311.Scrub(x.description), open311.Scrub(x.note), open311.Scrub(x.addr), x.id); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return done, fmt.Errorf("scrub matters' public texts: %w", err)
		}
		done += len(batch)
	}
}
