package demo

import (
	"context"
	"fmt"
	"math"

	"github.com/shequ/shequ/siteplan"
)

// footprintWidth and footprintDepth are the demo building's slab, in
// metres: its long side faces south.
const footprintWidth, footprintDepth = 60.0, 14.0

// entranceAt is where entrance e (1…entrances) of a building at c opens:
// on the slab's south face, the entrances spread evenly along it.
func entranceAt(c siteplan.Point, e int) siteplan.Point {
	east := (float64(e) - float64(entrances+1)/2) * footprintWidth / entrances
	return siteplan.Offset(c, east, -footprintDepth/2)
}

// sitePlanOf gives the demo's buildings synthetic footprints (a 60 × 14 m
// slab centred on each building's point) and each grid a boundary around
// its buildings, 15 m out, imported as a GeoJSON import would be.
func (b *builder) sitePlanOf(ctx context.Context) error {
	var outlines []siteplan.Outline
	type box struct{ minLat, maxLat, minLng, maxLng float64 }
	boxes := map[int64]*box{}
	for _, bd := range b.buildings {
		foot := siteplan.Rect(siteplan.Point{Lat: bd.Lat, Lng: bd.Lng}, footprintWidth, footprintDepth)
		outlines = append(outlines, siteplan.Outline{Kind: siteplan.KindBuilding, Ref: bd.Name, Ring: foot})
		x := boxes[bd.GridID]
		if x == nil {
			x = &box{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
			boxes[bd.GridID] = x
		}
		for _, p := range foot {
			x.minLat, x.maxLat = math.Min(x.minLat, p.Lat), math.Max(x.maxLat, p.Lat)
			x.minLng, x.maxLng = math.Min(x.minLng, p.Lng), math.Max(x.maxLng, p.Lng)
		}
	}
	const pad = 15.0 / 111_320 // 15 m in degrees of latitude
	for _, g := range b.grids {
		x := boxes[g.ID]
		if x == nil {
			continue
		}
		padLng := pad / math.Cos(x.minLat*math.Pi/180)
		outlines = append(outlines, siteplan.Outline{Kind: siteplan.KindGrid, Ref: g.Code, Ring: siteplan.Ring{
			{Lat: x.maxLat + pad, Lng: x.minLng - padLng}, {Lat: x.maxLat + pad, Lng: x.maxLng + padLng},
			{Lat: x.minLat - pad, Lng: x.maxLng + padLng}, {Lat: x.minLat - pad, Lng: x.minLng - padLng}}})
	}
	if err := b.st.ImportOutlines(ctx, b.everyone, b.community.ID, outlines); err != nil {
		return fmt.Errorf("site plan: %w", err)
	}
	return nil
}
