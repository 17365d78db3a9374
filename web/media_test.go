package web

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
	"github.com/shequ/shequ/sqlstore"
	"github.com/shequ/shequ/sqlstore/sqlstoretest"
)

// clip yields n bytes that sniff as an MP4 video: an ftyp box, then a
// seeded random stream, so that any stretch of it can be made again.
func clip(n int64) io.Reader {
	head := "\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
	return io.LimitReader(io.MultiReader(strings.NewReader(head), rand.NewChaCha8([32]byte{7})), n)
}

// rss reads a field (VmRSS, VmHWM) of /proc/self/status in bytes.
func rss(t *testing.T, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status here: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

// TestMediaStreamsLargeFiles sends a 300 MB clip in and out through the
// route helper over HTTP, checks that the process's resident memory stays
// under 100 MB meanwhile, and that ranges and conditional requests are
// answered from the stored bytes.
func TestMediaStreamsLargeFiles(t *testing.T) {
	const size = 300 << 20
	// A store with one account and no demo: the memory measured is the
	// server's and the streaming's, not a demo community's.
	clock := shequtest.NewClock(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC))
	st := sqlstoretest.Open(t, sqlstore.SQLite, clock)
	if err := st.EnsureAdmin(t.Context(), demoPassword); err != nil {
		t.Fatal(err)
	}
	blobs, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: st, Clock: clock, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test", LoginBurst: 10, Media: blobs})
	e := &testEnv{t: t, store: st, server: s, clock: clock, tokens: map[string]string{}}
	e.http = newHTTPServer(t, s)
	var mu sync.Mutex
	kept := map[int64]media.Media{}
	s.mediaUpload(Route{Method: http.MethodPost, Path: "/api/v1/test-clips/{id}", Permission: auth.PermCommunitiesRead}, mediaIn{Kind: media.VideoExport, Field: "file", Refused: "must be a video"},
		func(ctx context.Context, a *auth.Actor, id int64, up upload) (any, string, error) {
			mu.Lock()
			defer mu.Unlock()
			up.ID, up.CreatedAt = id, time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			kept[id] = up.Media
			return map[string]any{"sha256": up.SHA256, "size": up.Size, "type": up.ContentType}, "", nil
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/test-clips/{id}/{n}", Permission: auth.PermCommunitiesRead}, "n",
		func(ctx context.Context, a *auth.Actor, id, n int64) (media.Media, error) {
			mu.Lock()
			defer mu.Unlock()
			return kept[id], nil
		}, nil)

	// Memory is sampled while the bytes flow; the heap before is the
	// demo's and the server's, the rise is what streaming costs.
	// Signing in hashes with Argon2 (64 MiB): done before measuring.
	tok := e.token("admin")
	runtime.GC()
	debug.FreeOSMemory()
	before := rss(t, "VmRSS")
	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if v := rss(t, "VmRSS"); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	send := func(method, path string, body io.Reader, hdr map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, e.http.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := e.http.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	h := sha256.New()
	start := time.Now()
	resp := send("POST", "/api/v1/test-clips/1", io.TeeReader(clip(size), h), map[string]string{"Content-Type": "video/mp4"})
	var got struct {
		SHA256 string
		Size   int64
		Type   string
	}
	json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	up := time.Since(start)
	want := hex.EncodeToString(h.Sum(nil))
	if resp.StatusCode != http.StatusCreated || got.SHA256 != want || got.Size != size || got.Type != "video/mp4" {
		t.Fatalf("upload: %d %+v, want %s", resp.StatusCode, got, want)
	}

	start = time.Now()
	resp = send("GET", "/api/v1/test-clips/1/1", nil, nil)
	h.Reset()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	down := time.Since(start)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != want || resp.Header.Get("ETag") != `"`+want+`"` {
		t.Fatalf("download: %d bytes, %v, etag %s", n, err, resp.Header.Get("ETag"))
	}
	close(stop)
	<-sampled
	t.Logf("300 MiB in %v, out %v; RSS %d MiB before, peak %d MiB, high-water mark %d MiB",
		up.Round(time.Millisecond), down.Round(time.Millisecond), before>>20, peak.Load()>>20, rss(t, "VmHWM")>>20)
	// What streaming holds is the rise over the process's own size, which
	// the package's other tests set.
	if rise := peak.Load() - before; rise >= 64<<20 {
		t.Errorf("resident memory rose by %d MiB while streaming 300 MiB", rise>>20)
	}

	t.Run("range", func(t *testing.T) {
		const off, length = 200_000_000, 100
		resp := send("GET", "/api/v1/test-clips/1/1", nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, off+length-1)})
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantBytes := make([]byte, length)
		r := clip(size)
		io.CopyN(io.Discard, r, off)
		io.ReadFull(r, wantBytes)
		if resp.StatusCode != http.StatusPartialContent || string(body) != string(wantBytes) ||
			resp.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", off, off+length-1, size) {
			t.Errorf("range: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Range"), len(body))
		}
		resp = send("GET", "/api/v1/test-clips/1/1", nil, map[string]string{"Range": fmt.Sprintf("bytes=%d-", size+10)})
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
			t.Errorf("range past the end: %d", resp.StatusCode)
		}
		resp = send("GET", "/api/v1/test-clips/1/1", nil, map[string]string{"If-None-Match": `"` + want + `"`})
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("if-none-match: %d", resp.StatusCode)
		}
	})

	t.Run("refused", func(t *testing.T) {
		resp := send("POST", "/api/v1/test-clips/2", strings.NewReader("<html>not a clip</html>"), nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a page as a clip: %d", resp.StatusCode)
		}
		resp = send("POST", "/api/v1/test-clips/2", strings.NewReader(""), nil)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("nothing as a clip: %d", resp.StatusCode)
		}
		if _, ok := kept[2]; ok {
			t.Error("a refused clip was recorded")
		}
	})
}
