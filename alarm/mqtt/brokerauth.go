package mqtt

import (
	"bytes"
	"crypto/subtle"
	"fmt"
	"net"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Who may talk to the embedded broker. A client that can publish there can
// open and close doors as far as the alarm centre knows, so the broker
// either asks every client for the configured username and password, or
// listens on this machine only.

// Check says what is unsafe in the configuration, before anything starts.
func (c Config) Check() error {
	if c.Listen == "" {
		return nil
	}
	_, err := c.brokerAuth()
	return err
}

// brokerAuth returns the hook that admits clients to the embedded broker,
// or says why the configuration is unsafe.
func (c Config) brokerAuth() (mochi.Hook, error) {
	if c.Password != "" {
		return &passwordHook{user: []byte(c.Username), password: []byte(c.Password)}, nil
	}
	if !loopbackOnly(c.Listen) {
		return nil, fmt.Errorf("mqtt: the embedded broker would listen on %s, beyond this machine, without a password: "+
			"set --mqtt-user and --mqtt-password (SHEQU_MQTT_USER, SHEQU_MQTT_PASSWORD), which every sensor bridge must then present, "+
			"or listen on 127.0.0.1", c.Listen)
	}
	return new(auth.AllowHook), nil
}

// loopbackOnly reports whether addr can be reached from this machine alone.
func loopbackOnly(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// passwordHook lets in the clients that present the configured username
// and password, and lets them publish and subscribe anywhere.
type passwordHook struct {
	mochi.HookBase
	user, password []byte
}

func (h *passwordHook) ID() string { return "shequ-password" }

func (h *passwordHook) Provides(b byte) bool {
	return bytes.Contains([]byte{mochi.OnConnectAuthenticate, mochi.OnACLCheck}, []byte{b})
}

// OnConnectAuthenticate compares both in constant time, whichever is wrong.
func (h *passwordHook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	user := subtle.ConstantTimeCompare(cl.Properties.Username, h.user)
	password := subtle.ConstantTimeCompare(pk.Connect.Password, h.password)
	return user&password == 1
}

func (h *passwordHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }
