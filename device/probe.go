package device

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/httpauth"
	"github.com/shequ/shequ/rtsp"
)

// Prober runs checks over the network.
type Prober struct {
	// HTTP is the client for http checks; nil means one that does not
	// follow redirects (a redirect is an answer) and keeps no connections
	// (a check must open a fresh one to prove the device is reachable).
	HTTP *http.Client
	// Now is the clock results are stamped with.
	Now func() time.Time
}

// Probe runs t's check and reports what it found. It never returns an
// error: a failure is the result.
func (p *Prober) Probe(ctx context.Context, t Target) Result {
	ctx, cancel := context.WithTimeout(ctx, t.Check.Timeout())
	defer cancel()
	var r Result
	switch t.Check.Kind {
	case CheckRTSP:
		r = p.rtsp(ctx, t.Check)
	case CheckHTTP:
		r = p.http(ctx, t.Check)
	case CheckTCP:
		r = p.tcp(ctx, t.Check)
	case CheckSNMP:
		r = p.snmp(ctx, t.Check)
	case CheckAlarm:
		if t.Evidence != nil {
			r = *t.Evidence
		} else {
			r = Result{Status: community.DeviceUnknown}
		}
	default:
		r = Result{Status: community.DeviceUnknown, Reason: fmt.Sprintf("no check of kind %q", t.Check.Kind)}
	}
	if r.At.IsZero() {
		r.At = p.now()
	}
	return r
}

func (p *Prober) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now().UTC()
}

func offline(err error) Result {
	return Result{Status: community.DeviceOffline, Reason: reason(err)}
}

// reason words a network error for an operator: what failed, without the
// Go call chain.
func reason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "no answer (timed out)"
	case strings.Contains(err.Error(), "connection refused"):
		return "connection refused"
	case strings.Contains(err.Error(), "no route to host"):
		return "no route to host"
	case strings.Contains(err.Error(), "no such host"):
		return "host name not found"
	}
	return err.Error()
}

func (p *Prober) rtsp(ctx context.Context, c Check) Result {
	d, err := rtsp.Describe(ctx, c.URL, httpauth.Credentials{Username: c.Username, Password: c.Password})
	var se *rtsp.StatusError
	switch {
	case errors.Is(err, rtsp.ErrUnauthorized):
		return Result{Status: community.DeviceDegraded, Reason: "answers but refuses the credentials"}
	case errors.As(err, &se):
		return Result{Status: community.DeviceDegraded, Reason: fmt.Sprintf("%s answered %d %s", se.Method, se.Code, se.Reason)}
	case errors.Is(err, rtsp.ErrMalformed):
		return Result{Status: community.DeviceDegraded, Reason: "answers but not in RTSP: " + err.Error()}
	case err != nil:
		return offline(err)
	}
	v, ok := d.Session.Video()
	if !ok {
		return Result{Status: community.DeviceDegraded, Reason: "answers but describes no video track"}
	}
	codec := v.Codec()
	if codec == "" {
		codec = "unknown codec"
	}
	return Result{Status: community.DeviceOnline, Detail: codec + " video"}
}

func (p *Prober) http(ctx context.Context, c Check) Result {
	client := p.HTTP
	if client == nil {
		client = &http.Client{
			Transport: &http.Transport{DisableKeepAlives: true, TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS12}},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return offline(err)
	}
	if c.Username != "" {
		req.SetBasicAuth(c.Username, c.Password)
	}
	res, err := client.Do(req)
	if err != nil {
		return offline(err)
	}
	res.Body.Close()
	ok := res.StatusCode < 400
	if c.ExpectStatus != 0 {
		ok = res.StatusCode == c.ExpectStatus
	}
	if !ok {
		return Result{Status: community.DeviceDegraded, Reason: "answered HTTP " + res.Status}
	}
	return Result{Status: community.DeviceOnline, Detail: "HTTP " + res.Status}
}

