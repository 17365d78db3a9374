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
	"sync"
	"sync/atomic"
	"time"
)

// KeySize is the size of a master key: AES-256.
const KeySize = 32

// Formats of a sealed value. "v1:" values were sealed before keys had
// identifiers (by the deployment's first key); "v2:ID:" values name the
// key that sealed them, so a rotation knows what is left to do.
const (
	prefixV1 = "v1:"
	prefixV2 = "v2:"
)

// key is one master key and what is derived from it.
type key struct {
	id       string
	aead     cipher.AEAD
	indexKey []byte
}

// ring is the keys a Cipher knows: the first seals, all open.
type ring struct {
	keys []*key
	byID map[string]*key
}

// Cipher seals and opens personal data with keys derived from master keys:
// for each, one for AES-GCM and one for the HMAC index. It holds a ring of
// master keys: the first (the current key) seals and indexes, every one
// opens, so a key can be rotated while the data is re-sealed in batches.
type Cipher struct {
	r atomic.Pointer[ring]

	reloadMu   sync.Mutex
	reload     func() ([][]byte, error)
	lastReload time.Time
}

// New returns a Cipher for one 32-byte master key.
func New(master []byte) (*Cipher, error) { return NewRing(master) }

// NewRing returns a Cipher for master keys, the current one first.
func NewRing(masters ...[]byte) (*Cipher, error) {
	c := &Cipher{}
	if err := c.SetKeys(masters...); err != nil {
		return nil, err
	}
	return c, nil
}

// SetKeys replaces the ring: the first key seals from now on.
func (c *Cipher) SetKeys(masters ...[]byte) error {
	if len(masters) == 0 {
		return errors.New("pii: no key")
	}
	r := &ring{byID: map[string]*key{}}
	for _, m := range masters {
		k, err := newKey(m)
		if err != nil {
			return err
		}
		if r.byID[k.id] != nil {
			continue
		}
		r.keys = append(r.keys, k)
		r.byID[k.id] = k
	}
	c.r.Store(r)
	return nil
}

// SetReload gives a function that reads the keys again (from the key
// file): when a value names a key the ring lacks — another process
// rotated the key — the Cipher reloads, at most once a second.
func (c *Cipher) SetReload(fn func() ([][]byte, error)) {
	c.reloadMu.Lock()
	c.reload = fn
	c.reloadMu.Unlock()
}

// Reload reads the keys again with the function SetReload gave, if any.
func (c *Cipher) Reload() error {
	c.reloadMu.Lock()
	fn := c.reload
	c.reloadMu.Unlock()
	if fn == nil {
		return nil
	}
	keys, err := fn()
	if err != nil {
		return err
	}
	return c.SetKeys(keys...)
}

func (c *Cipher) tryReload() bool {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	if c.reload == nil || time.Since(c.lastReload) < time.Second {
		return false
	}
	c.lastReload = time.Now()
	keys, err := c.reload()
	if err != nil {
		return false
	}
	return c.SetKeys(keys...) == nil
}

func newKey(master []byte) (*key, error) {
	if len(master) != KeySize {
		return nil, fmt.Errorf("pii: key must be %d bytes, got %d", KeySize, len(master))
	}
	block, err := aes.NewCipher(derive(master, "shequ pii encryption"))
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("pii: %w", err)
	}
	return &key{id: KeyID(master), aead: aead, indexKey: derive(master, "shequ pii index")}, nil
}

// KeyID names a master key without revealing it: 8 hex digits of a hash.
func KeyID(master []byte) string {
	return hex.EncodeToString(derive(master, "shequ pii key id"))[:8]
}

func derive(master []byte, label string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(label))
	return m.Sum(nil)
}

// Current returns the identifier of the key that seals.
func (c *Cipher) Current() string { return c.r.Load().keys[0].id }

