package sia

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
)

// Handler stores the reports of one frame. It returns only when they are
// durable: the receiver acknowledges the frame after that and not before.
// An error means nothing is acknowledged and the panel will send the frame
// again. The slice is reused once Handle returns; Handle must copy what it
// keeps.
type Handler interface {
	Handle(ctx context.Context, reports []alarm.Report) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, reports []alarm.Report) error

// Handle calls fn.
func (fn HandlerFunc) Handle(ctx context.Context, reports []alarm.Report) error {
	return fn(ctx, reports)
}

// Accounts tells the receiver which panel accounts it serves. known is
// false for an account it does not serve (answered DUH); key is nil for an
// account that sends plain frames, and the AES key (see ParseKey) for one
// that encrypts. Key is called once per frame and must be fast and safe for
// concurrent use; the account is passed as the panel sent it.
type Accounts interface {
	Key(account string) (key []byte, known bool)
}

// StaticAccounts is a fixed set of accounts: account → key (nil for plain).
type StaticAccounts map[string][]byte

// Key implements Accounts.
func (a StaticAccounts) Key(account string) ([]byte, bool) {
	k, ok := a[account]
	return k, ok
}

// Window is how far a panel's timestamp may be from the receiver's clock:
// DC-09 defaults are 40 s in the past and 20 s in the future.
type Window struct {
	Past   time.Duration
	Future time.Duration
}

// Defaults.
const (
	DefaultPast            = 40 * time.Second
	DefaultFuture          = 20 * time.Second
	DefaultMaxConns        = 1024
	DefaultMaxConnsPerAddr = 64
	DefaultMaxUDPInFlight  = 256
	DefaultIdleTimeout     = 60 * time.Second
	DefaultFrameTimeout    = 5 * time.Second
	DefaultWriteTimeout    = 10 * time.Second
	DefaultLogInterval     = time.Minute
	DefaultLogBurst        = 10

	// shutdownGrace is how long frames being stored when the receiver is
	// told to stop get to finish and be acknowledged.
	shutdownGrace = 10 * time.Second
)

// Config configures a Receiver. The zero value of each field means its
// default.
type Config struct {
	// Addr is the host:port served on both TCP and UDP; port 0 picks a
	// free port (see Receiver.Addr). Empty disables the receiver.
	Addr string
	// Window bounds panel timestamps (defaults 40 s past, 20 s future).
	Window Window
	// CheckPlainTimestamps applies the window to plain frames that carry
	// a timestamp too. DC-09 requires the check of encrypted frames only,
	// and panels that stamp plain frames with local time exist (Home
	// Assistant added an "ignore timestamps" switch for them), so it is
	// off by default.
	CheckPlainTimestamps bool
	Clock                shequ.Clock
	Logger               *slog.Logger
	// MaxConns bounds open TCP connections (default 1,024).
	MaxConns int
	// MaxConnsPerAddr bounds open TCP connections from one IP address
	// (default 64), so that one host cannot take the connections every
	// other panel needs. Panels behind one NAT share an address: raise it
	// for a site with more of them holding connections open.
	MaxConnsPerAddr int
	// MaxUDPInFlight bounds UDP frames being stored at once (default
	// 256). It is a budget of its own, so that TCP connections, idle or
	// not, never hold up UDP panels.
	MaxUDPInFlight int
	// IdleTimeout closes a TCP connection on which no frame was completed
	// for this long, counted from the connection's start or its last
	// frame with a valid CRC (default 60 s). Bytes that do not make a
	// frame do not count: a trickle of them must not hold a connection.
	// A panel sends within seconds of connecting, and one that finds its
	// connection closed opens another for its next frame.
	IdleTimeout time.Duration
	// FrameTimeout closes a TCP connection whose frame is not complete
	// this long after its first byte (default 5 s; a frame is at most a
	// few hundred bytes).
	FrameTimeout time.Duration
	WriteTimeout time.Duration
	// LogInterval and LogBurst bound the warnings a source can cause
	// (corrupt frames, DUH, NAK, refused connections, timeouts): at most
	// LogBurst lines per source address and interval (defaults 10 and one
	// minute). The others are counted (Stats.LogSuppressed, metric
	// shequ_sia_log_lines_suppressed_total) and summed up in one line per
	// interval.
	LogInterval time.Duration
	LogBurst    int
}

