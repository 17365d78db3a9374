package retention

import (
	"testing"
	"time"

	"github.com/shequ/shequ"
)

func TestValidateAndPeriod(t *testing.T) {
	tests := []struct {
		kind string
		days int
		want string
	}{
		{"alarm_events", 365, ""},
		{"alarm_events", 179, shequ.EINVALID}, // under the lawful minimum
		{"access_log", 30, ""},
		{"audit", 1000, shequ.EINVALID}, // under the three years the law asks
		{"audit", 3650, ""},
		{"unknown", 30, shequ.EINVALID},
		{"device_checks", 100*365 + 1, shequ.EINVALID},
	}
	for _, tt := range tests {
		if got := shequ.ErrorCode(Validate(tt.kind, tt.days)); got != tt.want {
			t.Errorf("Validate(%s, %d) = %q, want %q", tt.kind, tt.days, got, tt.want)
		}
	}
	p, _ := Lookup("closed_matters")
	if got := Period(p, nil); got != 3*365*Day {
		t.Errorf("default period %v", got)
	}
	if got := Period(p, map[string]int{"closed_matters": 400}); got != 400*24*time.Hour {
		t.Errorf("set period %v", got)
	}
	for _, k := range []string{"alarm_events", "live_events", "access_log", "device_checks", "closed_matters", "audit"} {
		if _, ok := Lookup(k); !ok {
			t.Errorf("no policy for %s", k)
		}
	}
}
