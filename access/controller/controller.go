// Package controller is the door controller's side of access control: what
// a controller (or the simulator standing in for one) needs to decide on
// its own while it cannot reach shequ. It holds the community's public
// key, the revocation list shequ pushed last, the use counts of the tokens
// it has let through and the cards shequ granted at this door recently; it
// records each offline decision for upload when the connection is back.
package controller

import (
	"crypto/ed25519"
	"sync"
	"time"

	"github.com/shequ/shequ/access"
)

// CardMemory is how long a card shequ granted at this door keeps opening
// it offline: a card revoked meanwhile is on the pushed list.
const CardMemory = 30 * 24 * time.Hour

// Verifier decides offline. It is safe for concurrent use.
type Verifier struct {
	Door      access.Door
	Community int64
	Public    ed25519.PublicKey

	mu      sync.Mutex
	version int64
	serials map[uint64]bool
	cards   map[string]bool
	used    map[uint64]int
	granted map[string]time.Time // card fingerprint → last granted online
	decided []access.OfflineDecision
}

// New returns a verifier for door with the community's public key.
func New(door access.Door, pub ed25519.PublicKey) *Verifier {
	return &Verifier{Door: door, Community: door.CommunityID, Public: pub,
		serials: map[uint64]bool{}, cards: map[string]bool{}, used: map[uint64]int{}, granted: map[string]time.Time{}}
}

// SetRevocations takes a pushed list unless it is older than the one held.
func (v *Verifier) SetRevocations(r access.Revocations) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Version < v.version {
		return false
	}
	v.version = r.Version
	v.serials = make(map[uint64]bool, len(r.Serials))
	for _, s := range r.Serials {
		v.serials[s] = true
	}
	v.cards = make(map[string]bool, len(r.Cards))
	for _, c := range r.Cards {
		v.cards[c] = true
	}
	return true
}

// Version is the version of the revocation list held.
func (v *Verifier) Version() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.version
}

// Observe learns from an online decision: a card granted is remembered
// for offline use, and a token's use is counted.
func (v *Verifier) Observe(p access.Presented, d access.Decision, now time.Time) {
	if !d.Granted {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	switch p.Kind {
	case access.KindCard:
		v.granted[access.CardFingerprint(p.Value)] = now
	case access.KindPass, access.KindPhone:
		if s, _, ok := access.PeekSerial(p.Token); ok {
			v.used[s]++
		}
	}
}

// Decide decides p at now without shequ and records the decision for
// upload. Tokens are checked against the public key, the window, the
// doors, the revocation list and the uses counted here; a card opens only
// if shequ granted it here within CardMemory and it is not revoked; PINs
// need shequ.
func (v *Verifier) Decide(p access.Presented, now time.Time) access.Decision {
	v.mu.Lock()
	defer v.mu.Unlock()
	rec := access.OfflineDecision{At: now.UTC(), Kind: p.Kind}
	var d access.Decision
	switch p.Kind {
	case access.KindPass, access.KindPhone:
		t, err := access.ParseToken(p.Token, v.Public)
		if err != nil || t.CommunityID != v.Community {
			d = access.Decision{Reason: access.ReasonBadToken}
			break
		}
		rec.Serial = t.Serial
		d = access.Decide(v.Door, t.Subject(v.serials[t.Serial], v.used[t.Serial]), now, nil)
		if d.Granted {
			v.used[t.Serial]++
		}
	case access.KindCard:
		fp := access.CardFingerprint(p.Value)
		rec.Fingerprint = fp
		seen, ok := v.granted[fp]
		switch {
		case v.cards[fp]:
			d = access.Decision{Reason: access.ReasonRevoked}
		case !ok || now.Sub(seen) > CardMemory:
			d = access.Decision{Reason: access.ReasonUnknown}
		default:
			d = access.Decision{Granted: true, Reason: access.ReasonGranted}
		}
	default:
		d = access.Decision{Reason: access.ReasonUnknown}
	}
	rec.Granted, rec.Reason = d.Granted, d.Reason
	v.decided = append(v.decided, rec)
	return d
}

// TakeDecisions returns the offline decisions not yet uploaded and forgets
// them; on a failed upload give them back with Requeue.
func (v *Verifier) TakeDecisions() []access.OfflineDecision {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := v.decided
	v.decided = nil
	return out
}

// Requeue puts back decisions whose upload failed.
func (v *Verifier) Requeue(ds []access.OfflineDecision) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.decided = append(ds, v.decided...)
}