// Stats counts what a receiver did since it started.
type Stats struct {
	Frames       uint64 // frames read, corrupt ones included
	ACK          uint64 // ACK and *ACK sent
	NAK          uint64
	DUH          uint64
	Corrupt      uint64 // frames not answered because they were corrupt
	HandleErrors uint64 // frames not answered because storing failed
	Connections  uint64 // TCP connections accepted
	Refused      uint64 // TCP connections closed at once for MaxConns

	RefusedPerAddr uint64 // TCP connections closed at once for MaxConnsPerAddr
	IdleClosed     uint64 // TCP connections closed for IdleTimeout
	FrameTimeouts  uint64 // TCP connections closed for FrameTimeout
	LogSuppressed  uint64 // warnings not written for LogBurst
}

// Receiver is the SIA DC-09 receiver: TCP and UDP on one address.
type Receiver struct {
	cfg      Config
	accounts Accounts
	handler  Handler
	clock    shequ.Clock
	log      *slog.Logger

	tcp net.Listener
	udp net.PacketConn

	ciphers  cipherCache
	slots    chan struct{} // MaxConns
	udpSlots chan struct{} // MaxUDPInFlight
	scratch  sync.Pool     // *scratch for UDP frames
	logs     logLimiter

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	perAddr map[netip.Addr]int // open TCP connections by remote address
	wg      sync.WaitGroup

	frames, acks, naks, duhs, corrupts, handleErrors, connections, refused atomic.Uint64
	refusedPerAddr, idleClosed, frameTimeouts                              atomic.Uint64
}

// New returns a receiver; Listen or ListenAndServe starts it.
func New(cfg Config, accounts Accounts, h Handler) *Receiver {
	if cfg.Window.Past <= 0 {
		cfg.Window.Past = DefaultPast
	}
	if cfg.Window.Future <= 0 {
		cfg.Window.Future = DefaultFuture
	}
	if cfg.Clock == nil {
		cfg.Clock = shequ.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxConnsPerAddr <= 0 {
		cfg.MaxConnsPerAddr = DefaultMaxConnsPerAddr
	}
	if cfg.MaxUDPInFlight <= 0 {
		cfg.MaxUDPInFlight = DefaultMaxUDPInFlight
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.FrameTimeout <= 0 {
		cfg.FrameTimeout = DefaultFrameTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = DefaultLogInterval
	}
	if cfg.LogBurst <= 0 {
		cfg.LogBurst = DefaultLogBurst
	}
	r := &Receiver{
		cfg: cfg, accounts: accounts, handler: h, clock: cfg.Clock,
		log:      cfg.Logger.With("component", "sia"),
		slots:    make(chan struct{}, cfg.MaxConns),
		udpSlots: make(chan struct{}, cfg.MaxUDPInFlight),
		conns:    make(map[net.Conn]struct{}),
		perAddr:  make(map[netip.Addr]int),
	}
	r.logs.init(cfg.LogBurst)
	r.ciphers.m = make(map[string]cipher.Block)
	r.scratch.New = func() any { return new(scratch) }
	return r
}

// Listen binds the TCP and UDP sockets. With an empty Addr it does nothing.
func (r *Receiver) Listen() error {
	if r.cfg.Addr == "" || r.tcp != nil {
		return nil
	}
	// With port 0 the TCP port is chosen first and UDP takes the same
	// number; if that UDP port is taken, try another pair.
	for attempt := 0; ; attempt++ {
		tl, err := net.Listen("tcp", r.cfg.Addr)
		if err != nil {
			return fmt.Errorf("sia: listen tcp %s: %w", r.cfg.Addr, err)
		}
		ul, err := net.ListenPacket("udp", tl.Addr().String())
		if err != nil {
			tl.Close()
			_, port, _ := net.SplitHostPort(r.cfg.Addr)
			if port == "0" && attempt < 10 {
				continue
			}
			return fmt.Errorf("sia: listen udp %s: %w", r.cfg.Addr, err)
		}
		r.tcp, r.udp = tl, ul
		return nil
	}
}

// Addr returns the bound TCP address (UDP uses the same port), or nil
// before Listen or when disabled.
func (r *Receiver) Addr() net.Addr {
	if r.tcp == nil {
		return nil
	}
	return r.tcp.Addr()
}

// ListenAndServe binds and serves until ctx ends. With an empty Addr it
// waits for ctx and returns nil, so that callers need no special case.
func (r *Receiver) ListenAndServe(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	return r.Serve(ctx)
}

// Serve serves until ctx ends, binding first if Listen was not called. It
// then stops accepting, lets frames being stored finish and be
// acknowledged (for at most 10 s), closes every connection and returns nil.
func (r *Receiver) Serve(ctx context.Context) error {
	if err := r.Listen(); err != nil {
		return err
	}
	if r.tcp == nil {
		<-ctx.Done()
		return nil
	}
	r.log.Info("SIA DC-09 receiver listening", "addr", r.tcp.Addr().String(), "transports", "tcp,udp")

	// Handlers get a context that outlives ctx by the grace period, so a
	// frame being stored at shutdown is still acknowledged.
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(shutdownGrace, hcancel) })
	defer stopGrace()

	var loops sync.WaitGroup
	loops.Add(3)
	go func() { defer loops.Done(); r.acceptLoop(ctx, hctx) }()
	go func() { defer loops.Done(); r.udpLoop(ctx, hctx) }()
	go func() { defer loops.Done(); r.summarizeLogs(ctx) }()

	<-ctx.Done()
	r.tcp.Close()
	// Interrupt reads but let a frame in progress finish and be answered.
	_ = r.udp.SetReadDeadline(time.Now())
	r.mu.Lock()
	for c := range r.conns {
		_ = c.SetReadDeadline(time.Now())
	}
	r.mu.Unlock()
	loops.Wait()
	r.wg.Wait()
	r.udp.Close()
	r.log.Info("SIA DC-09 receiver stopped", "frames", r.frames.Load(), "acked", r.acks.Load())
	return nil
}

