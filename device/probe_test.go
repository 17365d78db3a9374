package device

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/rtsp/rtsptest"
)

func TestProbes(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); r.URL.Path == "/admin" && (!ok || u != "admin" || p != "pw") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/broken" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer web.Close()
	cam := rtsptest.NewServer(t)
	cam.Username, cam.Password = "admin", "pw"
	audio := rtsptest.NewServer(t)
	audio.AudioOnly = true
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name   string
		check  Check
		status string
		reason string
	}{
		{"camera with digest", Check{Kind: CheckRTSP, URL: cam.URL(), Username: "admin", Password: "pw"}, community.DeviceOnline, ""},
		{"camera wrong password", Check{Kind: CheckRTSP, URL: cam.URL(), Username: "admin", Password: "no"}, community.DeviceDegraded, "credentials"},
		{"camera without video", Check{Kind: CheckRTSP, URL: audio.URL()}, community.DeviceDegraded, "no video track"},
		{"camera gone", Check{Kind: CheckRTSP, URL: "rtsp://" + closedAddr + "/s"}, community.DeviceOffline, "connection refused"},
		{"http ok", Check{Kind: CheckHTTP, URL: web.URL + "/"}, community.DeviceOnline, ""},
		{"http basic", Check{Kind: CheckHTTP, URL: web.URL + "/admin", Username: "admin", Password: "pw"}, community.DeviceOnline, ""},
		{"http 500", Check{Kind: CheckHTTP, URL: web.URL + "/broken"}, community.DeviceDegraded, "500"},
		{"http expect", Check{Kind: CheckHTTP, URL: web.URL + "/", ExpectStatus: 204}, community.DeviceDegraded, "200"},
		{"tcp up", Check{Kind: CheckTCP, Address: strings.TrimPrefix(web.URL, "http://")}, community.DeviceOnline, ""},
		{"tcp down", Check{Kind: CheckTCP, Address: closedAddr}, community.DeviceOffline, "connection refused"},
	}
	p := &Prober{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.Probe(t.Context(), Target{Check: tt.check})
			if r.Status != tt.status || !strings.Contains(r.Reason, tt.reason) || r.At.IsZero() {
				t.Fatalf("got %+v, want %s (%q)", r, tt.status, tt.reason)
			}
		})
	}
}
