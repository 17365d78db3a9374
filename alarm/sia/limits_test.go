package sia_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/shequtest"
)

// loopback is the i-th extra loopback address, 127.0.0.2 and up: other
// hosts, as far as the receiver can tell. Linux routes all of 127/8 to lo.
func loopback(i int) string { return fmt.Sprintf("127.0.0.%d", 2+i) }

func needLinuxLoopback(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("needs 127.0.0.2 and up on the loopback interface and /proc/self/fd, as Linux has them")
	}
}

// dialFrom connects from a local address and closes at the end of the test.
func (e *env) dialFrom(network, from string, key []byte) *siatest.Conn {
	e.t.Helper()
	c, err := siatest.DialFrom(network, from, e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c.Key = key
	e.t.Cleanup(func() { c.Close() })
	return c
}

// closedByPeer reports whether the receiver has closed c: a read returns
// EOF or a reset rather than waiting for more.
func closedByPeer(c *siatest.Conn, within time.Duration) bool {
	_, err := c.ReadAnswer(within)
	return err != nil && !errors.Is(err, siatest.ErrNoAnswer)
}

// metric returns the value of a counter or gauge the receiver reports, for
// the label value given (or the only series).
func metric(t *testing.T, rcv *sia.Receiver, name, label string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(rcv)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && (len(m.GetLabel()) != 1 || m.GetLabel()[0].GetValue() != label) {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s{%s}", name, label)
	return 0
}

func TestPerAddressCap(t *testing.T) {
	needLinuxLoopback(t)
	e := start(t, func(c *sia.Config) { c.MaxConnsPerAddr = 2 })
	p := e.panel("1234")
	a1 := e.dialFrom("tcp", "127.0.0.1", nil)
	a2 := e.dialFrom("tcp", "127.0.0.1", nil)
	for _, c := range []*siatest.Conn{a1, a2} {
		c.Send(p.SIA("NBA1"))
		e.expect(c, "ACK", "")
	}
	a3 := e.dialFrom("tcp", "127.0.0.1", nil)
	if !closedByPeer(a3, wait) {
		t.Error("third connection from 127.0.0.1 not closed")
	}
	// Another address has a cap of its own.
	b := e.dialFrom("tcp", loopback(0), nil)
	b.Send(p.SIA("NBA1"))
	e.expect(b, "ACK", "")
	// A closed connection frees its place.
	a1.Close()
	if !waitFor(wait, func() bool { return metric(t, e.rcv, "shequ_sia_connections_open", "") == 2 }) {
		t.Fatal("the closed connection still counts")
	}
	a4 := e.dialFrom("tcp", "127.0.0.1", nil)
	a4.Send(p.SIA("NBA1"))
	e.expect(a4, "ACK", "")

	if s := e.rcv.Stats(); s.RefusedPerAddr != 1 || s.Refused != 0 {
		t.Errorf("stats %+v, want 1 refused for the address", s)
	}
	if v := metric(t, e.rcv, "shequ_sia_connections_refused_total", "max_conns_per_addr"); v != 1 {
		t.Errorf("shequ_sia_connections_refused_total{reason=max_conns_per_addr} = %v, want 1", v)
	}
}

// A connection is kept by frames, not by bytes: filler or an unfinished
// frame trickled in closes it (the 14 bytes over 21 s).
func TestTimeoutsCountFramesNotBytes(t *testing.T) {
	trickle := func(t *testing.T, c *siatest.Conn, data []byte, every time.Duration) (stop func()) {
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(every)
			defer tick.Stop()
			for i := 0; ; i++ {
				if _, err := c.Write(data[i%len(data) : i%len(data)+1]); err != nil {
					return
				}
				select {
				case <-tick.C:
				case <-done:
					return
				}
			}
		}()
		return func() { close(done); wg.Wait() }
	}

	t.Run("idle with filler", func(t *testing.T) {
		e := start(t, func(c *sia.Config) { c.IdleTimeout = 300 * time.Millisecond })
		c := e.dial("tcp", nil)
		stop := trickle(t, c, []byte("\n\x00\r"), 20*time.Millisecond)
		defer stop()
		if !closedByPeer(c, wait) {
			t.Fatal("a connection sending only filler stays open")
		}
		if s := e.rcv.Stats(); s.IdleClosed != 1 || s.FrameTimeouts != 0 {
			t.Errorf("stats %+v, want IdleClosed 1", s)
		}
	})
	t.Run("frame never finished", func(t *testing.T) {
		e := start(t, func(c *sia.Config) { c.FrameTimeout = 300 * time.Millisecond })
		c := e.dial("tcp", nil)
		frame := e.panel("1234").SIA("NBA1")
		stop := trickle(t, c, frame[:len(frame)-1], 20*time.Millisecond)
		defer stop()
		if !closedByPeer(c, wait) {
			t.Fatal("a connection trickling a frame stays open")
		}
		if s := e.rcv.Stats(); s.FrameTimeouts != 1 || s.IdleClosed != 0 {
			t.Errorf("stats %+v, want FrameTimeouts 1", s)
		}
		if v := metric(t, e.rcv, "shequ_sia_connections_timed_out_total", "frame"); v != 1 {
			t.Errorf("shequ_sia_connections_timed_out_total{reason=frame} = %v, want 1", v)
		}
	})
	t.Run("frames keep the connection", func(t *testing.T) {
		const idle = 800 * time.Millisecond
		e := start(t, func(c *sia.Config) {
			c.IdleTimeout = idle
			c.FrameTimeout = 200 * time.Millisecond
		})
		c := e.dial("tcp", nil)
		p := e.panel("1234")
		// The last frames come after the idle timeout would have run
		// out since the connection opened, had the frames not reset it.
		began := time.Now()
		for time.Since(began) < 2*idle {
			// A NUL after the CR (as some panels send) is filler: it
			// starts no frame and so no frame timeout.
			c.Send(append(p.SIA("NRP"), 0))
			e.expect(c, "ACK", "")
			e.expectSilence(c) // 300 ms: past the frame timeout
		}
		if s := e.rcv.Stats(); s.IdleClosed != 0 || s.FrameTimeouts != 0 {
			t.Errorf("stats %+v, want no connection closed", s)
		}
	})
	t.Run("a slow but steady panel", func(t *testing.T) {
		// A frame split over writes arrives within the frame timeout.
		e := start(t, func(c *sia.Config) { c.FrameTimeout = 5 * time.Second })
		c := e.dial("tcp", nil)
		frame := e.panel("1234").SIA("NBA1")
		for _, part := range [][]byte{frame[:10], frame[10:30], frame[30:]} {
			c.Write(part)
		}
		e.expect(c, "ACK", "0001")
	})
}

// UDP frames have their own budget: TCP connections using every slot do
// not stop them, and UDP frames being stored take no TCP slot.
func TestUDPOutsideTCPBudget(t *testing.T) {
	e := start(t, func(c *sia.Config) { c.MaxConns = 1 })
	p := e.panel("1234")
	tcp := e.dial("tcp", nil)
	tcp.Send(p.SIA("NBA1"))
	e.expect(tcp, "ACK", "")

	udp := e.dial("udp", nil)
	udp.Send(p.SIA("NBA2"))
	e.expect(udp, "ACK", "")

	// The other way round: a UDP frame held in Handle, then the one TCP
	// slot is free for a new connection.
	tcp.Close()
	if !waitFor(wait, func() bool { return metric(t, e.rcv, "shequ_sia_connections_open", "") == 0 }) {
		t.Fatal("the closed connection still counts")
	}
	entered, release := e.rec.hold()
	defer release()
	udp.Send(p.SIA("NBA3"))
	waitEntered(t, entered)
	tcp2 := e.dial("tcp", nil)
	tcp2.Send(p.SIA("NBA4"))
	waitEntered(t, entered)
	release()
	e.expect(udp, "ACK", "")
	e.expect(tcp2, "ACK", "")
	if s := e.rcv.Stats(); s.Refused != 0 {
		t.Errorf("stats %+v, want nothing refused", s)
	}
}

// syncBuffer is a log destination tests can read while the receiver writes.
type syncBuffer struct{ shequtest.Buffer }

// lines returns the lines holding all of words.
func (b *syncBuffer) lines(words ...string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		ok := l != ""
		for _, w := range words {
			ok = ok && strings.Contains(l, w)
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// Garbage costs a source at most LogBurst lines an interval; the rest is
// counted and summed up in one line.
func TestCorruptFramesLogLimited(t *testing.T) {
	needLinuxLoopback(t)
	const burst = 5
	good := e0Frame()
	corrupt := append([]byte("\n0000"), good[5:]...)

	t.Run("per source", func(t *testing.T) {
		var logs syncBuffer
		e := start(t, func(c *sia.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c.LogBurst = burst
			c.LogInterval = time.Hour // the summary comes at the stop
		})
		// 2,000 over TCP and 200 over UDP, all from 127.0.0.1.
		tcp := e.dialFrom("tcp", "127.0.0.1", nil)
		tcp.Send(bytes.Repeat(corrupt, 2000))
		udp := e.dialFrom("udp", "127.0.0.1", nil)
		for i := 0; i < 200; i += 50 {
			// In batches, so that the socket's buffer drops none.
			for range 50 {
				udp.Send(corrupt)
			}
			want := uint64(2000 + i + 50)
			if !waitFor(wait, func() bool { return e.rcv.Stats().Corrupt >= want }) {
				t.Fatalf("stats %+v, want %d corrupt", e.rcv.Stats(), want)
			}
		}
		if !waitFor(wait, func() bool { return e.rcv.Stats().Corrupt == 2200 }) {
			t.Fatalf("stats %+v, want 2200 corrupt", e.rcv.Stats())
		}
		// Another source still gets its lines.
		other := e.dialFrom("udp", loopback(0), nil)
		other.Send(corrupt)
		if !waitFor(wait, func() bool { return e.rcv.Stats().Corrupt == 2201 }) {
			t.Fatalf("stats %+v, want 2201 corrupt", e.rcv.Stats())
		}
		if got := logs.lines("SIA corrupt frame", "from=127.0.0.1:"); len(got) != burst {
			t.Errorf("%d lines for 127.0.0.1, want %d", len(got), burst)
		}
		if got := logs.lines("SIA corrupt frame", "from="+loopback(0)+":"); len(got) != 1 {
			t.Errorf("%d lines for %s, want 1", len(got), loopback(0))
		}
		const suppressed = 2200 - burst
		if s := e.rcv.Stats(); s.LogSuppressed != suppressed {
			t.Errorf("LogSuppressed %d, want %d", s.LogSuppressed, suppressed)
		}
		if v := metric(t, e.rcv, "shequ_sia_log_lines_suppressed_total", ""); v != suppressed {
			t.Errorf("shequ_sia_log_lines_suppressed_total %v, want %d", v, suppressed)
		}
		e.cancel()
		if err := <-e.done; err != nil {
			t.Fatal(err)
		}
		e.done <- nil
		sum := logs.lines("SIA warnings suppressed")
		if len(sum) != 1 || !strings.Contains(sum[0], fmt.Sprintf("suppressed=%d ", suppressed)) ||
			!strings.Contains(sum[0], "top_source=127.0.0.1 ") || !strings.Contains(sum[0], "sources=1 ") {
			t.Errorf("summary lines %q", sum)
		}
	})
	t.Run("one summary an interval", func(t *testing.T) {
		var logs syncBuffer
		e := start(t, func(c *sia.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			c.LogBurst = burst
			c.LogInterval = 100 * time.Millisecond
		})
		began := time.Now()
		tcp := e.dial("tcp", nil)
		tcp.Send(bytes.Repeat(corrupt, 500))
		if !waitFor(wait, func() bool { return e.rcv.Stats().Corrupt == 500 }) {
			t.Fatalf("stats %+v, want 500 corrupt", e.rcv.Stats())
		}
		intervals := int(time.Since(began)/(100*time.Millisecond)) + 2
		counts := func() (written, summed, summaries int) {
			for _, l := range logs.lines("SIA warnings suppressed") {
				var n int
				if i := strings.Index(l, "suppressed="); i >= 0 {
					fmt.Sscanf(l[i:], "suppressed=%d", &n)
				}
				summed += n
				summaries++
			}
			return len(logs.lines("SIA corrupt frame")), summed, summaries
		}
		// What was not written is summed up by the next tick.
		if !waitFor(wait, func() bool { w, s, _ := counts(); return w+s == 500 }) {
			w, s, _ := counts()
			t.Fatalf("%d lines written and %d summed up, want 500 in all", w, s)
		}
		written, _, summaries := counts()
		if written > burst*intervals || summaries > intervals {
			t.Errorf("%d lines and %d summaries in at most %d intervals of %d lines", written, summaries, intervals, burst)
		}
	})
}

// e0Frame is a good plain frame without a timestamp.
func e0Frame() []byte {
	return (&siatest.Panel{Account: "1234", NoTimestamp: true}).SIA("NBA1")
}

// raiseFDLimit makes room for n more open files, or skips the test.
func raiseFDLimit(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("cannot read the open files limit: %v", err)
	}
	need := uint64(countFDs(t)) + n
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		t.Skipf("needs %d open files; the hard limit is %d (ulimit -Hn)", need, lim.Max)
	}
	old := lim
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("needs %d open files, have %d, and raising the limit failed: %v", need, old.Cur, err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}

// countFDs is the number of files the process has open.
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(ents)
}

// memInUse is heap and goroutine stacks in use.
func memInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse + ms.StackInuse
}

