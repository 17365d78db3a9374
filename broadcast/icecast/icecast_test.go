package icecast

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/broadcast/mp3"
	"github.com/shequ/shequ/broadcast/stream"
	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/shequtest"
)

// startIcecast runs icecast2 with a configuration of its own on a free
// port and returns its address.
func startIcecast(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	os.Chmod(dir, 0o777) // icecast2 drops root for nobody and logs here
	owner := ""
	if os.Getuid() == 0 {
		owner = "<changeowner><user>nobody</user><group>nogroup</group></changeowner>"
	}
	conf := fmt.Sprintf(`<icecast>
  <limits><sources>4</sources></limits>
  <authentication><source-password>src-secret</source-password><admin-user>admin</admin-user><admin-password>adm-secret</admin-password></authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>%d</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <paths><basedir>/usr/share/icecast2</basedir><logdir>%s</logdir><webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot></paths>
  <logging><accesslog>-</accesslog><errorlog>-</errorlog><loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>%s</security>
</icecast>`, port, dir, owner)
	path := filepath.Join(dir, "icecast.xml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("icecast2", "-c", path)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("icecast2 did not start: %s", out.String())
		}
	}
}

// TestSourceToIcecast: a zone's stream goes to its mount on a real
// Icecast as source; a listener of the mount gets the zone's MP3, and a
// wrong password is refused.
func TestSourceToIcecast(t *testing.T) {
	shequtest.NeedCommand(t, "icecast2", "ffmpeg")
	addr := startIcecast(t)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()

	blobs, err := disk.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clock := shequtest.NewClock(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	hub := stream.New(clock, blobs, nil)
	go hub.Run(ctx)
	tone, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=f=440:d=20", "-ar", "48000", "-ac", "1",
		"-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", "-f", "mp3", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	sha, _, err := blobs.Put(ctx, bytes.NewReader(tone))
	if err != nil {
		t.Fatal(err)
	}
	z := broadcast.Zone{ID: 1, Code: "g1", Name: "第1网格"}
	if err := hub.Cue(ctx, z.ID, broadcast.Cue{Key: "tone", At: clock.Now(), Until: clock.Now().Add(time.Hour), Audio: broadcast.Audio{SHA256: sha, Seconds: 20}}); err != nil {
		t.Fatal(err)
	}

	bad, _ := Parse("http://source:wrong@" + addr)
	if err := Send(ctx, bad, z, hub); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: %v", err)
	}
	server, err := Parse("http://source:src-secret@" + addr)
	if err != nil {
		t.Fatal(err)
	}
	relay := NewRelay(server, hub, func(context.Context) ([]broadcast.Zone, error) { return []broadcast.Zone{z}, nil }, nil)
	go relay.Run(ctx)

	// Listen to the mount once the source is up.
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		resp, err = http.Get("http://" + addr + "/zone-g1")
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mount did not come up: %v", err)
		}
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "audio/mpeg" {
		t.Errorf("content type %q", ct)
	}
	got := make([]byte, 100*mp3.FrameBytes) // 2.4 s
	if _, err := io.ReadFull(resp.Body, got); err != nil {
		t.Fatalf("read the mount: %v", err)
	}
	// Icecast starts a listener at a frame; the frames are the zone's.
	start := bytes.Index(got, []byte{0xFF, 0xFB, 0x54})
	frames, err := mp3.Frames(got[start : start+90*mp3.FrameBytes])
	if err != nil || len(frames) != 90 {
		t.Fatalf("the mount's audio: %d frames, %v", len(frames), err)
	}
	if bytes.Equal(frames[10], mp3.Silence()) {
		t.Error("the mount carries silence, not the tone")
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/admin/stats", nil)
	req.SetBasicAuth("admin", "adm-secret")
	st, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	stats, _ := io.ReadAll(st.Body)
	st.Body.Close()
	if !strings.Contains(string(stats), `<source mount="/zone-g1">`) || !strings.Contains(string(stats), "<server_description>shequ loudspeaker zone g1</server_description>") {
		t.Errorf("stats: %s", stats)
	}

	// Who listens to the mount, for the speaker health: this test, from
	// 127.0.0.1; a zone without a source has nobody; wrong admin
	// credentials are an error, not an empty list.
	admin, err := ParseAdmin("admin:adm-secret")
	if err != nil {
		t.Fatal(err)
	}
	ls, err := NewStats(server, admin).Listeners(ctx, z)
	if err != nil || len(ls) != 1 || ls[0].Addr != "127.0.0.1" || ls[0].UserAgent == "" {
		t.Errorf("listeners of /zone-g1: %+v %v", ls, err)
	}
	if ls, err := NewStats(server, admin).Listeners(ctx, broadcast.Zone{Code: "nobody"}); err != nil || len(ls) != 0 {
		t.Errorf("listeners of a mount without a source: %+v %v", ls, err)
	}
	if _, err := NewStats(server, url.UserPassword("admin", "wrong")).Listeners(ctx, z); err == nil {
		t.Error("wrong admin password: no error")
	}
	if _, err := ParseAdmin("admin"); err == nil {
		t.Error("admin without a password accepted")
	}
}
