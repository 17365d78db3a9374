// Package evidencetest is a fake recorder and camera for tests: it serves
// H.264 footage made by ffmpeg (testsrc) through a Hikvision ISAPI-style
// search and download, as an HTTP playback URL, and JPEG snapshots, all
// behind HTTP Digest authentication as real devices do.
package evidencetest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/onvif"
)

// Credentials the fake devices take.
const (
	User     = "admin"
	Password = "rec-pass-1"
	realm    = "fake-recorder"
	nonce    = "d1g3st"
)

// Recorder is the fake recorder and camera.
type Recorder struct {
	*httptest.Server
	t   testing.TB
	dir string

	mu        sync.Mutex
	Searches  int
	Downloads int
	clips     map[float64]string
	jpeg      []byte
	// Size is the picture size of the footage; default 320x240.
	Size string
}

// New starts a fake recorder; it stops when the test ends.
func New(t testing.TB) *Recorder {
	r := &Recorder{t: t, dir: t.TempDir(), clips: map[float64]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /ISAPI/ContentMgmt/search", r.auth(r.search))
	mux.HandleFunc("GET /ISAPI/ContentMgmt/download", r.auth(r.download))
	mux.HandleFunc("GET /playback/{name}", r.auth(r.playback))
	mux.HandleFunc("GET /snapshot/{name}", r.auth(r.snapshot))
	r.Server = httptest.NewServer(mux)
	t.Cleanup(r.Close)
	return r
}

func (r *Recorder) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		if !onvif.CheckDigest(req.Header.Get("Authorization"), req.Method, realm, nonce, User, Password) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Digest realm="%s", nonce="%s", qop="auth"`, realm, nonce))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h(w, req)
	}
}

// Clip returns an MP4 of H.264 test pattern lasting secs, made once.
func (r *Recorder) Clip(secs float64) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.clips[secs]; ok {
		return p, nil
	}
	size := r.Size
	if size == "" {
		size = "320x240"
	}
	p := filepath.Join(r.dir, fmt.Sprintf("clip-%.0f.mp4", secs*1000))
	cmd := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc=size="+size+":rate=25", "-t", fmt.Sprintf("%.3f", secs),
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", p)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ffmpeg: %v: %s", err, stderr.String())
	}
	r.clips[secs] = p
	return p, nil
}

// JPEG is a snapshot picture (a frame of the test pattern).
func (r *Recorder) JPEG() ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jpeg != nil {
		return r.jpeg, nil
	}
	p := filepath.Join(r.dir, "snap.jpg")
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc=size=320x240:rate=1", "-frames:v", "1", "-f", "image2", p).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %v: %s", err, out)
	}
	r.jpeg, err = os.ReadFile(p)
	return r.jpeg, err
}

const stamp = "20060102T150405Z"

func (r *Recorder) search(w http.ResponseWriter, req *http.Request) {
	var s struct {
		Track string `xml:"trackList>trackID"`
		Start string `xml:"timeSpanList>timeSpan>startTime"`
		End   string `xml:"timeSpanList>timeSpan>endTime"`
	}
	if err := xml.NewDecoder(req.Body).Decode(&s); err != nil {
		http.Error(w, "bad search: "+err.Error(), http.StatusBadRequest)
		return
	}
	from, err1 := time.Parse(time.RFC3339, s.Start)
	until, err2 := time.Parse(time.RFC3339, s.End)
	if err1 != nil || err2 != nil {
		http.Error(w, "bad times", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.Searches++
	r.mu.Unlock()
	// The recording found runs from before the window to after it, as
	// a recorder's hour-long files do; the client narrows the URI.
	segFrom, segUntil := from.Add(-10*time.Minute), until.Add(10*time.Minute)
	uri := fmt.Sprintf("rtsp://recorder/Streaming/tracks/%s/?starttime=%s&endtime=%s&name=ch%s_seg&size=1048576", s.Track, segFrom.Format(stamp), segUntil.Format(stamp), s.Track)
	w.Header().Set("Content-Type", "application/xml")
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<CMSearchResult version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<searchID>x</searchID><responseStatus>true</responseStatus><responseStatusStrg>OK</responseStatusStrg><numOfMatches>1</numOfMatches>
<matchList><searchMatchItem><sourceID>{0000}</sourceID><trackID>%s</trackID>
<timeSpan><startTime>%s</startTime><endTime>%s</endTime></timeSpan>
<mediaSegmentDescriptor><contentType>video</contentType><codecType>H.264-BP</codecType><playbackURI>%s</playbackURI></mediaSegmentDescriptor>
</searchMatchItem></matchList></CMSearchResult>`, s.Track, segFrom.Format(time.RFC3339), segUntil.Format(time.RFC3339), xmlEscape(uri))
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

// window reads starttime and endtime from a playback URI.
func window(raw string) (float64, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return 0, err
	}
	from, err := time.Parse(stamp, u.Query().Get("starttime"))
	if err != nil {
		return 0, err
	}
	until, err := time.Parse(stamp, u.Query().Get("endtime"))
	if err != nil {
		return 0, err
	}
	return until.Sub(from).Seconds(), nil
}

func (r *Recorder) download(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	var d struct {
		URI string `xml:"playbackURI"`
	}
	if err := xml.Unmarshal(body, &d); err != nil {
		http.Error(w, "bad download request", http.StatusBadRequest)
		return
	}
	secs, err := window(d.URI)
	if err != nil || secs <= 0 || secs > 3600 {
		http.Error(w, "bad playback URI "+d.URI, http.StatusBadRequest)
		return
	}
	p, err := r.Clip(secs)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	r.mu.Lock()
	r.Downloads++
	r.mu.Unlock()
	w.Header().Set("Content-Type", "video/mp4")
	http.ServeFile(w, req, p)
}

// playback serves /playback/NAME?starttime=&endtime= as an MP4 file
// ffmpeg reads over HTTP.
func (r *Recorder) playback(w http.ResponseWriter, req *http.Request) {
	secs, err := window(req.URL.String())
	if err != nil || secs <= 0 {
		http.Error(w, "bad window", http.StatusBadRequest)
		return
	}
	p, err := r.Clip(secs)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	http.ServeFile(w, req, p)
}

func (r *Recorder) snapshot(w http.ResponseWriter, req *http.Request) {
	b, err := r.JPEG()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Write(b)
}