// Stats returns the counters.
func (r *Receiver) Stats() Stats {
	return Stats{
		Frames: r.frames.Load(), ACK: r.acks.Load(), NAK: r.naks.Load(), DUH: r.duhs.Load(),
		Corrupt: r.corrupts.Load(), HandleErrors: r.handleErrors.Load(),
		Connections: r.connections.Load(), Refused: r.refused.Load(),
		RefusedPerAddr: r.refusedPerAddr.Load(), IdleClosed: r.idleClosed.Load(),
		FrameTimeouts: r.frameTimeouts.Load(), LogSuppressed: r.logs.suppressedTotal.Load(),
	}
}

func (r *Receiver) acceptLoop(ctx, hctx context.Context) {
	var backoff time.Duration
	for {
		c, err := r.tcp.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: wait, then retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			r.log.Error("SIA accept failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			continue
		}
		backoff = 0
		// The address is checked first: a host at its own limit must not
		// use up a slot of the shared budget while it is refused.
		ip := addrOf(c.RemoteAddr())
		r.mu.Lock()
		if r.perAddr[ip] >= r.cfg.MaxConnsPerAddr {
			r.mu.Unlock()
			r.refusedPerAddr.Add(1)
			r.warn(ctx, ip, "SIA connection refused: too many connections from this address", "from", c.RemoteAddr().String(), "max_per_addr", r.cfg.MaxConnsPerAddr)
			c.Close()
			continue
		}
		select {
		case r.slots <- struct{}{}:
		default:
			r.mu.Unlock()
			r.refused.Add(1)
			r.warn(ctx, ip, "SIA connection refused: too many connections", "from", c.RemoteAddr().String(), "max", r.cfg.MaxConns)
			c.Close()
			continue
		}
		r.perAddr[ip]++
		r.conns[c] = struct{}{}
		r.mu.Unlock()
		r.connections.Add(1)
		r.wg.Add(1)
		go r.serveConn(ctx, hctx, c, ip)
	}
}

