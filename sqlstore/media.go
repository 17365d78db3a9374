package sqlstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/media"
)

// The metadata of media (photos of matters, posts and incidents; files of
// notices, guides and policies). The bytes are in a media.Blobs under
// their SHA-256, put there before the row is written: a row never names
// bytes that are not there. Bytes whose rows are gone are noted in
// media_gone and removed by SweepMedia.

const mediaColumns = "id, community_id, owner_kind, owner_id, n, kind, name, content_type, size, sha256, created_by, created_at"

func scanMedia(r interface{ Scan(...any) error }) (media.Media, error) {
	var m media.Media
	var by sql.NullInt64
	err := r.Scan(&m.ID, &m.CommunityID, &m.OwnerKind, &m.OwnerID, &m.N, &m.Kind, &m.Name, &m.ContentType, &m.Size, &m.SHA256, &by, &m.CreatedAt)
	m.CreatedBy, m.CreatedAt = by.Int64, m.CreatedAt.UTC()
	return m, err
}

// addMedia writes the row of m, whose bytes are put, as the next of its
// owner's, in the caller's transaction. It is not audited here: each
// capability says what was added in its own words.
func (s *Store) addMedia(ctx context.Context, tx *sql.Tx, m *media.Media) error {
	if err := media.CheckSHA(m.SHA256); err != nil {
		return err
	}
	if m.OwnerKind == "" || m.OwnerID == 0 || m.CommunityID == 0 || m.Kind == "" {
		return shequ.Errorf(shequ.EINVALID, "media: owner, community and kind are required")
	}
	var last int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(n), 0) FROM media WHERE owner_kind = $1 AND owner_id = $2", m.OwnerKind, m.OwnerID).Scan(&last); err != nil {
		return fmt.Errorf("media: %w", err)
	}
	m.N, m.CreatedAt = last+1, s.now()
	id, err := insert(ctx, tx, `INSERT INTO media (community_id, owner_kind, owner_id, n, kind, name, content_type, size, sha256, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		m.CommunityID, m.OwnerKind, m.OwnerID, m.N, m.Kind, m.Name, m.ContentType, m.Size, m.SHA256, nullID(m.CreatedBy), m.CreatedAt)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	m.ID = id
	return nil
}

// countMedia counts an owner's media.
func countMedia(ctx context.Context, q querier, ownerKind string, ownerID int64) (int, error) {
	return count(ctx, q, "SELECT COUNT(*) FROM media WHERE owner_kind = $1 AND owner_id = $2", ownerKind, ownerID)
}

// mediaByID returns one of an owner's media by its id.
func mediaByID(ctx context.Context, q querier, ownerKind string, ownerID, id int64) (media.Media, error) {
	m, err := scanMedia(q.QueryRowContext(ctx, "SELECT "+mediaColumns+" FROM media WHERE id = $1 AND owner_kind = $2 AND owner_id = $3", id, ownerKind, ownerID))
	if err == sql.ErrNoRows {
		return m, notFound("photo", id)
	} else if err != nil {
		return m, fmt.Errorf("media: %w", err)
	}
	return m, nil
}

// mediaByN returns one of an owner's media by its number.
func mediaByN(ctx context.Context, q querier, ownerKind string, ownerID int64, n int) (media.Media, error) {
	m, err := scanMedia(q.QueryRowContext(ctx, "SELECT "+mediaColumns+" FROM media WHERE owner_kind = $1 AND owner_id = $2 AND n = $3", ownerKind, ownerID, n))
	if err == sql.ErrNoRows {
		return m, shequ.Errorf(shequ.ENOTFOUND, "%s %d has no file %d", ownerKind, ownerID, n)
	} else if err != nil {
		return m, fmt.Errorf("media: %w", err)
	}
	return m, nil
}

// mediaIDs lists the ids of an owner's media in the order they came.
func mediaIDs(ctx context.Context, q querier, ownerKind string, ownerID int64) ([]int64, error) {
	rows, err := q.QueryContext(ctx, "SELECT id FROM media WHERE owner_kind = $1 AND owner_id = $2 ORDER BY id", ownerKind, ownerID)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// mediaOf returns the media of owners of one kind, by owner, in number
// order.
func mediaOf(ctx context.Context, q querier, ownerKind string, ids []int64) (map[int64][]media.Media, error) {
	out := map[int64][]media.Media{}
	if len(ids) == 0 {
		return out, nil
	}
	var a args
	rows, err := q.QueryContext(ctx, "SELECT "+mediaColumns+" FROM media WHERE owner_kind = "+a.add(ownerKind)+
		" AND owner_id IN "+inList(&a, ids)+" ORDER BY owner_id, n", a...)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, err
		}
		out[m.OwnerID] = append(out[m.OwnerID], m)
	}
	return out, rows.Err()
}

// deleteMedia removes rows of an owner's media (all of them when n is 0)
// in the caller's transaction, and notes their bytes for the sweep.
func (s *Store) deleteMedia(ctx context.Context, tx *sql.Tx, ownerKind string, ownerID int64, n int) error {
	q := "SELECT id, sha256, COALESCE(legacy_table, ''), COALESCE(legacy_id, 0) FROM media WHERE owner_kind = $1 AND owner_id = $2"
	a := []any{ownerKind, ownerID}
	if n != 0 {
		q += " AND n = $3"
		a = append(a, n)
	}
	type gone struct {
		id, legacyID  int64
		sha, legacyIn string
	}
	var all []gone
	rows, err := tx.QueryContext(ctx, q, a...)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	for rows.Next() {
		var g gone
		if err := rows.Scan(&g.id, &g.sha, &g.legacyIn, &g.legacyID); err != nil {
			rows.Close()
			return err
		}
		all = append(all, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	now := s.now()
	for _, g := range all {
		if _, err := tx.ExecContext(ctx, "DELETE FROM media WHERE id = $1", g.id); err != nil {
			return fmt.Errorf("media: %w", err)
		}
		if g.legacyIn != "" {
			if err := deleteLegacy(ctx, tx, g.legacyIn, g.legacyID); err != nil {
				return err
			}
		}
		if g.sha != "" {
			if _, err := tx.ExecContext(ctx, "INSERT INTO media_gone (sha256, at) VALUES ($1, $2)", g.sha, now); err != nil {
				return fmt.Errorf("media: %w", err)
			}
		}
	}
	return nil
}

// ReleaseMedia notes bytes put for an upload that was then refused, for
// the sweep to remove unless a row names them by then.
func (s *Store) ReleaseMedia(ctx context.Context, sha string) error {
	if err := media.CheckSHA(sha); err != nil {
		return err
	}
	_, err := s.write.ExecContext(ctx, "INSERT INTO media_gone (sha256, at) VALUES ($1, $2)", sha, s.now())
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	return nil
}

// SweepMedia removes from blobs the bytes noted gone at least grace ago
// that no row names. Bytes put within grace (by the blob store's clock)
// stay, and their note with them: an upload puts its bytes first and
// writes its row after, so bytes just put may be about to be named again.
// It returns how many it removed.
func (s *Store) SweepMedia(ctx context.Context, blobs media.Blobs, grace time.Duration) (int, error) {
	cutoff := s.now().Add(-grace)
	rows, err := s.write.QueryContext(ctx, "SELECT DISTINCT sha256 FROM media_gone WHERE at <= $1", cutoff)
	if err != nil {
		return 0, fmt.Errorf("media sweep: %w", err)
	}
	var shas []string
	for rows.Next() {
		var sha string
		if err := rows.Scan(&sha); err != nil {
			rows.Close()
			return 0, err
		}
		shas = append(shas, sha)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	removed := 0
	for _, sha := range shas {
		named, err := count(ctx, s.write, "SELECT COUNT(*) FROM media WHERE sha256 = $1", sha)
		if err != nil {
			return removed, err
		}
		if named == 0 && media.ValidSHA(sha) {
			blob, err := blobs.Open(ctx, sha)
			switch {
			case shequ.ErrorCode(err) == shequ.ENOTFOUND:
			case err != nil:
				return removed, err
			default:
				fresh := time.Since(blob.ModTime) < grace
				blob.Close()
				if fresh {
					continue
				}
				if err := blobs.Delete(ctx, sha); err != nil {
					return removed, err
				}
				removed++
			}
		}
		if _, err := s.write.ExecContext(ctx, "DELETE FROM media_gone WHERE sha256 = $1 AND at <= $2", sha, cutoff); err != nil {
			return removed, fmt.Errorf("media sweep: %w", err)
		}
	}
	return removed, nil
}

// legacyTables are where photos and attachments kept their bytes before
// the media store.
var legacyTables = map[string]bool{"photos": true, "attachments": true}

func deleteLegacy(ctx context.Context, tx *sql.Tx, table string, id int64) error {
	if !legacyTables[table] {
		return fmt.Errorf("media: unknown legacy table %q", table)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE id = $1", id); err != nil {
		return fmt.Errorf("media: clear %s %d: %w", table, id, err)
	}
	return nil
}

// MoveMediaOut moves the bytes that photos and attachments kept in the
// database into blobs, one row at a time: it puts them, reads them back
// to check their SHA-256 and size, and only then names them in the media
// row and deletes the old row, in one transaction. Stopped halfway, it
// goes on from where it was the next time; the bytes of a row put twice
// are kept once. It returns how many rows it moved.
func (s *Store) MoveMediaOut(ctx context.Context, blobs media.Blobs) (int, error) {
	moved := 0
	for {
		type pending struct {
			id, legacyID, size int64
			table              string
		}
		var batch []pending
		rows, err := s.write.QueryContext(ctx, "SELECT id, legacy_table, legacy_id, size FROM media WHERE legacy_table IS NOT NULL ORDER BY id LIMIT 100")
		if err != nil {
			return moved, fmt.Errorf("media move: %w", err)
		}
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.table, &p.legacyID, &p.size); err != nil {
				rows.Close()
				return moved, err
			}
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return moved, err
		}
		if len(batch) == 0 {
			if moved > 0 {
				s.log.Info("media moved out of the database", "rows", moved)
			}
			return moved, nil
		}
		for _, p := range batch {
			if !legacyTables[p.table] {
				return moved, fmt.Errorf("media move: row %d: unknown legacy table %q", p.id, p.table)
			}
			var data []byte
			err := s.write.QueryRowContext(ctx, "SELECT data FROM "+p.table+" WHERE id = $1", p.legacyID).Scan(&data)
			if err != nil {
				return moved, fmt.Errorf("media move: %s %d: %w", p.table, p.legacyID, err)
			}
			sum := sha256.Sum256(data)
			want := hex.EncodeToString(sum[:])
			sha, size, err := blobs.Put(ctx, bytes.NewReader(data))
			if err != nil {
				return moved, fmt.Errorf("media move: %s %d: %w", p.table, p.legacyID, err)
			}
			if sha != want || size != int64(len(data)) {
				return moved, fmt.Errorf("media move: %s %d: put %d bytes as %s, have %d hashing to %s", p.table, p.legacyID, size, sha, len(data), want)
			}
			if err := media.Verify(ctx, blobs, sha, size); err != nil {
				return moved, fmt.Errorf("media move: %s %d: %w", p.table, p.legacyID, err)
			}
			err = s.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, "UPDATE media SET sha256 = $1, size = $2, legacy_table = NULL, legacy_id = NULL WHERE id = $3",
					sha, size, p.id); err != nil {
					return err
				}
				return deleteLegacy(ctx, tx, p.table, p.legacyID)
			})
			if err != nil {
				return moved, fmt.Errorf("media move: %s %d: %w", p.table, p.legacyID, err)
			}
			moved++
		}
	}
}
