package sia

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func mustParse(t *testing.T, b []byte) Frame {
	t.Helper()
	f, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%q): %v", b, err)
	}
	return f
}

// The expected answers below were checked against answers real receivers
// logged in public issues (node-red-contrib-sia-ultimate #2: D51F0012
// "ACK"1704L0#0000[]; ioBroker.sia #11: 3C3B0025 "NAK"0000R0L0A0[]_…).
func TestAnswersExactBytes(t *testing.T) {
	at := time.Date(2019, 5, 7, 15, 39, 35, 0, time.UTC)
	cases := []struct {
		name string
		got  func() []byte
		want string
	}{
		{"ACK echoes L0", func() []byte {
			f := mustParse(t, inner(`"SIA-DCS"1704L0#0000[#0000|Nri1/NL501]_13:35:48,12-22-2021`))
			return AppendACK(nil, &f, nil, at)
		}, "\nD51F0012\"ACK\"1704L0#0000[]\r"},
		{"ACK echoes an empty L (L#)", func() []byte {
			f := mustParse(t, []byte(`78FC003B"SIA-DCS"0001L#22334455[#22334455|NCQ1]_14:33:53,02-09-2020`))
			return AppendACK(nil, &f, nil, at)
		}, "\n4AA70015\"ACK\"0001L#22334455[]\r"},
		{"NAK with receiver time", func() []byte {
			f := mustParse(t, inner(`"SIA-DCS"1704L0#0000[]`))
			return AppendNAK(nil, &f, at)
		}, "\n3C3B0025\"NAK\"0000R0L0A0[]_15:39:35,05-07-2019\r"},
		{"NAK without frame, local clock converted to UTC", func() []byte {
			return AppendNAK(nil, nil, time.Date(2019, 5, 7, 19, 52, 7, 0, time.FixedZone("CST", 8*3600)))
		}, "\nAC4E0025\"NAK\"0000R0L0A0[]_11:52:07,05-07-2019\r"},
	}
	for _, tc := range cases {
		if got := string(tc.got()); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestAnswerAddressing(t *testing.T) {
	at := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name, frame, ack, duh string
	}{
		{"R and L echoed", `"SIA-DCS"0042R579BDFL789ABC#12345A[#12345A|NFA129]`,
			`"ACK"0042R579BDFL789ABC#12345A[]`, `"DUH"0042R579BDFL789ABC#12345A[]`},
		{"no R: none in the answer", `"SIA-DCS"0042L0#1234[#1234|NBA1]`,
			`"ACK"0042L0#1234[]`, `"DUH"0042L0#1234[]`},
		{"no L: L0", `"SIA-DCS"0042#1234[#1234|NBA1]`,
			`"ACK"0042L0#1234[]`, `"DUH"0042L0#1234[]`},
		{"account from the data", `"SIA-DCS"4738R0001L0001[#006969|Nri04/OP001NM]`,
			`"ACK"4738R0001L0001#006969[]`, `"DUH"4738R0001L0001#006969[]`},
		{"unknown ID still addressed", `"SIA-DCX"0007L0#1234[]`,
			`"ACK"0007L0#1234[]`, `"DUH"0007L0#1234[]`},
	}
	for _, tc := range cases {
		f, _ := Parse(inner(tc.frame))
		if got := AppendACK(nil, &f, nil, at); string(got) != string(wrap(tc.ack)) {
			t.Errorf("%s ACK: got %q want %q", tc.name, got, wrap(tc.ack))
		}
		if got := AppendDUH(nil, &f); string(got) != string(wrap(tc.duh)) {
			t.Errorf("%s DUH: got %q want %q", tc.name, got, wrap(tc.duh))
		}
	}
}

func TestEncryptedACK(t *testing.T) {
	at := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	for _, keyText := range []string{"000102030405060708090A0B0C0D0E0F", "AAAAAAAAAAAAAAAAAAAAAAAA", "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC"} {
		key, _ := ParseKey(keyText)
		block, _ := NewCipher(key)
		f := mustParse(t, encryptedFrame(t, IDSIADCS, "0042R1L2#1234", key, "#1234|NBA1]_10:00:00,01-31-2026"))
		ack := AppendACK(nil, &f, block, at)
		// An answer is itself a frame: parse it with the frame parser.
		a, err := Parse(ack)
		if err == nil || a.ID != "ACK" || !a.Encrypted || a.Seq != "0042" || a.Receiver != "1" || a.Line != "2" || a.Account != "1234" {
			t.Fatalf("%s: *ACK %q parsed as %+v (%v)", keyText, ack, a, err)
		}
		if !strings.HasPrefix(string(ack[9:]), `"*ACK"0042R1L2#1234[`) {
			t.Fatalf("*ACK %q", ack)
		}
		if err := a.Decrypt(block); err != nil {
			t.Fatalf("*ACK does not decrypt: %v", err)
		}
		if a.Data != "" || !a.HasTimestamp || !a.Timestamp.Equal(at) {
			t.Fatalf("*ACK plaintext: data %q ts %v", a.Data, a.Timestamp)
		}
	}
}

func TestBinaryCRCAnswer(t *testing.T) {
	body := `"SIA-DCS"0001L0#7[#7|NRP]`
	crc := CRC16([]byte(body))
	in := append([]byte{byte(crc >> 8), byte(crc)}, wrap(body)[5:]...)
	f := mustParse(t, in)
	ack := AppendACK(nil, &f, nil, time.Now())
	want := `"ACK"0001L0#7[]`
	wc := CRC16([]byte(want))
	if ack[0] != '\n' || ack[1] != byte(wc>>8) || ack[2] != byte(wc) || string(ack[3:7]) != "000F" || string(ack[7:]) != want+"\r" {
		t.Fatalf("binary-CRC ACK %q", ack)
	}
	if g, err := Parse(ack); !errors.Is(err, ErrUnprocessable) || !g.BinaryCRC || g.ID != "ACK" {
		t.Fatalf("answer parsed as %+v, %v", g, err)
	}
}