// addrOf is the IP address of a TCP or UDP peer, IPv4 in its 4-byte form
// so that one host counts once whichever way its address was written.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// serveConn reads frames from one TCP connection and answers each in turn.
// Frames are split on CR (LF and NUL bytes between frames are skipped), so
// several frames may come in one segment or one frame across several.
//
// The read deadline is the earlier of two: IdleTimeout after the last
// frame with a valid CRC (or the connection's start), and FrameTimeout
// after the first byte of a frame not yet complete. Bytes that make no
// frame move neither, so trickling them keeps no connection open.
func (r *Receiver) serveConn(ctx, hctx context.Context, c net.Conn, ip netip.Addr) {
	defer func() {
		c.Close()
		r.mu.Lock()
		delete(r.conns, c)
		if r.perAddr[ip]--; r.perAddr[ip] <= 0 {
			delete(r.perAddr, ip)
		}
		r.mu.Unlock()
		<-r.slots
		r.wg.Done()
	}()
	from := c.RemoteAddr()
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("SIA connection opened", "from", from.String())
	}
	s := new(scratch)
	buf := make([]byte, 2*maxFrame)
	start, end := 0, 0
	// Deadlines are on the wall clock: they go to the socket, which knows
	// no other. Config.Clock stamps the frames.
	lastFrame := time.Now()
	var frameStart time.Time // zero while no frame has begun
	for {
		if start == end {
			start, end = 0, 0
		} else if end == len(buf) {
			// Make room: move the unfinished frame to the front.
			end = copy(buf, buf[start:end])
			start = 0
		}
		deadline := lastFrame.Add(r.cfg.IdleTimeout)
		byFrame := false
		if !frameStart.IsZero() {
			if frameAt := frameStart.Add(r.cfg.FrameTimeout); frameAt.Before(deadline) {
				deadline, byFrame = frameAt, true
			}
		}
		_ = c.SetReadDeadline(deadline)
		// Serve sets a past deadline after cancelling ctx; checking
		// again here closes the gap where ours would overwrite it.
		if ctx.Err() != nil {
			return
		}
		n, rerr := c.Read(buf[end:])
		end += n
		framed := false
		for {
			frame, skip, next, ok := nextFrame(buf[start:end])
			if !ok {
				start += skip
				if end-start > maxFrame {
					// No CR in a frame's worth of bytes: not a panel
					// speaking DC-09. Drop it and look for the next LF.
					r.frames.Add(1)
					r.corrupts.Add(1)
					r.warn(ctx, ip, "SIA frame too long, dropped without answer", "from", from.String(), "bytes", end-start)
					start = end
				}
				break
			}
			answer := r.process(hctx, frame, s, from)
			start += next
			framed = framed || !s.corrupt
			if answer != nil {
				_ = c.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
				if _, err := c.Write(answer); err != nil {
					r.warn(ctx, ip, "SIA answer not sent", "from", from.String(), "err", err)
					return
				}
			}
		}
		switch {
		case framed:
			// What is left, if anything, began after the last frame.
			lastFrame = time.Now()
			frameStart = time.Time{}
			if hasFrameByte(buf[start:end]) {
				frameStart = lastFrame
			}
		case start == end:
			frameStart = time.Time{}
		case frameStart.IsZero() && hasFrameByte(buf[start:end]):
			frameStart = time.Now()
		}
		if rerr != nil {
			r.connClosed(ctx, ip, from, rerr, byFrame)
			return
		}
	}
}

// connClosed accounts for a connection ended by a read error: the peer
// closing, a timeout, or Serve stopping. byFrame tells which deadline was
// set when the read timed out.
func (r *Receiver) connClosed(ctx context.Context, ip netip.Addr, from net.Addr, err error, byFrame bool) {
	var ne net.Error
	switch {
	case ctx.Err() != nil:
	case errors.As(err, &ne) && ne.Timeout():
		if byFrame {
			r.frameTimeouts.Add(1)
			r.warn(ctx, ip, "SIA connection closed: frame not complete in time", "from", from.String(), "frame_timeout", r.cfg.FrameTimeout)
			return
		}
		r.idleClosed.Add(1)
		if r.log.Enabled(ctx, slog.LevelDebug) {
			r.log.Debug("SIA connection closed: idle", "from", from.String(), "idle_timeout", r.cfg.IdleTimeout)
		}
	case err != io.EOF && r.log.Enabled(ctx, slog.LevelDebug):
		r.log.Debug("SIA connection closed", "from", from.String(), "err", err)
	}
}

