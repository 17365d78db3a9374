// Package siatest is a small SIA DC-09 panel simulator: it builds frames
// the way alarm panels send them (plain or AES-encrypted, with or without
// R field and timestamp), sends them over TCP or UDP and reads and checks
// the receiver's answers. Tests, the simulator command and load tests use
// it against package sia's receiver or any other DC-09 receiver.
package siatest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/shequ/shequ/alarm/sia"
)

// Panel builds frames for one account. The zero value is not usable: set
// at least Account.
type Panel struct {
	Account string
	// Key is the AES key (16, 24 or 32 bytes, see sia.ParseKey); nil
	// sends plain frames.
	Key []byte
	// Receiver is the R field without 'R'; empty leaves the field out.
	Receiver string
	// Line is the L field without 'L'; empty sends "L0".
	Line string
	// LineMode is "" (send L and Line), "empty" (send "L" alone, as
	// "L#acct") or "none" (no L field).
	LineMode string
	// Clock gives the timestamp; nil uses the wall clock in UTC.
	Clock func() time.Time
	// NoTimestamp leaves the timestamp out of plain frames. Encrypted
	// frames always carry one.
	NoTimestamp bool

	mu  sync.Mutex
	seq int
}

// Message is one frame's content.
type Message struct {
	ID  string // sia.IDSIADCS, sia.IDADMCID, sia.IDNULL or anything else
	Seq string // "" takes the panel's next sequence number
	// Data is the data block without brackets, e.g. "#1234|Nri1/BA01";
	// empty for NULL.
	Data         string
	ExtendedData []string  // without brackets, e.g. "X006E07.7777777"
	Time         time.Time // zero: the panel's clock
	NoTimestamp  bool      // no timestamp (ignored when encrypted)
}

// NextSeq returns the next sequence number: 0001 to 9999, then 0001 again,
// as DC-09 panels count.
func (p *Panel) NextSeq() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq = p.seq%9999 + 1
	return fmt.Sprintf("%04d", p.seq)
}

// SIA builds a SIA-DCS frame; data is what follows "#acct|", e.g.
// "Nri1/BA01".
func (p *Panel) SIA(data string) []byte {
	return p.Build(Message{ID: sia.IDSIADCS, Data: "#" + p.Account + "|" + data})
}

// CID builds an ADM-CID frame; event is "QEEE GG ZZZ", e.g. "1130 01 003".
func (p *Panel) CID(event string) []byte {
	return p.Build(Message{ID: sia.IDADMCID, Data: "#" + p.Account + "|" + event})
}

// Null builds a NULL (link test) frame.
func (p *Panel) Null() []byte { return p.Build(Message{ID: sia.IDNULL}) }

// Build builds a complete frame, LF to CR.
func (p *Panel) Build(m Message) []byte {
	seq := m.Seq
	if seq == "" {
		seq = p.NextSeq()
	}
	t := m.Time
	if t.IsZero() {
		if p.Clock != nil {
			t = p.Clock()
		} else {
			t = time.Now()
		}
	}
	var b strings.Builder
	b.WriteByte('"')
	if p.Key != nil {
		b.WriteByte('*')
	}
	b.WriteString(m.ID)
	b.WriteByte('"')
	b.WriteString(seq)
	if p.Receiver != "" {
		b.WriteString("R" + p.Receiver)
	}
	switch p.LineMode {
	case "none":
	case "empty":
		b.WriteByte('L')
	default:
		line := p.Line
		if line == "" {
			line = "0"
		}
		b.WriteString("L" + line)
	}
	b.WriteString("#" + p.Account + "[")

	var content strings.Builder
	content.WriteString(m.Data)
	content.WriteByte(']')
	for _, x := range m.ExtendedData {
		content.WriteString("[" + x + "]")
	}
	if p.Key != nil || !(m.NoTimestamp || p.NoTimestamp) {
		content.WriteString(Timestamp(t))
	}
	body := []byte(b.String())
	if p.Key != nil {
		block, err := sia.NewCipher(p.Key)
		if err != nil {
			panic("siatest: bad key: " + err.Error())
		}
		body = sia.AppendEncrypted(body, block, []byte(content.String()))
	} else {
		body = append(body, content.String()...)
	}
	return sia.AppendFrame(nil, body)
}

