package bus

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// natsServer starts a private nats-server on a free port, or skips.
func natsServer(t *testing.T, port int) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nats-server"); serr != nil {
			t.Skip("nats-server is not installed; the bus's reconnection test needs a server of its own to stop")
		}
		bin = "/usr/sbin/nats-server"
	}
	cmd := exec.Command(bin, "-a", "127.0.0.1", "-p", strconv.Itoa(port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "nats-server to listen", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cmd
}

// TestBusWakesTheOtherNodeAndSaysWhenItIsDeaf: two nodes on one NATS
// server; an id published by one wakes the other. While the server is
// down neither is ready; when it is back they are, and each wakes its
// streams at once (what was announced meanwhile reached nobody).
func TestBusWakesTheOtherNodeAndSaysWhenItIsDeaf(t *testing.T) {
	port := freePort(t)
	srv := natsServer(t, port)
	defer func() { srv.Process.Kill(); srv.Wait() }()
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	var wokenA, wokenB atomic.Int64
	a, err := Dial(url, "node-a", func() { wokenA.Add(1) }, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Dial(url, "node-b", func() { wokenB.Add(1) }, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	waitFor(t, "both connected", func() bool { return a.Ready(t.Context()) == nil && b.Ready(t.Context()) == nil })

	before := wokenB.Load()
	a.Publish(42)
	waitFor(t, "node B woken by node A's id", func() bool { return wokenB.Load() > before })

	srv.Process.Kill()
	srv.Wait()
	waitFor(t, "node B not ready without the bus", func() bool { return b.Ready(t.Context()) != nil })
	a.Publish(43) // goes nowhere; must not block or fail the caller

	before = wokenB.Load()
	srv = natsServer(t, port)
	waitFor(t, "node B ready again", func() bool { return b.Ready(t.Context()) == nil })
	waitFor(t, "node B woken at the reconnection", func() bool { return wokenB.Load() > before })
}

// TestBusNotReadyWithoutServer: a node whose bus is unreachable from the
// start still starts, and is not ready.
func TestBusNotReadyWithoutServer(t *testing.T) {
	b, err := Dial(fmt.Sprintf("nats://127.0.0.1:%d", freePort(t)), "node-x", func() {}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Ready(t.Context()) == nil {
		t.Fatal("ready without a NATS server")
	}
}
