package access

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A token is what a phone key or pass shows as a QR code: a compact
// signed statement the controller checks with the community's public key
// alone. Layout (big-endian):
//
//	version 1 | kind 1 | serial 8 | community 4 | not-before 4 | not-after 4 |
//	uses 1 | door count 1 | doors 4 each | Ed25519 signature 64
//
// written in unpadded base32, whose alphabet fits the QR alphanumeric mode.

// TokenVersion is the layout above.
const TokenVersion = 1

// MaxTokenDoors is how many doors one token may name.
const MaxTokenDoors = 32

const (
	tokenKindPass  = 1
	tokenKindPhone = 2
	tokenHead      = 1 + 1 + 8 + 4 + 4 + 4 + 1 + 1
)

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is the signed content of a pass or phone key.
type Token struct {
	Kind        string // pass or phone
	Serial      uint64
	CommunityID int64
	NotBefore   time.Time
	NotAfter    time.Time
	Uses        int // 0: no limit
	Doors       []int64
}

// Errors of ParseToken.
var (
	ErrTokenMalformed = errors.New("access: token is malformed")
	ErrTokenSignature = errors.New("access: token signature does not verify")
)

// Sign returns t signed with priv, encoded for a QR code.
func (t Token) Sign(priv ed25519.PrivateKey) (string, error) {
	if len(t.Doors) > MaxTokenDoors {
		return "", fmt.Errorf("access: a token names at most %d doors", MaxTokenDoors)
	}
	if t.Uses < 0 || t.Uses > 255 {
		return "", errors.New("access: uses out of range")
	}
	b := make([]byte, tokenHead, tokenHead+4*len(t.Doors)+ed25519.SignatureSize)
	b[0] = TokenVersion
	switch t.Kind {
	case KindPass:
		b[1] = tokenKindPass
	case KindPhone:
		b[1] = tokenKindPhone
	default:
		return "", fmt.Errorf("access: token kind %q", t.Kind)
	}
	binary.BigEndian.PutUint64(b[2:], t.Serial)
	binary.BigEndian.PutUint32(b[10:], uint32(t.CommunityID))
	binary.BigEndian.PutUint32(b[14:], uint32(t.NotBefore.Unix()))
	binary.BigEndian.PutUint32(b[18:], uint32(t.NotAfter.Unix()))
	b[22] = byte(t.Uses)
	b[23] = byte(len(t.Doors))
	for _, d := range t.Doors {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	b = append(b, ed25519.Sign(priv, b)...)
	return tokenEncoding.EncodeToString(b), nil
}

// ParseToken decodes s and checks its signature with pub. It checks
// nothing else: the window, the doors and revocation are Decide's.
func ParseToken(s string, pub ed25519.PublicKey) (Token, error) {
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(strings.TrimSpace(s)))
	if err != nil || len(raw) < tokenHead+ed25519.SignatureSize || raw[0] != TokenVersion {
		return Token{}, ErrTokenMalformed
	}
	n := int(raw[23])
	if n > MaxTokenDoors || len(raw) != tokenHead+4*n+ed25519.SignatureSize {
		return Token{}, ErrTokenMalformed
	}
	body, sig := raw[:len(raw)-ed25519.SignatureSize], raw[len(raw)-ed25519.SignatureSize:]
	if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, body, sig) {
		return Token{}, ErrTokenSignature
	}
	t := Token{
		Serial:      binary.BigEndian.Uint64(raw[2:]),
		CommunityID: int64(binary.BigEndian.Uint32(raw[10:])),
		NotBefore:   time.Unix(int64(binary.BigEndian.Uint32(raw[14:])), 0).UTC(),
		NotAfter:    time.Unix(int64(binary.BigEndian.Uint32(raw[18:])), 0).UTC(),
		Uses:        int(raw[22]),
		Doors:       make([]int64, n),
	}
	switch raw[1] {
	case tokenKindPass:
		t.Kind = KindPass
	case tokenKindPhone:
		t.Kind = KindPhone
	default:
		return Token{}, ErrTokenMalformed
	}
	for i := range n {
		t.Doors[i] = int64(binary.BigEndian.Uint32(raw[tokenHead+4*i:]))
	}
	return t, nil
}

// PeekSerial returns the serial and kind of a token without checking its
// signature: how the server finds the row to check it against.
func PeekSerial(s string) (uint64, string, bool) {
	raw, err := tokenEncoding.DecodeString(strings.ToUpper(strings.TrimSpace(s)))
	if err != nil || len(raw) < tokenHead {
		return 0, "", false
	}
	kind := KindPass
	if raw[1] == tokenKindPhone {
		kind = KindPhone
	}
	return binary.BigEndian.Uint64(raw[2:]), kind, true
}

// Subject is what the token alone says, for a controller deciding
// offline; revoked and used come from the controller's own lists.
func (t Token) Subject(revoked bool, used int) Subject {
	return Subject{Found: true, Kind: t.Kind, Role: "visitor", Doors: t.Doors, ValidFrom: t.NotBefore, ValidUntil: t.NotAfter,
		Uses: t.Uses, Used: used, Revoked: revoked, Serial: t.Serial}
}

// CardFingerprint is how a revoked card is named on the list pushed to
// controllers: a hash of the UID, so the list does not carry the UIDs.
func CardFingerprint(uid string) string {
	return fingerprint("shequ card " + NormalizeCard(uid))
}

// Revocations is the list pushed to controllers: token serials and card
// fingerprints that must no longer open anything. Version grows with
// every change, so a controller keeps the newest list it got.
type Revocations struct {
	CommunityID int64    `json:"community_id"`
	Version     int64    `json:"version"`
	Serials     []uint64 `json:"serials"`
	Cards       []string `json:"cards"`
}

// OfflineDecision is one decision a controller made while it could not
// reach shequ, uploaded when it reconnects.
type OfflineDecision struct {
	At          time.Time `json:"at"`
	Kind        string    `json:"kind"`
	Serial      uint64    `json:"serial,omitempty,string"`
	Fingerprint string    `json:"card,omitempty"`
	Granted     bool      `json:"granted"`
	Reason      string    `json:"reason"`
}
