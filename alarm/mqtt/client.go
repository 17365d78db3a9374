package mqtt

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"
	"github.com/eclipse/paho.golang/paho/session"
	"github.com/eclipse/paho.golang/paho/session/state"
)

// Client ingests from an external broker (Mosquitto, EMQX, …) over MQTT
// 5: a QoS 1 subscription to <base>/# in a persistent session (clean start
// false, long session expiry), reconnecting with exponential backoff. Each
// message is acknowledged only after its reports were stored; see the
// package documentation for what that means across crashes and restarts.
type Client struct {
	cfg     Config
	url     *url.URL
	p       *pipeline
	ownsP   bool
	term    *term // nil when the client is the pipeline's only feeder
	log     *slog.Logger
	closing atomic.Bool

	// conn is the current connection to the broker: the one the
	// acknowledgements of the messages received now are written to.
	conn atomic.Pointer[brokerConn]

	mu         sync.Mutex
	cm         *autopaho.ConnectionManager
	subscribed chan struct{} // closed once the subscription of the current connection is acknowledged
	closeOnce  sync.Once
	closed     chan struct{}
}

// NewClient returns a client for cfg.URL that hands reports to h.
func NewClient(cfg Config, sensors Sensors, h Handler) (*Client, error) {
	return newClient(cfg, newPipeline(cfg, sensors, h), true)
}

func newClient(cfg Config, p *pipeline, owns bool) (*Client, error) {
	cfg = cfg.withDefaults()
	u, err := parseBrokerURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	return &Client{
		cfg: cfg, url: u, p: p, ownsP: owns,
		log:        cfg.Logger.With("broker", u.Redacted(), "client_id", cfg.ClientID),
		subscribed: make(chan struct{}),
		closed:     make(chan struct{}),
	}, nil
}

// Start connects in the background (retrying until it succeeds) and
// ingests until ctx ends or Close is called.
func (c *Client) Start(ctx context.Context) {
	c.p.start(ctx)
	c.start()
	go func() {
		select {
		case <-ctx.Done():
			c.Close()
		case <-c.closed:
		}
	}()
}

func (c *Client) start() {
	sessionExpiry := uint32(min(c.cfg.SessionExpiry/time.Second, 1<<32-1))
	receiveMax := c.cfg.ReceiveMaximum
	keepAlive := uint16(min(c.cfg.KeepAlive/time.Second, 1<<16-1))
	var attempts atomic.Int64
	var connectedBefore atomic.Bool
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{c.url},
		KeepAlive:                     keepAlive,
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         sessionExpiry,
		ReconnectBackoff:              c.cfg.backoff,
		ConnectTimeout:                10 * time.Second,
		AttemptConnection:             c.dial,
		ConnectUsername:               c.cfg.Username,
		ConnectPassword:               []byte(c.cfg.Password),
		ConnectPacketBuilder: func(cp *paho.Connect, _ *url.URL) (*paho.Connect, error) {
			if cp.Properties == nil {
				cp.Properties = &paho.ConnectProperties{}
			}
			cp.Properties.ReceiveMaximum = &receiveMax
			return cp, nil
		},
		OnConnectionUp: func(cm *autopaho.ConnectionManager, ca *paho.Connack) {
			n := attempts.Swap(0)
			c.log.Info("mqtt: connected", "session_present", ca.SessionPresent, "failed_attempts", n)
			if connectedBefore.Swap(true) && !ca.SessionPresent {
				c.log.Error("mqtt: the broker lost shequ's session; messages sent while disconnected are lost (is the broker's persistence on?)")
			}
			go c.subscribe(cm)
		},
		OnConnectionDown: func() bool {
			c.mu.Lock()
			c.subscribed = make(chan struct{})
			c.mu.Unlock()
			if c.closing.Load() {
				return false
			}
			c.log.Warn("mqtt: connection lost; reconnecting")
			return true
		},
		OnConnectError: func(err error) {
			n := attempts.Add(1)
			lvl := slog.LevelWarn
			if n > 1 && n%10 != 0 {
				lvl = slog.LevelDebug // every tenth failure is enough at warn
			}
			c.log.Log(context.Background(), lvl, "mqtt: connecting failed", "attempt", n, "next_in", c.cfg.backoff(int(n)), "err", err)
		},
		ClientConfig: paho.ClientConfig{
			ClientID: c.cfg.ClientID,
			// paho acknowledges a message when received returns, through
			// Session.Ack; ackSession leaves that to the pipeline, which
			// writes the PUBACKs of a stored batch itself (see ackBatch).
			Session:           ackSession{state.NewInMemory()},
			OnPublishReceived: []func(paho.PublishReceived) (bool, error){c.received},
			OnClientError: func(err error) {
				c.log.Debug("mqtt: client error", "err", err)
			},
			OnServerDisconnect: func(d *paho.Disconnect) {
				c.log.Warn("mqtt: broker closed the connection", "reason_code", d.ReasonCode)
			},
		},
	}
	// The connection manager has its own context: Close decides when it
	// goes, after the last acknowledgements are flushed.
	cm, err := autopaho.NewConnection(context.Background(), cfg)
	if err != nil {
		// Only possible without server URLs, which newClient rules out.
		c.log.Error("mqtt: cannot start the client", "err", err)
		return
	}
	c.mu.Lock()
	c.cm = cm
	c.mu.Unlock()
}

