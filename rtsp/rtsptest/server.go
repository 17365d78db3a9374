// Package rtsptest runs an RTSP server for tests: it answers OPTIONS,
// DESCRIBE, SETUP, PLAY and TEARDOWN for one H.264 test pattern that
// ffmpeg encodes, sends the pattern as RTP over the TCP connection
// (interleaved, RFC 2326 §10.12), can ask for Digest credentials, and can
// be stopped and started again on the same address to play a camera that
// loses power.
package rtsptest

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/httpauth"
	"github.com/shequ/shequ/rtsp"
)

// Stream is an H.264 elementary stream cut into NAL units.
type Stream struct {
	SPS, PPS []byte
	NALs     [][]byte // in decoding order, without start codes
	FPS      int
}

var (
	streamOnce sync.Once
	stream     *Stream
	streamErr  error
)

// TestPattern encodes (once per process) two seconds of ffmpeg's test
// pattern as H.264 baseline at 320×240, 10 frames a second. The test
// skips when ffmpeg is missing and CI is not set.
func TestPattern(t testing.TB) *Stream {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("ffmpeg is required in CI")
		}
		t.Skip("ffmpeg is not installed")
	}
	s, err := Encode()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Encode is TestPattern for programs (benchmarks): it returns an error
// where TestPattern fails the test.
func Encode() (*Stream, error) {
	streamOnce.Do(func() { stream, streamErr = encode() })
	return stream, streamErr
}

func encode() (*Stream, error) {
	dir, err := os.MkdirTemp("", "rtsptest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "pattern.h264")
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=10",
		"-t", "2", "-c:v", "libx264", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-g", "10", "-f", "h264", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ffmpeg: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	s := &Stream{FPS: 10}
	for _, nal := range SplitAnnexB(b) {
		switch nal[0] & 0x1f {
		case 7:
			if s.SPS == nil {
				s.SPS = nal
			}
		case 8:
			if s.PPS == nil {
				s.PPS = nal
			}
		}
		s.NALs = append(s.NALs, nal)
	}
	if s.SPS == nil || s.PPS == nil {
		return nil, fmt.Errorf("ffmpeg's stream has no SPS or PPS")
	}
	return s, nil
}

// SplitAnnexB cuts an Annex B byte stream at its start codes.
func SplitAnnexB(b []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+3 <= len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && b[end-1] == 0 {
					end--
				}
				if end > start {
					nals = append(nals, b[start:end])
				}
			}
			start = i + 3
			i += 2
		}
	}
	if start >= 0 && start < len(b) {
		nals = append(nals, b[start:])
	}
	return nals
}

// SDP is the session description of the stream.
func (s *Stream) SDP(host string) string {
	return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=shequ test pattern\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=control:*\r\n"+
		"m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;profile-level-id=%s;sprop-parameter-sets=%s,%s\r\na=control:trackID=0\r\n",
		host, hex.EncodeToString(s.SPS[1:4]), base64.StdEncoding.EncodeToString(s.SPS), base64.StdEncoding.EncodeToString(s.PPS))
}

// Server is a test RTSP server.
type Server struct {
	t      testing.TB
	stream *Stream
	addr   string
	// Username and Password, when set, make every request need Digest
	// credentials (MD5, no qop), as most cameras do.
	Username, Password string
	// AudioOnly makes DESCRIBE answer with an audio track only: a camera
	// that answers but shows nothing.
	AudioOnly bool

	mu      sync.Mutex
	ln      net.Listener
	conns   map[net.Conn]bool
	wg      sync.WaitGroup
	Played  int // RTP packets sent, all sessions
	Methods []string
}

// NewServer starts a server on a free local port; it stops when the test
// ends.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := Listen(TestPattern(t))
	if err != nil {
		t.Fatal(err)
	}
	s.t = t
	t.Cleanup(s.Stop)
	return s
}

