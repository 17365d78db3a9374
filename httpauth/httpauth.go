// Package httpauth answers the HTTP-style authentication challenges that
// cameras and recorders send (RFC 7235 challenges; Basic, RFC 7617; Digest,
// RFC 7616 and RFC 2617 with MD5, SHA-256 and their -sess variants). RTSP
// (RFC 2326 §D, RFC 7826 §19) and ONVIF's HTTP both use it, so it belongs to
// neither.
package httpauth

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strings"
)

// ErrMalformed is wrapped by every error about a challenge that does not
// follow RFC 7235's grammar.
var ErrMalformed = errors.New("httpauth: malformed challenge")

func malformed(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
}

// Challenge is one WWW-Authenticate challenge (RFC 7235 §2.1).
type Challenge struct {
	Scheme string            // "basic" or "digest", lower case
	Params map[string]string // parameter names lower case
}

// ParseChallenge parses one WWW-Authenticate value: a scheme and its
// comma-separated parameters, each a token or a quoted string.
func ParseChallenge(s string) (Challenge, error) {
	s = strings.TrimSpace(s)
	scheme, rest, _ := strings.Cut(s, " ")
	if scheme == "" || !isToken(scheme) {
		return Challenge{}, malformed("challenge %q has no scheme", s)
	}
	c := Challenge{Scheme: strings.ToLower(scheme), Params: map[string]string{}}
	for {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			return c, nil
		}
		eq := strings.IndexByte(rest, '=')
		if eq <= 0 {
			return Challenge{}, malformed("challenge parameter %q", rest)
		}
		name := strings.ToLower(strings.TrimSpace(rest[:eq]))
		if !isToken(name) {
			return Challenge{}, malformed("challenge parameter name %q", name)
		}
		rest = strings.TrimLeft(rest[eq+1:], " \t")
		var value string
		if strings.HasPrefix(rest, `"`) {
			var b strings.Builder
			i, closed := 1, false
			for ; i < len(rest); i++ {
				switch ch := rest[i]; {
				case ch == '\\' && i+1 < len(rest):
					i++
					b.WriteByte(rest[i])
				case ch == '"':
					closed = true
				default:
					b.WriteByte(ch)
				}
				if closed {
					break
				}
			}
			if !closed {
				return Challenge{}, malformed("unterminated quoted string in challenge")
			}
			value, rest = b.String(), rest[i+1:]
		} else {
			end := strings.IndexAny(rest, ", \t")
			if end < 0 {
				end = len(rest)
			}
			value, rest = rest[:end], rest[end:]
		}
		c.Params[name] = value
	}
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch <= ' ' || ch >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, ch) >= 0 {
			return false
		}
	}
	return true
}

// PickChallenge chooses the strongest challenge we can answer: Digest with
// SHA-256, then Digest with MD5, then Basic. HTTP asks the same way (RFC
// 7235, 7616): package onvif answers cameras' HTTP challenges with it.
func PickChallenge(values []string) (Challenge, bool) {
	var best Challenge
	rank := 0
	for _, v := range values {
		c, err := ParseChallenge(v)
		if err != nil {
			continue
		}
		r := 0
		switch c.Scheme {
		case "basic":
			r = 1
		case "digest":
			switch strings.ToUpper(c.Params["algorithm"]) {
			case "", "MD5", "MD5-SESS":
				r = 2
			case "SHA-256", "SHA-256-SESS":
				r = 3
			}
			if c.Params["nonce"] == "" {
				r = 0
			}
			if q := c.Params["qop"]; q != "" && !slices.Contains(splitList(q), "auth") {
				r = 0 // only auth-int offered: it needs the body hashed, which we do not do
			}
		}
		if r > rank {
			best, rank = c, r
		}
	}
	return best, rank > 0
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Credentials answer challenges.
type Credentials struct {
	Username, Password string
}

// Authorization returns the Authorization value answering c for a request
// of method on uri. nc counts the requests made with c's nonce.
func (cr Credentials) Authorization(c Challenge, method, uri string, nc int) (string, error) {
	switch c.Scheme {
	case "basic":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(cr.Username+":"+cr.Password)), nil
	case "digest":
	default:
		return "", fmt.Errorf("httpauth: authentication scheme %q is not supported", c.Scheme)
	}
	algo := strings.ToUpper(c.Params["algorithm"])
	var newHash func() hash.Hash
	switch algo {
	case "", "MD5", "MD5-SESS":
		newHash = md5.New
	case "SHA-256", "SHA-256-SESS":
		newHash = sha256.New
	default:
		return "", fmt.Errorf("httpauth: digest algorithm %q is not supported", algo)
	}
	h := func(parts ...string) string {
		x := newHash()
		x.Write([]byte(strings.Join(parts, ":")))
		return hex.EncodeToString(x.Sum(nil))
	}
	realm, nonce := c.Params["realm"], c.Params["nonce"]
	cnonce := ""
	qop := ""
	if q := c.Params["qop"]; q != "" {
		if !slices.Contains(splitList(q), "auth") {
			return "", fmt.Errorf("httpauth: digest qop %q is not supported", q)
		}
		qop = "auth"
	}
	if qop != "" || strings.HasSuffix(algo, "-SESS") {
		cnonce = newCnonce()
	}
	ha1 := h(cr.Username, realm, cr.Password)
	if strings.HasSuffix(algo, "-SESS") {
		ha1 = h(ha1, nonce, cnonce)
	}
	ha2 := h(method, uri)
	ncs := fmt.Sprintf("%08x", nc)
	var response string
	if qop != "" {
		response = h(ha1, nonce, ncs, cnonce, qop, ha2)
	} else {
		response = h(ha1, nonce, ha2)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `Digest username=%s, realm=%s, nonce=%s, uri=%s, response="%s"`, quote(cr.Username), quote(realm), quote(nonce), quote(uri), response)
	if c.Params["algorithm"] != "" {
		fmt.Fprintf(&b, ", algorithm=%s", c.Params["algorithm"])
	}
	if op, ok := c.Params["opaque"]; ok {
		fmt.Fprintf(&b, ", opaque=%s", quote(op))
	}
	if qop != "" {
		fmt.Fprintf(&b, `, qop=%s, nc=%s, cnonce="%s"`, qop, ncs, cnonce)
	}
	return b.String(), nil
}

// newCnonce makes the client nonce; tests replace it to check RFC vectors.
var newCnonce = func() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// DigestResponse computes what a client should send as the response of
// a Digest Authorization without qop, for servers (the test server)
// checking one: MD5, H(H(user:realm:pass):nonce:H(method:uri)).
func DigestResponse(username, realm, password, method, uri, nonce string) string {
	h := func(s string) string { x := md5.Sum([]byte(s)); return hex.EncodeToString(x[:]) }
	return h(h(username+":"+realm+":"+password) + ":" + nonce + ":" + h(method+":"+uri))
}
