package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/linxGnu/gosmpp"
	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// SMPP sends messages to an SMSC over one bound SMPP 3.4 transceiver
// session, rebinding on its own when the link drops.
//
// Each message goes out as one submit_sm, or as several carrying a
// concatenation header when it is too long for one SMS: text in the GSM
// 7-bit alphabet goes as such (160 characters, 153 a part), anything else,
// Chinese in particular, as UCS2 (data_coding 0x08; 70 characters, 67 a
// part). Send waits for each submit_sm_resp and returns nil only when the
// SMSC accepted every part. Every part asks for a delivery receipt; the
// receipts go to OnReceipt.
//
// Delivery guarantee, plainly: the SMPP path is at-least-once. A message
// whose job is retried after a process crash may reach the phone twice.
// The webhook driver, whose gateway honours the Idempotency-Key header, is
// the exactly-once one.
//
// Why: SMPP has no idempotency key, so the only memory of what the SMSC
// accepted is in this process. Within the process, SMPP remembers by
// message key the parts the SMSC accepted, and a part whose response has
// not come yet (a lost or late submit_sm_resp) is waited for again rather
// than submitted again, so a retried job does not send twice. That memory
// dies with the process. A part is also submitted again, with a warning in
// the log, when the connection that carried it drops before its response,
// and when the SMSC leaves it unanswered for InDoubt on a live link: an
// alarm SMS sent twice is better than one never sent.
//
// Fields are read at the first Send; set them before.
type SMPP struct {
	// Addr is the SMSC's host:port.
	Addr       string
	SystemID   string
	Password   string
	SystemType string
	// Source is the sender address (source_addr): a number such as
	// 10690000, or an alphanumeric name. Empty lets the SMSC choose.
	Source string
	// SourceTON and SourceNPI qualify Source; -1 (as ParseSMPP sets
	// them unless src_ton or src_npi say otherwise) picks from its form:
	// a number is unknown/ISDN, letters are alphanumeric/unknown.
	SourceTON, SourceNPI int
	// TLS dials with TLS; TLSConfig, when set, is used for it.
	TLS       bool
	TLSConfig *tls.Config
	// UCS2 sends every message as UCS2, for SMSCs that do not read their
	// default alphabet as GSM 7-bit.
	UCS2 bool

	// RespTimeout bounds the wait for each submit_sm_resp (10 s).
	RespTimeout time.Duration
	// BindTimeout bounds dialling and binding (10 s).
	BindTimeout time.Duration
	// EnquireLink is how often the link is probed (30 s); the link counts
	// as dead after three quiet periods.
	EnquireLink time.Duration
	// RebindInterval is the pause between bind attempts (5 s).
	RebindInterval time.Duration
	// InDoubt is how long a submitted part may stay unanswered on a live
	// bind before it is presumed lost (1 min): the bind is then dropped
	// and the part submitted again at the next retry.
	InDoubt time.Duration
	// Remember is how long accepted messages are kept for recognising a
	// retry (24 h): longer than any job's retries.
	Remember time.Duration

	// OnReceipt receives each delivery receipt: the SMSC's message id (as
	// returned in submit_sm_resp, one per part), the key of the message
	// when this process sent it, and the receipt's status (DELIVRD,
	// UNDELIV, EXPIRED, REJECTD …). It runs on the session's reading
	// goroutine and must return quickly. Nil logs receipts.
	OnReceipt func(Receipt)

	Log *slog.Logger

	mu      sync.Mutex
	session *gosmpp.Session
	// binding is closed when the bind under way ends; nil when none is.
	binding chan struct{}
	// lastBindErr is how the last bind failed (nil: it did not), and
	// lastBindAt when it ended.
	lastBindErr error
	lastBindAt  time.Time

	closed    bool
	subs      map[string]*submission // by message key
	pending   map[int32]*part        // by sequence number, awaiting a response
	busy      map[string]chan struct{}
	byMsgID   map[string]string // SMSC message id → message key, for logging receipts
	nextRef   uint8
	lastPrune time.Time
	anon      int // numbers messages without a key
}

// submission is what SMPP remembers of one message key: its parts as
// encoded the first time (so a retry reuses the concatenation reference
// and the handset can put parts together) and how far each got.
type submission struct {
	created time.Time
	to      pdu.Address
	enc     data.Encoding
	ref     uint8
	parts   []*part
}

