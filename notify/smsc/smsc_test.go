package smsc

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/linxGnu/gosmpp/data"
	"github.com/linxGnu/gosmpp/pdu"
)

// client speaks raw PDUs to the fake, so these tests do not depend on
// gosmpp's session handling.
type client struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dial(t *testing.T, srv *Server) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", srv.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	return &client{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *client) send(p pdu.PDU) {
	c.t.Helper()
	buf := pdu.NewBuffer(nil)
	p.Marshal(buf)
	if _, err := c.conn.Write(buf.Bytes()); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read() pdu.PDU {
	c.t.Helper()
	p, err := pdu.Parse(c.r)
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// bind reads the answer as raw header and body: a refusal has no body,
// which gosmpp's parser does not accept for every bind type.
func (c *client) bind(typ pdu.BindingType, id, pw string) data.CommandStatusType {
	c.t.Helper()
	b := pdu.NewBindRequest(typ)
	b.SystemID, b.Password = id, pw
	c.send(b)
	var hdr [16]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		c.t.Fatal(err)
	}
	h := pdu.ParseHeader(hdr)
	if _, err := io.ReadFull(c.r, make([]byte, h.CommandLength-16)); err != nil {
		c.t.Fatal(err)
	}
	if h.SequenceNumber != b.SequenceNumber || h.CommandID != b.CommandID|data.GENERIC_NACK {
		c.t.Fatalf("bind answered with %+v", h)
	}
	if h.CommandStatus != data.ESME_ROK && h.CommandLength != 16 {
		c.t.Fatalf("refusal with a body: %+v", h)
	}
	return h.CommandStatus
}

func TestBindCredentials(t *testing.T) {
	srv, err := Start(Config{SystemID: "id", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if st := dial(t, srv).bind(pdu.Transceiver, "id", "nope"); st != data.ESME_RINVPASWD {
		t.Errorf("wrong password: %s", st)
	}
	if st := dial(t, srv).bind(pdu.Transmitter, "who", "pw"); st != data.ESME_RINVSYSID {
		t.Errorf("wrong system id: %s", st)
	}
	c := dial(t, srv)
	if st := c.bind(pdu.Transmitter, "id", "pw"); st != data.ESME_ROK {
		t.Fatalf("bind: %s", st)
	}
	e := pdu.NewEnquireLink()
	c.send(e)
	if r, ok := c.read().(*pdu.EnquireLinkResp); !ok || r.SequenceNumber != e.GetSequenceNumber() {
		t.Fatalf("enquire_link answered with %#v", r)
	}
	q := pdu.NewQuerySM()
	c.send(q)
	if r, ok := c.read().(*pdu.GenericNack); !ok || r.CommandStatus != data.ESME_RINVCMDID {
		t.Fatalf("query_sm answered with %#v", r)
	}
	if srv.Binds() != 1 {
		t.Fatalf("binds = %d", srv.Binds())
	}
}

// A transmitter's receipts go to a receiver bind of the same account.
func TestReceiptToReceiver(t *testing.T) {
	srv, err := Start(Config{SystemID: "id", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	rx := dial(t, srv)
	if st := rx.bind(pdu.Receiver, "id", "pw"); st != data.ESME_ROK {
		t.Fatal(st)
	}
	tx := dial(t, srv)
	if st := tx.bind(pdu.Transmitter, "id", "pw"); st != data.ESME_ROK {
		t.Fatal(st)
	}
	sm := pdu.NewSubmitSM().(*pdu.SubmitSM)
	sm.DestAddr, _ = pdu.NewAddressWithTonNpiAddr(0, 1, "13800138000")
	sm.RegisteredDelivery = 1
	if err := sm.Message.SetMessageWithEncoding("你好", data.UCS2); err != nil {
		t.Fatal(err)
	}
	tx.send(sm)
	resp, ok := tx.read().(*pdu.SubmitSMResp)
	if !ok || resp.CommandStatus != data.ESME_ROK || resp.MessageID == "" {
		t.Fatalf("submit answered with %#v", resp)
	}
	d, ok := rx.read().(*pdu.DeliverSM)
	if !ok || d.EsmClass != data.SM_SMSC_DLV_RCPT_TYPE {
		t.Fatalf("receiver got %#v", d)
	}
	if id := d.OptionalParameters[pdu.TagReceiptedMessageID]; id.String() != resp.MessageID {
		t.Fatalf("receipt for %q, want %q", id.String(), resp.MessageID)
	}
	if m := srv.Messages(); len(m) != 1 || m[0].Text != "你好" || m[0].DataCoding != data.UCS2Coding {
		t.Fatalf("messages %+v", m)
	}
}
