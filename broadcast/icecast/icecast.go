// Package icecast sends the zone streams to an Icecast server as a source
// client: one mount per zone (/zone-{code}), each fed from the zone's
// stream, which is already paced in real time as Icecast wants. The
// request is written by hand: Icecast takes the body of a PUT as a raw
// stream, not in HTTP chunks.
package icecast

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/broadcast"
)

// Listener gives a zone's stream (stream.Hub).
type Listener interface {
	Listen(ctx context.Context, zoneID int64) (<-chan []byte, error)
}

// Parse checks an Icecast address: http://source:PASSWORD@host:8000.
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" || u.User == nil {
		return nil, shequ.Errorf(shequ.EINVALID, "icecast: want http://source:PASSWORD@host:port, got %q", redact(raw))
	}
	if _, ok := u.User.Password(); !ok {
		return nil, shequ.Errorf(shequ.EINVALID, "icecast: the address has no source password")
	}
	return u, nil
}

func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// Mount is the mount point of a zone.
func Mount(z broadcast.Zone) string { return "/zone-" + z.Code }

// Relay keeps a source connection per zone.
type Relay struct {
	server *url.URL
	hub    Listener
	zones  func(ctx context.Context) ([]broadcast.Zone, error)
	log    *slog.Logger

	mu      sync.Mutex
	running map[int64]bool
}

// NewRelay returns a relay to server of the zones zones lists.
func NewRelay(server *url.URL, hub Listener, zones func(ctx context.Context) ([]broadcast.Zone, error), log *slog.Logger) *Relay {
	if log == nil {
		log = slog.Default()
	}
	return &Relay{server: server, hub: hub, zones: zones, log: log.With("icecast", server.Redacted()), running: map[int64]bool{}}
}

// Run starts a source for each zone, and for new zones as they come, until
// ctx ends.
func (r *Relay) Run(ctx context.Context) {
	r.startSources(ctx)
	shequ.Every(ctx, 30*time.Second, r.startSources)
}

func (r *Relay) startSources(ctx context.Context) {
	zones, err := r.zones(ctx)
	if err != nil {
		r.log.Error("icecast: list zones", "err", err)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, z := range zones {
		if !r.running[z.ID] {
			r.running[z.ID] = true
			go r.keep(ctx, z)
		}
	}
}

// keep sends a zone until ctx ends, reconnecting after a failure, waiting
// longer each time up to a minute.
func (r *Relay) keep(ctx context.Context, z broadcast.Zone) {
	wait := 2 * time.Second
	for ctx.Err() == nil {
		began := time.Now()
		err := Send(ctx, r.server, z, r.hub)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			wait = 2 * time.Second
		}
		r.log.Warn("icecast source ended; reconnecting", "mount", Mount(z), "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// Send connects as the source of the zone's mount and sends its stream
// until ctx ends or the connection fails.
func Send(ctx context.Context, server *url.URL, z broadcast.Zone, hub Listener) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", server.Host)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	user := server.User.Username()
	pass, _ := server.User.Password()
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	req := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\nUser-Agent: shequ\r\nContent-Type: audio/mpeg\r\n"+
		"Ice-Name: %s\r\nIce-Description: shequ loudspeaker zone %s\r\nIce-Public: 0\r\nExpect: 100-continue\r\n\r\n",
		Mount(z), server.Host, auth, headerSafe(z.Name), headerSafe(z.Code))
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return fmt.Errorf("icecast: %w", err)
	}
	if resp.StatusCode != http.StatusContinue && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("icecast refused %s: %s", Mount(z), resp.Status)
	}
	conn.SetDeadline(time.Time{})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks, err := hub.Listen(lctx, z.ID)
	if err != nil {
		return err
	}
	for b := range chunks {
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := conn.Write(b); err != nil {
			return fmt.Errorf("icecast: %w", err)
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("icecast: the zone stream dropped the source (too slow)")
}

// headerSafe keeps a value on one header line.
func headerSafe(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= ' ' && r != 0x7f {
			out = append(out, r)
		}
	}
	return string(out)
}
