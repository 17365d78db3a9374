package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// blobOf is what the media route helper hands the store for data it has
// put: its SHA-256, size and sniffed type.
func blobOf(data []byte) media.Media {
	sum := sha256.Sum256(data)
	return media.Media{SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), ContentType: media.BaseType(http.DetectContentType(data))}
}

// failingBlobs fails every Put after the first ok ones: a start stopped
// halfway through moving the bytes out.
type failingBlobs struct {
	media.Blobs
	ok int
}

func (f *failingBlobs) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	if f.ok == 0 {
		return "", 0, errors.New("disk full")
	}
	f.ok--
	return f.Blobs.Put(ctx, r)
}

// TestMoveMediaOut runs migration 11 on a database holding photos and
// attachments in their old tables and moves their bytes out, stopped once
// halfway: every row is kept, photos keep their ids, and the bytes behind
// each row hash to its SHA-256.
func TestMoveMediaOut(t *testing.T) {
	for _, d := range sqlstoretest.Dialects() {
		t.Run(d, func(t *testing.T) {
			ctx := t.Context()
			st, clock := storeAtVersion(t, d, 10)
			ct := contentTreeOf(makePlaces(t, st, "mv"))
			db := st.DB()
			// The notice as version 10 wrote it: today's writes have
			// columns its table has not.
			var n content.Notice
			mustOK(t, db.QueryRowContext(ctx, `INSERT INTO notices (community_id, title, body, category, audience, publish_at, pinned, important, created_at, updated_at)
				VALUES ($1, '旧附件', '旧附件 的内容', 'notice', 'community', $2, FALSE, FALSE, $2, $2) RETURNING id`, ct.community.ID, clock.Now()).Scan(&n.ID))

			// Rows as the old code wrote them; ids with gaps, as deletions leave.
			type old struct {
				table string
				id    int64
				data  []byte
			}
			var rows []old
			for i, owner := range []string{"matter", "matter", "lostfound", "incident", "matter"} {
				data := append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{byte(i)}, 1000*(i+1))...)
				id := int64(3*i + 2)
				_, err := db.ExecContext(ctx, "INSERT INTO photos (id, community_id, owner, owner_id, content_type, data, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
					id, ct.community.ID, owner, 40+i%2, "image/png", data, nil, clock.Now())
				mustOK(t, err)
				rows = append(rows, old{"photos", id, data})
			}
			for i := 1; i <= 3; i++ {
				data := []byte(fmt.Sprintf("%%PDF-1.4 form %d %s", i, bytes.Repeat([]byte("x"), 500*i)))
				var id int64
				err := db.QueryRowContext(ctx, "INSERT INTO attachments (community_id, owner_kind, owner_id, n, name, content_type, size, data, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
					ct.community.ID, content.KindNotice, n.ID, i, fmt.Sprintf("表%d.pdf", i), "application/pdf", len(data), data, nil, clock.Now()).Scan(&id)
				mustOK(t, err)
				rows = append(rows, old{"attachments", id, data})
			}

			if v, err := st.Migrate(ctx); err != nil || v < 11 {
				t.Fatalf("migrate: %d %v", v, err)
			}
			dir := t.TempDir()
			blobs, err := disk.New(dir)
			mustOK(t, err)
			moved, err := st.MoveMediaOut(ctx, &failingBlobs{Blobs: blobs, ok: 3})
			if err == nil || moved != 3 {
				t.Fatalf("stopped move: %d %v", moved, err)
			}
			moved, err = st.MoveMediaOut(ctx, blobs)
			mustOK(t, err)
			if moved != len(rows)-3 {
				t.Errorf("moved %d on the second start, want %d", moved, len(rows)-3)
			}
			if again, err := st.MoveMediaOut(ctx, blobs); err != nil || again != 0 {
				t.Errorf("third start moved %d: %v", again, err)
			}
			for _, table := range []string{"photos", "attachments"} {
				var left int
				mustOK(t, db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&left))
				if left != 0 {
					t.Errorf("%d rows left in %s", left, table)
				}
			}

			check := func(what string, got media.Media, want []byte) {
				t.Helper()
				sum := sha256.Sum256(want)
				if got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(want)) {
					t.Errorf("%s: row %+v, want %d bytes", what, got, len(want))
				}
				if err := media.Verify(ctx, blobs, got.SHA256, int64(len(want))); err != nil {
					t.Errorf("%s: %v", what, err)
				}
			}
			for _, r := range rows[:5] {
				var got media.Media
				mustOK(t, db.QueryRowContext(ctx, "SELECT id, owner_kind, owner_id, kind, content_type, size, sha256 FROM media WHERE id = $1", r.id).
					Scan(&got.ID, &got.OwnerKind, &got.OwnerID, &got.Kind, &got.ContentType, &got.Size, &got.SHA256))
				if got.Kind != "photo" || got.ContentType != "image/png" {
					t.Errorf("photo %d became %+v", r.id, got)
				}
				if got.OwnerKind == "matter" {
					ids, err := st.MatterPhotoIDs(ctx, got.OwnerID)
					mustOK(t, err)
					if !slices.Contains(ids, r.id) {
						t.Errorf("photo %d not among matter %d's %v", r.id, got.OwnerID, ids)
					}
				}
				check(fmt.Sprintf("photo %d", r.id), got, r.data)
			}
			for i, r := range rows[5:] {
				x, err := st.Attachment(ctx, ct.admin, ct.admin, content.KindNotice, n.ID, i+1)
				mustOK(t, err)
				if x.Name != fmt.Sprintf("表%d.pdf", i+1) || x.ContentType != "application/pdf" || x.Size != len(r.data) {
					t.Errorf("attachment %d: %+v", i+1, x)
				}
				check(x.Name, media.Media{SHA256: x.SHA256, Size: int64(x.Size)}, r.data)
			}

			// What comes next takes ids after the photos kept theirs.
			x := content.Attachment{Name: "新.png", ContentType: "image/png"}
			png := append([]byte("\x89PNG\r\n\x1a\n"), 7, 7, 7)
			mustOK(t, st.AddAttachment(auth.WithActor(ctx, &auth.Actor{}), ct.admin, content.KindNotice, n.ID, &x, blobOf(png)))
			if x.N != 4 {
				t.Errorf("new attachment numbered %d", x.N)
			}
			var maxID, count int64
			mustOK(t, db.QueryRowContext(ctx, "SELECT MAX(id), COUNT(*) FROM media").Scan(&maxID, &count))
			if count != int64(len(rows)+1) || maxID <= 14 {
				t.Errorf("media rows %d, max id %d", count, maxID)
			}
		})
	}
}

