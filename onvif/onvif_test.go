package onvif_test

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/onvif"
)

// fakeCamera is an ONVIF camera: a device and a media service that check
// the UsernameToken's PasswordDigest, and a snapshot behind HTTP Digest.
type fakeCamera struct {
	user, pass string
	srv        *httptest.Server
	calls      []string
}

func (f *fakeCamera) handler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/snapshot.jpg":
		if !onvif.CheckDigest(r.Header.Get("Authorization"), r.Method, "cam", "n0nce", f.user, f.pass) {
			w.Header().Set("WWW-Authenticate", `Digest realm="cam", nonce="n0nce", qop="auth"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write([]byte("\xff\xd8\xff\xe0fake jpeg"))
		return
	}
	body, _ := io.ReadAll(r.Body)
	var env struct {
		Token struct {
			Username string `xml:"Username"`
			Password string `xml:"Password"`
			Nonce    string `xml:"Nonce"`
			Created  string `xml:"Created"`
		} `xml:"Header>Security>UsernameToken"`
		Body struct {
			Inner []byte `xml:",innerxml"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	nonce, _ := base64.StdEncoding.DecodeString(env.Token.Nonce)
	if env.Token.Username != f.user || env.Token.Password != onvif.Digest(nonce, env.Token.Created, f.pass) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>ter:NotAuthorized</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">Sender not Authorized</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>`)
		return
	}
	inner := string(env.Body.Inner)
	var answer string
	switch {
	case r.URL.Path == "/onvif/device_service" && strings.Contains(inner, "GetCapabilities"):
		f.calls = append(f.calls, "GetCapabilities")
		answer = `<tds:GetCapabilitiesResponse><tds:Capabilities><tt:Media><tt:XAddr>` + f.srv.URL + `/onvif/media_service</tt:XAddr></tt:Media></tds:Capabilities></tds:GetCapabilitiesResponse>`
	case r.URL.Path == "/onvif/media_service" && strings.Contains(inner, "GetProfiles"):
		f.calls = append(f.calls, "GetProfiles")
		answer = `<trt:GetProfilesResponse><trt:Profiles token="main_1" fixed="true"><tt:Name>mainStream</tt:Name></trt:Profiles><trt:Profiles token="sub_1"><tt:Name>subStream</tt:Name></trt:Profiles></trt:GetProfilesResponse>`
	case r.URL.Path == "/onvif/media_service" && strings.Contains(inner, "<ProfileToken>main_1</ProfileToken>"):
		f.calls = append(f.calls, "GetSnapshotUri")
		answer = `<trt:GetSnapshotUriResponse><trt:MediaUri><tt:Uri>` + f.srv.URL + `/snapshot.jpg</tt:Uri><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:GetSnapshotUriResponse>`
	default:
		http.Error(w, "unexpected call "+r.URL.Path+" "+inner, 400)
		return
	}
	w.Header().Set("Content-Type", "application/soap+xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:trt="http://www.onvif.org/ver10/media/wsdl" xmlns:tt="http://www.onvif.org/ver10/schema"><s:Body>%s</s:Body></s:Envelope>`, answer)
}

func TestFindSnapshotURIAndFetch(t *testing.T) {
	cam := &fakeCamera{user: "admin", pass: "cam-pass-1"}
	cam.srv = httptest.NewServer(http.HandlerFunc(cam.handler))
	defer cam.srv.Close()
	ctx := context.Background()

	c := &onvif.Client{DeviceURL: cam.srv.URL + "/onvif/device_service", Username: "admin", Password: "cam-pass-1"}
	uri, err := c.FindSnapshotURI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if uri != cam.srv.URL+"/snapshot.jpg" {
		t.Fatalf("snapshot uri %q", uri)
	}
	if got := strings.Join(cam.calls, ","); got != "GetCapabilities,GetProfiles,GetSnapshotUri" {
		t.Fatalf("calls %s", got)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	resp, err := onvif.Do(http.DefaultClient, req, "admin", "cam-pass-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "\xff\xd8") {
		t.Fatalf("snapshot: %d %q", resp.StatusCode, b)
	}

	// A wrong password comes back as the camera's fault, by its subcode.
	bad := &onvif.Client{DeviceURL: c.DeviceURL, Username: "admin", Password: "wrong", Now: func() time.Time { return time.Unix(0, 0) }}
	_, err = bad.FindSnapshotURI(ctx)
	var f *onvif.Fault
	if !errors.As(err, &f) || f.Code != "ter:NotAuthorized" || f.Reason != "Sender not Authorized" {
		t.Fatalf("wrong password: %v", err)
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	resp, err = onvif.Do(http.DefaultClient, req, "admin", "wrong")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong digest password: HTTP %d", resp.StatusCode)
	}
}

func TestDigestIsTheStandardOne(t *testing.T) {
	// The example of the WS-Security UsernameToken Profile 1.0, §3.1
	// style: fixed nonce, time and password give a fixed digest.
	nonce, _ := base64.StdEncoding.DecodeString("LKqI6G/AikKCQrN0zqZFlg==")
	got := onvif.Digest(nonce, "2010-09-16T07:50:45Z", "userpassword")
	if got != "tuOSpGlFlIXsozq4HFNeeGeFLEI=" {
		t.Fatalf("digest %s", got)
	}
}

func TestParseChallenge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
	}{
		{`realm="a b", nonce="x\"y", qop="auth,auth-int"`, map[string]string{"realm": "a b", "nonce": `x"y`, "qop": "auth,auth-int"}},
		{`realm=plain, stale=FALSE`, map[string]string{"realm": "plain", "stale": "FALSE"}},
		{``, map[string]string{}},
	} {
		got := onvif.ParseChallenge(tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: %v, want %v", tc.in, got, tc.want)
		}
	}
}
