package jsonstr

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// encodingJSON is what encoding/json writes for s, HTML escaped or not.
func encodingJSON(t *testing.T, s string, escapeHTML bool) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(escapeHTML)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestAppendIsEncodingJSON(t *testing.T) {
	var controls strings.Builder
	for c := range 0x20 {
		controls.WriteByte(byte(c))
	}
	controls.WriteByte(0x7f)
	for name, s := range map[string]string{
		"empty":              "",
		"plain":              "open since 09:00",
		"chinese":            "宝圣东路社区 3 号楼 停水通知",
		"quote and slash":    `a "b" c\d /e/`,
		"html":               `<script>alert("x")</script> & <b>`,
		"html only":          "<>&",
		"line separators":    "a\u2028b\u2029c",
		"near separators":    "\u2027\u202a\u2020",
		"controls":           controls.String(),
		"short escapes":      "\n\r\t\b\f",
		"invalid utf-8":      "ab\xffcd\xc3",
		"truncated rune":     "中文\xe4\xb8",
		"surrogate half":     "\xed\xa0\x80",
		"overlong":           "\xc0\xaf",
		"replacement itself": "\ufffd",
		"emoji":              "🚒 fire 🔥",
		"nul":                "a\x00b",
		"mixed":              "<\u2028\xff\"\\\x01中&",
	} {
		for _, html := range []bool{true, false} {
			got := string(Append([]byte("x"), s, html))
			if want := "x" + encodingJSON(t, s, html); got != want {
				t.Errorf("%s (escapeHTML %t): %q, encoding/json writes %q", name, html, got, want)
			}
		}
	}
}

// Every single byte and every rune up to U+3000, each mode.
func TestAppendEveryByteAndRune(t *testing.T) {
	for _, html := range []bool{true, false} {
		for c := range 256 {
			s := "a" + string([]byte{byte(c)}) + "z"
			if got, want := string(Append(nil, s, html)), encodingJSON(t, s, html); got != want {
				t.Errorf("byte %#x (escapeHTML %t): %q, encoding/json writes %q", c, html, got, want)
			}
		}
		for r := rune(0x80); r < 0x3000; r++ {
			s := string(r)
			if got, want := string(Append(nil, s, html)), encodingJSON(t, s, html); got != want {
				t.Errorf("rune %U (escapeHTML %t): %q, encoding/json writes %q", r, html, got, want)
			}
		}
	}
}
