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

// Argon2id parameters, as RFC 9106 suggests for memory-constrained hosts.
// They are stored with each hash so they can be raised later.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
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

// VerifyPassword reports whether password matches the PHC hash.
func VerifyPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var memory uint32
	var time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil {
		return false
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return false
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, time, memory, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
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
