package sia

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// wrap frames a body the way a correct panel does: LF CRC 0LLL body CR.
func wrap(body string) []byte { return AppendFrame(nil, []byte(body)) }

// inner is a frame without its LF and CR, as Parse receives it.
func inner(body string) []byte {
	b := wrap(body)
	return b[1 : len(b)-1]
}

func TestCRC16CheckValue(t *testing.T) {
	if got := CRC16([]byte("123456789")); got != 0xBB3D {
		t.Fatalf("CRC16(123456789) = %04X, want BB3D", got)
	}
	if got := CRC16(nil); got != 0 {
		t.Fatalf("CRC16(nil) = %04X, want 0", got)
	}
}

// Frames captured from real panels in public issue threads and docs; their
// CRC and length are correct.
var publicFrames = []struct {
	name, frame               string
	id, seq, line, acct, data string
	hasLine, hasRecv          bool
	ts                        string
	crIncluded                bool
}{
	{"protocols.md NULL, L#", `BB86002C"NULL"0001L#7303658550[]_15:39:38,06-07-2019`,
		"NULL", "0001", "", "7303658550", "", true, false, "2019-06-07T15:39:38Z", false},
	{"protocols.md G90B NCQ1", `78FC003B"SIA-DCS"0001L#22334455[#22334455|NCQ1]_14:33:53,02-09-2020`,
		"SIA-DCS", "0001", "", "22334455", "#22334455|NCQ1", true, false, "2020-02-09T14:33:53Z", false},
	{"protocols.md RP", `F2EA003B"SIA-DCS"1667L0#0000[#0000|Nri0/RP0000]_12:44:06,12-22-2021`,
		"SIA-DCS", "1667", "0", "0000", "#0000|Nri0/RP0000", true, false, "2021-12-22T12:44:06Z", false},
	{"ioBroker.sia #11 NBA4", `CEF0003F"SIA-DCS"0001L#7303658550[#7303658550|NBA4]_11:52:09,05-07-2019`,
		"SIA-DCS", "0001", "", "7303658550", "#7303658550|NBA4", true, false, "2019-05-07T11:52:09Z", false},
	{"home-assistant.io #21253 zone text", `01CD005F"SIA-DCS"1783L0#000110[#000110|Nri1BA503^Volum.Taverna   Appartam.Giorno ^]_11:49:27,01-20-2022`,
		"SIA-DCS", "1783", "0", "000110", "#000110|Nri1BA503^Volum.Taverna   Appartam.Giorno ^", true, false, "2022-01-20T11:49:27Z", false},
	{"node-red-contrib-sia-ultimate #2 NL", `4971003A"SIA-DCS"1705L0#0000[#0000|Nri1/NL501]_13:35:48,12-22-2021`,
		"SIA-DCS", "1705", "0", "0000", "#0000|Nri1/NL501", true, false, "2021-12-22T13:35:48Z", false},
	// Eldes panels count the CR in CRC and length (sia-ha #3, pysiaalarm #17).
	{"Eldes CR included", `F19A002B"ADM-CID"0056L9999#9999[#9999|1900 00 001]`,
		"ADM-CID", "0056", "9999", "9999", "#9999|1900 00 001", true, false, "", true},
	{"Eldes CR included, R field", `AA1A0030"ADM-CID"0227R4F39L4F39#4F39[#4F39|3401 01 057]`,
		"ADM-CID", "0227", "4F39", "4F39", "#4F39|3401 01 057", true, true, "", true},
}

