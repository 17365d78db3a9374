package mqtt

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/listeners"
)

// The embedded broker's limits on connections that have not yet sent
// their CONNECT. mochi reserves a packet's whole declared length (up to
// 256 MiB, twice over) as soon as it has read the fixed header, before
// the CONNECT is authenticated: four connections announcing the largest
// CONNECT held a gigabyte of the process that also receives the panels'
// alarms. A CONNECT carries a client id, credentials and maybe a will: a
// few hundred bytes from a sensor bridge. Once a client has sent its
// CONNECT, mochi authenticates it, and what an admitted client sends is
// bounded by that trust (zigbee2mqtt's retained bridge messages can be
// megabytes, so no limit is put on them here).
const (
	maxConnectSize  = 16 << 10         // bytes a CONNECT may announce
	connectTimeout  = 10 * time.Second // to send the whole CONNECT
	maxPendingConns = 256              // connections waiting for their CONNECT at once
)

var errConnectRefused = errors.New("mqtt: connection refused before its CONNECT")

// guardedListener is the embedded broker's TCP listener (mochi's
// listeners.Listener): it hands mochi connections whose first packet is
// checked to be a CONNECT of at most maxConnectSize bytes, sent within
// connectTimeout, with at most maxPendingConns of them pending at once.
// It is a listener of its own rather than a net.Listener handed to
// mochi's listeners.NewNet because that one logs every connection that
// ends in error at warn level, a refused one included: a hostile client
// opening connections by the thousand would write the log by the
// thousand. Here a refused connection is a debug line.
type guardedListener struct {
	id, address string
	log         *slog.Logger
	ln          net.Listener
	// timeout and maxPending are connectTimeout and maxPendingConns but
	// in tests.
	timeout    time.Duration
	maxPending int64
	pending    atomic.Int64
	closeOnce  sync.Once
}

func newGuardedListener(id, address string) *guardedListener {
	return &guardedListener{id: id, address: address, log: slog.Default(), timeout: connectTimeout, maxPending: maxPendingConns}
}

func (l *guardedListener) ID() string       { return l.id }
func (l *guardedListener) Protocol() string { return "tcp" }

func (l *guardedListener) Address() string {
	if l.ln != nil {
		return l.ln.Addr().String()
	}
	return l.address
}

func (l *guardedListener) Init(log *slog.Logger) error {
	if log != nil {
		l.log = log
	}
	ln, err := net.Listen("tcp", l.address)
	if err != nil {
		return err
	}
	l.ln = ln
	return nil
}

// Serve accepts until the listener is closed.
func (l *guardedListener) Serve(establish listeners.EstablishFn) {
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			return
		}
		if l.pending.Add(1) > l.maxPending {
			l.pending.Add(-1)
			l.log.Warn("mqtt: connection refused: too many connections waiting for their CONNECT", "from", conn.RemoteAddr().String(), "limit", l.maxPending)
			conn.Close()
			continue
		}
		if err := conn.SetReadDeadline(time.Now().Add(l.timeout)); err != nil {
			l.pending.Add(-1)
			conn.Close()
			continue
		}
		g := &guardedConn{Conn: conn, done: func() { l.pending.Add(-1) }}
		go func() {
			defer g.settle()
			if err := establish(l.id, g); err != nil {
				l.log.Debug("mqtt: client connection ended", "from", conn.RemoteAddr().String(), "err", err)
			}
		}()
	}
}

// Close stops accepting and closes the clients' connections.
func (l *guardedListener) Close(closeClients listeners.CloseFn) {
	l.closeOnce.Do(func() {
		closeClients(l.id)
		if l.ln != nil {
			l.ln.Close()
		}
	})
}

// guardedConn checks the first packet read from it as it passes: a
// CONNECT (type 1, flags 0) announcing at most maxConnectSize bytes. The
// connection is closed at the first byte that breaks that, before mochi
// has read the length it would reserve. Once the whole CONNECT has been
// read, the connect deadline is lifted (mochi sets the client's keepalive
// deadline after it) and the connection no longer counts as pending.
type guardedConn struct {
	net.Conn
	// Read by one goroutine, mochi's reader of this client.
	passed  bool
	header  int    // bytes of the fixed header seen
	length  uint32 // the remaining length as decoded so far
	shift   uint
	left    int // bytes of the CONNECT still to come once the header is read
	settled sync.Once
	done    func()
}

func (c *guardedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.passed || n == 0 {
		return n, err
	}
	if cerr := c.check(p[:n]); cerr != nil {
		c.Conn.Close()
		c.settle()
		return 0, cerr
	}
	if c.passed {
		c.settle()
		if derr := c.Conn.SetReadDeadline(time.Time{}); derr != nil && err == nil {
			err = derr
		}
	}
	return n, err
}

// check follows the first packet through b, the next bytes read.
func (c *guardedConn) check(b []byte) error {
	for i := 0; i < len(b); i++ {
		switch {
		case c.header == 0:
			if b[i] != 0x10 {
				return fmt.Errorf("%w: the first packet is not a CONNECT (0x%02x)", errConnectRefused, b[i])
			}
			c.header = 1
		case c.left == 0:
			// The remaining length: seven bits a byte, least significant
			// first, the high bit saying another byte follows.
			c.header++
			c.length |= uint32(b[i]&0x7f) << c.shift
			c.shift += 7
			if c.length > maxConnectSize {
				return fmt.Errorf("%w: a CONNECT of more than %d bytes", errConnectRefused, maxConnectSize)
			}
			if b[i]&0x80 != 0 {
				if c.header > 4 {
					return fmt.Errorf("%w: a malformed remaining length", errConnectRefused)
				}
				continue
			}
			if c.length == 0 {
				return fmt.Errorf("%w: an empty CONNECT", errConnectRefused)
			}
			c.left = int(c.length)
		default:
			take := min(c.left, len(b)-i)
			c.left -= take
			i += take - 1
			if c.left == 0 {
				c.passed = true
				return nil
			}
		}
	}
	return nil
}

// settle ends the connection's pending state, once.
func (c *guardedConn) settle() { c.settled.Do(c.done) }

func (c *guardedConn) Close() error {
	c.settle()
	return c.Conn.Close()
}
