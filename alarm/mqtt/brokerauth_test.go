package mqtt

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// With a password set, the embedded broker admits only clients that
// present it with the username; without one it refuses to listen beyond
// this machine.
func TestBrokerAsksForThePassword(t *testing.T) {
	t.Parallel()
	rec := newRecorder()
	cfg := Config{Listen: "127.0.0.1:0", Username: "bridge", Password: "s3cret-pass", Logger: testLogger(t)}
	b := NewBroker(cfg, doors(1, rec), rec)
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-b.Done() })

	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"right", "bridge", "s3cret-pass", true},
		{"wrong password", "bridge", "s3cret-pas", false},
		{"wrong user", "bridg", "s3cret-pass", false},
		{"none", "", "", false},
	}
	for _, tt := range tests {
		conn, err := net.DialTimeout("tcp", b.Addr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.ClientConfig{Conn: conn, ClientID: "t-" + strings.ReplaceAll(tt.name, " ", "-")})
		cctx, ccancel := context.WithTimeout(context.Background(), 3*time.Second)
		ca, err := c.Connect(cctx, &paho.Connect{
			ClientID: "t-" + strings.ReplaceAll(tt.name, " ", "-"), KeepAlive: 10, CleanStart: true,
			UsernameFlag: tt.user != "", Username: tt.user, PasswordFlag: tt.password != "", Password: []byte(tt.password),
		})
		ccancel()
		if got := err == nil && ca != nil && ca.ReasonCode == 0; got != tt.ok {
			t.Errorf("%s: admitted %v (%v), want %v", tt.name, got, err, tt.ok)
		}
		if err == nil {
			c.Disconnect(&paho.Disconnect{})
		}
		conn.Close()
	}
}

func TestBrokerRefusesAnOpenListenerWithoutPassword(t *testing.T) {
	for _, listen := range []string{":0", "0.0.0.0:0", "[::]:0"} {
		b := NewBroker(Config{Listen: listen, Logger: testLogger(t)}, doors(1, newRecorder()), newRecorder())
		ctx, cancel := context.WithCancel(context.Background())
		err := b.Start(ctx)
		cancel()
		if err == nil || !strings.Contains(err.Error(), "--mqtt-password") {
			t.Errorf("listen %q without a password: %v", listen, err)
		}
		if err == nil {
			b.Close()
		}
	}
	for _, addr := range []string{"127.0.0.1:1883", "localhost:1883", "[::1]:1883"} {
		if !loopbackOnly(addr) {
			t.Errorf("%s is this machine only", addr)
		}
	}
}
