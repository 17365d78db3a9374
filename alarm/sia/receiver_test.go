package sia_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/alarm/sia"
	"github.com/shequ/shequ/alarm/sia/siatest"
	"github.com/shequ/shequ/shequtest"
)

// T0 is the receiver's (and by default the panels') time in these tests.
var T0 = time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)

const (
	wait    = 10 * time.Second       // for an answer that must come: generous, the machine may be loaded
	silence = 300 * time.Millisecond // for one that must not
)

// The accounts every test receiver serves: one plain, and one per key
// size in both key forms.
var keyTexts = map[string]string{
	"A128": "000102030405060708090A0B0C0D0E0F",
	"A192": "000102030405060708090A0B0C0D0E0F1011121314151617",
	"A256": "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
	"S128": "AAAAAAAAAAAAAAAA",
	"S192": "Twenty-four characters!!",
	"S256": "thirty-two characters of key....",
}

func accounts(t testing.TB) sia.StaticAccounts {
	a := sia.StaticAccounts{"1234": nil, "5678": nil}
	for acct, text := range keyTexts {
		k, err := sia.ParseKey(text)
		if err != nil {
			t.Fatalf("ParseKey(%q): %v", text, err)
		}
		a[acct] = k
	}
	return a
}

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu      sync.Mutex
	calls   [][]alarm.Report
	err     error
	gate    chan struct{} // when set, Handle waits for it
	waiting chan struct{} // when set, Handle sends on it before waiting for gate
}

func (r *recorder) Handle(ctx context.Context, reports []alarm.Report) error {
	r.mu.Lock()
	gate, waiting := r.gate, r.waiting
	r.mu.Unlock()
	if gate != nil {
		if waiting != nil {
			select {
			case waiting <- struct{}{}:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.calls = append(r.calls, append([]alarm.Report(nil), reports...))
	return nil
}

func (r *recorder) setErr(err error) { r.mu.Lock(); r.err = err; r.mu.Unlock() }

// hold makes Handle wait until the returned release is called; entered
// receives once for every call that reached Handle meanwhile.
func (r *recorder) hold() (entered <-chan struct{}, release func()) {
	gate, waiting := make(chan struct{}), make(chan struct{}, 64)
	r.mu.Lock()
	r.gate, r.waiting = gate, waiting
	r.mu.Unlock()
	var once sync.Once
	return waiting, func() { once.Do(func() { close(gate) }) }
}

// waitFor waits up to d for cond to hold, checking often; it reports
// whether it did. For what no signal announces, such as a socket the
// receiver closed or a counter it moved.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// waitEntered waits for Handle to be reached under hold.
func waitEntered(t *testing.T, entered <-chan struct{}) {
	t.Helper()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the frame did not reach Handle")
	}
}

func (r *recorder) got() [][]alarm.Report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]alarm.Report(nil), r.calls...)
}

type env struct {
	t      *testing.T
	rcv    *sia.Receiver
	clock  *shequtest.Clock
	rec    *recorder
	addr   string
	cancel context.CancelFunc
	done   chan error
	keys   sia.StaticAccounts
}

func start(t *testing.T, mod func(*sia.Config)) *env {
	t.Helper()
	e := &env{t: t, clock: shequtest.NewClock(T0), rec: &recorder{}, keys: accounts(t), done: make(chan error, 1)}
	cfg := sia.Config{
		Addr:   "127.0.0.1:0",
		Clock:  e.clock,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if mod != nil {
		mod(&cfg)
	}
	e.rcv = sia.New(cfg, e.keys, e.rec)
	if err := e.rcv.Listen(); err != nil {
		t.Fatal(err)
	}
	e.addr = e.rcv.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.rcv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-e.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return")
		}
	})
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *env) panel(account string) *siatest.Panel {
	p := &siatest.Panel{Account: account, Key: e.keys[account], Clock: e.clock.Now}
	return p
}

func (e *env) dial(network string, key []byte) *siatest.Conn {
	e.t.Helper()
	c, err := siatest.Dial(network, e.addr)
	if err != nil {
		e.t.Fatal(err)
	}
	c.Key = key
	e.t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) expect(c *siatest.Conn, typ string, seq string) siatest.Answer {
	e.t.Helper()
	a, err := c.ReadAnswer(wait)
	if err != nil {
		e.t.Fatalf("waiting for %s %s: %v", typ, seq, err)
	}
	if a.Type != typ || (seq != "" && a.Seq != seq) {
		e.t.Fatalf("got %q, want %s %s", a.Raw, typ, seq)
	}
	return a
}

