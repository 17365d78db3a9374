package controller

import (
	"crypto/ed25519"
	"crypto/rand"
	"testing"
	"time"

	"github.com/shequ/shequ/access"
)

func TestVerifierOffline(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	door := access.Door{ID: 7, CommunityID: 3, Kind: access.DoorGate}
	sign := func(k ed25519.PrivateKey, serial uint64, community int64, doors []int64, uses int) access.Presented {
		s, err := access.Token{Kind: access.KindPass, Serial: serial, CommunityID: community, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Uses: uses, Doors: doors}.Sign(k)
		if err != nil {
			t.Fatal(err)
		}
		return access.Presented{Kind: access.KindPass, Token: s}
	}
	v := New(door, pub)
	card := access.Presented{Kind: access.KindCard, Value: "04A1B2C3"}
	for _, tc := range []struct {
		name string
		p    access.Presented
		want string
	}{
		{"a pass for this door", sign(priv, 1, 3, []int64{7}, 1), access.ReasonGranted},
		{"the same pass again", sign(priv, 1, 3, []int64{7}, 1), access.ReasonUsedUp},
		{"another door's pass", sign(priv, 2, 3, []int64{8}, 1), access.ReasonWrongDoor},
		{"another community's pass", sign(priv, 3, 4, []int64{7}, 1), access.ReasonBadToken},
		{"a forged pass", sign(otherPriv, 4, 3, []int64{7}, 1), access.ReasonBadToken},
		{"a card never seen", card, access.ReasonUnknown},
		{"a PIN", access.Presented{Kind: access.KindPIN, Value: "123456"}, access.ReasonUnknown},
	} {
		if d := v.Decide(tc.p, now); d.Reason != tc.want {
			t.Errorf("%s: %+v, want %s", tc.name, d, tc.want)
		}
	}
	// A card shequ granted here opens offline until it is revoked.
	v.Observe(card, access.Decision{Granted: true, Reason: access.ReasonGranted}, now)
	if d := v.Decide(card, now.Add(time.Hour)); !d.Granted {
		t.Errorf("a known card offline: %+v", d)
	}
	if d := v.Decide(card, now.Add(CardMemory+time.Hour)); d.Granted {
		t.Errorf("a card not seen for long: %+v", d)
	}
	revoked := sign(priv, 9, 3, []int64{7}, 0)
	if !v.SetRevocations(access.Revocations{Version: 5, Serials: []uint64{9}, Cards: []string{access.CardFingerprint("04:a1:b2:c3")}}) {
		t.Fatal("list refused")
	}
	if v.SetRevocations(access.Revocations{Version: 4}) {
		t.Error("an older list replaced a newer one")
	}
	if d := v.Decide(card, now.Add(2*time.Hour)); d.Reason != access.ReasonRevoked {
		t.Errorf("a revoked card: %+v", d)
	}
	if d := v.Decide(revoked, now); d.Reason != access.ReasonRevoked {
		t.Errorf("a revoked pass: %+v", d)
	}
	ds := v.TakeDecisions()
	if len(ds) != 11 || v.TakeDecisions() != nil {
		t.Fatalf("%d decisions to upload", len(ds))
	}
	if ds[0].Serial != 1 || !ds[0].Granted || ds[5].Fingerprint != access.CardFingerprint("04A1B2C3") {
		t.Errorf("uploads %+v", ds[:6])
	}
	v.Requeue(ds[:2])
	if len(v.TakeDecisions()) != 2 {
		t.Error("requeued decisions lost")
	}
}
