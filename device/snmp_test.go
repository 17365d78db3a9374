package device

import (
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"

	"github.com/shequ/shequ/community"
)

// agent is a small SNMP v2c agent for tests: GET, GETNEXT and GETBULK
// over a fixed table, answering only its community.
type agent struct {
	conn      net.PacketConn
	community string
	oids      []string
	values    map[string]gosnmp.SnmpPDU
}

func oidLess(a, b string) int {
	pa, pb := strings.Split(strings.Trim(a, "."), "."), strings.Split(strings.Trim(b, "."), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x - y
		}
	}
	return len(pa) - len(pb)
}

func startAgent(t *testing.T, community string, vars []gosnmp.SnmpPDU) *agent {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{conn: conn, community: community, values: map[string]gosnmp.SnmpPDU{}}
	for _, v := range vars {
		a.oids = append(a.oids, v.Name)
		a.values[v.Name] = v
	}
	slices.SortFunc(a.oids, oidLess)
	t.Cleanup(func() { conn.Close() })
	go a.serve()
	return a
}

func (a *agent) addr() string { return a.conn.LocalAddr().String() }

func (a *agent) next(oid string) gosnmp.SnmpPDU {
	for _, o := range a.oids {
		if oidLess(o, oid) > 0 {
			return a.values[o]
		}
	}
	return gosnmp.SnmpPDU{Name: oid, Type: gosnmp.EndOfMibView}
}

func (a *agent) serve() {
	dec := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: a.community, Logger: gosnmp.NewLogger(nil)}
	buf := make([]byte, 65535)
	for {
		n, from, err := a.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		req, err := dec.SnmpDecodePacket(buf[:n])
		if err != nil || req.Community != a.community {
			continue // a wrong community gets no answer, as on real agents
		}
		res := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: a.community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
		switch req.PDUType {
		case gosnmp.GetRequest:
			for _, v := range req.Variables {
				if got, ok := a.values[v.Name]; ok {
					res.Variables = append(res.Variables, got)
				} else {
					res.Variables = append(res.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.NoSuchObject})
				}
			}
		case gosnmp.GetNextRequest:
			for _, v := range req.Variables {
				res.Variables = append(res.Variables, a.next(v.Name))
			}
		case gosnmp.GetBulkRequest:
			for _, v := range req.Variables {
				oid := v.Name
				for range max(1, int(req.MaxRepetitions)) {
					nv := a.next(oid)
					res.Variables = append(res.Variables, nv)
					if nv.Type == gosnmp.EndOfMibView {
						break
					}
					oid = nv.Name
				}
			}
		default:
			continue
		}
		out, err := res.MarshalMsg()
		if err != nil {
			continue
		}
		_, _ = a.conn.WriteTo(out, from)
	}
}

func TestSNMPCheck(t *testing.T) {
	vars := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(27_000_000)}, // 3 days 3 hours
		{Name: ".1.3.6.1.2.1.2.2.1.3.1", Type: gosnmp.Integer, Value: 24},               // lo
		{Name: ".1.3.6.1.2.1.2.2.1.3.2", Type: gosnmp.Integer, Value: 6},                // eth0
		{Name: ".1.3.6.1.2.1.2.2.1.3.3", Type: gosnmp.Integer, Value: 71},               // wlan0
		{Name: ".1.3.6.1.2.1.2.2.1.8.1", Type: gosnmp.Integer, Value: 1},
		{Name: ".1.3.6.1.2.1.2.2.1.8.2", Type: gosnmp.Integer, Value: 1},
		{Name: ".1.3.6.1.2.1.2.2.1.8.3", Type: gosnmp.Integer, Value: 2},
		{Name: ".1.3.6.1.4.1.9.9.273.1.1.2.1.1.1", Type: gosnmp.Gauge32, Value: uint(12)},
	}
	a := startAgent(t, "s3cret", vars)
	p := &Prober{}
	r := p.Probe(t.Context(), Target{Check: Check{Kind: CheckSNMP, Address: a.addr(), Community: "s3cret", ClientsOID: ".1.3.6.1.4.1.9.9.273.1.1.2.1.1.1", TimeoutSeconds: 2}})
	if r.Status != community.DeviceOnline || r.Detail != "uptime 3d 3h · 1/2 interfaces up · 12 clients" {
		t.Fatalf("got %+v", r)
	}
	// The wrong community is never answered: offline, timed out.
	r = p.Probe(t.Context(), Target{Check: Check{Kind: CheckSNMP, Address: a.addr(), Community: "public", TimeoutSeconds: 1}})
	if r.Status != community.DeviceOffline {
		t.Fatalf("wrong community: %+v", r)
	}
	// Every interface down: it answers but carries nothing.
	down := startAgent(t, "public", []gosnmp.SnmpPDU{vars[0], vars[2], {Name: ".1.3.6.1.2.1.2.2.1.8.2", Type: gosnmp.Integer, Value: 2}})
	r = p.Probe(t.Context(), Target{Check: Check{Kind: CheckSNMP, Address: down.addr(), TimeoutSeconds: 2}})
	if r.Status != community.DeviceDegraded || !strings.Contains(r.Reason, "none of its 1 interfaces") {
		t.Fatalf("interfaces down: %+v", r)
	}
}