func (p *Prober) tcp(ctx context.Context, c Check) Result {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", c.Address)
	if err != nil {
		return offline(err)
	}
	conn.Close()
	return Result{Status: community.DeviceOnline}
}

// SNMP objects of MIB-II (RFC 1213) the check reads.
const (
	oidSysUpTime    = ".1.3.6.1.2.1.1.3.0"
	oidIfOperStatus = ".1.3.6.1.2.1.2.2.1.8"
	oidIfType       = ".1.3.6.1.2.1.2.2.1.3"
	ifTypeSoftLoop  = 24
	ifOperStatusUp  = 1
)

func (p *Prober) snmp(ctx context.Context, c Check) Result {
	host, portText, err := net.SplitHostPort(c.Address)
	if err != nil {
		return offline(err)
	}
	var port uint16
	if _, err := fmt.Sscan(portText, &port); err != nil {
		return offline(fmt.Errorf("port %q", portText))
	}
	community_ := c.Community
	if community_ == "" {
		community_ = "public"
	}
	deadline, _ := ctx.Deadline()
	g := &gosnmp.GoSNMP{Target: host, Port: port, Community: community_, Version: gosnmp.Version2c,
		Timeout: time.Until(deadline) / 2, Retries: 1, Context: ctx, MaxRepetitions: 20}
	if err := g.Connect(); err != nil {
		return offline(err)
	}
	defer g.Conn.Close()
	pkt, err := g.Get([]string{oidSysUpTime})
	if err != nil {
		return offline(err)
	}
	if len(pkt.Variables) == 0 || pkt.Variables[0].Type == gosnmp.NoSuchObject || pkt.Variables[0].Type == gosnmp.NoSuchInstance {
		return Result{Status: community.DeviceDegraded, Reason: "answers SNMP but gives no sysUpTime"}
	}
	ticks := gosnmp.ToBigInt(pkt.Variables[0].Value).Int64()
	detail := []string{"uptime " + formatUptime(time.Duration(ticks)*10*time.Millisecond)}
	// Interfaces: loopbacks do not count; a device with interfaces none of
	// which is up answers but carries nothing.
	types := map[string]int64{}
	_ = g.BulkWalk(oidIfType, func(v gosnmp.SnmpPDU) error {
		types[v.Name[len(oidIfType):]] = gosnmp.ToBigInt(v.Value).Int64()
		return nil
	})
	up, total := 0, 0
	_ = g.BulkWalk(oidIfOperStatus, func(v gosnmp.SnmpPDU) error {
		if types[v.Name[len(oidIfOperStatus):]] == ifTypeSoftLoop {
			return nil
		}
		total++
		if gosnmp.ToBigInt(v.Value).Int64() == ifOperStatusUp {
			up++
		}
		return nil
	})
	if total > 0 {
		detail = append(detail, fmt.Sprintf("%d/%d interfaces up", up, total))
	}
	if c.ClientsOID != "" {
		if pkt, err := g.Get([]string{c.ClientsOID}); err == nil && len(pkt.Variables) == 1 &&
			pkt.Variables[0].Type != gosnmp.NoSuchObject && pkt.Variables[0].Type != gosnmp.NoSuchInstance {
			detail = append(detail, fmt.Sprintf("%d clients", gosnmp.ToBigInt(pkt.Variables[0].Value).Int64()))
		}
	}
	r := Result{Status: community.DeviceOnline, Detail: strings.Join(detail, " · ")}
	if total > 0 && up == 0 {
		r.Status, r.Reason = community.DeviceDegraded, fmt.Sprintf("answers SNMP but none of its %d interfaces is up", total)
	}
	return r
}

func formatUptime(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	hours := int(d % (24 * time.Hour) / time.Hour)
	if days > 0 {
		return fmt.Sprintf("%dd %dh", days, hours)
	}
	return fmt.Sprintf("%dh %dm", hours, int(d%time.Hour/time.Minute))
}