type partState int

const (
	partNew      partState = iota // not submitted, or refused and to be submitted again
	partPending                   // submitted, no response yet
	partAccepted                  // ESME_ROK with a message id
	partRefused                   // refused permanently
)

type part struct {
	key   string // the message's key
	data  []byte
	state partState
	// While pending: the bind that carried the submit, its sequence
	// number, and a channel closed when the response comes.
	trx    gosmpp.Transceiver
	seq    int32
	done   chan struct{}
	sentAt time.Time
	// After the response.
	messageID string
	err       error
}

// ParseSMPP reads an SMSC account from a URL:
//
//	smpp://systemid:password@host:port?source=10690000&system_type=&tls=0
//
// Other query parameters: src_ton and src_npi (numbers), coding (auto or
// ucs2), timeout (the submit_sm_resp wait, as 10s), enquire_link (30s).
// smpps:// is smpp:// with tls=1. The port defaults to 2775. Unknown
// parameters are an error, so a misspelt one is not silently ignored.
func ParseSMPP(raw string) (*SMPP, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("smpp url: %w", err)
	}
	s := &SMPP{SourceTON: -1, SourceNPI: -1}
	switch u.Scheme {
	case "smpp":
	case "smpps":
		s.TLS = true
	default:
		return nil, fmt.Errorf("smpp url: scheme %q, want smpp or smpps", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("smpp url: no host")
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = "2775"
	}
	s.Addr = net.JoinHostPort(host, port)
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("smpp url: no system id (smpp://systemid:password@host:port)")
	}
	s.SystemID = u.User.Username()
	s.Password, _ = u.User.Password()
	// SMPP 3.4 caps these C strings: system_id at 15 characters and
	// password at 8; an SMSC would refuse longer ones with a less clear
	// message.
	if len(s.SystemID) > 15 {
		return nil, fmt.Errorf("smpp url: system id %q longer than 15 characters", s.SystemID)
	}
	if len(s.Password) > 8 {
		return nil, errors.New("smpp url: password longer than 8 characters")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("smpp url: %w", err)
	}
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "source":
			if len(v) > 20 {
				return nil, fmt.Errorf("smpp url: source %q longer than 20 characters", v)
			}
			s.Source = v
		case "system_type":
			if len(v) > 12 {
				return nil, fmt.Errorf("smpp url: system_type %q longer than 12 characters", v)
			}
			s.SystemType = v
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("smpp url: tls=%q: want 0 or 1", v)
			}
			s.TLS = s.TLS || b
		case "src_ton", "src_npi":
			n, err := strconv.ParseUint(v, 10, 8)
			if err != nil {
				return nil, fmt.Errorf("smpp url: %s=%q: want a number 0-255", k, v)
			}
			if k == "src_ton" {
				s.SourceTON = int(n)
			} else {
				s.SourceNPI = int(n)
			}
		case "coding":
			switch v {
			case "", "auto":
			case "ucs2":
				s.UCS2 = true
			default:
				return nil, fmt.Errorf("smpp url: coding=%q: want auto or ucs2", v)
			}
		case "timeout", "enquire_link":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("smpp url: %s=%q: want a duration such as 10s", k, v)
			}
			if k == "timeout" {
				s.RespTimeout = d
			} else {
				s.EnquireLink = d
			}
		default:
			return nil, fmt.Errorf("smpp url: unknown parameter %q", k)
		}
	}
	return s, nil
}

// String names the account without its password, for logs.
func (s *SMPP) String() string {
	return fmt.Sprintf("smpp://%s@%s", s.SystemID, s.Addr)
}

func (s *SMPP) defaults() {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.RespTimeout <= 0 {
		s.RespTimeout = 10 * time.Second
	}
	if s.BindTimeout <= 0 {
		s.BindTimeout = 10 * time.Second
	}
	if s.EnquireLink <= 0 {
		s.EnquireLink = 30 * time.Second
	}
	if s.RebindInterval <= 0 {
		s.RebindInterval = 5 * time.Second
	}
	if s.InDoubt <= 0 {
		s.InDoubt = time.Minute
	}
	if s.Remember <= 0 {
		s.Remember = 24 * time.Hour
	}
	if s.subs == nil {
		s.subs = map[string]*submission{}
		s.pending = map[int32]*part{}
		s.busy = map[string]chan struct{}{}
		s.byMsgID = map[string]string{}
	}
}

