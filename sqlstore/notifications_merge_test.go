package sqlstore

import (
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

func TestMergeTimeline(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	at := func(s int, action string) alarm.TimelineEntry {
		return alarm.TimelineEntry{At: t0.Add(time.Duration(s) * time.Second), Action: action}
	}
	for _, tc := range []struct {
		name       string
		log, notes []alarm.TimelineEntry
		want       string
	}{
		{"no messages", []alarm.TimelineEntry{at(0, "opened"), at(5, "ack")}, nil, "opened ack"},
		{"messages only", nil, []alarm.TimelineEntry{at(1, "n1"), at(2, "n2")}, "n1 n2"},
		{"between steps", []alarm.TimelineEntry{at(0, "opened"), at(5, "ack")}, []alarm.TimelineEntry{at(1, "n1"), at(6, "n2")}, "opened n1 ack n2"},
		{"the cause first at the same instant", []alarm.TimelineEntry{at(1, "opened")}, []alarm.TimelineEntry{at(1, "n1")}, "opened n1"},
	} {
		var got []string
		for _, e := range mergeTimeline(tc.log, tc.notes) {
			got = append(got, e.Action)
		}
		if s := strings.Join(got, " "); s != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, s, tc.want)
		}
	}
}
