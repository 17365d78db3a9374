package siteplan

import (
	"math"
	"strings"
	"testing"
)

func TestFrame(t *testing.T) {
	tests := []struct {
		name       string
		ps         []Point
		at         Point
		wantX      float64
		wantY      float64
		wantHeight float64
	}{
		{"north-west corner at the margin", []Point{{30, 106}, {29.99, 106.01}}, Point{30, 106}, 10, 10, 0},
		{"south-east corner at the far margin", []Point{{30, 106}, {29.99, 106.01}}, Point{29.99, 106.01}, 110, 0, 0},
		{"no places: an empty square", nil, Point{}, 10, 10, 120},
		{"unknown places are left out", []Point{{0, 0}, {30, 106}, {29.99, 106.01}}, Point{30, 106}, 10, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := FrameFor(tt.ps, 120, 10)
			x, y := f.XY(tt.at)
			if math.Abs(x-tt.wantX) > 0.01 || (tt.wantY != 0 && math.Abs(y-tt.wantY) > 0.01) {
				t.Errorf("XY = %.2f,%.2f, want %.2f,%.2f", x, y, tt.wantX, tt.wantY)
			}
			if tt.wantHeight != 0 && f.Height != tt.wantHeight {
				t.Errorf("height %v, want %v", f.Height, tt.wantHeight)
			}
		})
	}
	// North is up and a degree east is shorter than a degree north by the
	// cosine of the latitude.
	f := FrameFor([]Point{{30, 106}, {29.99, 106.01}}, 120, 10)
	_, yN := f.XY(Point{30, 106})
	_, yS := f.XY(Point{29.99, 106})
	if yS <= yN {
		t.Errorf("south (%v) is not below north (%v)", yS, yN)
	}
	if want := math.Ceil(100/math.Cos(29.995*math.Pi/180) + 20); f.Height != want {
		t.Errorf("height %v, want %v", f.Height, want)
	}
}

func TestRect(t *testing.T) {
	c := Point{29.72, 106.63}
	r := Rect(c, 40, 12)
	if len(r) != 4 {
		t.Fatalf("%d corners", len(r))
	}
	ns := (r[0].Lat - r[3].Lat) * metresPerDegree
	ew := (r[1].Lng - r[0].Lng) * metresPerDegree * math.Cos(c.Lat*math.Pi/180)
	if math.Abs(ns-12) > 0.01 || math.Abs(ew-40) > 0.01 {
		t.Errorf("rectangle %.2f m × %.2f m, want 40 × 12", ew, ns)
	}
	if got := r.Centre(); math.Abs(got.Lat-c.Lat) > 1e-9 || math.Abs(got.Lng-c.Lng) > 1e-9 {
		t.Errorf("centre %v, want %v", got, c)
	}
}

func TestDraw(t *testing.T) {
	p := Plan{
		Grids:     []Shape{{ID: 1, Label: "第一网格", Ring: Ring{{30, 106}, {30, 106.01}, {29.99, 106.01}, {29.99, 106}}}},
		Buildings: []Shape{{ID: 7, Label: "1号楼", Ring: Rect(Point{29.995, 106.005}, 40, 12)}, {ID: 8, Label: "2号楼", At: Point{29.996, 106.006}}, {ID: 9, Label: "nowhere"}},
		Markers:   []Marker{{ID: 3, Kind: "speaker", Label: "喇叭", At: Point{29.995, 106.005}}, {ID: 4, Kind: "camera"}},
	}
	d := Draw(p, 400)
	// A live marker far off is drawn where the frame puts it, and does not
	// move the rest.
	p.Live = []Marker{{ID: 5, Kind: "incident", At: Point{29.995, 106.005}}, {ID: 6, Kind: "staff", At: Point{29.5, 106.5}}}
	withLive := Draw(p, 400)
	if withLive.Height != d.Height || withLive.Buildings[0].X != d.Buildings[0].X || len(withLive.Live) != 2 || withLive.Live[0].X != d.Buildings[0].X {
		t.Errorf("live markers moved the plan: %+v", withLive.Live)
	}
	if len(d.Grids) != 1 || !strings.HasPrefix(d.Grids[0].Path, "M24 24 L") || !strings.HasSuffix(d.Grids[0].Path, " Z") {
		t.Errorf("grid %+v", d.Grids)
	}
	if len(d.Buildings) != 2 || !d.Buildings[0].HasRing || d.Buildings[1].HasRing || d.Buildings[1].Path != "" {
		t.Errorf("buildings %+v", d.Buildings)
	}
	if len(d.Markers) != 1 || d.Markers[0].X != d.Buildings[0].X || d.Markers[0].Y != d.Buildings[0].Y {
		t.Errorf("the speaker is not at its building: %+v vs %+v", d.Markers, d.Buildings[0])
	}
	if d.ViewBox != "0 0 400 "+d.Height {
		t.Errorf("view box %q", d.ViewBox)
	}
}

