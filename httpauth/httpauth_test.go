package httpauth

import (
	"strings"
	"testing"
)

func TestParseChallenge(t *testing.T) {
	c, err := ParseChallenge(`Digest realm="IP Camera(21388)", nonce="4e6a\"41", stale="FALSE", qop=auth, algorithm=MD5`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheme != "digest" || c.Params["realm"] != "IP Camera(21388)" || c.Params["nonce"] != `4e6a"41` || c.Params["qop"] != "auth" || c.Params["algorithm"] != "MD5" {
		t.Fatalf("got %+v", c)
	}
	for _, bad := range []string{"", `Digest realm="open`, "Digest =x", `"Digest" realm=x`} {
		if _, err := ParseChallenge(bad); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
}

// The worked example of RFC 2617 §3.5 (qop=auth, MD5).
func TestDigestRFC2617Example(t *testing.T) {
	old := newCnonce
	newCnonce = func() string { return "0a4f113b" }
	defer func() { newCnonce = old }()
	c, err := ParseChallenge(`Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Credentials{"Mufasa", "Circle Of Life"}.Authorization(c, "GET", "/dir/index.html", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(a, `response="6629fae49393a05397450978507c4ef1"`) || !strings.Contains(a, "nc=00000001") || !strings.Contains(a, `opaque="5ccc069c403ebaf9f0171e9517f40e41"`) {
		t.Fatalf("got %s", a)
	}
}

func TestDigestWithoutQopMatchesServerCheck(t *testing.T) {
	c, _ := ParseChallenge(`Digest realm="cam", nonce="abc"`)
	a, err := Credentials{"admin", "pw"}.Authorization(c, "DESCRIBE", "rtsp://h/s", 1)
	if err != nil {
		t.Fatal(err)
	}
	want := DigestResponse("admin", "cam", "pw", "DESCRIBE", "rtsp://h/s", "abc")
	if !strings.Contains(a, `response="`+want+`"`) {
		t.Fatalf("got %s, want response %s", a, want)
	}
}

func TestPickChallengePrefersDigest(t *testing.T) {
	c, ok := PickChallenge([]string{`Basic realm="x"`, `Digest realm="x", nonce="n"`, `Digest realm="x", nonce="n", algorithm=SHA-256`})
	if !ok || c.Scheme != "digest" || c.Params["algorithm"] != "SHA-256" {
		t.Fatalf("got %+v", c)
	}
	if _, ok := PickChallenge([]string{`Digest realm="x", nonce="n", qop="auth-int"`, `NTLM`}); ok {
		t.Fatal("want no answerable challenge")
	}
	a, _ := Credentials{"u", "p"}.Authorization(Challenge{Scheme: "basic"}, "OPTIONS", "*", 1)
	if a != "Basic dTpw" {
		t.Fatalf("basic: %s", a)
	}
}

func FuzzParseChallenge(f *testing.F) {
	f.Add(`Digest realm="IP Camera", nonce="abc", qop="auth", algorithm=MD5`)
	f.Add(`Basic realm="x"`)
	f.Add(`Digest realm="a\"b", nonce=x,stale=TRUE`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseChallenge(s)
		if err != nil {
			return
		}
		if c.Scheme == "" || c.Scheme != strings.ToLower(c.Scheme) {
			t.Fatalf("scheme %q", c.Scheme)
		}
		// Whatever was accepted can be answered or refused, never panic.
		_, _ = Credentials{"u", "p"}.Authorization(c, "DESCRIBE", "rtsp://h/s", 1)
	})
}
