package web

import (
	"errors"
	"net/http"
	"testing"

	"github.com/shequ/shequ"
)

// TestErrorStatus: a refused step answers with the API's status for its
// code; an error a page does not explain beside its form answers 0, so that
// the caller hands it to the error page.
func TestErrorStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{shequ.Errorf(shequ.ECONFLICT, "acknowledged already"), http.StatusConflict},
		{shequ.Invalid(map[string]string{"code": "is required"}), http.StatusUnprocessableEntity},
		{shequ.Errorf(shequ.ENOTFOUND, "no such incident"), 0},
		{shequ.Errorf(shequ.EFORBIDDEN, "not yours"), 0},
		{errors.New("disk full"), 0},
	} {
		if got := errorStatus(tc.err); got != tc.want {
			t.Errorf("errorStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
