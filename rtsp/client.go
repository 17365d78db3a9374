package rtsp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/httpauth"
)

// ErrUnauthorized is returned when the server refuses the credentials (or
// asks for some and none were given).
var ErrUnauthorized = errors.New("rtsp: unauthorized")

// StatusError is a response other than 2xx.
type StatusError struct {
	Method string
	Code   int
	Reason string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("rtsp: %s answered %d %s", e.Method, e.Code, e.Reason)
}

// Conn is one RTSP control connection. It is not safe for concurrent use:
// RTSP requests on a connection are answered in order.
type Conn struct {
	conn    net.Conn
	r       *bufio.Reader
	url     *url.URL
	creds   httpauth.Credentials
	cseq    int
	auth    *httpauth.Challenge
	nc      int
	session string
	// UserAgent is sent with every request.
	UserAgent string
}

// Dial connects to the server of rawURL (rtsp://[user:pass@]host[:port]/path).
// Credentials in the URL are used unless creds has a username.
func Dial(ctx context.Context, rawURL string, creds httpauth.Credentials) (*Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rtsp: url: %w", err)
	}
	if u.Scheme != "rtsp" {
		return nil, fmt.Errorf("rtsp: url %q: scheme must be rtsp", u.Redacted())
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("rtsp: url %q has no host", u.Redacted())
	}
	if u.User != nil {
		if creds.Username == "" {
			creds.Username = u.User.Username()
			creds.Password, _ = u.User.Password()
		}
		u.User = nil // never sent on the request line
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "554")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, fmt.Errorf("rtsp: connect: %w", err)
	}
	return &Conn{conn: c, r: bufio.NewReaderSize(c, 8192), url: u, creds: creds, UserAgent: "shequ-health/1"}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

// URL is the URL requests go to, without credentials.
func (c *Conn) URL() string { return c.url.String() }

// Do sends a request and reads its response, answering one authentication
// challenge if the server sends it. ctx's deadline bounds the exchange.
func (c *Conn) Do(ctx context.Context, method, uri string, header Header) (*Response, error) {
	if uri == "" {
		uri = c.url.String()
	}
	res, err := c.roundTrip(ctx, method, uri, header)
	if err != nil {
		return nil, err
	}
	if res.StatusCode == 401 && c.creds.Username != "" && c.auth == nil {
		ch, ok := httpauth.PickChallenge(res.Header.Values("WWW-Authenticate"))
		if !ok {
			return nil, fmt.Errorf("%w: no challenge we can answer (%q)", ErrUnauthorized, res.Header.Values("WWW-Authenticate"))
		}
		c.auth, c.nc = &ch, 0
		res, err = c.roundTrip(ctx, method, uri, header)
		if err != nil {
			return nil, err
		}
	}
	if res.StatusCode == 401 {
		return res, fmt.Errorf("%w: %s answered %d %s", ErrUnauthorized, method, res.StatusCode, res.Reason)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res, &StatusError{Method: method, Code: res.StatusCode, Reason: res.Reason}
	}
	return res, nil
}

func (c *Conn) roundTrip(ctx context.Context, method, uri string, header Header) (*Response, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(dl)
	} else {
		_ = c.conn.SetDeadline(time.Time{})
	}
	stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	c.cseq++
	req := &Request{Method: method, URL: uri}
	req.Header = append(req.Header, Field{"CSeq", strconv.Itoa(c.cseq)}, Field{"User-Agent", c.UserAgent})
	if c.session != "" {
		req.Header = append(req.Header, Field{"Session", c.session})
	}
	if c.auth != nil {
		c.nc++
		a, err := c.creds.Authorization(*c.auth, method, uri, c.nc)
		if err != nil {
			return nil, err
		}
		req.Header = append(req.Header, Field{"Authorization", a})
	}
	req.Header = append(req.Header, header...)
	if _, err := req.WriteTo(c.conn); err != nil {
		return nil, c.ctxErr(ctx, fmt.Errorf("rtsp: send %s: %w", method, err))
	}
	for {
		res, err := ReadResponse(c.r)
		if err != nil {
			return nil, c.ctxErr(ctx, fmt.Errorf("rtsp: %s response: %w", method, err))
		}
		// A response to an earlier request (a server that answered late)
		// is not ours: read on.
		if n := res.CSeq(); n >= 0 && n < c.cseq {
			continue
		}
		if s := res.Header.Get("Session"); s != "" {
			c.session, _, _ = strings.Cut(s, ";")
		}
		return res, nil
	}
}

