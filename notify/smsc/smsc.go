// Package smsc is a small fake SMSC (an SMS centre speaking SMPP 3.4) for
// tests and the demo. It is built on gosmpp's PDU package and plays the
// part of the operator's side of the link:
//
//   - it listens on 127.0.0.1 (port 0 unless told otherwise) and accepts
//     bind_transceiver, bind_transmitter and bind_receiver with one
//     configured system_id and password; anything else is refused with
//     ESME_RINVSYSID or ESME_RINVPASWD, as a real SMSC does, and like
//     the specification says, a refusing response is a bare header;
//   - it answers enquire_link and unbind;
//   - it answers every submit_sm with a submit_sm_resp carrying a fresh
//     message id, records what was submitted (each part as it came and each
//     message reassembled from its concatenated parts and decoded), and,
//     when the submit asked for one, sends a deliver_sm delivery receipt
//     back on the same bind;
//   - it can be told to refuse the next N submits with a given status, to
//     accept the next N submits but hold their responses back (a lost
//     submit_sm_resp, released later with SendHeld), and to stop and start
//     again on the same port (an SMSC restart, for testing rebind).
//
// It is deliberately small: one account, no routing, no flow control, no
// real delivery. It never leaves the loopback interface.
package smsc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// Config says whom the fake SMSC lets in and how it behaves.
type Config struct {
	SystemID string
	Password string
	// Addr to listen on; 127.0.0.1:0 (a free port) when empty.
	Addr string
	// NoReceipts turns delivery receipts off even when a submit asks for
	// one.
	NoReceipts bool
	// ReceiptStatus is the stat: word of receipts; DELIVRD when empty.
	ReceiptStatus string
	// Log receives what the SMSC does; nothing is logged when nil.
	Log *slog.Logger
}

// Part is one submit_sm the SMSC accepted, as it arrived.
type Part struct {
	MessageID  string
	SystemID   string
	From       string
	To         string
	DataCoding byte
	// Data is the short message without its user data header.
	Data []byte
	// Ref, Seq and Total come from the concatenation header; a message
	// sent in one piece has Seq 1 and Total 1.
	Ref, Seq, Total int
	// Receipt tells whether the submit asked for a delivery receipt.
	Receipt bool
	At      time.Time
}

// Message is a whole text: a single submit, or the parts of a
// concatenated one put back together and decoded.
type Message struct {
	MessageIDs []string // one per part, in part order
	SystemID   string
	From       string
	To         string
	DataCoding byte
	Text       string
	Parts      int
	At         time.Time // when the last part arrived
}

// Server is a running fake SMSC.
type Server struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	addr     string // fixed after the first listen, so Start reuses the port
	ln       net.Listener
	conns    map[*session]struct{}
	wg       sync.WaitGroup
	binds    int
	nextID   int
	parts    []Part
	messages []Message
	// partial holds the parts of concatenated messages still incomplete.
	partial map[partialKey]map[int]Part

	failN      int
	failStatus data.CommandStatusType
	// receiptFor overrides the receipt's stat: word per destination.
	receiptFor map[string]string
	holdN      int
	held       []heldResp
}

type partialKey struct {
	from, to string
	ref      int
	total    int
}

// heldResp is a submit_sm_resp (and its receipt) kept back to simulate a
// lost response.
type heldResp struct {
	s    *session
	resp pdu.PDU
	part Part
}

// session is one TCP connection from an ESME.
type session struct {
	conn    net.Conn
	writeMu sync.Mutex // PDUs from the read loop and SendHeld must not interleave
	// Guarded by Server.mu: receipts for one connection may be routed
	// from another's goroutine.
	bound    bool
	canRecv  bool // transceiver or receiver: may be sent deliver_sm
	systemID string
}

// Start listens and serves until Stop. The SMSC is ready when Start
// returns.
func Start(cfg Config) (*Server, error) {
	s := &Server{
		cfg:     cfg,
		log:     cfg.Log,
		conns:   map[*session]struct{}{},
		partial: map[partialKey]map[int]Part{},
		addr:    cfg.Addr,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.addr == "" {
		s.addr = "127.0.0.1:0"
	}
	if err := s.Restart(); err != nil {
		return nil, err
	}
	return s, nil
}

// Addr is host:port the SMSC listens on; it stays the same across
// Stop and Restart.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is an smpp:// URL for the SMSC's account with the given source
// address, in the form notify.ParseSMPP reads.
func (s *Server) URL(source string) string {
	u := fmt.Sprintf("smpp://%s:%s@%s", urlEscape(s.cfg.SystemID), urlEscape(s.cfg.Password), s.Addr())
	if source != "" {
		u += "?source=" + urlEscape(source)
	}
	return u
}

func urlEscape(v string) string {
	// Only the characters that would break the URL's structure; enough
	// for test credentials.
	r := strings.NewReplacer("%", "%25", ":", "%3A", "@", "%40", "/", "%2F", "?", "%3F", "#", "%23", "&", "%26", "=", "%3D", " ", "%20")
	return r.Replace(v)
}

// Restart listens again on the same address after Stop (the first call
// is made by Start). A restarted SMSC keeps what it recorded.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return errors.New("smsc: already running")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smsc: listen: %w", err)
	}
	s.ln = ln
	s.addr = ln.Addr().String()
	s.wg.Add(1)
	go s.accept(ln)
	s.log.Info("fake SMSC listening", "addr", s.addr)
	return nil
}

