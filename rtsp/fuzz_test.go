package rtsp

import (
	"bufio"
	"bytes"
	"testing"
)

// The parsers read what any device on the network sends: they must never
// panic or hang, and what they accept must survive a write and re-read.

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte("RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE\r\n\r\n"))
	f.Add([]byte("RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n"))
	f.Add([]byte("$\x00\x00\x02hiRTSP/1.0 401 Unauthorized\nWWW-Authenticate: Digest realm=\"a\", nonce=\"b\"\n\n"))
	f.Add([]byte("RTSP/1.0 200 OK\r\nX: a\r\n folded\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ReadResponse(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := res.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		again, err := ReadResponse(bufio.NewReader(&out))
		if err != nil {
			t.Fatalf("re-reading %q: %v", out.Bytes(), err)
		}
		if again.StatusCode != res.StatusCode || !bytes.Equal(again.Body, res.Body) {
			t.Fatalf("round trip changed %+v into %+v", res, again)
		}
	})
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("OPTIONS rtsp://cam/stream1 RTSP/1.0\r\nCSeq: 1\r\n\r\n"))
	f.Add([]byte("SETUP rtsp://cam/stream1/trackID=0 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"))
	f.Add([]byte("GET_PARAMETER * RTSP/1.0\r\nContent-Length: 2\r\n\r\nab"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ReadRequest(bufio.NewReader(bytes.NewReader(b)))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := req.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		again, err := ReadRequest(bufio.NewReader(&out))
		if err != nil {
			t.Fatalf("re-reading %q: %v", out.Bytes(), err)
		}
		if again.Method != req.Method || again.URL != req.URL || !bytes.Equal(again.Body, req.Body) {
			t.Fatalf("round trip changed %+v into %+v", req, again)
		}
	})
}

func FuzzParseSDP(f *testing.F) {
	f.Add([]byte(cameraSDP))
	f.Add([]byte("v=0\ns=a\nm=audio 0 RTP/AVP 0\n"))
	f.Add([]byte("v=0\r\nm=video 5004/2 RTP/AVP 26\r\na=control:rtsp://h/x\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseSDP(b)
		if err != nil {
			return
		}
		for _, m := range s.Media {
			if len(m.Formats) == 0 || m.Port < 0 || m.Port > 65535 {
				t.Fatalf("accepted a bad media line: %+v", m)
			}
			_ = m.Codec()
		}
	})
}
