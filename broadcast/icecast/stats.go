package icecast

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/shequ/shequ/broadcast"
)

// Stats reads who listens to the zones' mounts from Icecast's admin
// interface (/admin/listclients, with the admin's credentials, which are
// not the source's), so that loudspeakers listening through Icecast count
// as online. Answers are kept for a few seconds: the speaker health check
// asks every second.
type Stats struct {
	server *url.URL
	client *http.Client
	keep   time.Duration

	mu    sync.Mutex
	cache map[string]listed
}

type listed struct {
	at        time.Time
	listeners []broadcast.Listener
	err       error
}

// NewStats reads the stats of the Icecast server at server (its address;
// the source credentials in it are not used) as the admin user.
func NewStats(server *url.URL, admin *url.Userinfo) *Stats {
	u := *server
	u.User = admin
	return &Stats{server: &u, client: &http.Client{Timeout: 5 * time.Second}, keep: 5 * time.Second, cache: map[string]listed{}}
}

// ParseAdmin reads USER:PASSWORD for Icecast's admin interface.
func ParseAdmin(raw string) (*url.Userinfo, error) {
	u, err := url.Parse("http://" + raw + "@x")
	if err != nil || u.User == nil || u.User.Username() == "" {
		return nil, fmt.Errorf("icecast admin: want USER:PASSWORD")
	}
	if _, ok := u.User.Password(); !ok {
		return nil, fmt.Errorf("icecast admin: want USER:PASSWORD")
	}
	return u.User, nil
}

// Listeners returns who listens to a zone's mount, or the error of the
// last asking (a mount without a source is no listeners).
func (s *Stats) Listeners(ctx context.Context, z broadcast.Zone) ([]broadcast.Listener, error) {
	mount := Mount(z)
	s.mu.Lock()
	c, ok := s.cache[mount]
	s.mu.Unlock()
	if ok && time.Since(c.at) < s.keep {
		return c.listeners, c.err
	}
	ls, err := s.list(ctx, mount)
	s.mu.Lock()
	s.cache[mount] = listed{at: time.Now(), listeners: ls, err: err}
	s.mu.Unlock()
	return ls, err
}

func (s *Stats) list(ctx context.Context, mount string) ([]broadcast.Listener, error) {
	u := *s.server
	u.Path = "/admin/listclients"
	u.RawQuery = url.Values{"mount": {mount}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	pass, _ := s.server.User.Password()
	req.SetBasicAuth(s.server.User.Username(), pass)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("icecast stats: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("icecast stats: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusBadRequest:
		return nil, nil // "Source does not exist": nobody can listen
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("icecast stats: %s", resp.Status)
	}
	var doc struct {
		Sources []struct {
			Mount     string `xml:"mount,attr"`
			Listeners []struct {
				IP        string `xml:"IP"`
				UserAgent string `xml:"UserAgent"`
				Connected int64  `xml:"Connected"`
			} `xml:"listener"`
		} `xml:"source"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("icecast stats: %w", err)
	}
	var out []broadcast.Listener
	now := time.Now()
	for _, src := range doc.Sources {
		if src.Mount != mount {
			continue
		}
		for _, l := range src.Listeners {
			out = append(out, broadcast.Listener{Addr: l.IP, UserAgent: l.UserAgent, Since: now.Add(-time.Duration(l.Connected) * time.Second)})
		}
	}
	return out, nil
}
