// Package pii protects personal data: it encrypts ID and phone numbers at
// rest, derives a keyed index so they can still be found and kept unique,
// and masks them for readers whose role does not need the whole number.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of the master key: AES-256.
const KeySize = 32

// prefix marks the format of a sealed value so it can change later.
const prefix = "v1:"

// Cipher seals and opens personal data with keys derived from one master
// key: one for AES-GCM, one for the HMAC index.
type Cipher struct {
	aead     cipher.AEAD
	indexKey []byte
}

// New returns a Cipher for a 32-byte master key.
func New(master []byte) (*Cipher, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("pii: key must be %d bytes, got %d", KeySize, len(master))
	}
	encKey := derive(master, "shequ pii encryption")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return &Cipher{aead: aead, indexKey: derive(master, "shequ pii index")}, nil
}

func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// ParseKey reads a master key written as 64 hex digits or as standard
// base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, errors.New("pii: key must be 64 hex digits or base64 of 32 bytes")
}

// LoadOrCreateKeyFile reads the key in path, or writes a new random key
// there (mode 0600) when the file does not exist.
func LoadOrCreateKeyFile(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := ParseKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key file: %w", err)
	}
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return k, true, f.Sync()
}

// Seal encrypts s; the empty string stays empty so "not given" needs no key.
func (c *Cipher) Seal(s string) string {
	if s == "" {
		return ""
	}
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	out := c.aead.Seal(nonce, nonce, []byte(s), nil)
	return prefix + base64.RawStdEncoding.EncodeToString(out)
}

// Open decrypts what Seal returned.
func (c *Cipher) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	if !strings.HasPrefix(sealed, prefix) {
		return "", errors.New("pii: value is not sealed")
	}
	raw, err := base64.RawStdEncoding.DecodeString(sealed[len(prefix):])
	if err != nil || len(raw) < c.aead.NonceSize() {
		return "", errors.New("pii: sealed value is corrupt")
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errors.New("pii: cannot decrypt (wrong key?)")
	}
	return string(plain), nil
}

// Index returns a keyed hash of s for equality look-ups and uniqueness,
// "" for "". Spaces, dashes and case do not change it.
func (c *Cipher) Index(s string) string {
	s = Normalize(s)
	if s == "" {
		return ""
	}
	m := hmac.New(sha256.New, c.indexKey)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// Normalize drops spaces and dashes and upper-cases s.
func Normalize(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s)))
}

// Mask hides the middle of a number, keeping enough to tell numbers apart
// on a list: 4 characters on each side of an ID number, 3 and 4 of a phone.
func Mask(s string) string {
	r := []rune(s)
	var keepHead, keepTail int
	switch {
	case len(r) == 0:
		return ""
	case len(r) >= 15:
		keepHead, keepTail = 4, 4
	case len(r) >= 8:
		keepHead, keepTail = 3, 4
	default:
		keepHead, keepTail = 0, min(2, len(r)-1)
	}
	return string(r[:keepHead]) + strings.Repeat("*", len(r)-keepHead-keepTail) + string(r[len(r)-keepTail:])
}
