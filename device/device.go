// Package device owns device health: how each device is checked (RTSP,
// HTTP(S), TCP connect, SNMP, or the alarm side's own supervision), the
// status that follows from the evidence, the scheduler that spreads the
// checks over each device's interval on one node, and the trouble
// incidents raised when devices stay offline. It holds no SQL and no HTTP:
// the store and the web layer sit behind the small interfaces here.
package device

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/community"
)

// Check kinds.
const (
	CheckRTSP = "rtsp"
	CheckHTTP = "http"
	CheckTCP  = "tcp"
	CheckSNMP = "snmp"
	// CheckAlarm is not configured by anyone: panels and sensors carry
	// their own evidence (SIA supervision, zigbee2mqtt availability),
	// which the store hands over as the check's result.
	CheckAlarm = "alarm"
	// CheckReported is for devices another part reports on (speakers, by
	// the broadcast side), through Report.
	CheckReported = "reported"
)

// CheckKinds are the kinds a person may configure.
var CheckKinds = []string{CheckRTSP, CheckHTTP, CheckTCP, CheckSNMP}

// Default and bounds of a check's timing.
const (
	DefaultInterval = 60 * time.Second
	MinInterval     = 5 * time.Second
	MaxInterval     = 24 * time.Hour
	DefaultTimeout  = 5 * time.Second
)

// Check is how one device is checked.
type Check struct {
	Kind string `json:"kind"`
	// URL for rtsp and http(s); Address (host:port) for tcp and snmp.
	URL     string `json:"url,omitempty"`
	Address string `json:"address,omitempty"`
	// Username and Password answer RTSP Digest/Basic or HTTP Basic
	// challenges; Community is SNMP v2c's. The password and community are
	// sealed at rest and never read back through the API.
	Username  string `json:"username,omitempty"`
	Password  string `json:"password,omitempty"`
	Community string `json:"community,omitempty"`
	// ClientsOID is the SNMP object giving the number of associated
	// clients, for access points whose MIB has one (e.g. Cisco's
	// cDot11ActiveWirelessClients); empty means not asked.
	ClientsOID string `json:"clients_oid,omitempty"`
	// ExpectStatus is the HTTP status that means up; 0 means any 2xx/3xx.
	ExpectStatus    int `json:"expect_status,omitempty"`
	IntervalSeconds int `json:"interval_seconds,omitempty"`
	TimeoutSeconds  int `json:"timeout_seconds,omitempty"`
}

// Interval is how often the device is checked.
func (c Check) Interval() time.Duration {
	if c.IntervalSeconds <= 0 {
		return DefaultInterval
	}
	return time.Duration(c.IntervalSeconds) * time.Second
}

// Timeout bounds one check; never longer than the interval.
func (c Check) Timeout() time.Duration {
	t := DefaultTimeout
	if c.TimeoutSeconds > 0 {
		t = time.Duration(c.TimeoutSeconds) * time.Second
	}
	return min(t, c.Interval())
}

// Target is the check's target: the URL or address, whichever it uses.
func (c Check) Target() string {
	if c.URL != "" {
		return c.URL
	}
	return c.Address
}

