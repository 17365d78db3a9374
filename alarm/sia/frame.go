package sia

import (
	"errors"
	"strings"
	"time"
)

// The ID tokens this receiver processes. Frames with any other token are
// intact but unprocessable and get a DUH.
const (
	IDSIADCS = "SIA-DCS"
	IDADMCID = "ADM-CID"
	IDNULL   = "NULL"
)

// MaxBody is the largest frame body (from the first '"' through the
// timestamp) the length field can describe: 0LLL has three hex digits.
const MaxBody = 0xFFF

// maxFrame bounds one frame on the wire: LF, CRC, length, body, CR, with
// some slack for the whitespace lenient parsing tolerates.
const maxFrame = 1 + 4 + 4 + MaxBody + 1 + 16

// Bounds on header fields, which answers echo. DC-09 says 4 digits, 1–6
// hex digits and 3–16 characters; a little slack keeps odd panels working
// while a frame of digits is not echoed back.
const (
	maxSeq     = 8
	maxPrefix  = 8
	maxAccount = 32
)

// ErrCorrupt classifies frames that must get no answer at all: a bad CRC, a
// bad length, or a shape from which no answer could be addressed. A corrupt
// frame may be the tail of another panel's frame or line noise; the panel
// that sent it retransmits when no answer comes.
var ErrCorrupt = errors.New("sia: corrupt frame")

// ErrUnprocessable classifies intact frames this receiver cannot process
// (unknown ID token, unknown account, undecryptable content). They are
// answered with DUH; the header fields of the frame are valid for that.
var ErrUnprocessable = errors.New("sia: frame cannot be processed")

// FrameError says why a frame was refused. Class is ErrCorrupt or
// ErrUnprocessable, so errors.Is works on it.
type FrameError struct {
	Class  error
	Reason string
}

func (e *FrameError) Error() string { return e.Class.Error() + ": " + e.Reason }
func (e *FrameError) Unwrap() error { return e.Class }

func corrupt(reason string) error { return &FrameError{Class: ErrCorrupt, Reason: reason} }
func unprocessable(reason string) error {
	return &FrameError{Class: ErrUnprocessable, Reason: reason}
}

// Frame is one SIA DC-09 frame as received. String fields are substrings of
// one copy of the frame (or of its plaintext), so parsing allocates little.
type Frame struct {
	Raw string // the frame without LF, CR and surrounding whitespace

	CRC        uint16 // as sent
	Length     int    // as sent
	BinaryCRC  bool   // CRC sent as two raw bytes instead of four hex digits (Lupusec)
	CRIncluded bool   // CRC and length counted the trailing CR too (Eldes)

	ID          string // "SIA-DCS", "ADM-CID", "NULL", or what the panel sent; without '*'
	Encrypted   bool   // the ID token started with '*'
	Seq         string // sequence number as sent, normally 4 digits
	Receiver    string // R field without the 'R'
	HasReceiver bool
	Line        string // L field without the 'L' ("" for "L#")
	HasLine     bool
	Account     string // header account; for plain frames without one, the account in the data

	// Data is the message data between '[' and the first ']' (for an
	// encrypted frame, after Decrypt), e.g. "#1234|Nri1/BA01".
	Data string
	// ExtendedData holds the extended data fields, each without its
	// brackets, e.g. "X006E07.7777777". Nil when there are none.
	ExtendedData []string
	Timestamp    time.Time // UTC, from _HH:MM:SS,MM-DD-YYYY
	HasTimestamp bool

	// Cipher is the hex ciphertext of an encrypted frame: everything after
	// '[' up to the end.
	Cipher string
}