// KeyIDs returns the identifiers of the keys in the ring, current first.
func (c *Cipher) KeyIDs() []string {
	var out []string
	for _, k := range c.r.Load().keys {
		out = append(out, k.id)
	}
	return out
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

// ParseKeys reads keys separated by commas or line ends, the current one
// first; lines beginning with '#' are comments.
func ParseKeys(s string) ([][]byte, error) {
	var out [][]byte
	for _, line := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		for _, field := range strings.Split(line, ",") {
			if field = strings.TrimSpace(field); field == "" {
				continue
			}
			k, err := ParseKey(field)
			if err != nil {
				return nil, err
			}
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("pii: no key given")
	}
	return out, nil
}

// FormatKeys writes keys as a key file: one hex key a line, current first.
func FormatKeys(keys [][]byte) []byte {
	var b strings.Builder
	b.WriteString("# shequ personal-data keys: the first seals, all open. Keep this file with the backups.\n")
	for _, k := range keys {
		b.WriteString(hex.EncodeToString(k) + "\n")
	}
	return []byte(b.String())
}

// LoadKeyFile reads the keys of a key file, the current one first.
func LoadKeyFile(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	keys, err := ParseKeys(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys, nil
}

// WriteKeyFile replaces the key file at path whole (mode 0600).
func WriteKeyFile(path string, keys [][]byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if _, err := f.Write(FormatKeys(keys)); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// LoadOrCreateKeyFile reads the keys in path, or writes a new random key
// there (mode 0600) when the file does not exist.
func LoadOrCreateKeyFile(path string) ([][]byte, bool, error) {
	keys, err := LoadKeyFile(path)
	if err == nil {
		return keys, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	k := NewKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("create key file: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteString(hex.EncodeToString(k) + "\n"); err != nil {
		return nil, false, fmt.Errorf("write key file: %w", err)
	}
	return [][]byte{k}, true, f.Sync()
}

// NewKey returns a new random master key.
func NewKey() []byte {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return k
}

// Seal encrypts s under the current key; the empty string stays empty so
// "not given" needs no key.
func (c *Cipher) Seal(s string) string {
	if s == "" {
		return ""
	}
	k := c.r.Load().keys[0]
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	out := k.aead.Seal(nonce, nonce, []byte(s), nil)
	return prefixV2 + k.id + ":" + base64.RawStdEncoding.EncodeToString(out)
}

// SealedBy returns the identifier of the key that sealed a value, "" for
// an empty value and "v1" for a value of the first format, which does not
// say (it was sealed by the deployment's first key).
func SealedBy(sealed string) string {
	switch {
	case sealed == "":
		return ""
	case strings.HasPrefix(sealed, prefixV2) && len(sealed) > len(prefixV2)+9 && sealed[len(prefixV2)+8] == ':':
		return sealed[len(prefixV2) : len(prefixV2)+8]
	}
	return "v1"
}

// Open decrypts what Seal returned, under whichever key of the ring
// sealed it.
func (c *Cipher) Open(sealed string) (string, error) {
	if sealed == "" {
		return "", nil
	}
	switch {
	case strings.HasPrefix(sealed, prefixV2):
		id := SealedBy(sealed)
		if id == "v1" {
			return "", errors.New("pii: sealed value is corrupt")
		}
		k := c.r.Load().byID[id]
		if k == nil && c.tryReload() {
			k = c.r.Load().byID[id]
		}
		if k == nil {
			return "", fmt.Errorf("pii: value sealed with key %s, which is not given (see shequ key status)", id)
		}
		return open(k, sealed[len(prefixV2)+9:])
	case strings.HasPrefix(sealed, prefixV1):
		var err error
		for _, k := range c.r.Load().keys {
			var s string
			if s, err = open(k, sealed[len(prefixV1):]); err == nil {
				return s, nil
			}
		}
		return "", err
	}
	return "", errors.New("pii: value is not sealed")
}

func open(k *key, b64 string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", errors.New("pii: sealed value is corrupt")
	}
	n := k.aead.NonceSize()
	plain, err := k.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", errors.New("pii: cannot decrypt (wrong key?)")
	}
	return string(plain), nil
}

// Index returns a keyed hash of s under the current key for equality
// look-ups and uniqueness, "" for "". Spaces, dashes and case do not
// change it.
func (c *Cipher) Index(s string) string {
	return index(c.r.Load().keys[0], Normalize(s))
}

// Indexes returns the keyed hashes of s under every key of the ring,
// current first: during a rotation a row is found by either.
func (c *Cipher) Indexes(s string) []string {
	s = Normalize(s)
	if s == "" {
		return nil
	}
	var out []string
	for _, k := range c.r.Load().keys {
		out = append(out, index(k, s))
	}
	return out
}

func index(k *key, s string) string {
	if s == "" {
		return ""
	}
	m := hmac.New(sha256.New, k.indexKey)
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