// The attack: 1,000 idle connections and a slow sender from one
// address. Panels connected before it and panels from other addresses,
// over TCP and UDP, get every frame acknowledged meanwhile, and what the
// receiver holds (open files, goroutines, memory) stays bounded by the
// per-address cap instead of growing with the attack.
func TestStarvation(t *testing.T) {
	needLinuxLoopback(t)
	if testing.Short() {
		t.Skip("1,000 connections")
	}
	const (
		attackConns = 1000
		perAddr     = 32
		frames      = 10
	)
	raiseFDLimit(t, attackConns+400)
	e := start(t, func(c *sia.Config) {
		c.MaxConns = 256 // fewer than the attack opens
		c.MaxConnsPerAddr = perAddr
		// The attack's connections stay for the whole test: only the
		// caps stand between them and the panels.
		c.IdleTimeout = time.Hour
		c.FrameTimeout = 500 * time.Millisecond
	})
	fds0, goroutines0, mem0 := countFDs(t), runtime.NumGoroutine(), memInUse()
	const attacker = "127.0.0.1"

	// The slow sender: one byte of a frame every 50 ms, as long as the
	// receiver lets it.
	slow := e.dialFrom("tcp", attacker, nil)
	if !waitFor(wait, func() bool { return e.rcv.Stats().Connections == 1 }) {
		t.Fatal("the slow sender's connection was not accepted")
	}
	slowFrame := e.panel("1234").SIA("NBA1")
	slowDone := make(chan struct{})
	defer func() { slow.Close(); <-slowDone }()
	go func() {
		defer close(slowDone)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < len(slowFrame)-1; i++ {
			if _, err := slow.Write(slowFrame[i : i+1]); err != nil {
				return
			}
			<-tick.C
		}
	}()

	// Four panels connected before the attack, each from its address.
	type panel struct {
		p    *siatest.Panel
		from string
		c    *siatest.Conn
		udp  bool
	}
	var panels []*panel
	for i := range 16 {
		pn := &panel{p: e.panel("1234"), from: loopback(i), udp: i >= 8}
		if i%2 == 1 {
			pn.p = e.panel("A128")
		}
		panels = append(panels, pn)
	}
	send := func(pn *panel) error {
		if pn.c == nil {
			network := "tcp"
			if pn.udp {
				network = "udp"
			}
			c, err := siatest.DialFrom(network, pn.from, e.addr)
			if err != nil {
				return err
			}
			c.Key = pn.p.Key
			pn.c = c
			t.Cleanup(func() { c.Close() })
		}
		f := pn.p.SIA("Nri1/RP")
		// A UDP panel repeats an unanswered frame, as panels do.
		tries := 1
		if pn.udp {
			tries = 3
		}
		var err error
		for range tries {
			if err = pn.c.Send(f); err != nil {
				return err
			}
			var a siatest.Answer
			if a, err = pn.c.ReadAnswer(wait); err == nil {
				if a.Type != "ACK" || a.Seq != seqOf(f) {
					return fmt.Errorf("answer %q to %s", a.Raw, seqOf(f))
				}
				return nil
			}
		}
		return fmt.Errorf("frame %s: %w", seqOf(f), err)
	}
	for _, pn := range panels[:4] {
		if err := send(pn); err != nil {
			t.Fatalf("%s before the attack: %v", pn.from, err)
		}
	}

	// The attack.
	var attack []net.Conn
	t.Cleanup(func() {
		for _, c := range attack {
			c.Close()
		}
	})
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(attacker)}}
	for range attackConns {
		c, err := d.Dial("tcp", e.addr)
		if err != nil {
			t.Fatalf("attack connection %d: %v", len(attack), err)
		}
		attack = append(attack, c)
	}
	// Every attack connection has been accepted or refused.
	handled := func() uint64 {
		s := e.rcv.Stats()
		return s.Connections + s.Refused + s.RefusedPerAddr
	}
	if !waitFor(60*time.Second, func() bool { return handled() >= 1+4+attackConns }) {
		t.Fatalf("stats %+v: the attack's connections were not all handled", e.rcv.Stats())
	}
	// Open files now: the test's own sockets (the attack, the slow
	// sender, four panels) and the receiver's.
	receiverFDs := func(clients int) int { return countFDs(t) - fds0 - clients }
	if n := receiverFDs(attackConns + 1 + 4); n > perAddr+4+4 {
		t.Errorf("the receiver holds %d more files under attack, want at most %d (cap %d, 4 panels, slack)", n, perAddr+8, perAddr)
	}

	// Every panel, old and new, TCP and UDP, gets every frame ACKed.
	var wg sync.WaitGroup
	errs := make(chan error, len(panels))
	for _, pn := range panels {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range frames {
				if err := send(pn); err != nil {
					errs <- fmt.Errorf("panel %s (udp %v): %w", pn.from, pn.udp, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got, want := len(e.rec.got()), 4+16*frames; got < want {
		t.Errorf("%d frames stored, want %d", got, want)
	}

	if !closedByPeer(slow, wait) {
		t.Error("the slow sender's connection was not closed by the receiver")
	}

	s := e.rcv.Stats()
	if s.FrameTimeouts != 1 || s.RefusedPerAddr < attackConns-perAddr || s.Refused != 0 {
		t.Errorf("stats %+v: want the slow sender timed out, the attack refused per address, nothing refused for MaxConns", s)
	}
	if v := metric(t, e.rcv, "shequ_sia_connections_refused_total", "max_conns_per_addr"); v != float64(s.RefusedPerAddr) {
		t.Errorf("refused metric %v, stats %d", v, s.RefusedPerAddr)
	}
	// Bounded: files (8 TCP panels, 8 UDP sockets and the slow sender on
	// the test's side), goroutines and memory do not grow with the
	// attack's 1,000 connections.
	if n := receiverFDs(attackConns + 1 + 16); n > perAddr+8+4 {
		t.Errorf("the receiver holds %d more files, want at most %d", n, perAddr+12)
	}
	if n := runtime.NumGoroutine() - goroutines0; n > perAddr+8+32 {
		t.Errorf("%d more goroutines, want at most %d", n, perAddr+40)
	}
	// A connection costs the receiver a buffer of two frames (8 KiB) and
	// a goroutine; the test's side of 1,000 sockets some 1 MiB.
	if grown := int64(memInUse()) - int64(mem0); grown > 6<<20 {
		t.Errorf("memory in use grew by %d KiB under attack", grown>>10)
	}
	t.Logf("under attack: stats %+v, receiver files +%d, goroutines +%d, memory +%d KiB",
		s, receiverFDs(attackConns+1+16), runtime.NumGoroutine()-goroutines0, (int64(memInUse())-int64(mem0))>>10)
}