func TestParseGeoJSON(t *testing.T) {
	good := `{"type":"FeatureCollection","features":[
		{"type":"Feature","properties":{"kind":"building","building":"1号楼"},"geometry":{"type":"Polygon","coordinates":[[[106.63,29.72],[106.631,29.72],[106.631,29.7205],[106.63,29.7205],[106.63,29.72]]]}},
		{"type":"Feature","properties":{"kind":"grid","grid":"g01"},"geometry":{"type":"Polygon","coordinates":[[[106.62,29.71],[106.64,29.71],[106.64,29.73]]]}}]}`
	os, err := ParseGeoJSON([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 2 || os[0].Kind != KindBuilding || os[0].Ref != "1号楼" || len(os[0].Ring) != 4 || os[0].Ring[1] != (Point{29.72, 106.631}) || os[1].Ref != "g01" {
		t.Errorf("outlines %+v", os)
	}
	if back, err := DecodeRing(os[0].Ring.Encode()); err != nil || len(back) != 4 || back[2] != os[0].Ring[2] {
		t.Errorf("round trip %v %v", back, err)
	}
	bad := []struct{ name, doc, want string }{
		{"not JSON", `{`, "not GeoJSON"},
		{"a single feature", `{"type":"Feature"}`, "FeatureCollection"},
		{"no kind", `{"type":"FeatureCollection","features":[{"properties":{},"geometry":{"type":"Polygon","coordinates":[]}}]}`, "feature 1: properties.kind"},
		{"no name", `{"type":"FeatureCollection","features":[{"properties":{"kind":"grid"},"geometry":{"type":"Polygon","coordinates":[]}}]}`, "properties.grid must name it"},
		{"a point", `{"type":"FeatureCollection","features":[{"properties":{"kind":"grid","grid":"g"},"geometry":{"type":"Point","coordinates":[1,2]}}]}`, "want a Polygon"},
		{"two points", `{"type":"FeatureCollection","features":[{"properties":{"kind":"grid","grid":"g"},"geometry":{"type":"Polygon","coordinates":[[[106,29],[106.1,29],[106,29]]]}}]}`, "3 to 500 points, has 2"},
		{"latitude out of range", `{"type":"FeatureCollection","features":[{"properties":{"kind":"grid","grid":"g"},"geometry":{"type":"Polygon","coordinates":[[[106,95],[106.1,29],[106,29.1]]]}}]}`, "is not a place"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseGeoJSON([]byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// TestOffset: metres east and north are drawn east and north, and an
// entrance on a footprint's face lies on its ring's edge.
func TestOffset(t *testing.T) {
	c := Point{Lat: 29.72, Lng: 106.63}
	for _, tt := range []struct{ east, north float64 }{{0, 0}, {15, 0}, {-15, -7}, {0, 100}} {
		p := Offset(c, tt.east, tt.north)
		f := FrameFor([]Point{c, Offset(c, 200, 200), Offset(c, -200, -200)}, 400, 0)
		cx, cy := f.XY(c)
		px, py := f.XY(p)
		// x grows east, y south.
		if (tt.north > 0 && py >= cy) || (tt.north < 0 && py <= cy) || (tt.east > 0 && px <= cx) || (tt.east < 0 && px >= cx) {
			t.Errorf("Offset(%v, %v) drawn at (%v, %v) from (%v, %v)", tt.east, tt.north, px, py, cx, cy)
		}
	}
	r := Rect(c, 60, 14)
	if s := Offset(c, 0, -7); math.Abs(s.Lat-r[2].Lat) > 1e-9 || math.Abs(s.Lat-r[3].Lat) > 1e-9 {
		t.Errorf("the south face's middle %v is not on the ring's south edge %v", s, r[2:])
	}
	if e := Offset(c, 30, 0); math.Abs(e.Lng-r[1].Lng) > 1e-9 {
		t.Errorf("the east end %v is not the ring's east edge %v", e, r[1])
	}
}