// Listen starts a server of stream on a free local port, for programs;
// the caller stops it.
func Listen(stream *Stream) (*Server, error) {
	s := &Server{stream: stream, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	return s, nil
}

// URL is the stream's URL.
func (s *Server) URL() string { return "rtsp://" + s.addr + "/stream1" }

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// Stop closes the listener and every connection: the camera is gone.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.ln != nil {
		s.ln.Close()
		s.ln = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Start listens again on the same address after Stop.
func (s *Server) Start() {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		if s.t == nil {
			panic(fmt.Sprintf("rtsptest: listen again on %s: %v", s.addr, err))
		}
		s.t.Fatalf("rtsptest: listen again on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

func (s *Server) serve(ln net.Listener) {
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.handle(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
		}
	}()
}

const realm = "shequ-test"

func (s *Server) handle(c net.Conn) {
	r := bufio.NewReader(c)
	var wmu sync.Mutex
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	nonceHex := hex.EncodeToString(nonce)
	session := ""
	playing := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(playing) })
	for {
		req, err := rtsp.ReadRequest(r)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.Methods = append(s.Methods, req.Method)
		s.mu.Unlock()
		res := &rtsp.Response{StatusCode: 200, Reason: "OK"}
		res.Header = append(res.Header, rtsp.Field{Name: "CSeq", Value: req.Header.Get("CSeq")}, rtsp.Field{Name: "Server", Value: "shequ rtsptest"})
		if s.Username != "" && !s.authorized(req, nonceHex) {
			res.StatusCode, res.Reason = 401, "Unauthorized"
			res.Header = append(res.Header, rtsp.Field{Name: "WWW-Authenticate", Value: fmt.Sprintf(`Digest realm="%s", nonce="%s"`, realm, nonceHex)})
		} else {
			switch req.Method {
			case "OPTIONS":
				res.Header = append(res.Header, rtsp.Field{Name: "Public", Value: "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN"})
			case "DESCRIBE":
				host, _, _ := net.SplitHostPort(s.addr)
				sdp := s.stream.SDP(host)
				if s.AudioOnly {
					sdp = "v=0\r\no=- 1 1 IN IP4 " + host + "\r\ns=audio only\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=control:trackID=1\r\n"
				}
				res.Header = append(res.Header, rtsp.Field{Name: "Content-Type", Value: "application/sdp"}, rtsp.Field{Name: "Content-Base", Value: req.URL + "/"})
				res.Body = []byte(sdp)
			case "SETUP":
				tr := req.Header.Get("Transport")
				if !strings.Contains(tr, "RTP/AVP/TCP") {
					res.StatusCode, res.Reason = 461, "Unsupported Transport"
					break
				}
				session = hex.EncodeToString(nonce[:4])
				res.Header = append(res.Header, rtsp.Field{Name: "Transport", Value: "RTP/AVP/TCP;unicast;interleaved=0-1"}, rtsp.Field{Name: "Session", Value: session + ";timeout=60"})
			case "PLAY":
				if session == "" || req.Header.Get("Session") != session {
					res.StatusCode, res.Reason = 454, "Session Not Found"
					break
				}
				res.Header = append(res.Header, rtsp.Field{Name: "Session", Value: session})
				go s.play(c, &wmu, playing)
			case "TEARDOWN":
				once.Do(func() { close(playing) })
			default:
				res.StatusCode, res.Reason = 501, "Not Implemented"
			}
		}
		wmu.Lock()
		_, err = res.WriteTo(c)
		wmu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *Server) authorized(req *rtsp.Request, nonce string) bool {
	a := req.Header.Get("Authorization")
	ch, err := httpauth.ParseChallenge(a)
	if err != nil || ch.Scheme != "digest" {
		return false
	}
	p := ch.Params
	return p["username"] == s.Username && p["nonce"] == nonce && p["realm"] == realm &&
		p["response"] == httpauth.DigestResponse(s.Username, realm, s.Password, req.Method, p["uri"], nonce)
}

// play sends the pattern, looping, as RTP on interleaved channel 0 until
// stop closes or the connection fails: single NAL units, or FU-A fragments
// (RFC 6184 §5.8) for those over 1,200 bytes.
func (s *Server) play(c net.Conn, wmu *sync.Mutex, stop <-chan struct{}) {
	const mtu = 1200
	var seq uint16
	ssrc := uint32(0x5e9a0001)
	tick := time.NewTicker(time.Second / time.Duration(s.stream.FPS))
	defer tick.Stop()
	var ts uint32
	send := func(payload []byte, marker bool) error {
		pkt := make([]byte, 4+12+len(payload))
		pkt[0], pkt[1] = '$', 0
		binary.BigEndian.PutUint16(pkt[2:], uint16(12+len(payload)))
		h := pkt[4:]
		h[0] = 0x80
		h[1] = 96
		if marker {
			h[1] |= 0x80
		}
		binary.BigEndian.PutUint16(h[2:], seq)
		binary.BigEndian.PutUint32(h[4:], ts)
		binary.BigEndian.PutUint32(h[8:], ssrc)
		copy(h[12:], payload)
		seq++
		wmu.Lock()
		defer wmu.Unlock()
		_, err := c.Write(pkt)
		if err == nil {
			s.mu.Lock()
			s.Played++
			s.mu.Unlock()
		}
		return err
	}
	for {
		for _, nal := range s.stream.NALs {
			typ := nal[0] & 0x1f
			if typ == 1 || typ == 5 {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				ts += 90000 / uint32(s.stream.FPS)
			}
			last := typ == 1 || typ == 5
			if len(nal) <= mtu {
				if send(nal, last) != nil {
					return
				}
				continue
			}
			indicator := nal[0]&0xe0 | 28
			rest := nal[1:]
			for first := true; len(rest) > 0; first = false {
				n := min(mtu, len(rest))
				hdr := typ
				if first {
					hdr |= 0x80
				}
				if n == len(rest) {
					hdr |= 0x40
				}
				if send(append([]byte{indicator, hdr}, rest[:n]...), last && n == len(rest)) != nil {
					return
				}
				rest = rest[n:]
			}
		}
	}
}

// Count returns how many times method was asked.
func (s *Server) Count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.Methods {
		if m == method {
			n++
		}
	}
	return n
}

// PacketsPlayed is how many RTP packets the server has sent.
func (s *Server) PacketsPlayed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Played
}
