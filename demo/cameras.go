package demo

import (
	"context"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/evidence"
)

// camerasOf says what each demo camera sees: a building's cameras its
// two unit entrances and its bike shed, the gate cameras the road at the
// compound's gates, so that every building entrance is covered. The live
// view is the camera's RTSP address; the demo has no snapshot or recorder
// (its addresses are .invalid), which a site sets on each camera.
func (b *builder) camerasOf(ctx context.Context) error {
	cams, err := b.st.ListDevices(ctx, b.everyone, community.Filter{CommunityID: b.community.ID, Kind: community.DeviceCamera, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return err
	}
	for _, d := range cams.Items {
		c := evidence.Camera{DeviceID: d.ID, LiveURL: d.Address}
		spot := strings.TrimPrefix(d.Location, buildingName(d.Location)) // 1单元入口, 楼下车棚
		switch {
		case d.BuildingID != 0 && strings.HasSuffix(spot, "单元入口"):
			c.Coverage = []evidence.Coverage{{BuildingID: d.BuildingID, Kind: evidence.CoverEntrance, Label: spot}}
		case d.BuildingID != 0:
			c.Coverage = []evidence.Coverage{{BuildingID: d.BuildingID, Kind: evidence.CoverArea, Label: spot}}
		default:
			c.Coverage = []evidence.Coverage{{Kind: evidence.CoverRoad, Label: d.Location}}
		}
		if err := b.st.SetCamera(ctx, b.everyone, &c, false); err != nil {
			return fmt.Errorf("camera %s: %w", d.Name, err)
		}
	}
	return nil
}

// buildingName is the "X栋" a location begins with.
func buildingName(location string) string {
	if i := strings.Index(location, "栋"); i >= 0 {
		return location[:i+len("栋")]
	}
	return ""
}
