package pii

import (
	"bytes"
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