func (c *Conn) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

// Description is what a camera said of itself in a health check.
type Description struct {
	Methods []string // from OPTIONS' Public header
	Server  string
	// ContentBase is where track controls are relative to.
	ContentBase string
	Session     Session
	Took        time.Duration
}

// Describe runs OPTIONS and DESCRIBE against rawURL, authenticating when
// asked, and parses the SDP. It does not judge the result: a camera with
// no video track is for the caller to call degraded.
func Describe(ctx context.Context, rawURL string, creds httpauth.Credentials) (Description, error) {
	c, err := Dial(ctx, rawURL, creds)
	if err != nil {
		return Description{}, err
	}
	defer c.Close()
	return c.Describe(ctx)
}

// Describe runs OPTIONS and DESCRIBE on the connection's URL.
func (c *Conn) Describe(ctx context.Context) (Description, error) {
	start := time.Now()
	var d Description
	res, err := c.Do(ctx, "OPTIONS", "", nil)
	if err != nil && !errors.Is(err, ErrUnauthorized) {
		// Some cameras want credentials for OPTIONS too: Do answered the
		// challenge already, so any other failure is real.
		return d, err
	}
	if res != nil {
		for m := range strings.SplitSeq(res.Header.Get("Public"), ",") {
			if m = strings.TrimSpace(m); m != "" {
				d.Methods = append(d.Methods, m)
			}
		}
		d.Server = res.Header.Get("Server")
	}
	res, err = c.Do(ctx, "DESCRIBE", "", Header{{"Accept", "application/sdp"}})
	if err != nil {
		return d, err
	}
	if ct := res.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/sdp") {
		return d, fmt.Errorf("rtsp: DESCRIBE answered %s, not application/sdp", ct)
	}
	d.ContentBase = res.Header.Get("Content-Base")
	if d.Session, err = ParseSDP(res.Body); err != nil {
		return d, err
	}
	d.Took = time.Since(start)
	return d, nil
}

// Play sets up the first video track over the TCP connection (RTP
// interleaved on channels 0–1) and starts it; read packets with ReadFrame.
func (c *Conn) Play(ctx context.Context, d Description, contentBase string) error {
	v, ok := d.Session.Video()
	if !ok {
		return errors.New("rtsp: no video track to play")
	}
	track := v.Control
	if track == "" || track == "*" {
		track = c.url.String()
	} else if !strings.Contains(track, "://") {
		base := contentBase
		if base == "" {
			base = c.url.String() + "/"
		}
		track = strings.TrimSuffix(base, "/") + "/" + track
	}
	if _, err := c.Do(ctx, "SETUP", track, Header{{"Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"}}); err != nil {
		return err
	}
	_, err := c.Do(ctx, "PLAY", "", Header{{"Range", "npt=0.000-"}})
	return err
}

// ReadFrame reads the next interleaved frame: its channel and data.
func (c *Conn) ReadFrame(ctx context.Context) (int, []byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = c.conn.SetReadDeadline(dl)
	}
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(c.r, hdr); err != nil {
		return 0, nil, err
	}
	if hdr[0] != '$' {
		return 0, nil, malformed("expected an interleaved frame, got %q", hdr)
	}
	data := make([]byte, int(hdr[2])<<8|int(hdr[3]))
	if _, err := io.ReadFull(c.r, data); err != nil {
		return 0, nil, err
	}
	return int(hdr[1]), data, nil
}