func (e *env) expectSilence(c *siatest.Conn) {
	e.t.Helper()
	if a, err := c.ReadAnswer(silence); !errors.Is(err, siatest.ErrNoAnswer) {
		e.t.Fatalf("want no answer, got %q (%v)", a.Raw, err)
	}
}

func seqOf(frame []byte) string {
	i := bytes.IndexByte(frame[10:], '"')
	return string(frame[11+i : 15+i])
}

func TestACKPlain(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			e := start(t, nil)
			p := e.panel("1234")
			c := e.dial(network, nil)
			frame := p.SIA("Nri1/BA01")
			if err := c.Send(frame); err != nil {
				t.Fatal(err)
			}
			a := e.expect(c, "ACK", "0001")
			if a.Encrypted || a.Account != "1234" || a.Line != "0" || a.HasRecv || a.HasTimestamp {
				t.Errorf("ACK %q", a.Raw)
			}
			if want := strings.Trim(string(sia.AppendFrame(nil, []byte(`"ACK"0001L0#1234[]`))), "\n\r"); a.Raw != want {
				t.Errorf("ACK %q, want %q", a.Raw, want)
			}
			calls := e.rec.got()
			if len(calls) != 1 || len(calls[0]) != 1 {
				t.Fatalf("Handle calls %v", calls)
			}
			r := calls[0][0]
			if r.Source != alarm.SourceSIA || r.Account != "1234" || r.Seq != "0001" || r.Code != "BA" ||
				r.Kind != alarm.KindBurglary || r.Area != "1" || r.Zone != "01" || !r.ReceivedAt.Equal(T0) ||
				!r.PanelTime.Equal(T0) || r.Fingerprint == "" {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// *ACK for every key size and both key forms, for each ID token, over TCP
// and UDP; the *ACK decrypts with the account's key to "]_<receiver time>".
func TestEncryptedACK(t *testing.T) {
	e := start(t, nil)
	for _, network := range []string{"tcp", "udp"} {
		for acct := range keyTexts {
			t.Run(network+"/"+acct, func(t *testing.T) {
				p := e.panel(acct)
				c := e.dial(network, p.Key)
				for _, frame := range [][]byte{p.SIA("Nri1/FA05"), p.CID("1130 01 003"), p.Null()} {
					if err := c.Send(frame); err != nil {
						t.Fatal(err)
					}
					a := e.expect(c, "ACK", seqOf(frame))
					if !a.Encrypted || a.Account != acct || !a.HasTimestamp || !a.Timestamp.Equal(T0) {
						t.Errorf("*ACK %q → %+v", a.Raw, a)
					}
				}
			})
		}
	}
	kinds := map[alarm.Kind]int{}
	for _, call := range e.rec.got() {
		for _, r := range call {
			kinds[r.Kind]++
		}
	}
	n := 2 * len(keyTexts)
	if kinds[alarm.KindFire] != n || kinds[alarm.KindBurglary] != n || kinds[alarm.KindSupervision] != n {
		t.Errorf("stored kinds %v, want %d of each", kinds, n)
	}
}

func TestTimestampWindow(t *testing.T) {
	cases := []struct {
		name   string
		offset time.Duration
		want   string
	}{
		{"stale -41s", -41 * time.Second, "NAK"},
		{"edge -40s", -40 * time.Second, "ACK"},
		{"now", 0, "ACK"},
		{"edge +20s", 20 * time.Second, "ACK"},
		{"future +21s", 21 * time.Second, "NAK"},
		{"a day late", -24 * time.Hour, "NAK"},
	}
	for _, network := range []string{"tcp", "udp"} {
		e := start(t, nil)
		// The receiver's clock is not on a whole second: the window is
		// taken from the second, not from the nanosecond.
		e.clock.Advance(700 * time.Millisecond)
		for _, acct := range []string{"A128", "S256"} {
			for _, tc := range cases {
				t.Run(network+"/"+acct+"/"+tc.name, func(t *testing.T) {
					before := len(e.rec.got())
					p := e.panel(acct)
					p.Clock = func() time.Time { return T0.Add(tc.offset) }
					c := e.dial(network, p.Key)
					frame := p.SIA("Nri1/BA01")
					if err := c.Send(frame); err != nil {
						t.Fatal(err)
					}
					if tc.want == "ACK" {
						e.expect(c, "ACK", seqOf(frame))
						return
					}
					a := e.expect(c, "NAK", "0000")
					// The NAK carries the receiver's time and is never
					// encrypted.
					if a.Encrypted || !a.HasTimestamp || !a.Timestamp.Equal(T0) || a.Receiver != "0" || a.Line != "0" {
						t.Errorf("NAK %q", a.Raw)
					}
					if !strings.HasSuffix(a.Raw, `"NAK"0000R0L0A0[]_10:00:00,01-31-2026`) {
						t.Errorf("NAK %q", a.Raw)
					}
					if len(e.rec.got()) != before {
						t.Error("a NAKed frame was stored")
					}
				})
			}
		}
	}
}

func TestPlainTimestamps(t *testing.T) {
	stale := func(e *env) *siatest.Panel {
		p := e.panel("1234")
		p.Clock = func() time.Time { return T0.Add(-time.Hour) }
		return p
	}
	t.Run("not checked by default", func(t *testing.T) {
		e := start(t, nil)
		c := e.dial("tcp", nil)
		c.Send(stale(e).SIA("NBA1"))
		e.expect(c, "ACK", "0001")
		if r := e.rec.got()[0][0]; !r.PanelTime.Equal(T0.Add(-time.Hour)) {
			t.Errorf("panel time %v", r.PanelTime)
		}
	})
	t.Run("checked when asked", func(t *testing.T) {
		e := start(t, func(c *sia.Config) { c.CheckPlainTimestamps = true })
		c := e.dial("tcp", nil)
		c.Send(stale(e).SIA("NBA1"))
		e.expect(c, "NAK", "0000")
		// Without a timestamp there is nothing to check.
		p := e.panel("1234")
		p.NoTimestamp = true
		c.Send(p.SIA("NBA1"))
		e.expect(c, "ACK", "0001")
	})
	t.Run("window is configurable", func(t *testing.T) {
		e := start(t, func(c *sia.Config) { c.Window = sia.Window{Past: 2 * time.Hour, Future: time.Second} })
		c := e.dial("tcp", e.keys["A128"])
		p := e.panel("A128")
		p.Clock = func() time.Time { return T0.Add(-time.Hour) }
		c.Send(p.SIA("NBA1"))
		e.expect(c, "ACK", "0001")
		p.Clock = func() time.Time { return T0.Add(2 * time.Second) }
		c.Send(p.SIA("NBA1"))
		e.expect(c, "NAK", "0000")
	})
}

// encrypted builds an encrypted frame by hand, for content a panel would
// not send.
func encrypted(t *testing.T, key []byte, id, hdr, content string) []byte {
	block, err := sia.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	body := sia.AppendEncrypted([]byte(`"*`+id+`"`+hdr+"["), block, []byte(content))
	return sia.AppendFrame(nil, body)
}

func TestNAKWithoutTimestamp(t *testing.T) {
	e := start(t, nil)
	c := e.dial("tcp", nil)
	c.Send(encrypted(t, e.keys["A128"], "SIA-DCS", "0005L0#A128", "#A128|NBA1]"))
	e.expect(c, "NAK", "0000")
	c.Send(encrypted(t, e.keys["A128"], "SIA-DCS", "0006L0#A128", "#A128|NBA1]_99:00:00,01-31-2026"))
	e.expect(c, "NAK", "0000")
	if n := len(e.rec.got()); n != 0 {
		t.Errorf("%d frames stored", n)
	}
}

func TestDUH(t *testing.T) {
	e := start(t, nil)
	plainFrame := func(id, acct string) []byte {
		return sia.AppendFrame(nil, []byte(`"`+id+`"0009R1L2#`+acct+`[#`+acct+`|NBA1]`))
	}
	cases := []struct {
		name  string
		frame []byte
		acct  string
	}{
		{"unknown account", plainFrame("SIA-DCS", "9999"), "9999"},
		{"unknown ID token", plainFrame("SIA-DCX", "1234"), "1234"},
		{"DC-04 ID token", plainFrame("ACR-SL", "1234"), "1234"},
		{"plain frame for an account with a key", plainFrame("SIA-DCS", "A128"), "A128"},
		{"encrypted frame for a plain account", encrypted(t, e.keys["A128"], "SIA-DCS", "0009R1L2#1234", "#1234|NBA1]_10:00:00,01-31-2026"), "1234"},
		{"encrypted under another key", encrypted(t, e.keys["A256"], "SIA-DCS", "0009R1L2#A128", "#A128|NBA1]_10:00:00,01-31-2026"), "A128"},
		{"ciphertext cut short", func() []byte {
			f := encrypted(t, e.keys["A128"], "SIA-DCS", "0009R1L2#A128", "#A128|NBA1]_10:00:00,01-31-2026")
			body := f[9 : len(f)-3]
			return sia.AppendFrame(nil, body)
		}(), "A128"},
		{"unknown account, encrypted", encrypted(t, e.keys["A128"], "NULL", "0009R1L2#FFFF", "]_10:00:00,01-31-2026"), "FFFF"},
	}
	for _, network := range []string{"tcp", "udp"} {
		for _, tc := range cases {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				c := e.dial(network, nil)
				c.Send(tc.frame)
				a := e.expect(c, "DUH", "0009")
				if a.Encrypted || a.Receiver != "1" || a.Line != "2" || a.Account != tc.acct {
					t.Errorf("DUH %q", a.Raw)
				}
			})
		}
	}
	if n := len(e.rec.got()); n != 0 {
		t.Errorf("%d refused frames stored", n)
	}
	if s := e.rcv.Stats(); s.DUH != uint64(2*len(cases)) || s.ACK != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestSilenceForCorruptFrames(t *testing.T) {
	good := (&siatest.Panel{Account: "1234", NoTimestamp: true}).SIA("NBA1")
	badCRC := append([]byte("\n0000"), good[5:]...)
	badLen := append(append([]byte{}, good[:5]...), append([]byte("0099"), good[9:]...)...)
	flipped := bytes.Replace(good, []byte("NBA1"), []byte("NBA2"), 1)
	cases := map[string][]byte{
		"bad CRC":        badCRC,
		"bad length":     badLen,
		"changed byte":   flipped,
		"not DC-09":      []byte("\nGET / HTTP/1.0\r"),
		"truncated":      append(append([]byte{}, good[:len(good)-5]...), '\r'),
		"encrypted, bad": []byte("\n0000002C\"*SIA-DCS\"0001L0#A128[00112233]\r"),
	}
	for _, network := range []string{"tcp", "udp"} {
		e := start(t, nil)
		for name, frame := range cases {
			t.Run(network+"/"+name, func(t *testing.T) {
				c := e.dial(network, nil)
				c.Send(frame)
				e.expectSilence(c)
				// The connection still works: the next good frame is ACKed.
				c.Send(good)
				e.expect(c, "ACK", "0001")
			})
		}
		if s := e.rcv.Stats(); s.Corrupt != uint64(len(cases)) {
			t.Errorf("%s stats %+v", network, s)
		}
	}
}

func TestSeveralFramesPerConnection(t *testing.T) {
	e := start(t, nil)
	p := e.panel("1234")
	q := e.panel("A192")
	c := e.dial("tcp", q.Key)

	// One write holding several frames: answered in order.
	var frames [][]byte
	for i := 0; i < 5; i++ {
		frames = append(frames, p.SIA(fmt.Sprintf("Nri1/BA%02d", i)))
	}
	c.Send(frames...)
	for _, f := range frames {
		e.expect(c, "ACK", seqOf(f))
	}

	// Mixed: good, corrupt, unknown account, encrypted, NULL.
	corrupt := append([]byte("\n0000"), frames[0][5:]...)
	unknown := (&siatest.Panel{Account: "7777", Clock: e.clock.Now}).SIA("NBA1")
	enc := q.SIA("NFA1")
	null := p.Null()
	next := p.SIA("NRP")
	c.Send(corrupt, unknown, enc, null, next)
	e.expect(c, "DUH", seqOf(unknown))
	if a := e.expect(c, "ACK", seqOf(enc)); !a.Encrypted {
		t.Errorf("not *ACK: %q", a.Raw)
	}
	e.expect(c, "ACK", seqOf(null))
	e.expect(c, "ACK", seqOf(next))
	e.expectSilence(c)

	// Frames split across writes, down to one byte a write.
	var all []byte
	var seqs []string
	for i := 0; i < 3; i++ {
		f := p.SIA("NBA1")
		all = append(all, f...)
		seqs = append(seqs, seqOf(f))
	}
	for i := range all {
		if _, err := c.Write(all[i : i+1]); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			// Pacing, not waiting: it makes the receiver likely to read
			// a frame in pieces. The test holds however they arrive.
			time.Sleep(time.Millisecond)
		}
	}
	for _, s := range seqs {
		e.expect(c, "ACK", s)
	}
	if got := len(e.rec.got()); got != 5+3+3 {
		t.Errorf("%d frames stored, want 11", got)
	}
}