// Timestamp formats t as a DC-09 timestamp, "_HH:MM:SS,MM-DD-YYYY" in UTC.
func Timestamp(t time.Time) string {
	// Not t.Format: Go reads ",0" in a layout as fractional seconds.
	t = t.UTC()
	return fmt.Sprintf("_%02d:%02d:%02d,%02d-%02d-%04d", t.Hour(), t.Minute(), t.Second(), t.Month(), t.Day(), t.Year())
}

// Answer is a receiver's answer as read by the panel.
type Answer struct {
	Raw       string // LF and CR removed
	Type      string // "ACK", "NAK", "DUH" (or what came), without '*'
	Encrypted bool   // "*ACK"
	Seq       string
	Receiver  string
	HasRecv   bool
	Line      string
	Account   string
	// Timestamp is the receiver's time: in a NAK, or inside a decrypted
	// *ACK.
	Timestamp    time.Time
	HasTimestamp bool
}

// ParseAnswer checks an answer's CRC and length and reads its fields. An
// encrypted answer is decrypted with key; a *ACK that does not decrypt to
// "]_timestamp" is an error.
func ParseAnswer(b []byte, key []byte) (Answer, error) {
	s := strings.TrimRight(strings.TrimLeft(string(b), "\n"), "\r\n\x00")
	var a Answer
	a.Raw = s
	if len(s) < 9 || s[8] != '"' {
		return a, errors.New("siatest: answer has no header")
	}
	var crc, length uint16
	if _, err := fmt.Sscanf(s[:8], "%04X%04X", &crc, &length); err != nil {
		return a, fmt.Errorf("siatest: answer header %q: %w", s[:8], err)
	}
	body := s[8:]
	if int(length) != len(body) {
		return a, fmt.Errorf("siatest: answer length %d, body has %d bytes", length, len(body))
	}
	if got := sia.CRC16([]byte(body)); got != crc {
		return a, fmt.Errorf("siatest: answer CRC %04X, computed %04X", crc, got)
	}
	end := strings.IndexByte(body[1:], '"')
	if end < 0 {
		return a, errors.New("siatest: answer has no type")
	}
	a.Type = body[1 : 1+end]
	if strings.HasPrefix(a.Type, "*") {
		a.Encrypted, a.Type = true, a.Type[1:]
	}
	p := body[2+end:]
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	a.Seq, p = p[:i], p[i:]
	field := func(prefix byte) (string, bool) {
		if len(p) == 0 || p[0] != prefix {
			return "", false
		}
		j := 1
		for j < len(p) && strings.IndexByte("0123456789ABCDEFabcdef", p[j]) >= 0 {
			j++
		}
		v := p[1:j]
		p = p[j:]
		return v, true
	}
	if a.Type == "NAK" {
		// "R0L0A0": the L field cannot be read greedily, A is a hex digit.
		if !strings.HasPrefix(p, "R0L0A0[") {
			return a, fmt.Errorf("siatest: NAK header %q is not R0L0A0", p)
		}
		a.Receiver, a.HasRecv, a.Line, p = "0", true, "0", p[6:]
	} else {
		a.Receiver, a.HasRecv = field('R')
		a.Line, _ = field('L')
	}
	if len(p) > 0 && p[0] == '#' {
		j := strings.IndexByte(p, '[')
		if j < 0 {
			return a, errors.New("siatest: answer has no data block")
		}
		a.Account, p = p[1:j], p[j:]
	}
	if len(p) == 0 || p[0] != '[' {
		return a, errors.New("siatest: answer has no data block")
	}
	p = p[1:]
	if a.Encrypted {
		if key == nil {
			return a, errors.New("siatest: encrypted answer and no key")
		}
		block, err := sia.NewCipher(key)
		if err != nil {
			return a, err
		}
		f := sia.Frame{Cipher: p}
		if err := f.Decrypt(block); err != nil {
			return a, fmt.Errorf("siatest: answer does not decrypt: %w", err)
		}
		if f.Data != "" || !f.HasTimestamp {
			return a, fmt.Errorf("siatest: decrypted answer is not \"]_timestamp\"")
		}
		a.Timestamp, a.HasTimestamp = f.Timestamp, true
		return a, nil
	}
	if !strings.HasPrefix(p, "]") {
		return a, errors.New("siatest: answer data block is not empty")
	}
	if ts := p[1:]; ts != "" {
		// The frame parser reads the timestamp the receiver way.
		f, err := sia.Parse(sia.AppendFrame(nil, []byte(`"NULL"0000L0#0[]`+ts)))
		if err != nil || !f.HasTimestamp {
			return a, fmt.Errorf("siatest: answer timestamp %q is not _HH:MM:SS,MM-DD-YYYY", ts)
		}
		a.Timestamp, a.HasTimestamp = f.Timestamp, true
	}
	return a, nil
}