// Stop closes the listener and drops every connection without an unbind,
// as a crashing SMSC would, and waits for its goroutines. Held responses
// are forgotten: their connections are gone.
func (s *Server) Stop() {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	for c := range s.conns {
		c.conn.Close()
	}
	s.held = nil
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
	s.wg.Wait()
}

// FailNext makes the next n submit_sm be refused with status (for example
// data.ESME_RTHROTTLED or data.ESME_RINVDSTADR). Refused submits are not
// recorded.
func (s *Server) FailNext(n int, status data.CommandStatusType) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN = n
	s.failStatus = status
}

// ReceiptFor makes the receipts of messages to the number to say stat
// (UNDELIV, EXPIRED …) instead of the configured status: one phone that is
// off or gone among many that are fine.
func (s *Server) ReceiptFor(to, stat string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.receiptFor == nil {
		s.receiptFor = map[string]string{}
	}
	s.receiptFor[to] = stat
}

// HoldResponses makes the SMSC accept and record the next n submit_sm but
// send neither their submit_sm_resp nor their receipt: to the ESME the
// response is lost. SendHeld sends them late.
func (s *Server) HoldResponses(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holdN = n
}

// SendHeld sends the responses kept back by HoldResponses, on the
// connections that carried the submits when those are still open, and
// returns how many went out.
func (s *Server) SendHeld() int {
	s.mu.Lock()
	held := s.held
	s.held = nil
	s.mu.Unlock()
	n := 0
	for _, h := range held {
		if err := h.s.write(h.resp); err != nil {
			continue
		}
		n++
		s.receipt(h.s, h.part)
	}
	return n
}

// Parts returns every accepted submit_sm, oldest first.
func (s *Server) Parts() []Part {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Part(nil), s.parts...)
}

// Messages returns every complete message, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Binds counts the successful binds since Start.
func (s *Server) Binds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.binds
}

func (s *Server) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return // Stop closed the listener
		}
		sess := &session{conn: c}
		s.mu.Lock()
		if s.ln != ln {
			// Stopped between Accept and here.
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[sess] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serve(sess)
	}
}

func (s *Server) serve(sess *session) {
	defer s.wg.Done()
	defer func() {
		sess.conn.Close()
		s.mu.Lock()
		delete(s.conns, sess)
		s.mu.Unlock()
	}()
	r := bufio.NewReader(sess.conn)
	for {
		p, err := pdu.Parse(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("fake SMSC: read", "err", err)
			}
			return
		}
		if !s.handle(sess, p) {
			return
		}
	}
}

// handle answers one PDU; false ends the connection.
func (s *Server) handle(sess *session, p pdu.PDU) bool {
	switch req := p.(type) {
	case *pdu.BindRequest:
		return s.bind(sess, req)
	case *pdu.EnquireLink:
		return sess.write(req.GetResponse()) == nil
	case *pdu.Unbind:
		sess.write(req.GetResponse())
		return false
	case *pdu.SubmitSM:
		return s.submit(sess, req)
	case *pdu.DeliverSMResp, *pdu.EnquireLinkResp, *pdu.UnbindResp, *pdu.GenericNack:
		// Answers to what we sent; nothing to do.
		return true
	default:
		// query_sm, cancel_sm, data_sm and the like are not implemented:
		// say so rather than leave the ESME waiting.
		if p.CanResponse() {
			nack := pdu.NewGenericNack().(*pdu.GenericNack)
			nack.CommandStatus = data.ESME_RINVCMDID
			nack.SequenceNumber = p.GetSequenceNumber()
			return sess.write(nack) == nil
		}
		return true
	}
}