// What real panels send: a NUL after CR (ioBroker.sia #19), CR LF endings,
// no LF, the CRC as two raw bytes holding a CR (Lupusec), CRC and length
// counting the CR (Eldes), lower-case hex.
func TestPanelQuirksOverTCP(t *testing.T) {
	e := start(t, nil)
	c := e.dial("tcp", nil)
	body := func(seq string) string { return `"SIA-DCS"` + seq + `L0#1234[#1234|NBA1]` }
	plain := func(seq string) []byte { return sia.AppendFrame(nil, []byte(body(seq))) }

	nul := append(plain("0001"), 0)
	crlf := append(plain("0002"), '\n')
	noLF := plain("0003")[1:]
	lower := bytes.ToLower(plain("0004")[:9])
	lower = append(lower, plain("0004")[9:]...)
	eldes := func(seq string) []byte {
		b := body(seq)
		crc := sia.CRC16([]byte(b + "\r"))
		return []byte(fmt.Sprintf("\n%04X%04X%s\r", crc, len(b)+1, b))
	}("0005")
	var lupusec []byte
	var lupusecSeq string
	for seq := 6; ; seq++ {
		s := fmt.Sprintf("%04d", seq)
		b := body(s)
		crc := sia.CRC16([]byte(b))
		if byte(crc>>8) == '\r' || byte(crc) == '\r' || byte(crc>>8) == '\n' || byte(crc) == '\n' {
			lupusec = append([]byte{'\n', byte(crc >> 8), byte(crc)}, fmt.Sprintf("%04X%s\r", len(b), b)...)
			lupusecSeq = s
			break
		}
	}
	c.Send(nul, crlf, noLF, lower, eldes, lupusec)
	for _, s := range []string{"0001", "0002", "0003", "0004", "0005"} {
		e.expect(c, "ACK", s)
	}
	// The Lupusec answer has a binary CRC too; read it raw.
	raw := make([]byte, 64)
	conn, _ := net.Dial("tcp", e.addr)
	defer conn.Close()
	conn.Write(lupusec)
	conn.SetReadDeadline(time.Now().Add(wait))
	n, err := io.ReadAtLeast(conn, raw, 6)
	if err != nil {
		t.Fatal(err)
	}
	for n < 6+len(`"ACK"`+lupusecSeq+`L0#1234[]`)+1 && err == nil {
		var m int
		m, err = conn.Read(raw[n:])
		n += m
	}
	want := `"ACK"` + lupusecSeq + `L0#1234[]`
	crc := sia.CRC16([]byte(want))
	if !bytes.Equal(raw[:n], append([]byte{'\n', byte(crc >> 8), byte(crc)}, fmt.Sprintf("%04X%s\r", len(want), want)...)) {
		t.Errorf("Lupusec answer %q", raw[:n])
	}
}