// Conn is a panel's connection to a receiver.
type Conn struct {
	c   net.Conn
	udp bool
	br  *bufio.Reader
	// Key decrypts *ACK answers; set it to the panel's key.
	Key []byte
}

// Dial connects over "tcp" or "udp".
func Dial(network, addr string) (*Conn, error) {
	return DialFrom(network, "", addr)
}

// DialFrom connects over "tcp" or "udp" from the local IP address from
// (any port), so that tests can be several hosts: on Linux all of
// 127.0.0.0/8 reaches the loopback interface. Empty from lets the system
// choose.
func DialFrom(network, from, addr string) (*Conn, error) {
	var d net.Dialer
	if from != "" {
		ip := net.ParseIP(from)
		if ip == nil {
			return nil, fmt.Errorf("siatest: local address %q is not an IP address", from)
		}
		if strings.HasPrefix(network, "udp") {
			d.LocalAddr = &net.UDPAddr{IP: ip}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: ip}
		}
	}
	c, err := d.Dial(network, addr)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, udp: strings.HasPrefix(network, "udp"), br: bufio.NewReader(c)}, nil
}

// Send writes frames as they are (one datagram each over UDP, one write
// for all over TCP).
func (c *Conn) Send(frames ...[]byte) error {
	if c.udp {
		for _, f := range frames {
			if _, err := c.c.Write(f); err != nil {
				return err
			}
		}
		return nil
	}
	var all []byte
	for _, f := range frames {
		all = append(all, f...)
	}
	_, err := c.c.Write(all)
	return err
}

// Write writes raw bytes, for tests that split frames across writes.
func (c *Conn) Write(b []byte) (int, error) { return c.c.Write(b) }

// ErrNoAnswer is returned by ReadAnswer when nothing came in time.
var ErrNoAnswer = errors.New("siatest: no answer")

// ReadAnswer waits up to timeout for one answer and parses it.
func (c *Conn) ReadAnswer(timeout time.Duration) (Answer, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(timeout))
	var raw []byte
	if c.udp {
		buf := make([]byte, 4096)
		n, err := c.c.Read(buf)
		if err != nil {
			return Answer{}, noAnswer(err)
		}
		raw = buf[:n]
	} else {
		for {
			line, err := c.br.ReadBytes('\r')
			if err != nil {
				return Answer{}, noAnswer(err)
			}
			if len(strings.Trim(string(line), "\r\n\x00")) > 0 {
				raw = line
				break
			}
		}
	}
	return ParseAnswer(raw, c.Key)
}

func noAnswer(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ErrNoAnswer
	}
	return err
}

// Exchange sends one frame and reads its answer.
func (c *Conn) Exchange(frame []byte, timeout time.Duration) (Answer, error) {
	if err := c.Send(frame); err != nil {
		return Answer{}, err
	}
	return c.ReadAnswer(timeout)
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }
