package sia

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// ParseKey reads an account's AES key as it is written in panel manuals and
// configuration files: 32, 48 or 64 hex digits (AES-128/192/256), or 16, 24
// or 32 ASCII characters used as the key bytes themselves (pysiaalarm and
// Home Assistant, some Ajax and Hikvision menus). A 32-character string of
// hex digits is ambiguous; it is read as hex (AES-128), the form DC-09 and
// most panels use. The prefixes "hex:" and "ascii:" force either reading.
func ParseKey(s string) ([]byte, error) {
	form := ""
	if rest, ok := strings.CutPrefix(s, "hex:"); ok {
		s, form = rest, "hex"
	} else if rest, ok := strings.CutPrefix(s, "ascii:"); ok {
		s, form = rest, "ascii"
	}
	if form != "ascii" && (len(s) == 32 || len(s) == 48 || len(s) == 64) {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
		if form == "hex" {
			return nil, errors.New("sia: key is not hex")
		}
	}
	if form == "hex" {
		return nil, errors.New("sia: a hex key has 32, 48 or 64 digits")
	}
	if len(s) != 16 && len(s) != 24 && len(s) != 32 {
		return nil, errors.New("sia: a key is 32, 48 or 64 hex digits or 16, 24 or 32 characters")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return nil, errors.New("sia: a character key must be printable ASCII")
		}
	}
	return []byte(s), nil
}

// NewCipher returns the AES block cipher for a key from ParseKey.
func NewCipher(key []byte) (cipher.Block, error) { return aes.NewCipher(key) }

// Decrypt decrypts an encrypted frame's Cipher with the account's block
// cipher and fills Data, ExtendedData and Timestamp from the plaintext. The
// plaintext is pseudo-random padding, '|', then the same content a plain
// frame carries after '['. An error wraps ErrUnprocessable: the ciphertext
// is malformed or the key is wrong. A plaintext without a valid timestamp is
// not an error here; the caller answers NAK for it.
func (f *Frame) Decrypt(block cipher.Block) error {
	c := f.Cipher
	if len(c) == 0 || len(c)%(2*aes.BlockSize) != 0 {
		return unprocessable("ciphertext is not whole AES blocks")
	}
	// An exact-size buffer: a stack array would escape through the
	// cipher.Block interface and cost a large allocation instead.
	buf := make([]byte, len(c)/2)
	for i := range buf {
		hi, ok1 := hexVal(c[2*i])
		lo, ok2 := hexVal(c[2*i+1])
		if !ok1 || !ok2 {
			return unprocessable("ciphertext is not hex")
		}
		buf[i] = hi<<4 | lo
	}
	decryptCBC(block, buf)

	// The padding ends at the first '|' (DC-09 excludes '|', '[' and ']'
	// from padding). Some transmitters leave the '|' out, notably in NULL
	// frames ("ppp…p]_time"): then everything up to the first ']' is
	// padding and the data is empty. That form is taken only as such a
	// frame, text padding and then the timestamp encrypted frames must
	// carry: random bytes from a wrong key often end in "]" and would
	// otherwise pass for a frame without a timestamp (answered NAK, not
	// DUH; see TestDecryptRefusesWrongKeys).
	var plain []byte
	if bar := bytes.IndexByte(buf, '|'); bar >= 0 {
		plain = buf[bar+1:]
	} else if br := bytes.IndexByte(buf, ']'); br >= 0 && isText(buf[:br]) && bytes.HasPrefix(buf[br:], []byte("]_")) {
		plain = buf[br:]
	} else {
		return unprocessable("cannot decrypt: no padding separator (wrong key?)")
	}
	// A wrong key yields random bytes; the real content is text (UTF-8:
	// random high bytes seldom are).
	if !isText(plain) {
		return unprocessable("cannot decrypt: plaintext is not text (wrong key?)")
	}
	if bytes.IndexByte(plain, ']') < 0 {
		return unprocessable("cannot decrypt: no end of data (wrong key?)")
	}
	f.Data, f.ExtendedData, f.Timestamp, f.HasTimestamp = "", nil, time.Time{}, false
	parseContent(f, string(plain))
	return nil
}

// isText tells whether b is UTF-8 without control characters.
func isText(b []byte) bool {
	for _, ch := range b {
		if ch < 0x20 || ch == 0x7F {
			return false
		}
	}
	return utf8.Valid(b)
}

// decryptCBC decrypts b in place with an all-zero IV. It is written out
// rather than using cipher.NewCBCDecrypter to avoid an allocation per frame.
func decryptCBC(block cipher.Block, b []byte) {
	var prev, cur [aes.BlockSize]byte
	for i := 0; i+aes.BlockSize <= len(b); i += aes.BlockSize {
		blk := b[i : i+aes.BlockSize]
		copy(cur[:], blk)
		block.Decrypt(blk, blk)
		for j := range blk {
			blk[j] ^= prev[j]
		}
		prev = cur
	}
}

// encryptCBC encrypts b in place with an all-zero IV; len(b) is a multiple
// of the block size.
func encryptCBC(block cipher.Block, b []byte) {
	var prev [aes.BlockSize]byte
	for i := 0; i+aes.BlockSize <= len(b); i += aes.BlockSize {
		blk := b[i : i+aes.BlockSize]
		for j := range blk {
			blk[j] ^= prev[j]
		}
		block.Encrypt(blk, blk)
		copy(prev[:], blk)
	}
}

// AppendEncrypted appends the upper-case hex of content encrypted the DC-09
// way: 1 to 16 random padding characters, '|', content, the total a
// multiple of 16 bytes, AES-CBC with a zero IV. content is what follows '['
// in a plain frame, e.g. "#1234|Nri1/BA01]_12:00:00,01-31-2026" or, for an
// acknowledgement, "]_12:00:00,01-31-2026".
func AppendEncrypted(dst []byte, block cipher.Block, content []byte) []byte {
	n := len(content) + 1 // '|'
	pad := aes.BlockSize - n%aes.BlockSize
	buf := make([]byte, pad+n) // exact size, see Decrypt
	fillPadding(buf[:pad])
	buf[pad] = '|'
	copy(buf[pad+1:], content)
	encryptCBC(block, buf)
	const digits = "0123456789ABCDEF"
	for _, b := range buf {
		dst = append(dst, digits[b>>4], digits[b&0xF])
	}
	return dst
}

// fillPadding fills p with random printable characters other than '|', '['
// and ']'. With a zero IV the random first block is what makes two
// encryptions of the same content differ, so the randomness comes from
// crypto/rand.
func fillPadding(p []byte) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+-" // 64: no modulo bias
	_, _ = rand.Read(p)                                                                 // never fails (Go 1.24+)
	for i, b := range p {
		p[i] = alphabet[b&63]
	}
}