// Validate checks a configured check.
func (c *Check) Validate() error {
	p := shequ.Problems{}
	c.Kind = strings.ToLower(strings.TrimSpace(c.Kind))
	c.URL, c.Address = strings.TrimSpace(c.URL), strings.TrimSpace(c.Address)
	if !slices.Contains(CheckKinds, c.Kind) {
		p.Add("check.kind", "must be one of %s", strings.Join(CheckKinds, ", "))
	}
	switch c.Kind {
	case CheckRTSP, CheckHTTP:
		schemes := []string{"rtsp"}
		if c.Kind == CheckHTTP {
			schemes = []string{"http", "https"}
		}
		u, err := url.Parse(c.URL)
		switch {
		case c.URL == "":
			p.Add("check.url", "is required for a %s check", c.Kind)
		case err != nil || u.Hostname() == "" || !slices.Contains(schemes, u.Scheme):
			p.Add("check.url", "must be a %s:// URL with a host", strings.Join(schemes, ":// or "))
		case u.User != nil:
			p.Add("check.url", "must not carry credentials: give username and password")
		}
		c.Address = ""
	case CheckTCP, CheckSNMP:
		if c.Address == "" {
			p.Add("check.address", "is required for a %s check (host:port)", c.Kind)
		} else if _, port, err := net.SplitHostPort(c.Address); err != nil || port == "" {
			if c.Kind == CheckSNMP && err != nil {
				c.Address = net.JoinHostPort(c.Address, "161")
			} else {
				p.Add("check.address", "must be host:port")
			}
		}
		c.URL = ""
	}
	if c.IntervalSeconds != 0 && (c.Interval() < MinInterval || c.Interval() > MaxInterval) {
		p.Add("check.interval_seconds", "must be between %d and %d", int(MinInterval/time.Second), int(MaxInterval/time.Second))
	}
	if c.TimeoutSeconds < 0 || c.TimeoutSeconds > 60 {
		p.Add("check.timeout_seconds", "must be between 1 and 60")
	}
	p.OptionalText("check.username", c.Username, 100)
	p.OptionalText("check.password", c.Password, 200)
	p.OptionalText("check.community", c.Community, 100)
	return p.Err()
}

// Result is what one check found.
type Result struct {
	Status string // online, offline or degraded
	// Reason says why it was not online, in words for an operator.
	Reason string
	At     time.Time
	// SeenAt is when the device was last heard of when the evidence is
	// older than the check (a panel's last frame); zero means At.
	SeenAt time.Time
	// Detail is what else the check learnt: "H264 video", "uptime 3d",
	// "12 clients".
	Detail string
}

// State is a device's health as the registry keeps it.
type State struct {
	Status    string     `json:"status"`
	Since     *time.Time `json:"status_since,omitempty"`
	LastSeen  *time.Time `json:"last_seen_at,omitempty"`
	LastCheck *time.Time `json:"last_checked_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
	Detail    string     `json:"detail,omitempty"`
}

// Next is the state after a result: the status follows the evidence at
// once (an operator must see what is true now); Since moves only when the
// status changes; LastError keeps the last failure's reason even after
// recovery, so that "why was it down" stays answerable.
func (s State) Next(r Result) State {
	at := r.At.UTC()
	n := s
	n.LastCheck = &at
	n.Detail = r.Detail
	if r.Status != s.Status || s.Since == nil {
		n.Since = &at
	}
	n.Status = r.Status
	if r.Status == community.DeviceOnline || r.Status == community.DeviceDegraded {
		seen := at
		if !r.SeenAt.IsZero() {
			seen = r.SeenAt.UTC()
		}
		n.LastSeen = &seen
	}
	if r.Status != community.DeviceOnline && r.Reason != "" {
		n.LastError = r.Reason
	}
	return n
}

// Target is one device to check, with what the store knows of it.
type Target struct {
	DeviceID    int64
	CommunityID int64
	Kind        string // the device's kind: camera, wifi_ap …
	Name        string
	BuildingID  int64
	GridID      int64
	Check       Check
	State       State
	// Evidence is the result for CheckAlarm devices, read by the store.
	Evidence *Result
}

// Observation is a result and the state it led to, for the store.
type Observation struct {
	DeviceID    int64
	CommunityID int64
	Result      Result
	Before      State
	After       State
}

func (o Observation) String() string {
	return fmt.Sprintf("device %d %s→%s", o.DeviceID, o.Before.Status, o.After.Status)
}

// Reporter records a status measured elsewhere. The broadcast side calls
// it for its speakers (whether the stream reaches them): the status goes
// through the same rules, uptime and trouble incidents as a checked
// device's. The store (sqlstore.Store.ReportDeviceStatus) implements it.
type Reporter interface {
	ReportDeviceStatus(ctx context.Context, deviceID int64, r Result) error
}
