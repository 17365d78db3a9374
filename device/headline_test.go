package device

import (
	"slices"
	"testing"
)

// TestTroubleHeadline: a headline reads back as what made it, and other
// titles are not taken for one.
func TestTroubleHeadline(t *testing.T) {
	for _, tt := range []struct {
		place  string
		total  int
		names  []string
		title  string
		listed []string
	}{
		{"B栋", 40, []string{"1单元摄像头", "2单元摄像头"}, "B栋 40 devices offline: 1单元摄像头, 2单元摄像头", []string{"1单元摄像头", "2单元摄像头"}},
		{"", 1, []string{"东门 AP"}, "1 devices offline: 东门 AP", []string{"东门 AP"}},
		{"第1网格 A栋", 7, []string{"a", "b", "c", "d", "e", "f", "g"}, "第1网格 A栋 7 devices offline: a, b, c, d, e, …", []string{"a", "b", "c", "d", "e", "…"}},
	} {
		got := TroubleHeadline(tt.place, tt.total, tt.names)
		if got != tt.title {
			t.Errorf("TroubleHeadline(%q, %d, %v) = %q, want %q", tt.place, tt.total, tt.names, got, tt.title)
		}
		place, total, names, ok := ParseTroubleHeadline(got)
		if !ok || place != tt.place || total != tt.total || !slices.Equal(names, tt.listed) {
			t.Errorf("ParseTroubleHeadline(%q) = %q %d %v %v", got, place, total, names, ok)
		}
	}
	for _, other := range []string{"panic [PA]", "门被强行打开：A栋 1单元门", "x devices offline: a", ""} {
		if _, _, _, ok := ParseTroubleHeadline(other); ok {
			t.Errorf("%q was read as a device trouble headline", other)
		}
	}
}