// hasFrameByte reports whether b holds a byte that begins a frame, rather
// than only the filler panels put between frames.
func hasFrameByte(b []byte) bool {
	for _, c := range b {
		if !isFiller(c) {
			return true
		}
	}
	return false
}

// nextFrame finds the first frame in b. It returns the frame (without LF
// and CR), how many bytes before it are filler, and where the next search
// starts; ok is false when b holds no complete frame yet, and skip then
// says how much of b can be dropped.
func nextFrame(b []byte) (frame []byte, skip, next int, ok bool) {
	i := 0
	for i < len(b) && isFiller(b[i]) {
		if b[i] == '\n' {
			// A frame whose CRC is two raw bytes (Lupusec) may hold CR,
			// LF or blanks in them; its length field tells where it ends.
			if i+8 > len(b) {
				if indexAny(b[i+1:]) < 0 {
					return nil, i, 0, false // too little to tell yet
				}
			} else if b[i+3] == '0' && b[i+7] == '"' {
				if n, ok := parseHex(b[i+3 : i+7]); ok {
					end := i + 1 + 6 + n
					if end >= len(b) {
						return nil, i, 0, false
					}
					if b[end] == '\r' {
						return b[i+1 : end], i + 1, end + 1, true
					}
				}
			}
		}
		i++
	}
	j := indexAny(b[i:])
	if j < 0 {
		return nil, i, 0, false
	}
	return b[i : i+j], i, i + j + 1, true
}

// indexAny returns the index of the first CR or LF in b, or -1.
func indexAny(b []byte) int {
	for i, c := range b {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}

// udpLoop serves datagrams: each is one frame, answered to its sender.
func (r *Receiver) udpLoop(ctx, hctx context.Context) {
	for {
		s := r.scratch.Get().(*scratch)
		if s.in == nil {
			s.in = make([]byte, maxFrame+64)
		}
		n, addr, err := r.udp.ReadFrom(s.in)
		if err != nil {
			r.scratch.Put(s)
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			r.log.Warn("SIA UDP read failed", "err", err)
			continue
		}
		// Waiting for a slot leaves further datagrams in the socket's
		// buffer, where the kernel drops them once it is full; a panel
		// repeats an unanswered frame, so a burst costs a retry, not an
		// event.
		select {
		case r.udpSlots <- struct{}{}:
		case <-ctx.Done():
			r.scratch.Put(s)
			return
		}
		r.wg.Add(1)
		go func() {
			defer func() {
				r.scratch.Put(s)
				<-r.udpSlots
				r.wg.Done()
			}()
			if answer := r.process(hctx, s.in[:n], s, addr); answer != nil {
				if _, err := r.udp.WriteTo(answer, addr); err != nil {
					r.warn(hctx, addrOf(addr), "SIA answer not sent", "from", addr.String(), "err", err)
				}
			}
		}()
	}
}

// scratch is the per-connection (or per-datagram) working memory, so that
// a frame costs few allocations.
type scratch struct {
	in      []byte
	out     []byte
	reports []alarm.Report
	corrupt bool // the last frame processed was corrupt
}

// process applies the answer rules (see the package documentation) to one
// frame and returns the answer to send, or nil for none; s.corrupt tells
// whether the frame was corrupt. The answer lives in s.out until the next
// call.
func (r *Receiver) process(ctx context.Context, raw []byte, s *scratch, from net.Addr) []byte {
	r.frames.Add(1)
	s.corrupt = false
	now := r.clock.Now()
	f, err := Parse(raw)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			s.corrupt = true
			r.warn(ctx, addrOf(from), "SIA corrupt frame, not answered", "from", from.String(), "err", err, "frame", quoteShort(string(raw)))
			// Counted once its line is written (or suppressed): a corrupt
			// frame gets no answer, so whoever watches the count knows the
			// log is as far.
			r.corrupts.Add(1)
			return nil
		}
		return r.duh(ctx, &f, s, from, err.Error())
	}
	key, known := r.accounts.Key(f.Account)
	if !known {
		return r.duh(ctx, &f, s, from, "unknown account")
	}
	var block cipher.Block
	if f.Encrypted {
		if key == nil {
			return r.duh(ctx, &f, s, from, "encrypted frame for an account without a key")
		}
		if block, err = r.ciphers.get(key); err != nil {
			return r.duh(ctx, &f, s, from, "the account's key is not an AES key: "+err.Error())
		}
		if err := f.Decrypt(block); err != nil {
			return r.duh(ctx, &f, s, from, err.Error())
		}
		if !f.HasTimestamp {
			return r.nak(ctx, &f, s, from, now, "encrypted frame without a valid timestamp")
		}
		if !r.inWindow(f.Timestamp, now) {
			return r.nak(ctx, &f, s, from, now, "timestamp outside the window")
		}
	} else {
		if key != nil {
			// Accepting plain frames for an account that encrypts would
			// let anyone on the path forge its events.
			return r.duh(ctx, &f, s, from, "plain frame for an account with a key")
		}
		if r.cfg.CheckPlainTimestamps && f.HasTimestamp && !r.inWindow(f.Timestamp, now) {
			return r.nak(ctx, &f, s, from, now, "timestamp outside the window")
		}
	}

	s.reports = AppendReports(s.reports[:0], &f)
	for i := range s.reports {
		s.reports[i].ReceivedAt = now
	}
	if err := r.handler.Handle(ctx, s.reports); err != nil {
		// No answer: the panel retransmits (and may fail over to a
		// backup receiver). A NAK would claim a timestamp problem and a
		// DUH would tell it to give up on the event.
		r.handleErrors.Add(1)
		r.log.Error("SIA frame not stored, not acknowledged", "account", f.Account, "seq", f.Seq, "from", from.String(), "err", err)
		return nil
	}
	r.acks.Add(1)
	if r.log.Enabled(ctx, slog.LevelDebug) {
		r.log.Debug("SIA frame acknowledged", "account", f.Account, "seq", f.Seq, "id", f.ID, "encrypted", f.Encrypted, "reports", len(s.reports))
	}
	s.out = AppendACK(s.out[:0], &f, block, now)
	return s.out
}

