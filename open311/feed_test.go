package open311

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shequ/shequ/matter"
)

// A streamed listing is byte for byte what Encode writes for the same
// requests built one by one (RequestOf's mapping): empty, one, and enough
// to be written in several pieces; requests at homes and away, with and
// without a point, a due time, media, a category unknown to the stream.
func TestRequestStreamEqualsEncode(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	cats := []matter.Category{{Code: "lift", Name: "电梯故障", SLAHours: 24}, {Code: "repair", Name: "报修"}}
	rng := rand.New(rand.NewPCG(3, 11))
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	row := func(i int) FeedRow {
		r := FeedRow{Tracking: fmt.Sprintf("SQ-20261128-%04d", i), Status: []string{matter.Submitted, matter.Resolved, matter.Rejected}[rng.IntN(3)],
			Category: []string{"lift", "repair", "gone"}[rng.IntN(3)], Description: fmt.Sprintf("楼道灯坏了 %d \"引\"\n", i), StatusNote: []string{"", "已派人"}[rng.IntN(2)],
			Address: []string{"", "东门", "宝圣东路社区"}[rng.IntN(3)], AtHome: rng.IntN(2) == 0,
			CreatedAt: at.Add(time.Duration(i) * time.Minute), UpdatedAt: at.Add(time.Duration(i) * time.Hour)}
		if rng.IntN(2) == 0 {
			r.DueAt = at.Add(24 * time.Hour)
		}
		if rng.IntN(2) == 0 {
			r.Lat, r.Lng = 29.72+float64(i)/1e4, 106.63
		}
		if rng.IntN(2) == 0 {
			r.Place = Place{BuildingID: int64(i % 7), Name: "A栋", Address: "宝圣东路1号A栋", Lat: 29.7, Lng: 106.6}
		}
		if rng.IntN(3) == 0 {
			r.MediaURL = "https://x.test/m/1?a=1&b=2"
		}
		return r
	}
	byCode := map[string]matter.Category{}
	for _, c := range cats {
		byCode[c.Code] = c
	}
	for _, n := range []int{0, 1, 2, 1500} {
		var rows []FeedRow
		want := Requests{}
		for i := range n {
			r := row(i)
			rows = append(rows, r)
			want = append(want, r.Request(View{Category: byCode[r.Category], Agency: "宝圣东路社区", Zone: cst}))
		}
		wantJSON, err := Encode(JSON, want)
		if err != nil {
			t.Fatal(err)
		}
		var got countingWriter
		s := NewRequestStream(&got, "宝圣东路社区", cst, cats)
		for i := range rows {
			if err := s.Add(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if n == 1500 && (!s.Started() || got.writes < 2) {
			t.Errorf("%d requests went in %d writes", n, got.writes)
		}
		if n < 10 && s.Started() {
			t.Errorf("%d requests were written before the end", n)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), wantJSON) {
			t.Errorf("%d requests: streamed\n%.600s\nencoded\n%.600s", n, got.Bytes(), wantJSON)
		}
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}
