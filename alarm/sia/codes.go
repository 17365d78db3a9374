package sia

import (
	"github.com/shequ/shequ/alarm"
)

// Event is what a code means in shequ's vocabulary.
type Event struct {
	Kind    alarm.Kind
	Restore bool // the condition ended
	// Area is set for codes whose number is an area (partition) rather
	// than a zone or user, e.g. CG3 "area 3 armed partially".
	Area bool
}

// Codes used when a panel sends something the tables do not hold, so that a
// stored event always carries a two-letter code.
const (
	CodeUndefined   = "UX" // SIA "Undefined": unknown Contact ID event, unreadable data
	CodeSupervision = "RP" // what a NULL (link test) frame is stored as, with KindSupervision
)

// siaCodes maps SIA DC-03 two-letter event codes to the alarm vocabulary.
// The second letter follows the SIA pattern: A alarm, H/R restore, B
// bypass, U unbypass, T trouble, J trouble restore, S supervisory. Codes not
// here decode as alarm.KindUnknown and are stored all the same.
//
// Opening and closing carry their direction in the kind and never set
// Restore: the arm state machine (alarm.ArmState.Panel) reads a restore of
// a closing as a disarm.
var siaCodes = []struct {
	code string
	ev   Event
}{
	// Burglary
	{"BA", ev(alarm.KindBurglary)}, {"BG", ev(alarm.KindBurglary)}, {"BM", ev(alarm.KindBurglary)},
	{"BV", evArea(alarm.KindBurglary)},
	{"BH", restore(alarm.KindBurglary)}, {"BR", restore(alarm.KindBurglary)}, {"BC", restore(alarm.KindBurglary)},
	{"BB", ev(alarm.KindBypass)}, {"BU", restore(alarm.KindBypass)},
	{"BT", ev(alarm.KindTrouble)}, {"BS", ev(alarm.KindTrouble)}, {"BD", ev(alarm.KindTrouble)},
	{"BJ", restore(alarm.KindTrouble)}, {"BE", restore(alarm.KindTrouble)},
	{"BX", ev(alarm.KindTest)},
	{"BZ", ev(alarm.KindSensorOffline)},
	// Entry/exit and door forced
	{"EA", ev(alarm.KindEntryExit)}, {"EE", ev(alarm.KindEntryExit)}, {"EZ", ev(alarm.KindEntryExit)},
	{"DF", ev(alarm.KindPerimeter)},
	// Panic, duress (hold-up), medical, personal emergency
	{"PA", ev(alarm.KindPanic)}, {"PH", restore(alarm.KindPanic)}, {"PR", restore(alarm.KindPanic)},
	{"PB", ev(alarm.KindBypass)}, {"PU", restore(alarm.KindBypass)},
	{"PT", ev(alarm.KindTrouble)}, {"PS", ev(alarm.KindTrouble)}, {"PJ", restore(alarm.KindTrouble)},
	{"HA", ev(alarm.KindDuress)}, {"HH", restore(alarm.KindDuress)}, {"HR", restore(alarm.KindDuress)},
	{"HB", ev(alarm.KindBypass)}, {"HU", restore(alarm.KindBypass)},
	{"HT", ev(alarm.KindTrouble)}, {"HS", ev(alarm.KindTrouble)}, {"HJ", restore(alarm.KindTrouble)},
	{"MA", ev(alarm.KindMedical)}, {"MH", restore(alarm.KindMedical)}, {"MR", restore(alarm.KindMedical)},
	{"MB", ev(alarm.KindBypass)}, {"MU", restore(alarm.KindBypass)},
	{"MT", ev(alarm.KindTrouble)}, {"MS", ev(alarm.KindTrouble)}, {"MJ", restore(alarm.KindTrouble)},
	{"QA", ev(alarm.KindEmergency)}, {"QH", restore(alarm.KindEmergency)}, {"QR", restore(alarm.KindEmergency)},
	{"QB", ev(alarm.KindBypass)}, {"QU", restore(alarm.KindBypass)},
	{"QT", ev(alarm.KindTrouble)}, {"QS", ev(alarm.KindTrouble)}, {"QJ", restore(alarm.KindTrouble)},
	// Gas and carbon monoxide endanger life; the vocabulary has no gas
	// kind, so they are emergencies (life priority).
	{"GA", ev(alarm.KindEmergency)}, {"GH", restore(alarm.KindEmergency)}, {"GR", restore(alarm.KindEmergency)},
	{"GB", ev(alarm.KindBypass)}, {"GU", restore(alarm.KindBypass)},
	{"GT", ev(alarm.KindTrouble)}, {"GS", ev(alarm.KindTrouble)}, {"GJ", restore(alarm.KindTrouble)},
	{"GX", ev(alarm.KindTest)},
	// Fire, heat, sprinkler
	{"FA", ev(alarm.KindFire)}, {"FG", ev(alarm.KindFire)}, {"FM", ev(alarm.KindFire)},
	{"FH", restore(alarm.KindFire)}, {"FR", restore(alarm.KindFire)}, {"FC", restore(alarm.KindFire)},
	{"FB", ev(alarm.KindBypass)}, {"FU", restore(alarm.KindBypass)},
	{"FT", ev(alarm.KindTrouble)}, {"FS", ev(alarm.KindTrouble)}, {"FW", ev(alarm.KindTrouble)},
	{"FY", ev(alarm.KindTrouble)}, {"FZ", ev(alarm.KindTrouble)},
	{"FJ", restore(alarm.KindTrouble)}, {"FV", restore(alarm.KindTrouble)}, {"FQ", restore(alarm.KindTrouble)},
	{"FX", ev(alarm.KindTest)}, {"FI", evArea(alarm.KindTest)}, {"FK", Event{alarm.KindTest, true, true}},
	{"KA", ev(alarm.KindFire)}, {"KH", restore(alarm.KindFire)}, {"KR", restore(alarm.KindFire)},
	{"KB", ev(alarm.KindBypass)}, {"KU", restore(alarm.KindBypass)},
	{"KT", ev(alarm.KindTrouble)}, {"KS", ev(alarm.KindTrouble)}, {"KJ", restore(alarm.KindTrouble)},
	{"SA", ev(alarm.KindFire)}, {"SH", restore(alarm.KindFire)}, {"SR", restore(alarm.KindFire)},
	{"SB", ev(alarm.KindBypass)}, {"SU", restore(alarm.KindBypass)},
	{"ST", ev(alarm.KindTrouble)}, {"SS", ev(alarm.KindTrouble)}, {"SJ", restore(alarm.KindTrouble)},
	// Tamper
	{"TA", ev(alarm.KindTamper)}, {"TT", ev(alarm.KindTamper)},
	{"TR", restore(alarm.KindTamper)}, {"TH", restore(alarm.KindTamper)}, {"TJ", restore(alarm.KindTamper)},
	{"TB", ev(alarm.KindBypass)}, {"TU", restore(alarm.KindBypass)},
	{"ES", ev(alarm.KindTamper)}, {"EJ", restore(alarm.KindTamper)},
	{"XS", ev(alarm.KindTamper)}, {"XJ", restore(alarm.KindTamper)},
	{"JA", evArea(alarm.KindTamper)}, {"JC", Event{alarm.KindTamper, true, true}},
	{"AA", ev(alarm.KindTamper)},
	// Opening (disarm), closing (arm away), partial arm (stay/home)
	{"OP", ev(alarm.KindOpening)}, {"OQ", ev(alarm.KindOpening)}, {"OR", ev(alarm.KindOpening)},
	{"OS", ev(alarm.KindOpening)}, {"OZ", ev(alarm.KindOpening)}, {"OK", ev(alarm.KindOpening)},
	{"OJ", ev(alarm.KindOpening)}, {"OH", ev(alarm.KindOpening)}, {"OL", ev(alarm.KindOpening)},
	{"OA", evArea(alarm.KindOpening)}, {"OG", evArea(alarm.KindOpening)},
	{"CL", ev(alarm.KindClosing)}, {"CP", ev(alarm.KindClosing)}, {"CQ", ev(alarm.KindClosing)},
	{"CS", ev(alarm.KindClosing)}, {"CZ", ev(alarm.KindClosing)}, {"CF", ev(alarm.KindClosing)},
	{"CK", ev(alarm.KindClosing)}, {"CJ", ev(alarm.KindClosing)},
	{"CA", evArea(alarm.KindClosing)}, {"CW", evArea(alarm.KindClosing)},
	{"CG", evArea(alarm.KindPartialArm)}, {"NL", evArea(alarm.KindPartialArm)},
	{"NF", evArea(alarm.KindPartialArm)}, {"NM", evArea(alarm.KindPartialArm)},
	// Schedule exceptions: someone should look.
	{"CI", evArea(alarm.KindTrouble)}, {"OI", evArea(alarm.KindTrouble)}, {"CD", evArea(alarm.KindTrouble)},
	{"CT", evArea(alarm.KindTrouble)}, {"OT", ev(alarm.KindTrouble)},
	// Power
	{"AT", ev(alarm.KindACLoss)}, {"AR", restore(alarm.KindACLoss)},
	{"YT", ev(alarm.KindLowBattery)}, {"YM", ev(alarm.KindLowBattery)}, {"YR", restore(alarm.KindLowBattery)},
	{"XT", ev(alarm.KindLowBattery)}, {"XR", restore(alarm.KindLowBattery)},
	{"YP", ev(alarm.KindTrouble)}, {"YQ", restore(alarm.KindTrouble)},
	{"YI", ev(alarm.KindTrouble)}, {"YJ", restore(alarm.KindTrouble)},
	// Communication
	{"YC", ev(alarm.KindCommFailure)}, {"YS", ev(alarm.KindCommFailure)}, {"YK", restore(alarm.KindCommFailure)},
	{"LT", ev(alarm.KindCommFailure)}, {"LR", restore(alarm.KindCommFailure)},
	{"NT", ev(alarm.KindCommFailure)}, {"NR", restore(alarm.KindCommFailure)},
	{"RT", ev(alarm.KindCommFailure)},
	// Tests
	{"RP", ev(alarm.KindTest)}, {"RX", ev(alarm.KindTest)}, {"RY", ev(alarm.KindTest)},
	{"TX", ev(alarm.KindTest)}, {"TS", ev(alarm.KindTest)}, {"TE", restore(alarm.KindTest)},
	{"TC", ev(alarm.KindTest)}, {"TP", ev(alarm.KindTest)},
	// Sensors that went silent
	{"UY", ev(alarm.KindSensorOffline)}, {"UZ", ev(alarm.KindSensorOffline)},
	{"XL", ev(alarm.KindSensorOffline)},
	// Other faults: untyped zones, water, freeze, expansion, equipment,
	// bell, service, RF interference.
	{"UA", ev(alarm.KindTrouble)}, {"UG", ev(alarm.KindTrouble)}, {"UT", ev(alarm.KindTrouble)},
	{"US", ev(alarm.KindTrouble)}, {"UH", restore(alarm.KindTrouble)}, {"UR", restore(alarm.KindTrouble)},
	{"UJ", restore(alarm.KindTrouble)},
	{"UB", ev(alarm.KindBypass)}, {"UU", restore(alarm.KindBypass)},
	{"WA", ev(alarm.KindTrouble)}, {"WT", ev(alarm.KindTrouble)}, {"WS", ev(alarm.KindTrouble)},
	{"WH", restore(alarm.KindTrouble)}, {"WR", restore(alarm.KindTrouble)}, {"WJ", restore(alarm.KindTrouble)},
	{"WB", ev(alarm.KindBypass)}, {"WU", restore(alarm.KindBypass)},
	{"ZA", ev(alarm.KindTrouble)}, {"ZT", ev(alarm.KindTrouble)}, {"ZS", ev(alarm.KindTrouble)},
	{"ZH", restore(alarm.KindTrouble)}, {"ZR", restore(alarm.KindTrouble)}, {"ZJ", restore(alarm.KindTrouble)},
	{"ZB", ev(alarm.KindBypass)}, {"ZU", restore(alarm.KindBypass)},
	{"ET", ev(alarm.KindTrouble)}, {"EM", ev(alarm.KindTrouble)},
	{"ER", restore(alarm.KindTrouble)}, {"EN", restore(alarm.KindTrouble)},
	{"IA", ev(alarm.KindTrouble)}, {"IR", restore(alarm.KindTrouble)},
	{"YA", ev(alarm.KindTrouble)}, {"YH", restore(alarm.KindTrouble)},
	{"YX", ev(alarm.KindTrouble)}, {"YF", ev(alarm.KindTrouble)}, {"YU", ev(alarm.KindTrouble)},
	{"YW", ev(alarm.KindTrouble)}, {"YZ", restore(alarm.KindTrouble)}, {"XX", ev(alarm.KindTrouble)},
	{"XQ", ev(alarm.KindTrouble)}, {"XH", restore(alarm.KindTrouble)},
	{"PF", ev(alarm.KindTrouble)}, {"PO", restore(alarm.KindTrouble)}, {"XC", restore(alarm.KindTrouble)},
}

