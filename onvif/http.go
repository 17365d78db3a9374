package onvif

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shequ/shequ/httpauth"
)

// Do sends req with the credentials: without any when there are none,
// else first as it is, then, when the server answers 401, again with the
// Basic or Digest (MD5, qop auth) answer to its challenge. Cameras and
// recorders ask for Digest as a rule. req must have no body, or one that
// GetBody can give again.
func Do(client *http.Client, req *http.Request, username, password string) (*http.Response, error) {
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || username == "" {
		return resp, err
	}
	challenge := resp.Header.Values("WWW-Authenticate")
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	auth, err := answer(challenge, req.Method, req.URL.RequestURI(), username, password)
	if err != nil {
		return nil, err
	}
	again.Header.Set("Authorization", auth)
	return client.Do(again)
}

// answer picks the strongest challenge it can answer (Digest with
// SHA-256 or MD5, then Basic) and answers it: the one implementation of
// RFC 2617/7616 is package httpauth, which RTSP uses too.
func answer(challenges []string, method, uri, username, password string) (string, error) {
	c, ok := httpauth.PickChallenge(challenges)
	if !ok {
		return "", fmt.Errorf("onvif: the server asks for authentication it does not name (%q)", challenges)
	}
	return httpauth.Credentials{Username: username, Password: password}.Authorization(c, method, uri, 1)
}

// ParseChallenge reads the comma-separated key=value (quoted or not)
// parameters of a challenge.
func ParseChallenge(s string) map[string]string {
	out := map[string]string{}
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ,\t")
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		rest = strings.TrimLeft(rest, " \t")
		var v string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(rest); i++ {
				if rest[i] == '\\' && i+1 < len(rest) {
					i++
					b.WriteByte(rest[i])
					continue
				}
				if rest[i] == '"' {
					break
				}
				b.WriteByte(rest[i])
			}
			v = b.String()
			if i < len(rest) {
				i++
			}
			s = rest[i:]
		} else {
			v, s, _ = strings.Cut(rest, ",")
			v = strings.TrimSpace(v)
		}
		out[k] = v
	}
	return out
}

func md5hex(s string) string {
	h := md5.Sum([]byte(s))
	return hex.EncodeToString(h[:])
}

// CheckDigest checks an Authorization header against the password, as a
// camera does; the fake cameras and recorders of the tests use it.
func CheckDigest(header, method, realm, nonce, username, password string) bool {
	scheme, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Digest") {
		return false
	}
	p := ParseChallenge(rest)
	if p["username"] != username || p["realm"] != realm || p["nonce"] != nonce {
		return false
	}
	ha1 := md5hex(username + ":" + realm + ":" + password)
	ha2 := md5hex(method + ":" + p["uri"])
	want := md5hex(ha1 + ":" + nonce + ":" + ha2)
	if p["qop"] != "" {
		want = md5hex(ha1 + ":" + nonce + ":" + p["nc"] + ":" + p["cnonce"] + ":" + p["qop"] + ":" + ha2)
	}
	return p["response"] == want
}