func TestHandleErrorMeansNoACK(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			e := start(t, nil)
			e.rec.setErr(errors.New("disk full"))
			p := e.panel("A128")
			c := e.dial(network, p.Key)
			frame := p.SIA("Nri1/PA1")
			c.Send(frame)
			e.expectSilence(c)
			// The panel retransmits; storage works again.
			e.rec.setErr(nil)
			c.Send(frame)
			e.expect(c, "ACK", seqOf(frame))
			if s := e.rcv.Stats(); s.HandleErrors != 1 || s.ACK != 1 {
				t.Errorf("stats %+v", s)
			}
		})
	}
}

// A retransmission (same account, sequence and content) is ACKed again and
// reaches the Handler with the same fingerprint, so the store can keep it
// once; a sequence number reused for other content gets another one.
func TestRetransmission(t *testing.T) {
	e := start(t, nil)
	for _, acct := range []string{"1234", "A128", "S192"} {
		t.Run(acct, func(t *testing.T) {
			before := len(e.rec.got())
			p := e.panel(acct)
			c := e.dial("tcp", p.Key)
			m := siatest.Message{ID: sia.IDSIADCS, Seq: "0042", Data: "#" + acct + "|Nri1/BA01"}
			first := p.Build(m)
			c.Send(first)
			e.expect(c, "ACK", "0042")
			// An encrypting panel re-encrypts with new padding and a new
			// timestamp; a plain one sends the same bytes.
			e.clock.Advance(5 * time.Second)
			again := p.Build(m)
			if p.Key != nil && bytes.Equal(first, again) {
				t.Fatal("re-encryption gave the same bytes")
			}
			c.Send(again)
			e.expect(c, "ACK", "0042")
			// After wrapping, 0042 comes back with another event.
			m.Data = "#" + acct + "|Nri1/FA07"
			c.Send(p.Build(m))
			e.expect(c, "ACK", "0042")

			calls := e.rec.got()[before:]
			if len(calls) != 3 {
				t.Fatalf("%d Handle calls, want 3", len(calls))
			}
			a, b, other := calls[0][0], calls[1][0], calls[2][0]
			if a.Fingerprint != b.Fingerprint || a.Seq != b.Seq || a.Account != b.Account {
				t.Errorf("retransmission: %q/%s vs %q/%s", a.Fingerprint, a.Seq, b.Fingerprint, b.Seq)
			}
			if other.Fingerprint == a.Fingerprint || other.Seq != a.Seq {
				t.Errorf("new event with the same seq has fingerprint %q", other.Fingerprint)
			}
		})
	}
}