func ev(k alarm.Kind) Event      { return Event{Kind: k} }
func restore(k alarm.Kind) Event { return Event{Kind: k, Restore: true} }
func evArea(k alarm.Kind) Event  { return Event{Kind: k, Area: true} }

// siaIndex is siaCodes indexed by the two upper-case letters, for a lookup
// without hashing or allocation.
var siaIndex = func() (t [26 * 26]Event) {
	for _, c := range siaCodes {
		i, ok := siaSlot(c.code)
		if !ok || t[i].Kind != "" {
			panic("sia: bad or duplicate code " + c.code)
		}
		t[i] = c.ev
	}
	return t
}()

func siaSlot(code string) (int, bool) {
	if len(code) != 2 || !isUpper(code[0]) || !isUpper(code[1]) {
		return 0, false
	}
	return int(code[0]-'A')*26 + int(code[1]-'A'), true
}

// LookupSIA returns what a SIA two-letter code means. Unknown codes give
// alarm.KindUnknown and false.
func LookupSIA(code string) (Event, bool) {
	if i, ok := siaSlot(code); ok && siaIndex[i].Kind != "" {
		return siaIndex[i], true
	}
	return Event{Kind: alarm.KindUnknown}, false
}

// cidCode is a Contact ID event code's SIA equivalent: the code for a new
// event (qualifier 1, and 6 for a condition still present) and for a
// restore (qualifier 3). The kind comes from the SIA code unless kind is
// set, for the Contact ID codes finer than SIA's (131 perimeter, 132
// interior, 134 entry/exit, 147 and 381 sensor supervision).
type cidCode struct {
	event   int
	new     string
	restore string
	kind    alarm.Kind
}

