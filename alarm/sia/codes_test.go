package sia

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/alarm"
)

// The SIA codes protocols.md lists, and their meaning.
func TestLookupSIA(t *testing.T) {
	cases := []struct {
		code    string
		kind    alarm.Kind
		restore bool
	}{
		{"BA", alarm.KindBurglary, false}, {"BR", alarm.KindBurglary, true}, {"BH", alarm.KindBurglary, true},
		{"PA", alarm.KindPanic, false}, {"PR", alarm.KindPanic, true},
		{"HA", alarm.KindDuress, false}, {"MA", alarm.KindMedical, false}, {"QA", alarm.KindEmergency, false},
		{"FA", alarm.KindFire, false}, {"FR", alarm.KindFire, true},
		{"TA", alarm.KindTamper, false}, {"TR", alarm.KindTamper, true},
		{"OP", alarm.KindOpening, false}, {"CL", alarm.KindClosing, false}, {"CG", alarm.KindPartialArm, false},
		{"AT", alarm.KindACLoss, false}, {"AR", alarm.KindACLoss, true},
		{"YT", alarm.KindLowBattery, false}, {"YR", alarm.KindLowBattery, true},
		{"RP", alarm.KindTest, false}, {"RX", alarm.KindTest, false},
		{"YC", alarm.KindCommFailure, false}, {"YK", alarm.KindCommFailure, true},
		{"BB", alarm.KindBypass, false}, {"BU", alarm.KindBypass, true},
		{"KA", alarm.KindFire, false}, {"GA", alarm.KindEmergency, false}, {"WA", alarm.KindTrouble, false},
		{"EA", alarm.KindEntryExit, false}, {"UY", alarm.KindSensorOffline, false},
	}
	for _, tc := range cases {
		e, ok := LookupSIA(tc.code)
		if !ok || e.Kind != tc.kind || e.Restore != tc.restore {
			t.Errorf("LookupSIA(%s) = %+v %v, want %s restore=%v", tc.code, e, ok, tc.kind, tc.restore)
		}
	}
	for _, unknown := range []string{"ZX", "", "B", "ba", "BAA", "@A"} {
		if e, ok := LookupSIA(unknown); ok || e.Kind != alarm.KindUnknown {
			t.Errorf("LookupSIA(%q) = %+v %v, want unknown", unknown, e, ok)
		}
	}
}

// Every SIA code in the table follows the A/R/H/B/U pattern where it
// applies: restore codes restore, alarm codes do not.
func TestSIATableConsistent(t *testing.T) {
	for _, c := range siaCodes {
		switch c.code[1] {
		case 'R', 'H', 'J':
			if !c.ev.Restore && c.code != "OR" && c.code != "OH" && c.code != "OJ" && c.code != "CJ" {
				t.Errorf("%s looks like a restore but is not", c.code)
			}
		case 'A':
			if c.ev.Restore {
				t.Errorf("%s looks like an alarm but restores", c.code)
			}
		}
		if c.ev.Kind == alarm.KindOpening || c.ev.Kind == alarm.KindClosing || c.ev.Kind == alarm.KindPartialArm {
			if c.ev.Restore {
				t.Errorf("%s: opening/closing must not set Restore (ArmState.Panel reads it as the opposite)", c.code)
			}
		}
	}
}

// The Contact ID codes protocols.md lists, with their qualifiers.
func TestLookupCID(t *testing.T) {
	cases := []struct {
		q       byte
		event   int
		code    string
		kind    alarm.Kind
		restore bool
	}{
		{'1', 100, "MA", alarm.KindMedical, false}, {'3', 100, "MH", alarm.KindMedical, true},
		{'1', 101, "QA", alarm.KindEmergency, false},
		{'1', 110, "FA", alarm.KindFire, false}, {'3', 110, "FH", alarm.KindFire, true},
		{'1', 120, "PA", alarm.KindPanic, false}, {'1', 121, "HA", alarm.KindDuress, false},
		{'1', 130, "BA", alarm.KindBurglary, false}, {'3', 130, "BH", alarm.KindBurglary, true},
		{'1', 131, "BA", alarm.KindPerimeter, false}, {'3', 131, "BH", alarm.KindPerimeter, true},
		{'1', 132, "BA", alarm.KindInterior, false}, {'1', 133, "BA", alarm.KindBurglary, false},
		{'1', 134, "BA", alarm.KindEntryExit, false}, {'1', 135, "BA", alarm.KindBurglary, false},
		{'1', 136, "BA", alarm.KindBurglary, false},
		{'1', 137, "TA", alarm.KindTamper, false}, {'3', 137, "TR", alarm.KindTamper, true},
		{'1', 144, "TA", alarm.KindTamper, false},
		{'1', 301, "AT", alarm.KindACLoss, false}, {'3', 301, "AR", alarm.KindACLoss, true},
		{'1', 302, "YT", alarm.KindLowBattery, false}, {'3', 302, "YR", alarm.KindLowBattery, true},
		{'1', 354, "YC", alarm.KindCommFailure, false},
		{'1', 381, "UY", alarm.KindSensorOffline, false}, {'3', 381, "UJ", alarm.KindSensorOffline, true},
		// 4xx: qualifier 1 opens (disarms), 3 closes (arms); neither is a restore.
		{'1', 401, "OP", alarm.KindOpening, false}, {'3', 401, "CL", alarm.KindClosing, false},
		{'1', 407, "OQ", alarm.KindOpening, false}, {'3', 407, "CQ", alarm.KindClosing, false},
		{'3', 441, "CG", alarm.KindPartialArm, false}, {'1', 441, "OP", alarm.KindOpening, false},
		{'1', 570, "BB", alarm.KindBypass, false}, {'3', 570, "BU", alarm.KindBypass, true},
		{'1', 602, "RP", alarm.KindTest, false},
		// 6: the condition is still present.
		{'6', 130, "BA", alarm.KindBurglary, false},
	}
	for _, tc := range cases {
		code, e, ok := LookupCID(tc.q, tc.event)
		if !ok || code != tc.code || e.Kind != tc.kind || e.Restore != tc.restore {
			t.Errorf("LookupCID(%c, %d) = %s %+v %v; want %s %s restore=%v", tc.q, tc.event, code, e, ok, tc.code, tc.kind, tc.restore)
		}
	}
	if code, e, ok := LookupCID('1', 999); ok || code != CodeUndefined || e.Kind != alarm.KindUnknown {
		t.Errorf("unknown Contact ID: %s %+v %v", code, e, ok)
	}
}

