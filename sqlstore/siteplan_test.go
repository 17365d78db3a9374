package sqlstore_test

import (
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/siteplan"
	"github.com/shequ/shequ/sqlstore"
)

// TestSiteOutlines: outlines attach to a building by name and a grid by
// code, a new import replaces them, one naming nothing refuses the whole
// import, and another community's staff neither import nor read them.
func TestSiteOutlines(t *testing.T) {
	forEachDialect(t, func(t *testing.T, st *sqlstore.Store, clock *shequtest.Clock) {
		ctx := t.Context()
		tr := makeTree(t, st, "sp")
		other := makeTree(t, st, "sp2")
		staff := auth.Scope{{CommunityID: tr.community.ID}}
		foot := siteplan.Rect(siteplan.Point{Lat: 29.72, Lng: 106.63}, 40, 12)
		area := siteplan.Rect(siteplan.Point{Lat: 29.72, Lng: 106.63}, 200, 200)
		mustOK(t, st.ImportOutlines(ctx, staff, tr.community.ID, []siteplan.Outline{
			{Kind: siteplan.KindBuilding, Ref: tr.building1.Name, Ring: foot},
			{Kind: siteplan.KindGrid, Ref: tr.grid1.Code, Ring: area},
		}))
		got, err := st.SiteOutlines(ctx, staff, tr.community.ID)
		mustOK(t, err)
		if len(got.Buildings[tr.building1.ID]) != 4 || len(got.Grids[tr.grid1.ID]) != 4 || got.Buildings[tr.building1.ID][0] != foot[0] {
			t.Errorf("outlines %+v", got)
		}
		bigger := siteplan.Rect(siteplan.Point{Lat: 29.72, Lng: 106.63}, 60, 12)
		err = st.ImportOutlines(ctx, staff, tr.community.ID, []siteplan.Outline{
			{Kind: siteplan.KindBuilding, Ref: tr.building1.Name, Ring: bigger},
			{Kind: siteplan.KindBuilding, Ref: "no such building", Ring: bigger},
		})
		if shequ.ErrorCode(err) != shequ.EINVALID {
			t.Errorf("an outline naming nothing: %v", err)
		}
		if got, _ := st.SiteOutlines(ctx, staff, tr.community.ID); got.Buildings[tr.building1.ID][1] != foot[1] {
			t.Errorf("a refused import changed an outline")
		}
		mustOK(t, st.ImportOutlines(ctx, staff, tr.community.ID, []siteplan.Outline{{Kind: siteplan.KindBuilding, Ref: tr.building1.Name, Ring: bigger}}))
		if got, _ := st.SiteOutlines(ctx, staff, tr.community.ID); got.Buildings[tr.building1.ID][1] != bigger[1] {
			t.Errorf("a new import did not replace the footprint")
		}
		outsider := auth.Scope{{CommunityID: other.community.ID}}
		if err := st.ImportOutlines(ctx, outsider, tr.community.ID, nil); shequ.ErrorCode(err) != shequ.EFORBIDDEN {
			t.Errorf("another community imports: %v", err)
		}
		if got, _ := st.SiteOutlines(ctx, outsider, tr.community.ID); len(got.Buildings) != 0 {
			t.Errorf("another community reads the outlines")
		}
	})
}
