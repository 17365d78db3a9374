package notify

import "testing"

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
