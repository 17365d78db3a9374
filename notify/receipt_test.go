package notify

import (
	"testing"
	"time"
)

func TestReceiptStatus(t *testing.T) {
	for _, tc := range []struct{ word, want string }{
		{"DELIVRD", "delivered"},
		{"delivered", "delivered"},
		{"UNDELIV", "failed"},
		{"EXPIRED", "failed"},
		{"REJECTD", "failed"},
		{"failed", "failed"},
		{"ENROUTE", ""},
		{"ACCEPTD", ""},
		{"", ""},
	} {
		if got := ReceiptStatus(tc.word); got != tc.want {
			t.Errorf("ReceiptStatus(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

func TestReceiptSettles(t *testing.T) {
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		r          Receipt
		ok         bool
		status     string
		errorWords string
	}{
		{Receipt{Key: "k", MessageID: "m", Status: "DELIVRD"}, true, "delivered", ""},
		{Receipt{MessageID: "m", Status: "UNDELIV"}, true, "failed", "UNDELIV"},
		{Receipt{Key: "k", Status: "failed", Error: "number unknown"}, true, "failed", "number unknown"},
		{Receipt{Key: "k", Status: "ENROUTE"}, false, "", ""},
	} {
		got, ok := tc.r.Settles(at)
		if ok != tc.ok || got.Status != tc.status || got.Error != tc.errorWords {
			t.Errorf("%+v settles %+v %v, want %s %q", tc.r, got, ok, tc.status, tc.errorWords)
			continue
		}
		if ok && (got.Key != tc.r.Key || got.GatewayID != tc.r.MessageID || !got.At.Equal(at)) {
			t.Errorf("%+v settles %+v: names or time lost", tc.r, got)
		}
	}
}