type rep struct {
	code    string
	kind    alarm.Kind
	restore bool
	area    string
	zone    string
	text    string
}

func (r rep) String() string {
	return fmt.Sprintf("%s/%s/restore=%v/area=%q/zone=%q/text=%q", r.code, r.kind, r.restore, r.area, r.zone, r.text)
}

func reps(rs []alarm.Report) []rep {
	out := make([]rep, len(rs))
	for i, r := range rs {
		out[i] = rep{r.Code, r.Kind, r.Restore, r.Area, r.Zone, r.Text}
	}
	return out
}

func TestDecodeData(t *testing.T) {
	cases := []struct {
		name string
		id   string
		data string
		want []rep
	}{
		{"area then code", IDSIADCS, "#1234|Nri1/BA01", []rep{{"BA", alarm.KindBurglary, false, "1", "01", ""}}},
		{"several events share the area", IDSIADCS, "#1234|Nri2/BA01/BA02/BR03", []rep{
			{"BA", alarm.KindBurglary, false, "2", "01", ""},
			{"BA", alarm.KindBurglary, false, "2", "02", ""},
			{"BR", alarm.KindBurglary, true, "2", "03", ""}}},
		{"area changes midway", IDSIADCS, "#1234|Nri1/BA01/ri2/FA05", []rep{
			{"BA", alarm.KindBurglary, false, "1", "01", ""}, {"FA", alarm.KindFire, false, "2", "05", ""}}},
		{"no slash after modifier, zone name", IDSIADCS, "#123456|Nri1CL0^VX FRONTE ^", []rep{
			{"CL", alarm.KindClosing, false, "1", "0", "VX FRONTE"}}},
		{"heat restoral", IDSIADCS, "#123456|Nri0KR1^TAST. 001 ^", []rep{{"KR", alarm.KindFire, true, "0", "1", "TAST. 001"}}},
		{"no modifier", IDSIADCS, "#22334455|NCQ1", []rep{{"CQ", alarm.KindClosing, false, "", "1", ""}}},
		{"no modifier BA", IDSIADCS, "#7303658550|NBA4", []rep{{"BA", alarm.KindBurglary, false, "", "4", ""}}},
		{"no account, bar first", IDSIADCS, "|Nri2/JC12", []rep{{"JC", alarm.KindTamper, true, "2", "12", ""}}},
		{"no account at all", IDSIADCS, "Nri1/WA000", []rep{{"WA", alarm.KindTrouble, false, "1", "000", ""}}},
		{"trailing letters kept as text", IDSIADCS, "#006969|Nri04/OP001NM", []rep{{"OP", alarm.KindOpening, false, "04", "001", "NM"}}},
		{"area code without ri", IDSIADCS, "#1|NCG3", []rep{{"CG", alarm.KindPartialArm, false, "3", "", ""}}},
		{"NL is a code, not N+L", IDSIADCS, "#1|NL01", []rep{{"NL", alarm.KindPartialArm, false, "01", "", ""}}},
		{"user id modifier", IDSIADCS, "#1|Nid005/OP", []rep{{"OP", alarm.KindOpening, false, "", "005", ""}}},
		{"time modifier ignored", IDSIADCS, "#1|Nti10:15/ri1/BA01", []rep{{"BA", alarm.KindBurglary, false, "1", "01", ""}}},
		{"text block", IDSIADCS, "#1|Nri1/PA1|AHelp me", []rep{{"PA", alarm.KindPanic, false, "1", "1", "Help me"}}},
		{"unknown code kept", IDSIADCS, "#1|Nri1/ZX9", []rep{{"ZX", alarm.KindUnknown, false, "1", "9", ""}}},
		{"text only", IDSIADCS, "#1|AJust saying", []rep{{"UX", alarm.KindUnknown, false, "", "", "Just saying"}}},
		{"empty", IDSIADCS, "", []rep{{"UX", alarm.KindUnknown, false, "", "", ""}}},
		{"garbage", IDSIADCS, "#1|N12 ?", []rep{{"UX", alarm.KindUnknown, false, "", "", "12 ?"}}},
		{"CID burglary", IDADMCID, "#1234|1130 01 003", []rep{{"BA", alarm.KindBurglary, false, "01", "003", ""}}},
		{"CID fire", IDADMCID, "#12345A|1110 00 129", []rep{{"FA", alarm.KindFire, false, "00", "129", ""}}},
		{"CID closing by user", IDADMCID, "#4F39|3401 01 057", []rep{{"CL", alarm.KindClosing, false, "01", "057", ""}}},
		{"CID perimeter restore", IDADMCID, "#1|3131 02 010", []rep{{"BH", alarm.KindPerimeter, true, "02", "010", ""}}},
		{"CID no spaces", IDADMCID, "#1|113001003", []rep{{"BA", alarm.KindBurglary, false, "01", "003", ""}}},
		{"CID E/R qualifier", IDADMCID, "#1|R130 01 003", []rep{{"BH", alarm.KindBurglary, true, "01", "003", ""}}},
		{"CID unknown event", IDADMCID, "#9999|1900 00 001", []rep{{"UX", alarm.KindUnknown, false, "00", "001", "1900 00 001"}}},
		{"CID garbage", IDADMCID, "#1|hello", []rep{{"UX", alarm.KindUnknown, false, "", "", "#1|hello"}}},
		{"NULL", IDNULL, "", []rep{{"RP", alarm.KindSupervision, false, "", "", ""}}},
		{"NULL with data", IDNULL, "#0000|0000 00 000", []rep{{"RP", alarm.KindSupervision, false, "", "", ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := Frame{ID: tc.id, Account: "1234", Seq: "0001", Data: tc.data}
			got := reps(AppendReports(nil, &f))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("data %q\n got %v\nwant %v", tc.data, got, tc.want)
			}
		})
	}
}

