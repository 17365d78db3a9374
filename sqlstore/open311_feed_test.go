package sqlstore_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/open311"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
)

// The feed's rows, read lean with the texts scrubbed when written, equal
// the matters read whole and scrubbed on the spot: for matters filed by a
// resident and over Open311, a status note given later, and a matter
// written as an older build wrote it (no scrubbed texts), which the feed
// scrubs as it reads and the next migration run fills in.
func TestOpen311FeedRowsEqualWholeMatters(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "of")
		mustOK(t, st.CreateCategory(ctx, everywhere, &matter.Category{CommunityID: tr.community.ID, Code: "repair", Name: "维修", SLAHours: 72}))
		admin := auth.Scope{{CommunityID: tr.community.ID}}
		k := open311.Open311Key{CommunityID: tr.community.ID, Name: "hotline"}
		_, err := st.CreateOpen311Key(ctx, admin, &k)
		mustOK(t, err)
		away := matter.Matter{Category: "repair", Description: "路灯坏了，联系 139-1234-5678 或 a.b@example.org", Address: "东门 13912345678", Lat: 29.72, Lng: 106.63}
		mustOK(t, st.SubmitOpen311(ctx, k, &away, open311.Extra{BuildingID: tr.building2.ID, MediaURL: "https://example.org/p.jpg"}))
		clock.Advance(time.Minute)
		home := matter.Matter{PersonID: tr.alice.ID, Category: "repair", Description: "楼道灯坏了 500112195003011234"}
		mustOK(t, st.SubmitMatter(ctx, auth.Scope{{CommunityID: tr.community.ID, HouseholdID: tr.household1.ID}}, &home))
		_, err = st.StepMatter(ctx, admin, home.ID, matter.Step{Action: "accept", By: 1, Note: "师傅电话 13800001111"})
		mustOK(t, err)
		clock.Advance(time.Minute)
		old := matter.Matter{CommunityID: tr.community.ID, Category: "repair", Description: "旧版本写的 13912345678", Address: "南门", Channel: "office"}
		mustOK(t, st.SubmitMatter(ctx, admin, &old))
		_, err = st.DB().ExecContext(ctx, "UPDATE matters SET public_description = NULL, public_note = NULL, public_address = NULL WHERE id = $1", old.ID)
		mustOK(t, err)

		check := func(when string) {
			t.Helper()
			f := open311.Filter{CommunityID: tr.community.ID}
			whole, err := st.ListOpen311Requests(ctx, f)
			mustOK(t, err)
			var lean []open311.FeedRow
			mustOK(t, st.EachOpen311Request(ctx, f, func(r *open311.FeedRow) error {
				lean = append(lean, *r)
				return nil
			}))
			if len(lean) != 3 || len(whole) != 3 {
				t.Fatalf("%s: %d rows lean, %d whole", when, len(lean), len(whole))
			}
			for i, w := range whole {
				b := w.Building
				want := open311.FeedRowOf(w.Matter, open311.View{MediaURL: w.MediaURL, Place: open311.Place{BuildingID: b.ID, Name: b.Name, Address: b.Address, Lat: b.Lat, Lng: b.Lng}})
				if !reflect.DeepEqual(lean[i], want) {
					t.Errorf("%s: %s: lean\n%+v\nwhole\n%+v", when, w.Matter.Tracking, lean[i], want)
				}
			}
		}
		check("as written")
		var stored string
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT public_description || '|' || public_note || '|' || public_address FROM matters WHERE id = $1", away.ID).Scan(&stored))
		if stored != "路灯坏了，联系 *** 或 ***@***||东门 ***" {
			t.Errorf("stored public texts %q", stored)
		}
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT public_note FROM matters WHERE id = $1", home.ID).Scan(&stored))
		if stored != "师傅电话 ***" {
			t.Errorf("stored public note %q", stored)
		}
		_, err = st.Migrate(ctx)
		mustOK(t, err)
		var n int
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM matters WHERE public_description IS NULL OR public_note IS NULL OR public_address IS NULL").Scan(&n))
		mustOK(t, st.DB().QueryRowContext(ctx, "SELECT public_description FROM matters WHERE id = $1", old.ID).Scan(&stored))
		if n != 0 || stored != "旧版本写的 ***" {
			t.Errorf("after migrating again: %d unscrubbed, %q", n, stored)
		}
		check("after migrating again")
	})
}
