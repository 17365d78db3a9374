package rtsp

import (
	"strconv"
	"strings"
)

// Session is the part of an SDP session description (RFC 4566) a health
// check reads: its name and its media lines with their attributes.
type Session struct {
	Name    string
	Control string // session-level a=control
	Media   []Media
}

// Media is one m= line and the attributes that follow it.
type Media struct {
	Type    string   // video, audio, application …
	Port    int      // 0 for a media stream the server has turned off
	Proto   string   // RTP/AVP …
	Formats []string // payload types
	// RTPMap maps a payload type to its encoding, e.g. "96" → "H264/90000".
	RTPMap  map[string]string
	FMTP    map[string]string
	Control string
}

// Codec is the encoding name of the media's first format, e.g. "H264",
// taken from its rtpmap or, for static payload types, RFC 3551's table.
func (m Media) Codec() string {
	if len(m.Formats) == 0 {
		return ""
	}
	f := m.Formats[0]
	if enc, ok := m.RTPMap[f]; ok {
		name, _, _ := strings.Cut(enc, "/")
		return strings.ToUpper(name)
	}
	switch f {
	case "26":
		return "JPEG"
	case "32":
		return "MPV"
	case "34":
		return "H263"
	case "0":
		return "PCMU"
	case "8":
		return "PCMA"
	}
	return ""
}

// Video returns the first video media line that is not turned off.
func (s Session) Video() (Media, bool) {
	for _, m := range s.Media {
		if m.Type == "video" && len(m.Formats) > 0 {
			return m, true
		}
	}
	return Media{}, false
}

// ParseSDP parses a session description. It is strict about the shape of
// lines (<type>=<value>, v=0 first, well-formed m= lines) and lenient about
// what it does not use: unknown types and attributes are skipped.
func ParseSDP(b []byte) (Session, error) {
	var s Session
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	var cur *Media
	first := true
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return Session{}, malformed("sdp line %d: %q is not <type>=<value>", n+1, clip(line))
		}
		typ, value := line[0], line[2:]
		if first {
			if typ != 'v' || strings.TrimSpace(value) != "0" {
				return Session{}, malformed("sdp must begin with v=0")
			}
			first = false
			continue
		}
		switch typ {
		case 's':
			if cur == nil {
				s.Name = value
			}
		case 'm':
			m, err := parseMediaLine(value)
			if err != nil {
				return Session{}, malformed("sdp line %d: %v", n+1, err)
			}
			s.Media = append(s.Media, m)
			cur = &s.Media[len(s.Media)-1]
		case 'a':
			name, val, _ := strings.Cut(value, ":")
			switch name {
			case "control":
				if cur == nil {
					s.Control = val
				} else {
					cur.Control = val
				}
			case "rtpmap", "fmtp":
				if cur == nil {
					continue
				}
				pt, rest, ok := strings.Cut(val, " ")
				if !ok || pt == "" {
					return Session{}, malformed("sdp line %d: a=%s without a payload type", n+1, name)
				}
				if name == "rtpmap" {
					cur.RTPMap[pt] = strings.TrimSpace(rest)
				} else {
					cur.FMTP[pt] = strings.TrimSpace(rest)
				}
			}
		}
	}
	if first {
		return Session{}, malformed("empty sdp")
	}
	return s, nil
}

// parseMediaLine parses "<media> <port>[/<count>] <proto> <fmt> …".
func parseMediaLine(v string) (Media, error) {
	f := strings.Fields(v)
	if len(f) < 4 {
		return Media{}, malformed("m=%q needs media, port, proto and a format", clip(v))
	}
	portText, _, _ := strings.Cut(f[1], "/")
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return Media{}, malformed("m= port %q", clip(f[1]))
	}
	m := Media{Type: f[0], Port: port, Proto: f[2], Formats: f[3:], RTPMap: map[string]string{}, FMTP: map[string]string{}}
	return m, nil
}

func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