// TestSweepMedia removes the bytes of deleted rows once no row names them,
// and keeps bytes another row still names.
func TestSweepMedia(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := auth.WithActor(t.Context(), &auth.Actor{})
		ct := makeContentTree(t, st, "sw")
		n1 := ct.notice(t, st, "一", content.Community(), nil)
		n2 := ct.notice(t, st, "二", content.Community(), nil)
		blobs, err := disk.New(t.TempDir())
		mustOK(t, err)
		put := func(data []byte) media.Media {
			m := blobOf(data)
			sha, _, err := blobs.Put(ctx, bytes.NewReader(data))
			mustOK(t, err)
			m.SHA256 = sha
			return m
		}
		shared := put([]byte("%PDF-1.4 shared"))
		alone := put([]byte("%PDF-1.4 alone"))
		for _, n := range []int64{n1.ID, n2.ID} {
			x := content.Attachment{Name: "a.pdf", ContentType: "application/pdf"}
			mustOK(t, st.AddAttachment(ctx, ct.admin, content.KindNotice, n, &x, shared))
		}
		x := content.Attachment{Name: "b.pdf", ContentType: "application/pdf"}
		mustOK(t, st.AddAttachment(ctx, ct.admin, content.KindNotice, n1.ID, &x, alone))
		refused := put([]byte("%PDF-1.4 refused"))
		mustOK(t, st.ReleaseMedia(ctx, refused.SHA256))

		mustOK(t, st.DeleteNotice(ctx, ct.admin, n1.ID))
		if removed, err := st.SweepMedia(ctx, blobs, time.Hour); err != nil || removed != 0 {
			t.Errorf("sweep within the grace: %d %v", removed, err)
		}
		clock.Advance(2 * time.Hour)
		if removed, err := st.SweepMedia(ctx, blobs, 0); err != nil || removed != 2 {
			t.Errorf("sweep: removed %d, %v; want the lone file and the refused one", removed, err)
		}
		if err := media.Verify(ctx, blobs, shared.SHA256, shared.Size); err != nil {
			t.Errorf("bytes another notice names: %v", err)
		}
		for _, m := range []media.Media{alone, refused} {
			if _, err := blobs.Open(ctx, m.SHA256); shequ.ErrorCode(err) != shequ.ENOTFOUND {
				t.Errorf("bytes of no row left: %v", err)
			}
		}
		if removed, err := st.SweepMedia(ctx, blobs, 0); err != nil || removed != 0 {
			t.Errorf("second sweep: %d %v", removed, err)
		}
	})
}
