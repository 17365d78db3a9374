package evidencetest

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/shequ/shequ/onvif"
)

// RTSP is a recorder's RTSP playback: it answers OPTIONS, DESCRIBE,
// SETUP and PLAY (behind Digest authentication) and then sends an H.264
// test pattern made by ffmpeg as RTP over the RTSP connection
// (interleaved, RFC 2326 §10.12; H.264 packetization mode 1, RFC 6184),
// as fast as the client reads it, with the timestamps of 25 frames a
// second.
type RTSP struct {
	URL string
	// Clip is the H.264 elementary stream it serves.
	Clip string
	ln   net.Listener
	aus  [][][]byte // access units, each its NAL units
	sps  []byte
	pps  []byte
	t    testing.TB
	mu   sync.Mutex
	// Plays counts the PLAY requests answered.
	Plays int
}

const fps = 25

// NewRTSP serves secs seconds of footage on a loopback port until the
// test ends.
func NewRTSP(t testing.TB, secs int) *RTSP {
	p := filepath.Join(t.TempDir(), "clip.h264")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=320x240:rate=%d", fps), "-t", strconv.Itoa(secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", strconv.Itoa(fps), "-bf", "0", "-x264-params", "aud=1", "-pix_fmt", "yuv420p", "-f", "h264", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := &RTSP{t: t, Clip: p}
	var au [][]byte
	for _, nal := range splitAnnexB(b) {
		switch nal[0] & 0x1f {
		case 9: // access unit delimiter: a new frame begins
			if len(au) > 0 {
				s.aus = append(s.aus, au)
			}
			au = nil
			continue
		case 7:
			s.sps = nal
		case 8:
			s.pps = nal
		}
		au = append(au, nal)
	}
	if len(au) > 0 {
		s.aus = append(s.aus, au)
	}
	if s.sps == nil || s.pps == nil || len(s.aus) < secs*fps {
		t.Fatalf("clip: sps %d, pps %d, %d frames", len(s.sps), len(s.pps), len(s.aus))
	}
	s.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.URL = "rtsp://" + s.ln.Addr().String()
	go s.serve()
	t.Cleanup(func() { s.ln.Close() })
	return s
}

// splitAnnexB splits a byte stream at its start codes.
func splitAnnexB(b []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(b); {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				out = append(out, bytes.TrimRight(b[start:i], "\x00"))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

func (s *RTSP) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.session(c)
	}
}

func (s *RTSP) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	var wmu sync.Mutex
	write := func(b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		_, err := c.Write(b)
		return err
	}
	for {
		// RTCP from the client comes interleaved too: skip it.
		if first, err := r.Peek(1); err != nil {
			return
		} else if first[0] == '$' {
			var hdr [4]byte
			if _, err := io.ReadFull(r, hdr[:]); err != nil {
				return
			}
			if _, err := r.Discard(int(binary.BigEndian.Uint16(hdr[2:]))); err != nil {
				return
			}
			continue
		}
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		method, uri, _ := strings.Cut(strings.TrimSpace(line), " ")
		uri, _, _ = strings.Cut(uri, " ")
		h := map[string]string{}
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				return
			}
			l = strings.TrimSpace(l)
			if l == "" {
				break
			}
			k, v, _ := strings.Cut(l, ":")
			h[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
		if n, _ := strconv.Atoi(h["content-length"]); n > 0 {
			r.Discard(n)
		}
		reply := func(status string, headers ...string) error {
			var b strings.Builder
			fmt.Fprintf(&b, "RTSP/1.0 %s\r\nCSeq: %s\r\n", status, h["cseq"])
			for _, x := range headers {
				b.WriteString(x + "\r\n")
			}
			b.WriteString("\r\n")
			return write([]byte(b.String()))
		}
		if method != "OPTIONS" && !onvif.CheckDigest(h["authorization"], method, realm, nonce, User, Password) {
			reply("401 Unauthorized", fmt.Sprintf(`WWW-Authenticate: Digest realm="%s", nonce="%s"`, realm, nonce))
			continue
		}
		switch method {
		case "OPTIONS":
			reply("200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER")
		case "DESCRIBE":
			sdp := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=shequ test recorder\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n" +
				"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n" +
				"a=fmtp:96 packetization-mode=1;sprop-parameter-sets=" + base64.StdEncoding.EncodeToString(s.sps) + "," + base64.StdEncoding.EncodeToString(s.pps) + "\r\n" +
				"a=control:trackID=0\r\n"
			reply("200 OK", "Content-Type: application/sdp", "Content-Base: "+uri+"/", "Content-Length: "+strconv.Itoa(len(sdp)))
			write([]byte(sdp))
		case "SETUP":
			if !strings.Contains(h["transport"], "TCP") {
				reply("461 Unsupported Transport")
				continue
			}
			reply("200 OK", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1", "Session: 5150;timeout=60")
		case "PLAY":
			s.mu.Lock()
			s.Plays++
			s.mu.Unlock()
			reply("200 OK", "Session: 5150", "Range: npt=0-")
			go func() {
				s.stream(write)
				// The recording is over: a recorder ends the playback.
				wmu.Lock()
				c.Close()
				wmu.Unlock()
			}()
		case "GET_PARAMETER":
			reply("200 OK", "Session: 5150")
		case "TEARDOWN":
			reply("200 OK", "Session: 5150")
			return
		default:
			reply("405 Method Not Allowed")
		}
	}
}

// stream sends every frame as RTP on channel 0: a NAL unit that fits in
// one packet alone, a larger one in FU-A fragments; the last packet of a
// frame carries the marker bit.
func (s *RTSP) stream(write func([]byte) error) {
	const mtu = 1400
	seq := uint16(0)
	send := func(payload []byte, ts uint32, marker bool) error {
		pkt := make([]byte, 4+12+len(payload))
		pkt[0], pkt[1] = '$', 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(12+len(payload)))
		rtp := pkt[4:]
		rtp[0] = 0x80
		rtp[1] = 96
		if marker {
			rtp[1] |= 0x80
		}
		binary.BigEndian.PutUint16(rtp[2:], seq)
		binary.BigEndian.PutUint32(rtp[4:], ts)
		binary.BigEndian.PutUint32(rtp[8:], 0x5eb1c0de)
		copy(rtp[12:], payload)
		seq++
		return write(pkt)
	}
	for i, au := range s.aus {
		ts := uint32(i * 90000 / fps)
		for j, nal := range au {
			last := j == len(au)-1
			if len(nal) <= mtu {
				if send(nal, ts, last) != nil {
					return
				}
				continue
			}
			indicator := nal[0]&0xe0 | 28
			typ := nal[0] & 0x1f
			rest := nal[1:]
			for k := 0; len(rest) > 0; k++ {
				n := min(mtu, len(rest))
				header := typ
				if k == 0 {
					header |= 0x80
				}
				if n == len(rest) {
					header |= 0x40
				}
				frag := append([]byte{indicator, header}, rest[:n]...)
				rest = rest[n:]
				if send(frag, ts, last && len(rest) == 0) != nil {
					return
				}
			}
		}
	}
}