func (r *Receiver) duh(ctx context.Context, f *Frame, s *scratch, from net.Addr, reason string) []byte {
	r.duhs.Add(1)
	r.warn(ctx, addrOf(from), "SIA frame refused with DUH", "account", f.Account, "seq", f.Seq, "id", f.ID, "from", from.String(), "reason", reason)
	s.out = AppendDUH(s.out[:0], f)
	return s.out
}

func (r *Receiver) nak(ctx context.Context, f *Frame, s *scratch, from net.Addr, now time.Time, reason string) []byte {
	r.naks.Add(1)
	r.warn(ctx, addrOf(from), "SIA frame refused with NAK", "account", f.Account, "seq", f.Seq, "from", from.String(), "reason", reason,
		"panel_time", f.Timestamp, "receiver_time", now.UTC())
	s.out = AppendNAK(s.out[:0], f, now)
	return s.out
}

// inWindow reports whether a panel timestamp (whole seconds) lies within
// the window around now, taken to the second as well.
func (r *Receiver) inWindow(ts, now time.Time) bool {
	d := ts.Sub(now.Truncate(time.Second))
	return d >= -r.cfg.Window.Past && d <= r.cfg.Window.Future
}

// cipherCache keeps one AES block per key: expanding a key costs more than
// decrypting a frame. It forgets everything when it grows large (keys that
// were changed or tried).
type cipherCache struct {
	mu sync.RWMutex
	m  map[string]cipher.Block
}

func (c *cipherCache) get(key []byte) (cipher.Block, error) {
	c.mu.RLock()
	b, ok := c.m[string(key)]
	c.mu.RUnlock()
	if ok {
		return b, nil
	}
	b, err := NewCipher(key)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) >= 4096 {
		clear(c.m)
	}
	c.m[string(key)] = b
	c.mu.Unlock()
	return b, nil
}