var cidCodes = []cidCode{
	// Medical, fire, panic, burglary (1xx)
	{100, "MA", "MH", ""}, {101, "QA", "QH", ""}, {102, "YC", "YK", ""},
	{110, "FA", "FH", ""}, {111, "FA", "FH", ""}, {112, "FA", "FH", ""}, {113, "SA", "SH", ""},
	{114, "KA", "KH", ""}, {115, "FA", "FH", ""}, {116, "FA", "FH", ""}, {117, "FA", "FH", ""},
	{118, "FA", "FH", ""},
	{120, "PA", "PH", ""}, {121, "HA", "HH", ""}, {122, "PA", "PH", ""}, {123, "PA", "PH", ""},
	{124, "HA", "HH", ""}, {125, "HA", "HH", ""},
	{130, "BA", "BH", ""}, {131, "BA", "BH", alarm.KindPerimeter}, {132, "BA", "BH", alarm.KindInterior},
	{133, "BA", "BH", ""}, {134, "BA", "BH", alarm.KindEntryExit}, {135, "BA", "BH", ""},
	{136, "BA", "BH", ""}, {137, "TA", "TR", ""}, {138, "BA", "BH", ""}, {139, "BA", "BH", ""},
	{140, "BA", "BH", ""}, {141, "ET", "ER", ""}, {142, "ET", "ER", ""}, {143, "ET", "ER", ""},
	{144, "TA", "TR", ""}, {145, "ES", "EJ", ""}, {146, "BA", "BH", ""},
	{147, "UY", "UJ", alarm.KindSensorOffline},
	{150, "UA", "UH", ""}, {151, "GA", "GH", ""}, {152, "ZA", "ZH", ""}, {153, "ZA", "ZH", ""},
	{154, "WA", "WH", ""}, {155, "BA", "BH", ""}, {156, "BT", "BJ", ""}, {157, "GT", "GJ", ""},
	{158, "KA", "KH", alarm.KindTrouble}, {159, "ZA", "ZH", ""}, {161, "UT", "UJ", ""},
	{162, "GA", "GH", ""},
	// Supervisory (2xx)
	{200, "FS", "FV", ""}, {201, "FS", "FV", ""}, {202, "FS", "FV", ""}, {203, "FS", "FV", ""},
	{204, "FS", "FV", ""}, {205, "FS", "FV", ""}, {206, "FS", "FV", ""},
	// Troubles (3xx)
	{300, "YX", "YZ", ""}, {301, "AT", "AR", ""}, {302, "YT", "YR", ""}, {303, "YF", "YZ", ""},
	{304, "YF", "YZ", ""}, {305, "YW", "YZ", ""}, {307, "YX", "YZ", ""}, {308, "YX", "YZ", ""},
	{309, "YT", "YR", ""}, {310, "YX", "YZ", ""}, {311, "YM", "YR", ""}, {312, "YI", "YJ", ""},
	{320, "YA", "YH", ""}, {321, "YA", "YH", ""}, {322, "YA", "YH", ""}, {323, "YA", "YH", ""},
	{324, "YA", "YH", ""}, {325, "YA", "YH", ""},
	{330, "ET", "ER", ""}, {331, "ET", "ER", ""}, {332, "ET", "ER", ""}, {333, "ET", "ER", ""},
	{334, "ET", "ER", ""}, {337, "ET", "ER", ""}, {338, "YT", "YR", ""}, {339, "ET", "ER", ""},
	{341, "ES", "EJ", ""}, {342, "AT", "AR", ""}, {343, "ET", "ER", ""}, {344, "XQ", "XH", ""},
	{350, "YC", "YK", ""}, {351, "LT", "LR", ""}, {352, "LT", "LR", ""}, {353, "YS", "YK", ""},
	{354, "YC", "YK", ""}, {355, "YS", "YK", ""}, {356, "YS", "YK", ""}, {357, "YS", "YK", ""},
	{370, "UT", "UJ", ""}, {371, "UT", "UJ", ""}, {372, "UT", "UJ", ""}, {373, "FT", "FJ", ""},
	{374, "EA", "ER", ""}, {375, "PT", "PJ", ""}, {376, "HT", "HJ", ""}, {377, "BD", "BE", ""},
	{378, "UT", "UJ", ""},
	{380, "UT", "UJ", ""}, {381, "UY", "UJ", alarm.KindSensorOffline},
	{382, "UY", "UJ", alarm.KindSensorOffline}, {383, "TA", "TR", ""}, {384, "XT", "XR", ""},
	{385, "FT", "FJ", ""}, {386, "FT", "FJ", ""}, {387, "BT", "BJ", ""}, {388, "BT", "BJ", ""},
	{389, "UT", "UJ", ""}, {391, "UT", "UJ", ""}, {392, "UT", "UJ", ""}, {393, "YX", "YZ", ""},
	// Open/close (4xx): qualifier 1 is an opening, 3 a closing.
	{400, "OP", "CL", ""}, {401, "OP", "CL", ""}, {402, "OP", "CL", ""}, {403, "OA", "CA", ""},
	{407, "OQ", "CQ", ""}, {408, "OP", "CL", ""}, {409, "OS", "CS", ""},
	{441, "OP", "CG", ""}, {442, "OS", "CG", ""}, {456, "OG", "CG", ""},
	{451, "OK", "CK", ""}, {452, "OJ", "CJ", ""}, {453, "OI", "OI", ""}, {454, "CI", "CI", ""},
	{455, "CI", "CI", ""}, {457, "EE", "EE", ""}, {461, "JA", "JC", ""}, {465, "PR", "PR", ""},
	{423, "DF", "DF", ""},
	// Bypass (5xx)
	{570, "BB", "BU", ""}, {571, "FB", "FU", ""}, {572, "UB", "UU", ""}, {573, "BB", "BU", ""},
	{574, "BB", "BU", ""}, {575, "BB", "BU", ""},
	// Tests (6xx)
	{601, "RX", "RX", ""}, {602, "RP", "RP", ""}, {603, "RP", "RP", ""}, {604, "FX", "FK", ""},
	{607, "TS", "TE", ""}, {608, "RY", "RY", ""}, {611, "TP", "TP", ""}, {612, "XX", "XX", ""},
	{613, "TP", "TP", ""}, {614, "TP", "TP", ""}, {615, "TP", "TP", ""},
}

