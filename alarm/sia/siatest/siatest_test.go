package siatest

import (
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm/sia"
)

func TestTimestamp(t *testing.T) {
	// October: a time.Format layout with ",01" would print fractional
	// seconds here.
	at := time.Date(2026, 10, 5, 7, 8, 9, 0, time.UTC)
	if got := Timestamp(at); got != "_07:08:09,10-05-2026" {
		t.Fatalf("Timestamp = %q", got)
	}
}

func TestNextSeqWraps(t *testing.T) {
	p := &Panel{Account: "1"}
	p.seq = 9998
	if a, b, c := p.NextSeq(), p.NextSeq(), p.NextSeq(); a != "9999" || b != "0001" || c != "0002" {
		t.Fatalf("sequence %s %s %s", a, b, c)
	}
}

func TestBuildParses(t *testing.T) {
	at := time.Date(2026, 10, 5, 7, 8, 9, 0, time.UTC)
	clock := func() time.Time { return at }
	key, _ := sia.ParseKey("000102030405060708090A0B0C0D0E0F")
	cases := []struct {
		name  string
		panel *Panel
		frame func(p *Panel) []byte
		check func(t *testing.T, f sia.Frame)
	}{
		{"plain SIA", &Panel{Account: "1234", Clock: clock}, func(p *Panel) []byte { return p.SIA("Nri1/BA01") },
			func(t *testing.T, f sia.Frame) {
				if f.Data != "#1234|Nri1/BA01" || !f.Timestamp.Equal(at) || f.Line != "0" || f.HasReceiver {
					t.Errorf("%+v", f)
				}
			}},
		{"R, L#, no timestamp", &Panel{Account: "1234", Receiver: "12", LineMode: "empty", NoTimestamp: true},
			func(p *Panel) []byte { return p.CID("1130 01 003") },
			func(t *testing.T, f sia.Frame) {
				if f.ID != sia.IDADMCID || f.Receiver != "12" || !f.HasLine || f.Line != "" || f.HasTimestamp {
					t.Errorf("%+v", f)
				}
			}},
		{"no L", &Panel{Account: "1234", LineMode: "none"}, func(p *Panel) []byte { return p.Null() },
			func(t *testing.T, f sia.Frame) {
				if f.ID != sia.IDNULL || f.HasLine {
					t.Errorf("%+v", f)
				}
			}},
		{"encrypted", &Panel{Account: "1234", Key: key, Clock: clock}, func(p *Panel) []byte { return p.SIA("NFA1") },
			func(t *testing.T, f sia.Frame) {
				block, _ := sia.NewCipher(key)
				if !f.Encrypted || f.Decrypt(block) != nil || f.Data != "#1234|NFA1" || !f.Timestamp.Equal(at) {
					t.Errorf("%+v", f)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.frame(tc.panel)
			if b[0] != '\n' || b[len(b)-1] != '\r' {
				t.Fatalf("frame %q not framed", b)
			}
			f, err := sia.Parse(b)
			if err != nil {
				t.Fatalf("Parse(%q): %v", b, err)
			}
			tc.check(t, f)
		})
	}
}

func TestParseAnswer(t *testing.T) {
	a, err := ParseAnswer([]byte("\nD51F0012\"ACK\"1704L0#0000[]\r"), nil)
	if err != nil || a.Type != "ACK" || a.Seq != "1704" || a.Line != "0" || a.Account != "0000" || a.Encrypted {
		t.Fatalf("%+v %v", a, err)
	}
	a, err = ParseAnswer([]byte("\n3C3B0025\"NAK\"0000R0L0A0[]_15:39:35,05-07-2019\r"), nil)
	if err != nil || a.Type != "NAK" || !a.Timestamp.Equal(time.Date(2019, 5, 7, 15, 39, 35, 0, time.UTC)) {
		t.Fatalf("%+v %v", a, err)
	}
	for _, bad := range []string{"\n00000012\"ACK\"1704L0#0000[]\r", "\nD51F0013\"ACK\"1704L0#0000[]\r", "ACK"} {
		if _, err := ParseAnswer([]byte(bad), nil); err == nil {
			t.Errorf("ParseAnswer(%q) accepted", bad)
		}
	}
	key, _ := sia.ParseKey("AAAAAAAAAAAAAAAA")
	block, _ := sia.NewCipher(key)
	f, _ := sia.Parse((&Panel{Account: "1", Key: key}).SIA("NBA1"))
	ack := sia.AppendACK(nil, &f, block, time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC))
	a, err = ParseAnswer(ack, key)
	if err != nil || !a.Encrypted || !a.HasTimestamp || a.Account != "1" {
		t.Fatalf("%+v %v", a, err)
	}
	if _, err := ParseAnswer(ack, []byte("BBBBBBBBBBBBBBBB")); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Errorf("wrong key: %v", err)
	}
}
