package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/shequ/shequ"
)

// Argon2id parameters: OWASP's current minimum for argon2id (19 MiB,
// two passes, one lane). A small community box signs people in on two
// cores beside the alarm receiver, and every check holds its memory while
// it runs; the sign-in throttle, not the hash's cost, is what stops online
// guessing. RFC 9106's 64 MiB, three-pass setting cost each check five
// times as much CPU and 64 MiB, and each start two such checks. The
// parameters are stored with each hash: older hashes still verify and are
// replaced at the next sign-in (see NeedsRehash).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// MinPasswordLength is the shortest password we accept.
const MinPasswordLength = 10

// HashPassword returns an argon2id hash of password in the PHC string form.
func HashPassword(password string) (string, error) {
	if err := CheckPasswordStrength(password); err != nil {
		return "", err
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// CheckPasswordStrength rejects passwords too short to be safe.
func CheckPasswordStrength(password string) error {
	if len([]rune(password)) < MinPasswordLength {
		return shequ.Invalid(map[string]string{"password": fmt.Sprintf("must be at least %d characters", MinPasswordLength)})
	}
	return nil
}

// phc is a parsed argon2id hash.
type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(hash string) (phc, bool) {
	var h phc
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return h, false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &h.threads); err != nil {
		return h, false
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return h, false
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil {
		return h, false
	}
	return h, true
}

// VerifyPassword reports whether password matches the PHC hash.
func VerifyPassword(hash, password string) bool {
	h, ok := parsePHC(hash)
	if !ok {
		return false
	}
	got := argon2.IDKey([]byte(password), h.salt, h.time, h.memory, h.threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// NeedsRehash reports whether a hash costs more to check than one made
// today (more memory, passes or lanes): hashes of earlier versions, made
// at RFC 9106's 64 MiB, are hashed again at the next sign-in or start so
// that no check costs more than today's. Cheaper hashes exist only in
// tests; raising the parameters one day means replacing those too, and
// this rule with it.
func NeedsRehash(hash string) bool {
	h, ok := parsePHC(hash)
	return ok && (h.memory > argonMemory || h.time > argonTime || h.threads > argonThreads)
}

// dummyHash is checked against when a username is unknown, so a login for
// a missing user costs the same time as one for a real user.
// It is made on first use: hashing at start-up would cost every command
// (even "shequ version") a slow, memory-hungry hash.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not-a-real-password-at-all")
	return h
})

// BurnPasswordCheck spends the time of one password check.
func BurnPasswordCheck(password string) { VerifyPassword(dummyHash(), password) }

// NewToken returns a random secret for a session or a CSRF token.
func NewToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken returns what the store keeps of a session secret.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
