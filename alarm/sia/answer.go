package sia

import (
	"crypto/cipher"
	"time"
)

// AppendACK appends the positive acknowledgement of f, framed (LF CRC 0LLL
// … CR): "ACK"seqRrrrLppp#acct[] echoing the R and L fields as received (R
// left out when the frame had none, L0 when it had no L). When block is not
// nil the frame was encrypted and the answer is "*ACK" with "]_timestamp"
// encrypted under the same key, as DC-09 requires.
func AppendACK(dst []byte, f *Frame, block cipher.Block, now time.Time) []byte {
	dst, at := beginAnswer(dst, f)
	if block != nil {
		dst = append(dst, `"*ACK"`...)
	} else {
		dst = append(dst, `"ACK"`...)
	}
	dst = appendAddress(dst, f)
	dst = append(dst, '[')
	if block != nil {
		var stack [32]byte
		content := appendTimestamp(append(stack[:0], ']'), now)
		dst = AppendEncrypted(dst, block, content)
	} else {
		dst = append(dst, ']')
	}
	return endAnswer(dst, at, f.BinaryCRC)
}

// AppendNAK appends the negative acknowledgement sent when a frame fails the
// timestamp test: "NAK"0000R0L0A0[]_HH:MM:SS,MM-DD-YYYY with the receiver's
// UTC time, so that the panel can set its clock. It is never encrypted. f
// may be nil.
func AppendNAK(dst []byte, f *Frame, now time.Time) []byte {
	dst, at := beginAnswer(dst, f)
	dst = append(dst, `"NAK"0000R0L0A0[]`...)
	dst = appendTimestamp(dst, now)
	return endAnswer(dst, at, f != nil && f.BinaryCRC)
}

// AppendDUH appends the answer to an intact frame that cannot be processed:
// "DUH"seqRrrrLppp#acct[], addressed like an ACK and never encrypted (the
// frame may come from an account whose key is unknown).
func AppendDUH(dst []byte, f *Frame) []byte {
	dst, at := beginAnswer(dst, f)
	dst = append(dst, `"DUH"`...)
	dst = appendAddress(dst, f)
	dst = append(dst, "[]"...)
	return endAnswer(dst, at, f.BinaryCRC)
}

// appendAddress appends seq, R, L and #acct as the frame had them.
func appendAddress(dst []byte, f *Frame) []byte {
	dst = append(dst, f.Seq...)
	if f.HasReceiver {
		dst = append(dst, 'R')
		dst = append(dst, f.Receiver...)
	}
	dst = append(dst, 'L')
	if f.HasLine {
		dst = append(dst, f.Line...)
	} else {
		// L is mandatory in DC-09; a panel that left it out gets L0.
		dst = append(dst, '0')
	}
	dst = append(dst, '#')
	return append(dst, f.Account...)
}

// beginAnswer appends LF and room for the CRC and length, returning where
// the header starts.
func beginAnswer(dst []byte, f *Frame) ([]byte, int) {
	dst = append(dst, '\n')
	at := len(dst)
	if f != nil && f.BinaryCRC {
		return append(dst, 0, 0, '0', '0', '0', '0'), at
	}
	return append(dst, '0', '0', '0', '0', '0', '0', '0', '0'), at
}

// endAnswer fills in the CRC and length of the body after the header at
// at, and appends CR. Panels that sent the CRC as two raw bytes get theirs
// the same way.
func endAnswer(dst []byte, at int, binary bool) []byte {
	hdr := 8
	if binary {
		hdr = 6
	}
	body := dst[at+hdr:]
	crc := CRC16(body)
	h := dst[at : at+hdr]
	if binary {
		h[0], h[1] = byte(crc>>8), byte(crc)
		putHex(h[2:6], uint16(len(body)))
	} else {
		putHex(h[0:4], crc)
		putHex(h[4:8], uint16(len(body)))
	}
	return append(dst, '\r')
}

func putHex(dst []byte, v uint16) {
	const digits = "0123456789ABCDEF"
	dst[0] = digits[v>>12&0xF]
	dst[1] = digits[v>>8&0xF]
	dst[2] = digits[v>>4&0xF]
	dst[3] = digits[v&0xF]
}

// AppendFrame appends a complete frame around body (which starts with the
// '"' of the ID token): LF, CRC, 0LLL, body, CR. Panel simulators and tests
// use it.
func AppendFrame(dst []byte, body []byte) []byte {
	dst = append(dst, '\n')
	var h [8]byte
	putHex(h[0:4], CRC16(body))
	putHex(h[4:8], uint16(len(body)))
	dst = append(dst, h[:]...)
	dst = append(dst, body...)
	return append(dst, '\r')
}
