package sia

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/alarm"
)

// AppendReports appends the reports one decoded frame carries: one per
// event of a SIA-DCS block ("Nri1/BA01/BA02" has two), one for an ADM-CID
// event, one supervision report for a NULL frame. Data that cannot be read
// still yields one report with CodeUndefined and alarm.KindUnknown and the
// data as its text: a receiver must not throw away what a panel sent.
//
// Source, Account, Seq, Fingerprint and PanelTime are filled from the frame;
// ReceivedAt is left to the caller. Each report's fingerprint is the frame's
// (see Fingerprint), suffixed with "/n" for the n-th event after the first,
// so that (Account, Seq, Fingerprint) is unique per report within a frame
// and identical across the panel's retransmissions of that frame.
func AppendReports(dst []alarm.Report, f *Frame) []alarm.Report {
	first := len(dst)
	switch f.ID {
	case IDNULL:
		dst = append(dst, alarm.Report{Code: CodeSupervision, Kind: alarm.KindSupervision})
	case IDADMCID:
		dst = appendCID(dst, f.Data)
	default:
		dst = appendSIA(dst, f.Data)
	}
	if text := xdataText(f.ExtendedData); text != "" {
		for i := first; i < len(dst); i++ {
			dst[i].Text = joinText(dst[i].Text, text)
		}
	}
	fp := Fingerprint(f)
	var panelTime time.Time // zero when the frame has no timestamp
	if f.HasTimestamp {
		panelTime = f.Timestamp
	}
	// Accounts are hex digits, stored in upper case (alarm.Panel.Validate),
	// and a panel may send them in lower case: the accounts' keys are
	// found in any case, so the reports must name the stored panel too,
	// or a frame answered ACK would be stored as no one's.
	account := strings.ToUpper(f.Account)
	for i := first; i < len(dst); i++ {
		r := &dst[i]
		r.Source = alarm.SourceSIA
		r.Account = account
		r.Seq = f.Seq
		r.PanelTime = panelTime
		if n := i - first; n == 0 {
			r.Fingerprint = fp
		} else {
			r.Fingerprint = fp + "/" + strconv.Itoa(n)
		}
	}
	return dst
}

// Fingerprint is a digest of what makes a frame's content: account,
// sequence number, ID token and the decrypted data and extended data. It
// leaves out what changes when a panel retransmits the same event: the
// encryption padding, the timestamp, the R and L fields and the '*'.
// A sequence number reused after 9999 wraps to 0001 with other content
// gives another fingerprint, so the store keeps it as a new event.
func Fingerprint(f *Frame) string {
	var buf [512]byte
	b := buf[:0]
	b = append(b, f.Account...)
	b = append(b, 0)
	b = append(b, f.Seq...)
	b = append(b, 0)
	b = append(b, f.ID...)
	b = append(b, 0)
	b = append(b, f.Data...)
	for _, x := range f.ExtendedData {
		b = append(b, 0)
		b = append(b, x...)
	}
	sum := sha256.Sum256(b)
	// 128 bits: a collision would make the store drop an event as a
	// retransmission, so the digest stays cryptographic.
	var out [32]byte
	hex.Encode(out[:], sum[:16])
	return string(out[:])
}

// stripAccount removes a leading "#acct|" or "|" from a data block.
func stripAccount(d string) string {
	if len(d) > 0 && d[0] == '#' {
		if bar := strings.IndexByte(d, '|'); bar >= 0 {
			return d[bar+1:]
		}
		return "" // only an account
	}
	if len(d) > 0 && d[0] == '|' {
		return d[1:]
	}
	return d
}