// subscribe subscribes to <base>/# with QoS 1. Retain handling 1 asks for
// retained messages only when the subscription is new, not each time the
// persistent session is resumed.
func (c *Client) subscribe(cm *autopaho.ConnectionManager) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := c.cfg.BaseTopic + "/#"
	sa, err := cm.Subscribe(ctx, &paho.Subscribe{
		Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1, RetainHandling: 1}},
	})
	if err != nil {
		c.log.Error("mqtt: subscribing failed", "topic", topic, "err", err)
		return
	}
	if len(sa.Reasons) != 1 || sa.Reasons[0] > 1 {
		c.log.Error("mqtt: broker refused the subscription", "topic", topic, "reasons", fmt.Sprint(sa.Reasons))
		return
	}
	if sa.Reasons[0] == 0 {
		c.log.Warn("mqtt: broker granted QoS 0 only; messages can be lost", "topic", topic)
	}
	c.log.Info("mqtt: subscribed", "topic", topic)
	c.mu.Lock()
	select {
	case <-c.subscribed:
	default:
		close(c.subscribed)
	}
	c.mu.Unlock()
}

// received runs in paho's router goroutine, in the order messages arrive.
// It queues the message for the pipeline; the acknowledgement is sent by
// the pipeline once the reports are stored.
func (c *Client) received(pr paho.PublishReceived) (bool, error) {
	if c.closing.Load() {
		return true, nil // not acknowledged: the broker sends it again
	}
	pk := pr.Packet
	d := &delivery{
		topic:      pk.Topic,
		payload:    pk.Payload,
		receivedAt: c.cfg.Now(),
		id:         pk.PacketID,
		dup:        pk.Duplicate(),
		term:       c.term,
	}
	if pk.QoS > 0 {
		// The connection the message came on. Should it have been
		// replaced already, the PUBACK goes on the new one, which is
		// still right: the broker resends an unacknowledged message of
		// the session under its packet id, and that id stays its until
		// acknowledged.
		if conn := c.conn.Load(); conn != nil {
			d.acker, d.conn = conn, conn
		}
	} else {
		d.id = 0
	}
	if err := c.p.enqueue(d); err != nil {
		return true, nil
	}
	return true, nil
}

// AwaitSubscribed waits until the client is connected and its subscription
// acknowledged.
func (c *Client) AwaitSubscribed(ctx context.Context) error {
	for {
		c.mu.Lock()
		ch := c.subscribed
		c.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-c.closed:
			return errors.New("mqtt: client closed")
		case <-time.After(100 * time.Millisecond):
			// the connection may have been replaced; look again
		}
	}
}