func (s *Server) bind(sess *session, req *pdu.BindRequest) bool {
	resp := pdu.NewBindResp(*req)
	resp.SystemID = "fakesmsc"
	s.mu.Lock()
	already := sess.bound
	s.mu.Unlock()
	switch {
	case already:
		resp.CommandStatus = data.ESME_RALYBND
	case req.SystemID != s.cfg.SystemID:
		resp.CommandStatus = data.ESME_RINVSYSID
	case req.Password != s.cfg.Password:
		resp.CommandStatus = data.ESME_RINVPASWD
	}
	if resp.CommandStatus != data.ESME_ROK {
		s.log.Info("fake SMSC: bind refused", "system_id", req.SystemID, "status", resp.CommandStatus.String())
		sess.writeStatus(resp.CommandID, resp.CommandStatus, resp.SequenceNumber)
		// A refused bind ends the connection, as SMSCs commonly do.
		return false
	}
	s.mu.Lock()
	sess.bound = true
	sess.systemID = req.SystemID
	sess.canRecv = req.BindingType == pdu.Transceiver || req.BindingType == pdu.Receiver
	s.binds++
	s.mu.Unlock()
	s.log.Info("fake SMSC: bound", "system_id", req.SystemID, "type", req.BindingType)
	return sess.write(resp) == nil
}

func (s *Server) submit(sess *session, req *pdu.SubmitSM) bool {
	resp := req.GetResponse().(*pdu.SubmitSMResp)
	s.mu.Lock()
	bound, systemID := sess.bound, sess.systemID
	s.mu.Unlock()
	if !bound {
		return sess.writeStatus(resp.CommandID, data.ESME_RINVBNDSTS, resp.SequenceNumber) == nil
	}
	if status := checkDest(req.DestAddr.Address()); status != data.ESME_ROK {
		return sess.writeStatus(resp.CommandID, status, resp.SequenceNumber) == nil
	}
	msgData, _ := req.Message.GetMessageData()
	part := Part{
		SystemID:   systemID,
		From:       req.SourceAddr.Address(),
		To:         req.DestAddr.Address(),
		DataCoding: dataCoding(req.Message),
		Data:       append([]byte(nil), msgData...),
		Seq:        1,
		Total:      1,
		Receipt:    req.RegisteredDelivery&0x03 != 0,
		At:         time.Now(),
	}
	if req.EsmClass&data.SM_UDH_GSM != 0 {
		if total, seq, ref, ok := req.Message.UDH().GetConcatInfo(); ok {
			part.Total, part.Seq, part.Ref = int(total), int(seq), int(ref)
		}
	}

	s.mu.Lock()
	if s.failN > 0 {
		s.failN--
		status := s.failStatus
		s.mu.Unlock()
		s.log.Info("fake SMSC: submit refused as told", "to", part.To, "status", status.String())
		return sess.writeStatus(resp.CommandID, status, resp.SequenceNumber) == nil
	}
	s.nextID++
	part.MessageID = fmt.Sprintf("FAKE%08X", s.nextID)
	resp.MessageID = part.MessageID
	s.parts = append(s.parts, part)
	s.assemble(part)
	hold := s.holdN > 0
	if hold {
		s.holdN--
		s.held = append(s.held, heldResp{s: sess, resp: resp, part: part})
	}
	s.mu.Unlock()

	s.log.Info("fake SMSC: submit accepted", "id", part.MessageID, "to", part.To, "part", part.Seq, "of", part.Total, "held", hold)
	if hold {
		return true
	}
	if err := sess.write(resp); err != nil {
		return false
	}
	s.receipt(sess, part)
	return true
}

// assemble records part into its message, completing it when every part
// is in. s.mu is held.
func (s *Server) assemble(p Part) {
	if p.Total <= 1 {
		s.messages = append(s.messages, Message{
			MessageIDs: []string{p.MessageID}, SystemID: p.SystemID, From: p.From, To: p.To,
			DataCoding: p.DataCoding, Text: decode(p.DataCoding, p.Data), Parts: 1, At: p.At,
		})
		return
	}
	k := partialKey{from: p.From, to: p.To, ref: p.Ref, total: p.Total}
	got := s.partial[k]
	if got == nil {
		got = map[int]Part{}
		s.partial[k] = got
	}
	// A part sent again (a retry) replaces the earlier copy; Parts still
	// shows both, which is how tests see a duplicate.
	got[p.Seq] = p
	if len(got) < p.Total {
		return
	}
	delete(s.partial, k)
	m := Message{SystemID: p.SystemID, From: p.From, To: p.To, DataCoding: p.DataCoding, Parts: p.Total, At: p.At}
	// Join the raw bytes before decoding: a UCS2 character pair must not
	// be decoded half in one part and half in the next.
	var all []byte
	for i := 1; i <= p.Total; i++ {
		q, ok := got[i]
		if !ok {
			// Sequence numbers outside 1..Total: keep what we have.
			continue
		}
		all = append(all, q.Data...)
		m.MessageIDs = append(m.MessageIDs, q.MessageID)
	}
	m.Text = decode(p.DataCoding, all)
	s.messages = append(s.messages, m)
}