// appendSIA decodes a SIA DC-03 data block as DC-09 carries it:
// "#acct|Nri1/BA01^Front door^/BA02|Afree text". After the function letter
// N come '/'-separated elements; lower-case pairs are modifiers (ri area,
// id user, ti time, pi peripheral) that hold for the events after them,
// upper-case pairs are events followed by their zone or user number and an
// optional ^name^. Real panels leave out the '/' between a modifier and the
// event ("Nri1CL0^VX FRONTE ^"), and that is accepted too.
func appendSIA(dst []alarm.Report, data string) []alarm.Report {
	first := len(dst)
	d := stripAccount(data)
	var extra string // text blocks after '|'
	block := d
	if bar := strings.IndexByte(d, '|'); bar >= 0 {
		block = d[:bar]
		for _, t := range strings.Split(d[bar+1:], "|") {
			if len(t) > 0 && t[0] == 'A' {
				t = t[1:]
			}
			extra = joinText(extra, strings.TrimSpace(t))
		}
	}
	switch {
	case len(block) > 0 && block[0] == 'A' && !looksLikeEvent(block):
		// A text-only block ("ASome text").
		extra = joinText(strings.TrimSpace(block[1:]), extra)
		block = ""
	case len(block) > 0 && (block[0] == 'N' || block[0] == 'O') && !looksLikeEvent(block):
		// The function letter: N new event, O old (buffered) event.
		// Panels that leave it out start with the code itself, and
		// "NL01" is then the code NL.
		block = block[1:]
	}

	var area, user string
	for len(block) > 0 {
		var elem string
		if slash := strings.IndexByte(block, '/'); slash >= 0 {
			elem, block = block[:slash], block[slash+1:]
		} else {
			elem, block = block, ""
		}
		for len(elem) > 0 {
			switch {
			case len(elem) >= 2 && isLower(elem[0]) && isLower(elem[1]):
				mod := elem[:2]
				i := 2
				for i < len(elem) && (isDigit(elem[i]) || elem[i] == ':') {
					i++
				}
				switch mod {
				case "ri":
					area = elem[2:i]
				case "id":
					user = elem[2:i]
				}
				elem = elem[i:]
				// A name of the area or user, "^name^", belongs to it.
				elem = skipCaret(elem)
			case len(elem) >= 2 && isUpper(elem[0]) && isUpper(elem[1]):
				code := elem[:2]
				i := 2
				for i < len(elem) && isDigit(elem[i]) {
					i++
				}
				number := elem[2:i]
				elem = elem[i:]
				var text string
				if len(elem) > 0 && elem[0] == '^' {
					if end := strings.IndexByte(elem[1:], '^'); end >= 0 {
						text = strings.TrimSpace(elem[1 : 1+end])
						elem = elem[2+end:]
					} else {
						text = strings.TrimSpace(elem[1:])
						elem = ""
					}
				}
				// What follows in the element is not a modifier or an
				// event the standard knows of; keep it as text.
				if len(elem) > 0 && !(len(elem) >= 2 && isLower(elem[0]) && isLower(elem[1])) {
					text = joinText(text, strings.TrimSpace(elem))
					elem = ""
				}
				e, _ := LookupSIA(code)
				r := alarm.Report{Code: code, Kind: e.Kind, Restore: e.Restore, Area: area, Zone: number, Text: text}
				if e.Area && area == "" {
					r.Area, r.Zone = number, ""
				}
				if r.Zone == "" && user != "" {
					r.Zone = user
				}
				dst = append(dst, r)
			default:
				// Not a modifier, not a code: text the panel added.
				extra = joinText(extra, strings.TrimSpace(elem))
				elem = ""
			}
		}
	}
	if len(dst) == first {
		text := extra
		if text == "" {
			text = strings.TrimSpace(data)
		}
		return append(dst, alarm.Report{Code: CodeUndefined, Kind: alarm.KindUnknown, Area: area, Zone: user, Text: text})
	}
	if extra != "" {
		for i := first; i < len(dst); i++ {
			dst[i].Text = joinText(dst[i].Text, extra)
		}
	}
	return dst
}

// looksLikeEvent reports whether s starts with an event code: two
// upper-case letters followed by the end, a number, a ^name^ or '/'.
func looksLikeEvent(s string) bool {
	if len(s) < 2 || !isUpper(s[0]) || !isUpper(s[1]) {
		return false
	}
	return len(s) == 2 || isDigit(s[2]) || s[2] == '^' || s[2] == '/' || s[2] == '|'
}

func skipCaret(s string) string {
	if len(s) > 0 && s[0] == '^' {
		if end := strings.IndexByte(s[1:], '^'); end >= 0 {
			return s[2+end:]
		}
		return ""
	}
	return s
}

// appendCID decodes an Ademco Contact ID block as DC-09 carries it:
// "#acct|QEEE GG ZZZ" (qualifier, event, area, zone or user). Panels vary
// the spacing, and some write E/R for the qualifiers 1/3; both are
// accepted. Anything after the zone is kept as text.
func appendCID(dst []alarm.Report, data string) []alarm.Report {
	d := strings.TrimSpace(stripAccount(data))
	r, ok := parseCID(d)
	if !ok {
		return append(dst, alarm.Report{Code: CodeUndefined, Kind: alarm.KindUnknown, Text: strings.TrimSpace(data)})
	}
	return append(dst, r)
}

func parseCID(d string) (alarm.Report, bool) {
	if len(d) < 4 {
		return alarm.Report{}, false
	}
	q := d[0]
	switch q {
	case 'E':
		q = '1'
	case 'R':
		q = '3'
	case '1', '3', '6':
	default:
		return alarm.Report{}, false
	}
	if !isDigit(d[1]) || !isDigit(d[2]) || !isDigit(d[3]) {
		return alarm.Report{}, false
	}
	event := int(d[1]-'0')*100 + int(d[2]-'0')*10 + int(d[3]-'0')
	rest := d[4:]
	area, rest := cidField(rest, 2)
	zone, rest := cidField(rest, 3)
	code, e, known := LookupCID(q, event)
	r := alarm.Report{Code: code, Kind: e.Kind, Restore: e.Restore, Area: area, Zone: zone, Text: strings.TrimSpace(rest)}
	if !known {
		// The Contact ID event is the only information there is.
		r.Text = joinText(d[:len(d)-len(rest)], r.Text)
	}
	return r, true
}

// cidField reads up to n digits after optional blanks.
func cidField(s string, n int) (string, string) {
	s = strings.TrimLeft(s, " ")
	i := 0
	for i < len(s) && i < n && isAlnum(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// xdataText returns the alarm text of the extended data ([I…], DC-09
// "Alarm Text"), the one extended field an operator needs to read.
func xdataText(x []string) string {
	var text string
	for _, f := range x {
		if len(f) > 1 && f[0] == 'I' {
			text = joinText(text, strings.TrimSpace(f[1:]))
		}
	}
	return text
}

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}
