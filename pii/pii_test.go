package pii

import (
	"bytes"
	"encoding/hex"
	"path/filepath"
	"testing"
)

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"500112195001011234", "5001**********1234"},
		{"13800001234", "138****1234"},
		{"12345", "***45"},
	}
	for _, tt := range tests {
		if got := Mask(tt.in); got != tt.want {
			t.Errorf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, KeySize)
	c, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	a, b := c.Seal("13800001234"), c.Seal("13800001234")
	if a == b {
		t.Error("two seals of one value are equal: nonce reused")
	}
	if got, err := c.Open(a); err != nil || got != "13800001234" {
		t.Errorf("Open = %q, %v", got, err)
	}
	other, _ := New(bytes.Repeat([]byte{8}, KeySize))
	if _, err := other.Open(a); err == nil {
		t.Error("a different key opened the value")
	}
	if c.Index("138-0000 1234") != c.Index("13800001234") {
		t.Error("index depends on formatting")
	}
	if c.Index("x") == other.Index("x") {
		t.Error("index does not depend on the key")
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created || len(k2) != 1 || !bytes.Equal(k1[0], k2[0]) {
		t.Fatalf("reload: %v %v", created, err)
	}
}

func TestKeyFileRoundTrip(t *testing.T) {
	a, b := NewKey(), NewKey()
	path := filepath.Join(t.TempDir(), "k")
	if err := WriteKeyFile(path, [][]byte{a, b}); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadKeyFile(path)
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], a) || !bytes.Equal(keys[1], b) {
		t.Fatalf("load: %v %d", err, len(keys))
	}
	if keys, err := ParseKeys(hex.EncodeToString(a) + ", " + hex.EncodeToString(b)); err != nil || len(keys) != 2 {
		t.Fatalf("comma list: %v", err)
	}
}

// TestRing: the current key seals, every key opens, indexes of either key
// are offered, and a value of the first format opens with any key of the
// ring.
func TestRing(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{1}, KeySize), bytes.Repeat([]byte{2}, KeySize)
	old, _ := New(oldKey)
	sealedOld := old.Seal("13800001234")
	if SealedBy(sealedOld) != KeyID(oldKey) {
		t.Errorf("SealedBy = %q", SealedBy(sealedOld))
	}
	ring, err := NewRing(newKey, oldKey)
	if err != nil {
		t.Fatal(err)
	}
	if ring.Current() != KeyID(newKey) {
		t.Error("the first key is not current")
	}
	if got, err := ring.Open(sealedOld); err != nil || got != "13800001234" {
		t.Errorf("ring opens the old key's value: %q %v", got, err)
	}
	if SealedBy(ring.Seal("x")) != KeyID(newKey) {
		t.Error("the ring does not seal with the current key")
	}
	idx := ring.Indexes("13800001234")
	if len(idx) != 2 || idx[0] != ring.Index("13800001234") || idx[1] != old.Index("13800001234") {
		t.Errorf("indexes %v", idx)
	}
	if _, err := old.Open(ring.Seal("x")); err == nil {
		t.Error("a cipher without the new key opened its value")
	}
	// A value of the first format ("v1:", no key id).
	v1 := "v1:" + ring.Seal("legacy")[len("v2:")+9:]
	if SealedBy(v1) != "v1" {
		t.Errorf("SealedBy(v1) = %q", SealedBy(v1))
	}
	newOnly, _ := New(newKey)
	if got, err := ring.Open(v1); err != nil || got != "legacy" {
		t.Errorf("v1 value: %q %v", got, err)
	}
	if _, err := old.Open(v1); err == nil {
		t.Error("v1 value opened with the wrong key")
	}
	if got, _ := newOnly.Open(v1); got != "legacy" {
		t.Error("v1 value not opened by its key")
	}
}