// receipt sends a delivery receipt for part when it asked for one.
func (s *Server) receipt(sess *session, part Part) {
	if s.cfg.NoReceipts || !part.Receipt {
		return
	}
	s.mu.Lock()
	target := sess
	if !sess.canRecv {
		// A transmitter cannot take deliver_sm: use a receiver or
		// transceiver bind of the same account, if there is one.
		target = nil
		for c := range s.conns {
			if c.canRecv && c.systemID == part.SystemID {
				target = c
				break
			}
		}
	}
	s.mu.Unlock()
	if target == nil {
		return
	}
	s.mu.Lock()
	stat, ok := s.receiptFor[part.To]
	s.mu.Unlock()
	if !ok {
		stat = s.cfg.ReceiptStatus
	}
	if stat == "" {
		stat = "DELIVRD"
	}
	now := time.Now().Format("0601021504")
	text := fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:%s done date:%s stat:%s err:000 text:", part.MessageID, part.At.Format("0601021504"), now, stat)

	d := pdu.NewDeliverSM().(*pdu.DeliverSM)
	d.SourceAddr, _ = pdu.NewAddressWithTonNpiAddr(0, 1, part.To)
	d.DestAddr, _ = pdu.NewAddressWithTonNpiAddr(0, 1, part.From)
	d.EsmClass = data.SM_SMSC_DLV_RCPT_TYPE
	if err := d.Message.SetMessageWithEncoding(text, data.GSM7BIT); err != nil {
		s.log.Error("fake SMSC: receipt text", "err", err)
		return
	}
	d.RegisterOptionalParam(pdu.Field{Tag: pdu.TagReceiptedMessageID, Data: append([]byte(part.MessageID), 0)})
	d.RegisterOptionalParam(pdu.Field{Tag: pdu.TagMessageStateOption, Data: []byte{messageState(stat)}})
	if err := target.write(d); err != nil {
		s.log.Debug("fake SMSC: receipt not sent", "err", err)
	}
}

// messageState is the SMPP 3.4 message_state value for a receipt's stat.
func messageState(stat string) byte {
	switch stat {
	case "ENROUTE":
		return 1
	case "DELIVRD":
		return 2
	case "EXPIRED":
		return 3
	case "DELETED":
		return 4
	case "UNDELIV":
		return 5
	case "ACCEPTD":
		return 6
	case "REJECTD":
		return 8
	default:
		return 7 // UNKNOWN
	}
}

// checkDest refuses what no network could route: anything but 5 to 15
// digits.
func checkDest(addr string) data.CommandStatusType {
	if len(addr) < 5 || len(addr) > 15 {
		return data.ESME_RINVDSTADR
	}
	if _, err := strconv.ParseUint(addr, 10, 64); err != nil {
		return data.ESME_RINVDSTADR
	}
	return data.ESME_ROK
}

func dataCoding(m pdu.ShortMessage) byte {
	if enc := m.Encoding(); enc != nil {
		return enc.DataCoding()
	}
	return data.GSM7BITCoding
}

// decode turns a short message's bytes into text by its data_coding;
// undecodable bytes come back as a hex dump so a test failure shows them.
func decode(coding byte, b []byte) string {
	enc := data.FromDataCoding(coding)
	if enc == nil {
		return fmt.Sprintf("% x", b)
	}
	text, err := enc.Decode(b)
	if err != nil {
		return fmt.Sprintf("% x", b)
	}
	return text
}

func (sess *session) write(p pdu.PDU) error {
	buf := pdu.NewBuffer(make([]byte, 0, 64))
	p.Marshal(buf)
	return sess.writeBytes(buf.Bytes())
}

// writeStatus sends a refusing response as SMPP 3.4 has it: the header
// alone, no body ("the body is not returned if the command_status field
// contains a non-zero value"). Clients must cope with that, so the fake
// does it.
func (sess *session) writeStatus(id data.CommandIDType, status data.CommandStatusType, seq int32) error {
	h := pdu.Header{CommandLength: 16, CommandID: id, CommandStatus: status, SequenceNumber: seq}
	buf := pdu.NewBuffer(make([]byte, 0, 16))
	h.Marshal(buf)
	return sess.writeBytes(buf.Bytes())
}

func (sess *session) writeBytes(b []byte) error {
	sess.writeMu.Lock()
	defer sess.writeMu.Unlock()
	sess.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := sess.conn.Write(b)
	return err
}