func TestParsePublicFrames(t *testing.T) {
	for _, tc := range publicFrames {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte("\n" + tc.frame + "\r"))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.ID != tc.id || f.Seq != tc.seq || f.Line != tc.line || f.HasLine != tc.hasLine ||
				f.HasReceiver != tc.hasRecv || f.Account != tc.acct || f.Data != tc.data || f.Encrypted {
				t.Errorf("got id=%q seq=%q line=%q/%v recv=%v acct=%q data=%q enc=%v",
					f.ID, f.Seq, f.Line, f.HasLine, f.HasReceiver, f.Account, f.Data, f.Encrypted)
			}
			if f.CRIncluded != tc.crIncluded {
				t.Errorf("CRIncluded = %v, want %v", f.CRIncluded, tc.crIncluded)
			}
			if tc.ts == "" {
				if f.HasTimestamp {
					t.Errorf("unexpected timestamp %v", f.Timestamp)
				}
			} else if want, _ := time.Parse(time.RFC3339, tc.ts); !f.HasTimestamp || !f.Timestamp.Equal(want) {
				t.Errorf("timestamp = %v (%v), want %v", f.Timestamp, f.HasTimestamp, want)
			}
			if f.Raw != tc.frame {
				t.Errorf("Raw = %q", f.Raw)
			}
		})
	}
}

// Frames from pysiaalarm's test cases. Many carry a made-up length (the
// library never checked it) and some a wrong CRC; a receiver must stay
// silent on those. The same bodies reframed correctly must decode.
var pysiaalarmFrames = []struct {
	name, frame string
	corrupt     bool
}{
	{"bug #11 closing with text", `9618004D"SIA-DCS"7960L0#123456[#123456|Nri1CL0^VX FRONTE ^]_22:40:48,04-11-2021`, true},
	{"bug #42 heat restoral", `5670004D"SIA-DCS"8070L0#123456[#123456|Nri0KR1^TAST. 001 ^]_13:49:12,04-13-2021`, true},
	{"DC-04 year cut", `CE110032"SIA-DCS"9876R579BDFL789ABC#12345A[#12345A|NFA129]_14:12:04,09-25-201`, true},
	{"ADM-CID fire", `87CD0037"ADM-CID"9876R579BDFL789ABC#12345A[#12345A|1110 00 129]_14:12:04,09-25-2011`, true},
	{"ADM-CID closing, decimal length", `57150047"ADM-CID"0247R4F39L4F39#4F39[#4F39|3401 01 057]`, true},
	{"JC", `97F90078"SIA-DCS"6002L0#AAA[|Nri2/JC12]_12:58:23,09-15-2021`, true},
	{"xdata M", `87570078"SIA-DCS"6002L0#AAA[|Nri1/CL501][M0026B9E4268B]_14:12:04,09-25-2019`, true},
	{"xdata X Y", `5B090059"SIA-DCS"0004L0#AAAAAAAA[#AAAAAAAA|Nri1/PA501][X006E07.7777777][Y49N06.6666666]_20:45:46,04-22-2021`, true},
	{"encrypted SIA-DCS, bad length", `60AB0078"*SIA-DCS"5994L0#AAA[5AB718E008C616BF16F6468033A11326B0F7546CAB230910BCA10E4DEBA42283C436E4F8EFF50931070DDE36D5BB5F0C`, true},
	{"encrypted ADM-CID", `D0850078"*ADM-CID"6879R0L0#123F[64F7ADD9BA9377DBF2C014BC709329BEEE345B5F20C60B7EB9D2C6B8C222666B13D0B4A114B448B0AC555FCC658DB6EE`, false},
	{"closing", `E5D50078"SIA-DCS"6002L0#AAA[|Nri1/CL501]_14:12:04,09-25-2019`, true},
	{"opening, no header account", `90820051"SIA-DCS"4738R0001L0001[#006969|Nri04/OP001NM]`, true},
	{"encrypted NULL", `76D80055"*NULL"0000R0L0#AAAB[B4BC8B40D0E6D959D6BEA78E88CC0B2155741A3C44FBB96D476A3E557CAD64D9`, false},
	{"water alarm", `C4160279"SIA-DCS"5268L0#AAA[Nri1/WA000]_08:40:47,07-08-2020`, true},
	{"not a frame", `this is OK not a parsable event`, true},
	{"Ademco OH", `SR0001L0001    006969XX    [ID00000000]`, true},
}