// Parse reads one frame: the bytes between LF and CR. It is lenient about
// what real panels send: a missing leading LF, surrounding whitespace or NUL
// bytes, lower-case hex, no R field, an empty or missing L field, no header
// account (plain frames), the CRC as two raw bytes, and CRC and length that
// include the trailing CR.
//
// A returned error wraps ErrCorrupt (answer nothing) or ErrUnprocessable
// (answer DUH; the returned frame's header is then usable). Encrypted frames
// are returned with Cipher set; Decrypt fills in their data.
func Parse(b []byte) (Frame, error) {
	var f Frame
	if len(b) > 0 && b[0] == '\n' {
		b = b[1:]
	}
	for len(b) > 0 && isFiller(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	// The header is CRC (4 hex or 2 raw bytes) and length (4 hex); the
	// body starts at the '"'. Look for the binary form before trimming the
	// front: its raw CRC bytes may be anything, whitespace included.
	hdr := 0
	switch {
	case len(b) > 8 && b[8] == '"':
		hdr = 8
	case len(b) > 6 && b[6] == '"' && b[2] == '0':
		hdr = 6
		f.BinaryCRC = true
	default:
		for len(b) > 0 && isFiller(b[0]) {
			b = b[1:]
		}
		if len(b) > 8 && b[8] == '"' {
			hdr = 8
		}
	}
	if hdr == 0 {
		return f, corrupt("no header")
	}
	length, ok := parseHex(b[hdr-4 : hdr])
	if !ok {
		return f, corrupt("length is not hex")
	}
	f.Length = length
	if f.BinaryCRC {
		f.CRC = uint16(b[0])<<8 | uint16(b[1])
	} else {
		c, ok := parseHex(b[:4])
		if !ok {
			return f, corrupt("CRC is not hex")
		}
		f.CRC = uint16(c)
	}
	body := b[hdr:]
	if len(body) > MaxBody+1 {
		return f, corrupt("frame too long")
	}
	crc := CRC16(body)
	switch {
	case length == len(body) && crc == f.CRC:
	case length == len(body)+1 && crcUpdate(crc, crLF[:1]) == f.CRC:
		// Some panels (Eldes) count the terminating CR in both.
		f.CRIncluded = true
	case length != len(body) && length != len(body)+1:
		return f, corrupt("length mismatch")
	default:
		return f, corrupt("CRC mismatch")
	}

	// One copy for all string fields.
	s := string(b)
	f.Raw = s
	p := s[hdr:]

	// "id" or "*id"
	q := strings.IndexByte(p[1:], '"')
	if q < 0 {
		return f, corrupt("unterminated ID token")
	}
	id := p[1 : 1+q]
	i := 2 + q
	if len(id) > 0 && id[0] == '*' {
		f.Encrypted = true
		id = id[1:]
	}
	f.ID = id

	start := i
	for i < len(p) && isDigit(p[i]) {
		i++
	}
	if i == start || i-start > maxSeq {
		return f, corrupt("no sequence number")
	}
	f.Seq = p[start:i]

	if i < len(p) && (p[i] == 'R' || p[i] == 'r') {
		i++
		start = i
		for i < len(p) && isHexDigit(p[i]) {
			i++
		}
		f.Receiver, f.HasReceiver = p[start:i], true
		if i-start > maxPrefix {
			return f, corrupt("receiver number too long")
		}
	}
	if i < len(p) && (p[i] == 'L' || p[i] == 'l') {
		i++
		start = i
		for i < len(p) && isHexDigit(p[i]) {
			i++
		}
		f.Line, f.HasLine = p[start:i], true
		if i-start > maxPrefix {
			return f, corrupt("line prefix too long")
		}
	}
	if i < len(p) && p[i] == '#' {
		i++
		start = i
		for i < len(p) && isAlnum(p[i]) {
			i++
		}
		f.Account = p[start:i]
		if i-start > maxAccount {
			return f, corrupt("account too long")
		}
	}
	if i >= len(p) || p[i] != '[' {
		return f, corrupt("no data block")
	}
	rest := p[i+1:]

	if f.Encrypted {
		f.Cipher = rest
	} else {
		parseContent(&f, rest)
		if f.Account == "" {
			f.Account = dataAccount(f.Data)
		}
	}
	switch id {
	case IDSIADCS, IDADMCID, IDNULL:
	default:
		return f, unprocessable("unknown ID token " + quoteShort(id))
	}
	return f, nil
}

// parseContent splits "data]" "[xdata]"… "_timestamp" into f. It is
// lenient: a missing ']' makes everything before a trailing timestamp the
// data, and a malformed timestamp is treated as none.
func parseContent(f *Frame, rest string) {
	k := strings.IndexByte(rest, ']')
	if k < 0 {
		if n := len(rest) - tsLen - 1; n >= 0 && rest[n] == '_' {
			if t, ok := parseTimestamp(rest[n+1:]); ok {
				f.Data, f.Timestamp, f.HasTimestamp = rest[:n], t, true
				return
			}
		}
		f.Data = rest
		return
	}
	f.Data = rest[:k]
	r := rest[k+1:]
	for len(r) > 0 && r[0] == '[' {
		e := strings.IndexByte(r, ']')
		if e < 0 {
			break
		}
		f.ExtendedData = append(f.ExtendedData, r[1:e])
		r = r[e+1:]
	}
	if len(r) > 0 && r[0] == '_' {
		f.Timestamp, f.HasTimestamp = parseTimestamp(r[1:])
	}
}

// dataAccount returns the account of a "#acct|…" data block, or "".
func dataAccount(data string) string {
	if len(data) < 2 || data[0] != '#' {
		return ""
	}
	i := 1
	for i < len(data) && isAlnum(data[i]) {
		i++
	}
	if i < len(data) && data[i] != '|' {
		return ""
	}
	return data[1:i]
}

// tsLen is the length of HH:MM:SS,MM-DD-YYYY.
const tsLen = 19

// parseTimestamp reads HH:MM:SS,MM-DD-YYYY (UTC). It allocates nothing.
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) != tsLen || s[2] != ':' || s[5] != ':' || s[8] != ',' || s[11] != '-' || s[14] != '-' {
		return time.Time{}, false
	}
	hh, ok1 := atoi2(s[0:2])
	mi, ok2 := atoi2(s[3:5])
	ss, ok3 := atoi2(s[6:8])
	mo, ok4 := atoi2(s[9:11])
	dd, ok5 := atoi2(s[12:14])
	y1, ok6 := atoi2(s[15:17])
	y2, ok7 := atoi2(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7) {
		return time.Time{}, false
	}
	if hh > 23 || mi > 59 || ss > 59 || mo < 1 || mo > 12 || dd < 1 || dd > 31 {
		return time.Time{}, false
	}
	t := time.Date(y1*100+y2, time.Month(mo), dd, hh, mi, ss, 0, time.UTC)
	if t.Day() != dd { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

// appendTimestamp appends _HH:MM:SS,MM-DD-YYYY for t in UTC.
func appendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append(dst, '_')
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	dst = append2(dst, s)
	dst = append(dst, ',')
	dst = append2(dst, int(mo))
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, '-')
	dst = append2(dst, y/100%100)
	dst = append2(dst, y%100)
	return dst
}