var cidIndex = func() (t [1000]cidCode) {
	for _, c := range cidCodes {
		if t[c.event].new != "" {
			panic("sia: duplicate Contact ID code")
		}
		if _, ok := LookupSIA(c.new); !ok {
			panic("sia: Contact ID maps to unknown SIA code " + c.new)
		}
		if _, ok := LookupSIA(c.restore); !ok {
			panic("sia: Contact ID maps to unknown SIA code " + c.restore)
		}
		t[c.event] = c
	}
	return t
}()

// LookupCID returns the SIA two-letter code and the meaning of a Contact ID
// event (0–999) with its qualifier: '1' new event or opening, '3' restore
// or closing, '6' condition still present. Unknown events give
// CodeUndefined and alarm.KindUnknown.
func LookupCID(qualifier byte, event int) (string, Event, bool) {
	if event < 0 || event >= len(cidIndex) || cidIndex[event].new == "" {
		return CodeUndefined, Event{Kind: alarm.KindUnknown}, false
	}
	c := cidIndex[event]
	code := c.new
	if qualifier == '3' {
		code = c.restore
	}
	e, _ := LookupSIA(code)
	if c.kind != "" {
		e.Kind = c.kind
	}
	// A restore qualifier with a code that has no restore of its own
	// (a test, a cancel) stays what the code says.
	return code, e, true
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isLower(c byte) bool { return 'a' <= c && c <= 'z' }
