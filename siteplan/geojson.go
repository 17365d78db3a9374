package siteplan

import (
	"encoding/json"
	"fmt"
)

// Outline is a footprint or an outline read from GeoJSON, for the store to
// attach: Kind is "building" or "grid", Ref the building's name or the
// grid's code that the feature's properties give.
type Outline struct {
	Kind string
	Ref  string
	Ring Ring
}

// Outline kinds.
const (
	KindBuilding = "building"
	KindGrid     = "grid"
)

// MaxPoints is how many points an outline may have.
const MaxPoints = 500

type geoJSON struct {
	Type     string `json:"type"`
	Features []struct {
		Type       string `json:"type"`
		Properties struct {
			Kind     string `json:"kind"`
			Building string `json:"building"`
			Grid     string `json:"grid"`
		} `json:"properties"`
		Geometry struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

// ParseGeoJSON reads a FeatureCollection of Polygons (the outer ring is
// used), each with properties naming what it outlines: {"kind":
// "building", "building": "3号楼"} or {"kind": "grid", "grid": "g01"}.
// Errors name the feature by its number, from 1.
func ParseGeoJSON(b []byte) ([]Outline, error) {
	var g geoJSON
	if err := json.Unmarshal(b, &g); err != nil {
		return nil, fmt.Errorf("not GeoJSON: %w", err)
	}
	if g.Type != "FeatureCollection" {
		return nil, fmt.Errorf("want a FeatureCollection, got %q", g.Type)
	}
	out := make([]Outline, 0, len(g.Features))
	for i, ft := range g.Features {
		n := i + 1
		o := Outline{Kind: ft.Properties.Kind}
		switch o.Kind {
		case KindBuilding:
			o.Ref = ft.Properties.Building
		case KindGrid:
			o.Ref = ft.Properties.Grid
		default:
			return nil, fmt.Errorf("feature %d: properties.kind must be building or grid", n)
		}
		if o.Ref == "" {
			return nil, fmt.Errorf("feature %d: properties.%s must name it", n, o.Kind)
		}
		if ft.Geometry.Type != "Polygon" {
			return nil, fmt.Errorf("feature %d: want a Polygon, got %q", n, ft.Geometry.Type)
		}
		var rings [][][]float64
		if err := json.Unmarshal(ft.Geometry.Coordinates, &rings); err != nil || len(rings) == 0 {
			return nil, fmt.Errorf("feature %d: coordinates are not a polygon", n)
		}
		outer := rings[0]
		if len(outer) > 1 && equal(outer[0], outer[len(outer)-1]) {
			outer = outer[:len(outer)-1] // GeoJSON closes rings; ours are closed implicitly
		}
		if len(outer) < 3 || len(outer) > MaxPoints {
			return nil, fmt.Errorf("feature %d: a polygon needs 3 to %d points, has %d", n, MaxPoints, len(outer))
		}
		for _, c := range outer {
			if len(c) < 2 {
				return nil, fmt.Errorf("feature %d: a position needs longitude and latitude", n)
			}
			p := Point{Lat: c[1], Lng: c[0]} // GeoJSON is longitude first
			if !p.Valid() {
				return nil, fmt.Errorf("feature %d: %v is not a place", n, c)
			}
			o.Ring = append(o.Ring, p)
		}
		out = append(out, o)
	}
	return out, nil
}

func equal(a, b []float64) bool {
	return len(a) >= 2 && len(b) >= 2 && a[0] == b[0] && a[1] == b[1]
}

// Encode writes a ring as the store keeps it: [[lng, lat], …], GeoJSON's
// order.
func (r Ring) Encode() string {
	cs := make([][2]float64, len(r))
	for i, p := range r {
		cs[i] = [2]float64{p.Lng, p.Lat}
	}
	b, _ := json.Marshal(cs)
	return string(b)
}

// DecodeRing reads what Encode wrote.
func DecodeRing(s string) (Ring, error) {
	var cs [][2]float64
	if err := json.Unmarshal([]byte(s), &cs); err != nil {
		return nil, fmt.Errorf("outline: %w", err)
	}
	r := make(Ring, len(cs))
	for i, c := range cs {
		r[i] = Point{Lat: c[1], Lng: c[0]}
	}
	return r, nil
}