func append2(dst []byte, n int) []byte { return append(dst, byte('0'+n/10), byte('0'+n%10)) }

func atoi2(s string) (int, bool) {
	if !isDigit(s[0]) || !isDigit(s[1]) {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// CRC16 is CRC-16/ARC (polynomial 0x8005 reflected as 0xA001, initial value
// 0, no final xor), which DC-09 takes from DC-07.
func CRC16(b []byte) uint16 { return crcUpdate(0, b) }

var crcTable = func() (t [256]uint16) {
	for i := range t {
		c := uint16(i)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0xA001
			} else {
				c >>= 1
			}
		}
		t[i] = c
	}
	return t
}()

func crcUpdate(crc uint16, b []byte) uint16 {
	for _, c := range b {
		crc = crc>>8 ^ crcTable[byte(crc)^c]
	}
	return crc
}

var crLF = [2]byte{'\r', '\n'}

func parseHex(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		v, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		n = n<<4 | int(v)
	}
	return n, true
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func isDigit(c byte) bool    { return '0' <= c && c <= '9' }
func isHexDigit(c byte) bool { _, ok := hexVal(c); return ok }
func isAlnum(c byte) bool {
	return isDigit(c) || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// isFiller reports bytes tolerated around a frame: line ends, NUL padding
// (ioBroker.sia issue 19 shows a NUL after the CR) and blanks.
func isFiller(c byte) bool {
	return c == '\r' || c == '\n' || c == 0 || c == ' ' || c == '\t'
}

// quoteShort quotes s for a log or error message, cut to a sane length.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return "\"" + s + "\""
}
