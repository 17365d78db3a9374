// Package siteplan draws a community's site plan: it turns buildings'
// footprints, grids' outlines and the points of devices, open incidents
// and staff (latitude and longitude) into the coordinates of an SVG
// drawing the server renders, and reads footprints and outlines from
// GeoJSON. It is pure: no storage, no HTTP, no map tiles.
package siteplan

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Point is a place on the earth.
type Point struct {
	Lat, Lng float64
}

// Valid reports whether p is a place (0,0 is "not known" in the model).
func (p Point) Valid() bool {
	return (p.Lat != 0 || p.Lng != 0) && p.Lat >= -90 && p.Lat <= 90 && p.Lng >= -180 && p.Lng <= 180
}

// Ring is a closed outline: a polygon's points in order, the first not
// repeated at the end.
type Ring []Point

// Centre is the mean of the ring's points, where its label goes.
func (r Ring) Centre() Point {
	var c Point
	if len(r) == 0 {
		return c
	}
	for _, p := range r {
		c.Lat += p.Lat
		c.Lng += p.Lng
	}
	return Point{c.Lat / float64(len(r)), c.Lng / float64(len(r))}
}

// metresPerDegree is the length of a degree of latitude.
const metresPerDegree = 111_320.0

// Offset is the point east and north metres from c (west and south when
// negative): where on a footprint an entrance stands.
func Offset(c Point, east, north float64) Point {
	return Point{Lat: c.Lat + north/metresPerDegree, Lng: c.Lng + east/(metresPerDegree*math.Cos(c.Lat*math.Pi/180))}
}

// Rect is a w×h metre rectangle centred on c, as a ring: a footprint
// where none was surveyed.
func Rect(c Point, w, h float64) Ring {
	dLat := h / 2 / metresPerDegree
	dLng := w / 2 / (metresPerDegree * math.Cos(c.Lat*math.Pi/180))
	return Ring{{c.Lat + dLat, c.Lng - dLng}, {c.Lat + dLat, c.Lng + dLng}, {c.Lat - dLat, c.Lng + dLng}, {c.Lat - dLat, c.Lng - dLng}}
}

// Shape is a building or a grid on the plan: its outline, or only its
// point when it has none.
type Shape struct {
	ID    int64
	Label string
	Ring  Ring
	At    Point
}

// Marker is a point on the plan: a loudspeaker, a camera, an access
// point, an incident, a staff member. Kind says which and is the class
// the page styles it by.
type Marker struct {
	ID    int64
	Kind  string
	Label string
	// State is what the marker's device was last found to be (online,
	// offline, degraded, unknown); "" for markers that are no device.
	State string
	At    Point
}

// Plan is what to draw. Live markers (open incidents, staff on duty) are
// placed in the frame the rest sets, so that the drawing does not shift
// when one comes or goes.
type Plan struct {
	Grids, Buildings []Shape
	Markers          []Marker
	Live             []Marker
}

// Frame maps places to the drawing: an equirectangular projection (a
// neighbourhood is small enough) scaled into a box Width wide, north up,
// with a margin.
type Frame struct {
	Width, Height  float64
	minLat, maxLat float64
	minLng         float64
	scale          float64 // drawing units per degree of longitude
	cos            float64
	margin         float64
}

// FrameFor fits the places ps into a drawing width wide. With no places
// it is an empty square.
func FrameFor(ps []Point, width, margin float64) Frame {
	f := Frame{Width: width, Height: width, margin: margin, cos: 1}
	first := true
	var maxLng float64
	for _, p := range ps {
		if !p.Valid() {
			continue
		}
		if first {
			f.minLat, f.maxLat, f.minLng, maxLng, first = p.Lat, p.Lat, p.Lng, p.Lng, false
			continue
		}
		f.minLat, f.maxLat = math.Min(f.minLat, p.Lat), math.Max(f.maxLat, p.Lat)
		f.minLng, maxLng = math.Min(f.minLng, p.Lng), math.Max(maxLng, p.Lng)
	}
	if first {
		return f
	}
	f.cos = math.Cos((f.minLat + f.maxLat) / 2 * math.Pi / 180)
	spanX := (maxLng - f.minLng) * f.cos
	spanY := f.maxLat - f.minLat
	inner := width - 2*margin
	switch {
	case spanX > 0:
		f.scale = inner / spanX
	case spanY > 0:
		f.scale = inner / spanY
	default:
		f.scale = 1
	}
	f.Height = math.Ceil(spanY*f.scale + 2*margin)
	return f
}

// XY is where p is drawn.
func (f Frame) XY(p Point) (x, y float64) {
	return f.margin + (p.Lng-f.minLng)*f.cos*f.scale, f.margin + (f.maxLat-p.Lat)*f.scale
}

// Path is an SVG path of a ring, closed.
func (f Frame) Path(r Ring) string {
	var b strings.Builder
	for i, p := range r {
		x, y := f.XY(p)
		if i == 0 {
			b.WriteString("M")
		} else {
			b.WriteString(" L")
		}
		b.WriteString(num(x) + " " + num(y))
	}
	if len(r) > 0 {
		b.WriteString(" Z")
	}
	return b.String()
}

// num writes a coordinate with one decimal: a tenth of a drawing unit is
// finer than a screen shows.
func num(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// DrawnShape is a shape as drawn: its path (empty for a shape drawn as a
// point) and where its label and point go.
type DrawnShape struct {
	ID      int64
	Label   string
	Path    string
	X, Y    string
	HasRing bool
}

// DrawnMarker is a marker as drawn.
type DrawnMarker struct {
	ID    int64
	Kind  string
	Label string
	State string
	X, Y  string
}

// Drawing is a plan ready for the template: every coordinate written.
type Drawing struct {
	Width, Height string
	ViewBox       string
	Grids         []DrawnShape
	Buildings     []DrawnShape
	Markers       []DrawnMarker
	Live          []DrawnMarker
}

// Draw lays the plan out in a drawing width wide.
func Draw(p Plan, width float64) Drawing {
	var pts []Point
	for _, ss := range [][]Shape{p.Grids, p.Buildings} {
		for _, s := range ss {
			pts = append(pts, s.Ring...)
			pts = append(pts, s.At)
		}
	}
	for _, m := range p.Markers {
		pts = append(pts, m.At)
	}
	f := FrameFor(pts, width, 24)
	d := Drawing{Width: num(f.Width), Height: num(f.Height), ViewBox: fmt.Sprintf("0 0 %s %s", num(f.Width), num(f.Height))}
	shapes := func(ss []Shape) []DrawnShape {
		var out []DrawnShape
		for _, s := range ss {
			at := s.At
			if len(s.Ring) >= 3 {
				at = s.Ring.Centre()
			}
			if !at.Valid() {
				continue
			}
			x, y := f.XY(at)
			ds := DrawnShape{ID: s.ID, Label: s.Label, X: num(x), Y: num(y)}
			if len(s.Ring) >= 3 {
				ds.Path, ds.HasRing = f.Path(s.Ring), true
			}
			out = append(out, ds)
		}
		return out
	}
	d.Grids, d.Buildings = shapes(p.Grids), shapes(p.Buildings)
	markers := func(ms []Marker) []DrawnMarker {
		var out []DrawnMarker
		for _, m := range ms {
			if !m.At.Valid() {
				continue
			}
			x, y := f.XY(m.At)
			out = append(out, DrawnMarker{ID: m.ID, Kind: m.Kind, Label: m.Label, State: m.State, X: num(x), Y: num(y)})
		}
		return out
	}
	d.Markers, d.Live = markers(p.Markers), markers(p.Live)
	return d
}