// The ACK goes out only once Handle has returned.
func TestACKOnlyAfterHandle(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			e := start(t, nil)
			entered, release := e.rec.hold()
			defer release()
			p := e.panel("1234")
			c := e.dial(network, nil)
			c.Send(p.SIA("NFA1"))
			waitEntered(t, entered)
			e.expectSilence(c)
			release()
			e.expect(c, "ACK", "0001")
		})
	}
}

// Stopping the receiver lets a frame being stored finish and be ACKed.
func TestGracefulStop(t *testing.T) {
	e := start(t, nil)
	entered, release := e.rec.hold()
	defer release()
	p := e.panel("1234")
	c := e.dial("tcp", nil)
	c.Send(p.SIA("NPA1"))
	waitEntered(t, entered)
	e.cancel()
	// Stopping has begun once the listener is closed.
	if !waitFor(10*time.Second, func() bool {
		c, err := net.Dial("tcp", e.addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	}) {
		t.Fatal("still accepting after stop")
	}
	release()
	e.expect(c, "ACK", "0001")
	select {
	case err := <-e.done:
		e.done <- err
	case <-time.After(wait):
		t.Fatal("Serve did not return")
	}
	if _, err := siatest.Dial("tcp", e.addr); err == nil {
		t.Error("still accepting after stop")
	}
}

func TestConnectionLimitsAndTimeouts(t *testing.T) {
	t.Run("MaxConns", func(t *testing.T) {
		e := start(t, func(c *sia.Config) { c.MaxConns = 1 })
		c1 := e.dial("tcp", nil)
		c1.Send(e.panel("1234").SIA("NBA1"))
		e.expect(c1, "ACK", "0001")
		c2 := e.dial("tcp", nil)
		c2.Send(e.panel("1234").SIA("NBA1"))
		if _, err := c2.ReadAnswer(wait); err == nil || errors.Is(err, siatest.ErrNoAnswer) {
			t.Errorf("second connection: %v, want it closed", err)
		}
		if s := e.rcv.Stats(); s.Refused != 1 {
			t.Errorf("stats %+v", s)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		e := start(t, func(c *sia.Config) { c.IdleTimeout = 100 * time.Millisecond })
		c := e.dial("tcp", nil)
		if _, err := c.ReadAnswer(wait); err == nil || errors.Is(err, siatest.ErrNoAnswer) {
			t.Errorf("idle connection: %v, want it closed", err)
		}
		if !waitFor(wait, func() bool { return e.rcv.Stats().IdleClosed == 1 }) {
			t.Errorf("stats %+v, want IdleClosed 1", e.rcv.Stats())
		}
	})
	t.Run("endless frame", func(t *testing.T) {
		e := start(t, nil)
		c := e.dial("tcp", nil)
		c.Write(append([]byte("\n"), bytes.Repeat([]byte("A"), 20000)...))
		c.Send((&siatest.Panel{Account: "1234", NoTimestamp: true}).SIA("NBA1"))
		e.expect(c, "ACK", "0001")
		if s := e.rcv.Stats(); s.Corrupt == 0 {
			t.Errorf("stats %+v", s)
		}
	})
}

func TestDisabled(t *testing.T) {
	r := sia.New(sia.Config{}, sia.StaticAccounts{}, &recorder{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.ListenAndServe(ctx) }()
	if r.Addr() != nil {
		t.Error("Addr of a disabled receiver")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