func TestParsePysiaalarmFrames(t *testing.T) {
	for _, tc := range pysiaalarmFrames {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.frame))
			if tc.corrupt != errors.Is(err, ErrCorrupt) {
				t.Fatalf("Parse error = %v, want corrupt %v", err, tc.corrupt)
			}
			if tc.corrupt && len(tc.frame) > 8 && tc.frame[8] == '"' {
				// Reframed with the right CRC and length, the body is fine.
				if _, err := Parse(inner(tc.frame[8:])); err != nil {
					t.Fatalf("reframed: %v", err)
				}
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	body := `"SIA-DCS"0042R12L3#ABC1[#ABC1|Nri1/BA01]_10:00:00,01-31-2026`
	good := string(inner(body))
	lower := strings.ToLower(good[:8]) + good[8:]
	bin := func(body string) []byte {
		crc := CRC16([]byte(body))
		h := AppendFrame(nil, []byte(body))
		out := []byte{byte(crc >> 8), byte(crc)}
		return append(out, h[5:len(h)-1]...)
	}
	cases := []struct {
		name string
		in   []byte
		chk  func(t *testing.T, f Frame)
	}{
		{"with LF", []byte("\n" + good), nil},
		{"without LF", []byte(good), nil},
		{"CR and NUL after", []byte("\n" + good + "\r\x00"), nil},
		{"blanks around", []byte("  \t" + good + " \r\n"), nil},
		{"lower-case hex header", []byte(lower), nil},
		{"binary CRC (Lupusec)", bin(body), func(t *testing.T, f Frame) {
			if !f.BinaryCRC {
				t.Error("BinaryCRC not set")
			}
		}},
		{"binary CRC holding a CR byte", bin(bodyWithCRCByte('\r')), func(t *testing.T, f Frame) {
			if !f.BinaryCRC || f.Data != "#7|NRP" {
				t.Errorf("BinaryCRC %v data %q", f.BinaryCRC, f.Data)
			}
		}},
		{"no R", inner(`"SIA-DCS"0042L3#ABC1[#ABC1|Nri1/BA01]`), func(t *testing.T, f Frame) {
			if f.HasReceiver || !f.HasLine || f.Line != "3" {
				t.Errorf("recv %v line %q/%v", f.HasReceiver, f.Line, f.HasLine)
			}
		}},
		{"L# empty line", inner(`"SIA-DCS"0042L#ABC1[#ABC1|NBA1]`), func(t *testing.T, f Frame) {
			if !f.HasLine || f.Line != "" || f.Account != "ABC1" {
				t.Errorf("line %q/%v acct %q", f.Line, f.HasLine, f.Account)
			}
		}},
		{"no L at all", inner(`"SIA-DCS"0042#ABC1[#ABC1|NBA1]`), func(t *testing.T, f Frame) {
			if f.HasLine {
				t.Error("HasLine set")
			}
		}},
		{"no header account", inner(`"SIA-DCS"4738R0001L0001[#006969|Nri04/OP001NM]`), func(t *testing.T, f Frame) {
			if f.Account != "006969" {
				t.Errorf("account %q, want it from the data", f.Account)
			}
		}},
		{"no ] before timestamp", inner(`"SIA-DCS"0042L0#ABC1[#ABC1|NBA1_10:00:00,01-31-2026`), func(t *testing.T, f Frame) {
			if f.Data != "#ABC1|NBA1" || !f.HasTimestamp {
				t.Errorf("data %q ts %v", f.Data, f.HasTimestamp)
			}
		}},
		{"bad timestamp is no timestamp", inner(`"SIA-DCS"0042L0#ABC1[#ABC1|NBA1]_25:00:00,02-30-2026`), func(t *testing.T, f Frame) {
			if f.HasTimestamp {
				t.Error("HasTimestamp set")
			}
		}},
		{"31 February", inner(`"SIA-DCS"0042L0#ABC1[#ABC1|NBA1]_10:00:00,02-31-2026`), func(t *testing.T, f Frame) {
			if f.HasTimestamp {
				t.Error("HasTimestamp set")
			}
		}},
		{"extended data", inner(`"SIA-DCS"0004L0#AAA[#AAA|Nri1/PA501][X006E07.7777777][Y49N06.6666666][IFront door]_20:45:46,04-22-2021`), func(t *testing.T, f Frame) {
			want := []string{"X006E07.7777777", "Y49N06.6666666", "IFront door"}
			if strings.Join(f.ExtendedData, ",") != strings.Join(want, ",") || !f.HasTimestamp {
				t.Errorf("xdata %q ts %v", f.ExtendedData, f.HasTimestamp)
			}
		}},
		{"UTF-8 text counts bytes", inner(`"SIA-DCS"0005L0#AAA[#AAA|NBA1^Tür Küche^]`), func(t *testing.T, f Frame) {
			if f.Length != len(`"SIA-DCS"0005L0#AAA[#AAA|NBA1^Tür Küche^]`) || f.Data != "#AAA|NBA1^Tür Küche^" {
				t.Errorf("length %d data %q", f.Length, f.Data)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if tc.chk != nil {
				tc.chk(t, f)
				return
			}
			if f.ID != IDSIADCS || f.Seq != "0042" || f.Receiver != "12" || f.Line != "3" || f.Account != "ABC1" ||
				f.Data != "#ABC1|Nri1/BA01" || !f.HasTimestamp {
				t.Errorf("got %+v", f)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	good := string(inner(`"SIA-DCS"0001L0#1234[#1234|NBA1]`))
	badCRC := "0000" + good[4:]
	badLen := good[:4] + "0099" + good[8:]
	cases := []struct {
		name  string
		in    string
		class error
	}{
		{"empty", "", ErrCorrupt},
		{"bad CRC", badCRC, ErrCorrupt},
		{"bad length", badLen, ErrCorrupt},
		{"truncated", good[:len(good)-3], ErrCorrupt},
		{"CRC not hex", "ZZZZ" + good[4:], ErrCorrupt},
		{"no data block", string(inner(`"SIA-DCS"0001L0#1234`)), ErrCorrupt},
		{"no sequence", string(inner(`"SIA-DCS"L0#1234[]`)), ErrCorrupt},
		{"unterminated ID", string(inner(`"SIA-DCS0001L0#1234[]`)), ErrCorrupt},
		{"unknown ID", string(inner(`"SIA-DCX"0001L0#1234[#1234|NBA1]`)), ErrUnprocessable},
		{"DC-04 ID", string(inner(`"ACR-SL"0001L0#1234[]`)), ErrUnprocessable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse([]byte(tc.in))
			if !errors.Is(err, tc.class) {
				t.Fatalf("Parse(%q) = %v, want %v", tc.in, err, tc.class)
			}
			if tc.class == ErrUnprocessable && (f.Seq != "0001" || f.Account != "1234") {
				t.Errorf("header of an unprocessable frame: %+v", f)
			}
		})
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC),
		time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(2028, 2, 29, 12, 5, 7, 0, time.FixedZone("X", 8*3600)),
	} {
		s := string(appendTimestamp(nil, at))
		got, ok := parseTimestamp(s[1:])
		if !ok || !got.Equal(at) {
			t.Errorf("%s → %v %v, want %v", s, got, ok, at)
		}
	}
}

// bodyWithCRCByte returns a small frame body whose CRC has c as one of its
// two bytes, to test frames whose raw binary CRC holds CR or LF.
func bodyWithCRCByte(c byte) string {
	for seq := 0; seq < 10000; seq++ {
		body := fmt.Sprintf(`"SIA-DCS"%04dL0#7[#7|NRP]`, seq)
		crc := CRC16([]byte(body))
		if byte(crc>>8) == c || byte(crc) == c {
			return body
		}
	}
	panic("no such body")
}