// Close stops taking messages, lets the batch being stored finish, flushes
// its acknowledgements and disconnects, leaving the session at the broker.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closing.Store(true)
		if c.ownsP {
			c.p.shutdown()
		}
		c.mu.Lock()
		cm := c.cm
		c.mu.Unlock()
		if cm != nil {
			// The pipeline wrote the stored batches' PUBACKs before
			// shutdown returned, but the broker may not have read them
			// yet, and closing a connection with unread data in it
			// resets it: the broker's kernel then drops what Mosquitto
			// had not read, and the next subscriber (another node) gets
			// those messages again although they were stored. The broker
			// handles a client's packets in order, so the answer to a
			// subscription renewed now says it has read the PUBACKs. (The
			// subscription is the same, and with retain handling 1 the
			// renewal sends no retained messages.)
			sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
			if _, err := cm.Subscribe(sctx, &paho.Subscribe{
				Subscriptions: []paho.SubscribeOptions{{Topic: c.cfg.BaseTopic + "/#", QoS: 1, RetainHandling: 1}},
			}); err != nil {
				c.log.Debug("mqtt: the broker did not confirm the last acknowledgements", "err", err)
			}
			scancel()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = cm.Disconnect(ctx)
			cancel()
		}
		close(c.closed)
		c.log.Info("mqtt: client stopped")
	})
	return err
}

// Done is closed once Close has finished.
func (c *Client) Done() <-chan struct{} { return c.closed }

// ackSession is paho's in-memory session except for the acknowledgement
// of QoS 1 messages, which it leaves to shequ: paho would acknowledge a
// message as soon as received returns, before its reports are stored. (Its
// manual mode waits for Client.Ack, but keeps the messages in flight in a
// list searched from the front at every message and every Ack, flushes on
// a timer, and writes each PUBACK with three system calls: it ran at 0.37–
// 0.49 of mosquitto_sub.) QoS 1 leaves no state at the receiver to clear,
// so not calling the session's Ack loses nothing; the pipeline writes the
// PUBACKs of a stored batch, in order, in one write (ackBatch).
type ackSession struct {
	session.SessionManager
}

func (s ackSession) Ack(pb *packets.Publish) error {
	if pb.QoS == 1 {
		return nil
	}
	return s.SessionManager.Ack(pb)
}

// dial connects to the broker and makes the connection the current one.
// paho reads each packet with several small reads (a byte for the type,
// the length byte by byte, then the body), so the connection is read
// through a buffer: one system call brings many messages instead of four
// per message.
func (c *Client) dial(ctx context.Context, cfg autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
	var d net.Dialer
	var conn net.Conn
	var err error
	switch u.Scheme {
	case "tcp", "mqtt":
		conn, err = d.DialContext(ctx, "tcp", u.Host)
	case "tls", "ssl", "mqtts":
		td := tls.Dialer{NetDialer: &d, Config: cfg.TlsCfg}
		conn, err = td.DialContext(ctx, "tcp", u.Host)
	default:
		return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	bc := &brokerConn{Conn: conn, r: bufio.NewReaderSize(conn, 32<<10)}
	c.conn.Store(bc)
	return bc, nil
}

// brokerConn is a connection to the broker. It is a sync.Locker, which
// makes paho hold the lock while it writes a packet: paho writes one packet
// with several Writes, which must not interleave with another goroutine's
// (its pinger's, or ackBatch's), and a tls.Conn needs its writes
// serialised anyway.
type brokerConn struct {
	net.Conn
	r *bufio.Reader
	sync.Mutex
}

func (c *brokerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// ackBatch writes the PUBACKs of ids, in that order, with one write. A
// PUBACK with reason Success and no properties is four bytes in MQTT 5
// (the reason code and property length may be left out).
func (c *brokerConn) ackBatch(ids []uint16) error {
	buf := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		buf = append(buf, packets.PUBACK<<4, 2, byte(id>>8), byte(id))
	}
	c.Lock()
	defer c.Unlock()
	// A broker that reads nothing must not hold the pipeline forever; a
	// connection whose write timed out is useless and is replaced.
	c.Conn.SetWriteDeadline(time.Now().Add(ackWriteTimeout))
	_, err := c.Conn.Write(buf)
	c.Conn.SetWriteDeadline(time.Time{})
	if err != nil {
		c.Conn.Close()
	}
	return err
}

const ackWriteTimeout = 10 * time.Second
