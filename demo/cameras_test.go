package demo_test

import (
	"testing"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/sqlstore"
)

// Every building's two unit entrances are covered by a camera, and the
// gate cameras see the road.
func TestDemoCameraCoverage(t *testing.T) {
	st, res := loadDemo(t, sqlstore.SQLite)
	ctx := t.Context()
	all := auth.Scope{{}}
	bs, err := st.ListBuildings(ctx, all, community.Filter{CommunityID: res.CommunityID, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bs.Items {
		cams, err := st.ListCameras(ctx, all, evidence.CameraFilter{BuildingID: b.ID, Page: shequ.Page{Limit: shequ.MaxLimit}})
		if err != nil {
			t.Fatal(err)
		}
		entrances := map[string]bool{}
		for _, c := range cams.Items {
			for _, cv := range c.Coverage {
				if cv.Kind == evidence.CoverEntrance && cv.BuildingID == b.ID {
					entrances[cv.Label] = true
				}
			}
		}
		if !entrances["1单元入口"] || !entrances["2单元入口"] {
			t.Errorf("%s: entrances covered %v", b.Name, entrances)
		}
	}
	cams, err := st.ListCameras(ctx, all, evidence.CameraFilter{Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		t.Fatal(err)
	}
	roads := 0
	for _, c := range cams.Items {
		if len(c.Coverage) == 0 || c.LiveURL == "" {
			t.Errorf("camera %s: coverage %v, live %q", c.Name, c.Coverage, c.LiveURL)
		}
		if c.Coverage[0].Kind == evidence.CoverRoad {
			roads++
		}
	}
	if cams.Total != 112 || roads != 28 {
		t.Errorf("%d cameras, %d on the roads", cams.Total, roads)
	}
}
