package mqtt

import (
	"bytes"
	"errors"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// A CONNECT of MQTT 3.1.1 from client "z2m": 17 bytes after the header.
var connectPacket = []byte{0x10, 17, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 5, 'z', '2', 'm', 'a', 'b'}

func TestGuardedConnFirstPacket(t *testing.T) {
	for _, tc := range []struct {
		name   string
		chunks [][]byte
		passed bool
		refuse bool
	}{
		{name: "whole CONNECT", chunks: [][]byte{connectPacket}, passed: true},
		{name: "CONNECT and the next packet", chunks: [][]byte{append(append([]byte{}, connectPacket...), 0xc0, 0)}, passed: true},
		{name: "a byte at a time", chunks: splitEvery(connectPacket, 1), passed: true},
		{name: "cut after the type", chunks: [][]byte{connectPacket[:1], connectPacket[1:]}, passed: true},
		{name: "cut inside the body", chunks: [][]byte{connectPacket[:5], connectPacket[5:]}, passed: true},
		{name: "not all of it yet", chunks: [][]byte{connectPacket[:10]}},
		{name: "a PUBLISH first", chunks: [][]byte{{0x30, 5, 0, 1, 'a', 'b', 'c'}}, refuse: true},
		{name: "CONNECT with flags", chunks: [][]byte{{0x11, 1, 0}}, refuse: true},
		{name: "the largest CONNECT MQTT allows", chunks: [][]byte{{0x10, 0xff, 0xff, 0xff, 0x7f}}, refuse: true},
		{name: "just over the limit", chunks: [][]byte{{0x10, 0x81, 0x80, 0x01}}, refuse: true}, // 16,385
		{name: "at the limit", chunks: [][]byte{{0x10, 0x80, 0x80, 0x01}}},                      // 16,384, body to come
		{name: "a fifth length byte", chunks: [][]byte{{0x10, 0x80, 0x80, 0x80, 0x80, 0x00}}, refuse: true},
		{name: "empty CONNECT", chunks: [][]byte{{0x10, 0}}, refuse: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &guardedConn{}
			var err error
			for _, b := range tc.chunks {
				if err = c.check(b); err != nil || c.passed {
					break
				}
			}
			if refused := errors.Is(err, errConnectRefused); refused != tc.refuse || (err != nil && !refused) {
				t.Fatalf("err %v, want refused=%v", err, tc.refuse)
			}
			if c.passed != tc.passed {
				t.Errorf("passed %v, want %v", c.passed, tc.passed)
			}
		})
	}
}

func splitEvery(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

// TestGuardedListenerLimits: a connection that sends nothing is closed
// after the connect timeout, one too many waiting is closed at once, and
// one that sent its CONNECT in time stays open past the timeout.
func TestGuardedListenerLimits(t *testing.T) {
	t.Parallel()
	l := newGuardedListener("test", "127.0.0.1:0")
	l.timeout, l.maxPending = 300*time.Millisecond, 2
	if err := l.Init(testLogger(t)); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 10)
	go l.Serve(func(_ string, c net.Conn) error {
		defer c.Close()
		b, err := io.ReadAll(c)
		got <- b
		return err
	})
	t.Cleanup(func() { l.Close(func(string) {}) })

	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", l.Address())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedWithin tells whether the server closed c within d.
	closedWithin := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}

	silent1, silent2 := dial(), dial()
	time.Sleep(50 * time.Millisecond) // both accepted and pending
	third := dial()
	if !closedWithin(third, 200*time.Millisecond) {
		t.Error("a third connection waiting for its CONNECT was kept; the limit is 2")
	}
	start := time.Now()
	for _, c := range []net.Conn{silent1, silent2} {
		if !closedWithin(c, 2*time.Second) {
			t.Fatal("a connection that sent nothing was kept past the connect timeout")
		}
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("silent connections closed after %v, before the timeout", waited)
	}

	// Both slots are free again; a client that sends its CONNECT in time
	// keeps its connection past the timeout.
	c := dial()
	if _, err := c.Write(connectPacket); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * l.timeout)
	if _, err := c.Write([]byte{0xc0, 0}); err != nil { // PINGREQ
		t.Fatal(err)
	}
	c.Close()
	select {
	case b := <-got:
		// The silent ones' reads ended empty; find the client's.
		for len(b) == 0 {
			b = <-got
		}
		if want := append(append([]byte{}, connectPacket...), 0xc0, 0); !bytes.Equal(b, want) {
			t.Errorf("the server read %x, want %x", b, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the client's connection was not read")
	}
}

// TestBrokerRefusesAHugeConnect: connections announcing the largest
// CONNECT MQTT allows, and sending filler, no longer make the broker
// reserve what they announce before they are authenticated.
func TestBrokerRefusesAHugeConnect(t *testing.T) {
	cfg := Config{Listen: "127.0.0.1:0", Username: "u", Password: "secret-password-1", Logger: testLogger(t)}
	rec := newRecorder()
	b := NewBroker(cfg, doors(1, rec), rec)
	if err := b.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const conns = 4
	filler := make([]byte, 1<<20)
	for range conns {
		c, err := net.Dial("tcp", b.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte{0x10, 0xff, 0xff, 0xff, 0x7f}); err != nil {
			t.Fatal(err)
		}
		for range 64 { // until the broker closes the connection
			if _, err := c.Write(filler); err != nil {
				break
			}
		}
	}
	time.Sleep(200 * time.Millisecond)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if grew := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) >> 20; grew > 32 {
		t.Errorf("%d unauthenticated connections hold %d MiB of the broker's memory", conns, grew)
	}
}
