package rtsp

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, in string
		code     int
		body     string
		err      bool
	}{
		{"options", "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n", 200, "", false},
		{"bare LF", "RTSP/1.0 401 Unauthorized\nCSeq: 2\nWWW-Authenticate: Basic realm=\"x\"\n\n", 401, "", false},
		{"body", "RTSP/1.0 200 OK\r\nCSeq: 3\r\nContent-Length: 5\r\n\r\nv=0\r\n", 200, "v=0\r\n", false},
		{"interleaved first", "$\x00\x00\x03abcRTSP/1.0 200 OK\r\nCSeq: 4\r\n\r\n", 200, "", false},
		{"not rtsp", "HTTP/1.1 200 OK\r\n\r\n", 0, "", true},
		{"bad code", "RTSP/1.0 2x0 OK\r\n\r\n", 0, "", true},
		{"negative length", "RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", true},
		{"huge length", "RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n", 0, "", true},
		{"short body", "RTSP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, "", true},
		{"no colon", "RTSP/1.0 200 OK\r\nCSeq 1\r\n\r\n", 0, "", true},
		{"truncated", "RTSP/1.0 200 OK\r\nCSeq: 1\r\n", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ReadResponse(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err {
				if err == nil {
					t.Fatalf("want an error, got %+v", res)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.code || string(res.Body) != tt.body {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, res.Body, tt.code, tt.body)
			}
		})
	}
}

func TestRequestRoundTrip(t *testing.T) {
	req := &Request{Method: "DESCRIBE", URL: "rtsp://cam/stream1", Header: Header{{"CSeq", "7"}, {"Accept", "application/sdp"}}, Body: []byte("x")}
	var b bytes.Buffer
	if _, err := req.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRequest(bufio.NewReader(&b))
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "DESCRIBE" || got.URL != req.URL || got.Header.Get("cseq") != "7" || string(got.Body) != "x" {
		t.Fatalf("got %+v", got)
	}
}

const cameraSDP = "v=0\r\no=- 1109162014219182 0 IN IP4 0.0.0.0\r\ns=HIK Media Server V3.0.2\r\ni=HIK Media Server Session Description : standard\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n" +
	"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKpWoHgCJ+WEAAAcIAAFfkAQ=,aO48gA==\r\na=control:trackID=1\r\n" +
	"m=audio 0 RTP/AVP 8\r\na=control:trackID=2\r\n"

func TestParseSDP(t *testing.T) {
	s, err := ParseSDP([]byte(cameraSDP))
	if err != nil {
		t.Fatal(err)
	}
	v, ok := s.Video()
	if !ok || v.Codec() != "H264" || v.Control != "trackID=1" || len(s.Media) != 2 || s.Media[1].Codec() != "PCMA" || s.Control != "*" {
		t.Fatalf("got %+v", s)
	}
	audio, err := ParseSDP([]byte("v=0\ns=a\nm=audio 0 RTP/AVP 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := audio.Video(); ok {
		t.Fatal("audio-only sdp has no video")
	}
	for _, bad := range []string{"", "s=x\r\n", "v=1\r\n", "v=0\r\nm=video\r\n", "v=0\r\nm=video x RTP/AVP 96\r\n", "v=0\r\nhello\r\n", "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:\r\n"} {
		if _, err := ParseSDP([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: want ErrMalformed, got %v", bad, err)
		}
	}
}