// Bind binds now rather than at the first Send, so that a wrong password
// shows at start-up. It is optional: Send binds when it needs to.
func (s *SMPP) Bind(ctx context.Context) error {
	s.mu.Lock()
	s.defaults()
	s.mu.Unlock()
	_, err := s.transceiver(ctx)
	return err
}

// Close unbinds and stops rebinding. Send fails afterwards.
func (s *SMPP) Close() error {
	s.mu.Lock()
	s.defaults()
	s.closed = true
	sess := s.session
	s.session = nil
	s.mu.Unlock()
	if sess != nil {
		return sess.Close()
	}
	return nil
}

// errClosed is returned by Send after Close.
var errClosed = errors.New("smpp: sender closed")

// transceiver returns the current bind, binding first if there is no
// session yet. Once a session exists gosmpp rebinds it by itself.
//
// A bind cannot be stopped half way (gosmpp's connector takes no context;
// BindTimeout bounds it), so it runs on its own, one at a time: a Send
// whose context ends while it waits returns then, and the session the
// bind makes serves the next Send. So a Send keeps to its deadline even
// when the SMSC is slow to bind, as the outbox's claims need
// (jobs.Runner).
func (s *SMPP) transceiver(ctx context.Context) (gosmpp.Transceiver, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errClosed
		}
		if s.session != nil {
			trx := s.session.Transceiver()
			s.mu.Unlock()
			return trx, nil
		}
		done := s.binding
		if done == nil {
			if err := ctx.Err(); err != nil {
				s.mu.Unlock()
				return nil, err
			}
			// Do not hammer the SMSC: after a failed bind, the same error
			// stands until the rebind interval has passed. Some SMSCs lock
			// an account after a few bad passwords in a row.
			if s.lastBindErr != nil && time.Since(s.lastBindAt) < s.RebindInterval {
				err := s.lastBindErr
				s.mu.Unlock()
				return nil, err
			}
			done = make(chan struct{})
			s.binding = done
			go s.bind(done)
		}
		s.mu.Unlock()
		select {
		case <-done: // bound, or failed: look again
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// bind makes a session and keeps it, or keeps why it could not, then
// closes done.
func (s *SMPP) bind(done chan struct{}) {
	defer close(done)
	sess, err := s.newSession()
	if err != nil {
		// Bind errors stay transient even for a wrong password: the job
		// keeps its place in the outbox and goes out once the account is
		// fixed and the server restarted, instead of being failed for good.
		var be gosmpp.BindError
		if errors.As(err, &be) {
			// Reads "… refused the bind as "x": binding error
			// (ESME_RINVPASWD): Invalid Password".
			err = fmt.Errorf("smpp: %s refused the bind as %q: %w", s.Addr, s.SystemID, err)
		} else {
			err = fmt.Errorf("smpp: bind to %s: %w", s.Addr, err)
		}
		s.Log.Error("SMPP bind failed", "smsc", s.String(), "err", err)
	}
	s.mu.Lock()
	s.binding = nil
	s.lastBindErr, s.lastBindAt = err, time.Now()
	closed := s.closed
	if err == nil && !closed {
		s.session = sess
	}
	s.mu.Unlock()
	switch {
	case err != nil:
	case closed:
		sess.Close()
	default:
		s.Log.Info("SMPP bound", "smsc", s.String())
	}
}

func (s *SMPP) newSession() (*gosmpp.Session, error) {
	var lastRebindErr string
	var lastRebindLog time.Time
	settings := gosmpp.Settings{
		EnquireLink: s.EnquireLink,
		// gosmpp closes the bind when nothing is read for this long; the
		// enquire_link answers keep a healthy link talking.
		ReadTimeout:  3 * s.EnquireLink,
		WriteTimeout: s.BindTimeout,
		OnPDU:        s.onPDU,
		OnReceivingError: func(err error) {
			s.Log.Warn("SMPP link lost", "smsc", s.String(), "err", err)
		},
		OnSubmitError: func(p pdu.PDU, err error) {
			s.Log.Warn("SMPP write failed", "smsc", s.String(), "err", err)
			if sm, ok := p.(*pdu.SubmitSM); ok {
				// A failed write leaves at most a truncated PDU, which the
				// SMSC cannot act on, and gosmpp drops the connection:
				// the part was not submitted and can go again at once.
				s.settle(sm.SequenceNumber, partNew, "", fmt.Errorf("smpp: writing to %s: %w", s.Addr, err))
			}
		},
		OnRebindingError: func(err error) {
			// Rebinding retries every interval; log a repeated error once
			// a minute, not every few seconds.
			if err.Error() != lastRebindErr || time.Since(lastRebindLog) > time.Minute {
				lastRebindErr, lastRebindLog = err.Error(), time.Now()
				s.Log.Error("SMPP rebind failed", "smsc", s.String(), "err", err)
			}
		},
		OnRebind: func() {
			lastRebindErr = ""
			s.Log.Info("SMPP rebound", "smsc", s.String())
		},
	}
	return gosmpp.NewSession(bindConnector{s}, settings, s.RebindInterval)
}

// bindConnector dials and binds as a transceiver for gosmpp's session.
// gosmpp has a connector of its own, but it parses a refusing
// bind_transceiver_resp as if it had a body; SMPP 3.4 says a refusal is a
// bare header, and on one from such an SMSC gosmpp reports a parse error
// where the operator needs to read "invalid password". This one reads the
// header and gives the status.
type bindConnector struct{ s *SMPP }

func (c bindConnector) GetBindType() pdu.BindingType { return pdu.Transceiver }

func (c bindConnector) Connect() (*gosmpp.Connection, error) {
	s := c.s
	conn, err := s.dial(s.Addr)
	if err != nil {
		return nil, err
	}
	req := pdu.NewBindRequest(pdu.Transceiver)
	req.SystemID, req.Password, req.SystemType = s.SystemID, s.Password, s.SystemType
	buf := pdu.NewBuffer(make([]byte, 0, 64))
	req.Marshal(buf)
	if _, err := conn.Write(buf.Bytes()); err != nil {
		conn.Close()
		return nil, err
	}
	for {
		// Read exactly one PDU at a time, unbuffered: what follows the
		// bind_resp belongs to gosmpp's reader.
		var hdr [16]byte
		if _, err := io.ReadFull(conn, hdr[:]); err != nil {
			conn.Close()
			return nil, fmt.Errorf("waiting for bind_transceiver_resp: %w", err)
		}
		h := pdu.ParseHeader(hdr)
		if h.CommandLength < 16 || h.CommandLength > 64<<10 {
			conn.Close()
			return nil, fmt.Errorf("SMSC sent a PDU of %d octets while binding", h.CommandLength)
		}
		if _, err := io.ReadFull(conn, make([]byte, h.CommandLength-16)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("waiting for bind_transceiver_resp: %w", err)
		}
		switch {
		case h.CommandID == data.BIND_TRANSCEIVER_RESP && h.SequenceNumber == req.SequenceNumber,
			h.CommandID == data.GENERIC_NACK && h.SequenceNumber == req.SequenceNumber:
			if h.CommandStatus != data.ESME_ROK {
				conn.Close()
				return nil, gosmpp.BindError{CommandStatus: h.CommandStatus}
			}
			if h.CommandID == data.GENERIC_NACK {
				conn.Close()
				return nil, errors.New("SMSC answered bind_transceiver with generic_nack")
			}
			return gosmpp.NewConnection(conn), nil
		}
		// Anything else before the answer (an early enquire_link, say) is
		// left unanswered: we are not bound yet.
	}
}

// dial connects with a deadline covering the bind, so that an SMSC that
// accepts the connection but never answers the bind cannot hang us.
// gosmpp sets its own deadlines once bound.
func (s *SMPP) dial(addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: s.BindTimeout}
	var conn net.Conn
	var err error
	if s.TLS {
		cfg := s.TLSConfig
		if cfg == nil {
			host, _, _ := net.SplitHostPort(addr)
			cfg = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		conn, err = tls.DialWithDialer(d, "tcp", addr, cfg)
	} else {
		conn, err = d.Dial("tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if err := conn.SetDeadline(time.Now().Add(s.BindTimeout)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// onPDU handles what the SMSC sends: responses to our submits and
// deliver_sm (receipts). gosmpp has already answered the deliver_sm.
func (s *SMPP) onPDU(p pdu.PDU, _ bool) {
	switch r := p.(type) {
	case *pdu.SubmitSMResp:
		s.answer(r.SequenceNumber, r.CommandStatus, r.MessageID)
	case *pdu.GenericNack:
		s.answer(r.SequenceNumber, r.CommandStatus, "")
	case *pdu.DeliverSM:
		s.deliver(r)
	}
}

// answer settles the part waiting for sequence number seq by the
// SMSC's response.
func (s *SMPP) answer(seq int32, status data.CommandStatusType, messageID string) {
	if status == data.ESME_ROK {
		s.settle(seq, partAccepted, messageID, nil)
		return
	}
	err := statusError(status)
	var perm Permanent
	if errors.As(err, &perm) {
		s.settle(seq, partRefused, "", err)
	} else {
		s.settle(seq, partNew, "", err) // refused for now: submit again next time
	}
}

// settle ends the wait for the part submitted with sequence number seq.
func (s *SMPP) settle(seq int32, state partState, messageID string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.pending[seq]
	if p == nil {
		return // a response to a part already given up with its bind
	}
	delete(s.pending, seq)
	p.state, p.messageID, p.err, p.trx = state, messageID, err, nil
	if state == partAccepted {
		s.byMsgID[messageID] = p.key
	}
	close(p.done)
}

func (s *SMPP) deliver(d *pdu.DeliverSM) {
	// esm_class bits 2-5 give the message type; 0x04 is an SMSC delivery
	// receipt. Anything else is a text from a handset, which nobody reads.
	if d.EsmClass&0x3C != data.SM_SMSC_DLV_RCPT_TYPE {
		s.Log.Info("SMPP: ignoring an incoming SMS", "from", maskPhone(d.SourceAddr.Address()))
		return
	}
	id, status := parseReceipt(d)
	s.mu.Lock()
	key := s.byMsgID[id]
	s.mu.Unlock()
	if strings.HasPrefix(key, "\x00anon:") {
		key = "" // a keyless message: nothing outside knows this name
	}
	if s.OnReceipt != nil {
		s.OnReceipt(Receipt{Key: key, MessageID: id, Status: status})
		return
	}
	s.Log.Info("SMS delivery receipt", "message_id", id, "status", status, "key", key)
}

// MessageIDs implements Tracked: the SMSC's ids of the parts of the
// message with key that it accepted, in part order, while the message is
// remembered.
func (s *SMPP) MessageIDs(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[key]
	if sub == nil {
		return nil
	}
	var ids []string
	for _, p := range sub.parts {
		if p.state == partAccepted && p.messageID != "" {
			ids = append(ids, p.messageID)
		}
	}
	return ids
}

// parseReceipt reads a receipt's message id and status, from the
// receipted_message_id and message_state TLVs when present, otherwise
// from the customary "id:… stat:…" text.
func parseReceipt(d *pdu.DeliverSM) (id, status string) {
	if f, ok := d.OptionalParameters[pdu.TagReceiptedMessageID]; ok {
		id = f.String()
	}
	text, _ := d.Message.GetMessage()
	for _, field := range strings.Fields(text) {
		k, v, ok := strings.Cut(field, ":")
		if !ok {
			continue
		}
		switch strings.ToLower(k) {
		case "id":
			if id == "" {
				id = v
			}
		case "stat":
			status = v
		}
	}
	if f, ok := d.OptionalParameters[pdu.TagMessageStateOption]; ok && status == "" && len(f.Data) == 1 {
		states := []string{"SCHEDULED", "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD"}
		if int(f.Data[0]) < len(states) {
			status = states[f.Data[0]]
		}
	}
	return id, status
}

// Send implements Sender.
func (s *SMPP) Send(ctx context.Context, m Message) error {
	s.mu.Lock()
	s.defaults()
	key := m.Key
	if key == "" {
		// No key, no memory: each call is its own message.
		s.anon++
		key = fmt.Sprintf("\x00anon:%d", s.anon)
	}
	s.mu.Unlock()

	release, err := s.lockKey(ctx, key)
	if err != nil {
		return err
	}
	defer release()
	if m.Key == "" {
		// Nothing can retry a keyless message by its key: forget it.
		defer func() {
			s.mu.Lock()
			delete(s.subs, key)
			s.mu.Unlock()
		}()
	}

	sub, err := s.submission(key, m)
	if err != nil {
		return err
	}
	if s.allAccepted(sub) {
		s.Log.Info("SMS already accepted by the SMSC; not sending again", "key", m.Key)
		return nil
	}
	trx, err := s.transceiver(ctx)
	if err != nil {
		return err
	}
	for i, p := range sub.parts {
		if err := s.sendPart(ctx, key, sub, i, p, trx); err != nil {
			return err
		}
	}
	s.Log.Info("SMS accepted by the SMSC", "key", m.Key, "to", maskPhone(m.To), "parts", len(sub.parts))
	return nil
}

// lockKey lets one Send at a time work on a key, so two sends of the same
// key cannot both submit it.
func (s *SMPP) lockKey(ctx context.Context, key string) (func(), error) {
	for {
		s.mu.Lock()
		ch, busy := s.busy[key]
		if !busy {
			ch = make(chan struct{})
			s.busy[key] = ch
			s.mu.Unlock()
			return func() {
				s.mu.Lock()
				delete(s.busy, key)
				s.mu.Unlock()
				close(ch)
			}, nil
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// submission returns what is remembered of key, encoding m the first
// time.
func (s *SMPP) submission(key string, m Message) (*submission, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune()
	if sub := s.subs[key]; sub != nil {
		return sub, nil
	}
	to, err := destAddress(m.To)
	if err != nil {
		return nil, err
	}
	if m.Body == "" {
		return nil, Permanent{errors.New("smpp: empty message")}
	}
	enc, chunks, err := encodeText(m.Body, s.UCS2)
	if err != nil {
		return nil, err
	}
	sub := &submission{created: time.Now(), to: to, enc: enc}
	if len(chunks) > 1 {
		s.nextRef++
		sub.ref = s.nextRef
	}
	for _, c := range chunks {
		sub.parts = append(sub.parts, &part{key: key, data: c})
	}
	s.subs[key] = sub
	return sub, nil
}

func (s *SMPP) allAccepted(sub *submission) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range sub.parts {
		if p.state != partAccepted {
			return false
		}
	}
	return true
}

// prune forgets old submissions, once a minute at most. s.mu is held.
func (s *SMPP) prune() {
	if time.Since(s.lastPrune) < time.Minute {
		return
	}
	s.lastPrune = time.Now()
	for key, sub := range s.subs {
		if time.Since(sub.created) < s.Remember {
			continue
		}
		if _, busy := s.busy[key]; busy {
			continue
		}
		for _, p := range sub.parts {
			if p.state == partPending {
				delete(s.pending, p.seq)
			}
			if p.messageID != "" {
				delete(s.byMsgID, p.messageID)
			}
		}
		delete(s.subs, key)
	}
}

// sendPart gets part i of sub accepted: it submits it, or, when an
// earlier Send submitted it and no response has come, waits for that
// response instead of submitting it twice.
func (s *SMPP) sendPart(ctx context.Context, key string, sub *submission, i int, p *part, trx gosmpp.Transceiver) error {
	s.mu.Lock()
	switch p.state {
	case partAccepted:
		s.mu.Unlock()
		return nil
	case partRefused:
		err := p.err
		delete(s.subs, key) // a refused message is over; let a new job start afresh
		s.mu.Unlock()
		return err
	case partPending:
		if p.trx == trx && time.Since(p.sentAt) < s.InDoubt {
			// Still the bind that carried it: the response may yet come.
			done := p.done
			s.mu.Unlock()
			return s.wait(ctx, key, sub, i, p, done)
		}
		if p.trx == trx {
			// The link is up but the SMSC has not answered for so long
			// that the answer is not coming. Drop the bind: the next
			// retry binds afresh and submits the part again.
			s.mu.Unlock()
			s.Log.Warn("SMPP: SMSC left a submit unanswered; rebinding", "key", key, "part", i+1, "waited", s.InDoubt)
			s.dropBind(trx)
			return fmt.Errorf("smpp: %s left part %d of %d unanswered for %s; rebinding, it will be submitted again", s.Addr, i+1, len(sub.parts), s.InDoubt)
		}
		// The bind that carried it is gone, and its response with it. We
		// cannot know whether the SMSC took the part; submit it again.
		// This is where SMPP can send a part twice.
		delete(s.pending, p.seq)
		p.state, p.trx = partNew, nil
		s.Log.Warn("SMPP: response lost with the connection; submitting again, the recipient may get it twice", "key", key, "part", i+1)
	}

	// Nothing is submitted once ctx ended: past its deadline the job's
	// claim may be another node's, which sends the message itself.
	if err := ctx.Err(); err != nil {
		s.mu.Unlock()
		return err
	}
	sm, err := s.buildPart(sub, i, p)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	// Register before submitting: the response can come back before
	// Submit returns.
	p.state, p.trx, p.seq, p.done, p.err = partPending, trx, sm.SequenceNumber, make(chan struct{}), nil
	p.sentAt = time.Now()
	s.pending[p.seq] = p
	done := p.done
	s.mu.Unlock()

	// Submit ignores ctx: it waits while gosmpp writes the PDU before,
	// which its write deadline (BindTimeout) bounds.
	if err := trx.Submit(sm); err != nil {
		// Never written: safe to submit again later.
		s.mu.Lock()
		if p.seq == sm.SequenceNumber && p.state == partPending {
			delete(s.pending, p.seq)
			p.state, p.trx = partNew, nil
		}
		s.mu.Unlock()
		return fmt.Errorf("smpp: not bound to %s (rebinding): %w", s.Addr, err)
	}
	return s.wait(ctx, key, sub, i, p, done)
}

// dropBind closes the session whose bind is trx, if it is still the
// current one; the next Send binds a new session.
func (s *SMPP) dropBind(trx gosmpp.Transceiver) {
	s.mu.Lock()
	sess := s.session
	if sess == nil || sess.Transceiver() != trx {
		s.mu.Unlock()
		return
	}
	s.session = nil
	s.mu.Unlock()
	sess.Close()
}

// buildPart makes the submit_sm for part i, with a fresh sequence number.
// s.mu is held.
func (s *SMPP) buildPart(sub *submission, i int, p *part) (*pdu.SubmitSM, error) {
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	src, err := s.sourceAddress()
	if err != nil {
		return nil, err
	}
	sm.SourceAddr = src
	sm.DestAddr = sub.to
	sm.RegisteredDelivery = 1 // a receipt for success and failure
	if err := sm.Message.SetMessageDataWithEncoding(p.data, sub.enc); err != nil {
		return nil, Permanent{fmt.Errorf("smpp: %w", err)}
	}
	if len(sub.parts) > 1 {
		sm.EsmClass |= data.SM_UDH_GSM
		sm.Message.SetUDH(pdu.UDH{pdu.NewIEConcatMessage(byte(len(sub.parts)), byte(i+1), sub.ref)})
	}
	return sm, nil
}

// wait waits for part i's response, at most RespTimeout.
func (s *SMPP) wait(ctx context.Context, key string, sub *submission, i int, p *part, done chan struct{}) error {
	t := time.NewTimer(s.RespTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		// The part stays pending: if its response turns up later, it
		// is recorded, and the retry will not submit it again.
		return fmt.Errorf("smpp: no submit_sm_resp from %s within %s for part %d of %d; waiting for it again on retry", s.Addr, s.RespTimeout, i+1, len(sub.parts))
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p.state == partAccepted {
		return nil
	}
	if p.state == partRefused {
		delete(s.subs, key)
	}
	return fmt.Errorf("smpp: part %d of %d: %w", i+1, len(sub.parts), p.err)
}

// statusError turns a refusing command_status into an error: Permanent
// for what the same message can never pass (bad addresses, bad coding,
// refused content), transient for the rest, throttling and a full queue
// above all. Unknown codes count as transient: the worker's attempt limit
// still ends them, and an alarm SMS is worth the retries.
func statusError(status data.CommandStatusType) error {
	err := fmt.Errorf("SMSC refused the submit: %s (%s)", status.String(), status.Desc())
	switch status {
	case data.ESME_RINVDSTADR, data.ESME_RINVSRCADR,
		data.ESME_RINVDSTTON, data.ESME_RINVDSTNPI,
		data.ESME_RINVSRCTON, data.ESME_RINVSRCNPI,
		data.ESME_RINVMSGLEN, data.ESME_RINVESMCLASS,
		data.ESME_RINVSERTYP, data.ESME_RINVREGDLVFLG,
		data.ESME_RINVPRTFLG, data.ESME_RINVNUMDESTS,
		data.ESME_RPROVNOTALLWD, data.ESME_RINVCMDID,
		data.ESME_RX_P_APPN, data.ESME_RX_R_APPN:
		return Permanent{err}
	}
	return err
}

// destAddress reads a phone number: digits, with an optional leading + for
// an international number; spaces and dashes are dropped.
func destAddress(to string) (pdu.Address, error) {
	n := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, to)
	ton := byte(0) // unknown: the SMSC reads the number as national
	if strings.HasPrefix(n, "+") {
		n = n[1:]
		ton = 1 // international
	}
	if n == "" || len(n) > 20 || strings.Trim(n, "0123456789") != "" {
		return pdu.Address{}, Permanent{fmt.Errorf("smpp: %q is not a phone number", to)}
	}
	return pdu.NewAddressWithTonNpiAddr(ton, 1, n) // NPI 1: ISDN (E.164)
}

func (s *SMPP) sourceAddress() (pdu.Address, error) {
	ton, npi := byte(0), byte(1) // a number: unknown type, ISDN plan
	if s.Source != "" && strings.Trim(s.Source, "0123456789") != "" {
		ton, npi = 5, 0 // a name: alphanumeric
	}
	if s.SourceTON >= 0 {
		ton = byte(s.SourceTON)
	}
	if s.SourceNPI >= 0 {
		npi = byte(s.SourceNPI)
	}
	a, err := pdu.NewAddressWithTonNpiAddr(ton, npi, s.Source)
	if err != nil {
		return a, Permanent{fmt.Errorf("smpp: source: %w", err)}
	}
	return a, nil
}

// encodeText picks the coding of body and cuts it into the parts of a
// concatenated SMS when it does not fit in one. A part never ends inside
// a GSM escape sequence or a UTF-16 surrogate pair, so each part decodes
// on its own.
func encodeText(body string, forceUCS2 bool) (data.Encoding, [][]byte, error) {
	const maxParts = 255 // the concatenation header counts parts in a byte
	if !forceUCS2 && len(data.ValidateGSM7String(body)) == 0 {
		// GSM 7-bit, unpacked (one septet an octet, as SMPP carries it):
		// 160 septets in one SMS, 153 a part beside the header. Escaped
		// characters ([ ] { } € …) take two septets.
		runes := []rune(body)
		septets := func(r rune) int {
			if data.IsEscapeChar(r) {
				return 2
			}
			return 1
		}
		total := 0
		for _, r := range runes {
			total += septets(r)
		}
		var chunks []string
		if total <= 160 {
			chunks = []string{body}
		} else {
			start, n := 0, 0
			for i, r := range runes {
				if n+septets(r) > 153 {
					chunks = append(chunks, string(runes[start:i]))
					start, n = i, 0
				}
				n += septets(r)
			}
			chunks = append(chunks, string(runes[start:]))
		}
		if len(chunks) > maxParts {
			return nil, nil, Permanent{fmt.Errorf("smpp: message too long (%d parts)", len(chunks))}
		}
		var out [][]byte
		for _, c := range chunks {
			b, err := data.GSM7BIT.Encode(c)
			if err != nil {
				return nil, nil, Permanent{fmt.Errorf("smpp: encode: %w", err)}
			}
			out = append(out, b)
		}
		return data.GSM7BIT, out, nil
	}

	// UCS2 (UTF-16 big-endian, as handsets read it): 70 units in one SMS,
	// 67 a part.
	units := utf16.Encode([]rune(body))
	var chunks [][]uint16
	if len(units) <= 70 {
		chunks = [][]uint16{units}
	} else {
		for len(units) > 0 {
			n := min(67, len(units))
			if n < len(units) && utf16.IsSurrogate(rune(units[n-1])) && units[n-1] < 0xDC00 {
				n-- // keep a surrogate pair together
			}
			chunks = append(chunks, units[:n])
			units = units[n:]
		}
	}
	if len(chunks) > maxParts {
		return nil, nil, Permanent{fmt.Errorf("smpp: message too long (%d parts)", len(chunks))}
	}
	var out [][]byte
	for _, c := range chunks {
		b := make([]byte, 0, 2*len(c))
		for _, u := range c {
			b = append(b, byte(u>>8), byte(u))
		}
		out = append(out, b)
	}
	return data.UCS2, out, nil
}
