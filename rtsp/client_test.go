package rtsp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/shequ/shequ/httpauth"
	"github.com/shequ/shequ/rtsp"
	"github.com/shequ/shequ/rtsp/rtsptest"
)

func TestDescribeAgainstTestServer(t *testing.T) {
	srv := rtsptest.NewServer(t)
	srv.Username, srv.Password = "admin", "s3cret"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	if _, err := rtsp.Describe(ctx, srv.URL(), httpauth.Credentials{Username: "admin", Password: "wrong"}); !errors.Is(err, rtsp.ErrUnauthorized) {
		t.Fatalf("wrong password: want ErrUnauthorized, got %v", err)
	}
	c, err := rtsp.Dial(ctx, srv.URL(), httpauth.Credentials{Username: "admin", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d, err := c.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := d.Session.Video()
	if !ok || v.Codec() != "H264" || len(d.Methods) != 5 {
		t.Fatalf("got %+v", d)
	}
	if err := c.Play(ctx, d, d.ContentBase); err != nil {
		t.Fatal(err)
	}
	// The stream carries the SPS and PPS and coded slices. Read until all
	// three came (a slice may come between the two parameter sets, so
	// three kinds of packet are not yet proof), at most 500 packets.
	seen := map[byte]bool{}
	for n := 0; n < 500 && !(seen[7] && seen[8] && (seen[1] || seen[5])); n++ {
		ch, pkt, err := c.ReadFrame(ctx)
		if err != nil {
			t.Fatalf("after %v: %v", seen, err)
		}
		if ch != 0 || len(pkt) < 13 || pkt[0]>>6 != 2 || pkt[1]&0x7f != 96 {
			t.Fatalf("not an RTP H.264 packet on channel 0: ch %d % x", ch, pkt[:min(len(pkt), 16)])
		}
		nal := pkt[12] & 0x1f
		if nal == 28 {
			nal = pkt[13] & 0x1f // FU-A: the type is in the FU header
		}
		seen[nal] = true
	}
	if !seen[7] || !seen[8] {
		t.Fatalf("no SPS/PPS in %v", seen)
	}
}

func TestDescribeAudioOnlyAndDown(t *testing.T) {
	srv := rtsptest.NewServer(t)
	srv.AudioOnly = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d, err := rtsp.Describe(ctx, srv.URL(), httpauth.Credentials{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Session.Video(); ok {
		t.Fatal("audio-only server described video")
	}
	srv.Stop()
	if _, err := rtsp.Describe(ctx, srv.URL(), httpauth.Credentials{}); err == nil {
		t.Fatal("a stopped server answered")
	}
	srv.Start()
	if _, err := rtsp.Describe(ctx, srv.URL(), httpauth.Credentials{}); err != nil {
		t.Fatalf("after restart: %v", err)
	}
}