func TestReportsFromFrame(t *testing.T) {
	f := mustParse(t, inner(`"SIA-DCS"0077R1L0#1234[#1234|Nri1/BA01/BA02][IKitchen window][X006E07.7]_10:00:00,01-31-2026`))
	rs := AppendReports(nil, &f)
	if len(rs) != 2 {
		t.Fatalf("%d reports", len(rs))
	}
	for i, r := range rs {
		if r.Source != alarm.SourceSIA || r.Account != "1234" || r.Seq != "0077" || r.Text != "Kitchen window" ||
			!r.PanelTime.Equal(time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)) || !r.ReceivedAt.IsZero() {
			t.Errorf("report %d: %+v", i, r)
		}
	}
	if rs[0].Fingerprint == "" || rs[1].Fingerprint != rs[0].Fingerprint+"/1" {
		t.Errorf("fingerprints %q %q", rs[0].Fingerprint, rs[1].Fingerprint)
	}
	if len(rs[0].Fingerprint) != 32 || strings.ToLower(rs[0].Fingerprint) != rs[0].Fingerprint {
		t.Errorf("fingerprint %q", rs[0].Fingerprint)
	}
	// A panel sending its account in lower case is the stored (upper
	// case) panel.
	f = mustParse(t, inner(`"SIA-DCS"0078R1L0#12ab[#12ab|Nri1/BA01]`))
	if rs := AppendReports(nil, &f); len(rs) != 1 || rs[0].Account != "12AB" {
		t.Errorf("lower-case account: %+v", rs)
	}
}

func TestFingerprint(t *testing.T) {
	base := Frame{ID: IDSIADCS, Account: "1234", Seq: "0001", Data: "#1234|NBA1"}
	same := base
	same.Encrypted, same.Receiver, same.Line, same.HasTimestamp = true, "9", "9", true
	same.Timestamp = time.Now()
	if Fingerprint(&base) != Fingerprint(&same) {
		t.Error("timestamp, R, L or encryption changed the fingerprint")
	}
	for _, other := range []Frame{
		{ID: IDSIADCS, Account: "1234", Seq: "0001", Data: "#1234|NBA2"},
		{ID: IDSIADCS, Account: "1234", Seq: "0002", Data: "#1234|NBA1"},
		{ID: IDSIADCS, Account: "1235", Seq: "0001", Data: "#1234|NBA1"},
		{ID: IDADMCID, Account: "1234", Seq: "0001", Data: "#1234|NBA1"},
		{ID: IDSIADCS, Account: "1234", Seq: "0001", Data: "#1234|NBA1", ExtendedData: []string{"IX"}},
		// Field boundaries matter.
		{ID: IDSIADCS, Account: "12340", Seq: "001", Data: "#1234|NBA1"},
	} {
		if Fingerprint(&base) == Fingerprint(&other) {
			t.Errorf("same fingerprint for %+v", other)
		}
	}
}
