package shequ_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/shequ/shequ"
)

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name  string
		check func(p shequ.Problems)
		want  map[string]string // nil: no error
	}{
		{"nothing wrong", func(p shequ.Problems) {
			p.RequireText("name", "东湖社区", 4)
			p.OptionalText("note", "", 10)
		}, nil},
		{"required and blank", func(p shequ.Problems) {
			p.RequireText("name", " \t", 10)
		}, map[string]string{"name": "is required"}},
		{"required and too long", func(p shequ.Problems) {
			p.RequireText("name", "东湖社区服务站", 4)
		}, map[string]string{"name": "must be at most 4 characters"}},
		{"runes are counted, not bytes", func(p shequ.Problems) {
			p.OptionalText("note", strings.Repeat("字", 10), 10)
		}, nil},
		{"optional and too long", func(p shequ.Problems) {
			p.OptionalText("note", "abcdefghijk", 10)
		}, map[string]string{"note": "must be at most 10 characters"}},
		{"the first problem of a field stays", func(p shequ.Problems) {
			p.RequireText("name", "", 10)
			p.Add("name", "is taken")
		}, map[string]string{"name": "is required"}},
		{"formatted and one per field", func(p shequ.Problems) {
			p.Add("floor", "must be between %d and %d", -5, 120)
			p.Add("lat", "must be between -90 and 90")
		}, map[string]string{"floor": "must be between -5 and 120", "lat": "must be between -90 and 90"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := shequ.Problems{}
			tc.check(p)
			err := p.Err()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Err() = %v, want nil", err)
				}
				return
			}
			var e *shequ.Error
			if !errors.As(err, &e) {
				t.Fatalf("Err() = %v, want a *shequ.Error", err)
			}
			if e.Code != shequ.EINVALID || e.Message != "the input is not valid" {
				t.Errorf("code %q message %q, want %q %q", e.Code, e.Message, shequ.EINVALID, "the input is not valid")
			}
			if !maps.Equal(e.Fields, tc.want) {
				t.Errorf("fields %v, want %v", e.Fields, tc.want)
			}
		})
	}
}
