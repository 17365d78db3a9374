package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shequ/shequ/evidence"
)

// makePackage writes a package of two files and a custody log as the
// server makes them, and returns its path.
func makePackage(t *testing.T, files map[string][]byte, edit func([]evidence.CustodyEntry)) string {
	t.Helper()
	at := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	m := evidence.Manifest{RequestID: 7, CaseNumber: "渝公刑案2026-1", PackagedAt: at}
	var exported evidence.ExportedDetail
	for i, name := range []string{evidence.FileName(1), evidence.FileName(2)} {
		h := sha256.Sum256(files[name])
		f := evidence.ManifestFile{Name: name, CameraID: int64(i + 1), SHA256: hex.EncodeToString(h[:]), Size: int64(len(files[name]))}
		m.Files = append(m.Files, f)
		exported.Files = append(exported.Files, evidence.ExportedFile{Name: name, CameraID: f.CameraID, SHA256: f.SHA256, Size: f.Size})
	}
	detail, _ := json.Marshal(exported)
	var log []evidence.CustodyEntry
	var prev *evidence.CustodyEntry
	for i, e := range []evidence.CustodyEntry{
		{Action: evidence.ActRequested, Actor: "police"},
		{Action: evidence.ActApproved, Actor: "director"},
		{Action: evidence.ActExported, Actor: "system", Detail: detail},
		{Action: evidence.ActDownloaded, Actor: "police", From: "10.0.0.8"},
	} {
		e.At = at.Add(time.Duration(i) * time.Minute)
		e = evidence.Seal(e, prev)
		log = append(log, e)
		prev = &log[len(log)-1]
	}
	if edit != nil {
		edit(log)
	}
	p := filepath.Join(t.TempDir(), "footage-7.zip")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = evidence.WritePackage(f, m, log, func(mf evidence.ManifestFile) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files[mf.Name])), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvidenceVerify(t *testing.T) {
	files := map[string][]byte{
		evidence.FileName(1): bytes.Repeat([]byte("camera one footage "), 500),
		evidence.FileName(2): bytes.Repeat([]byte("camera two footage "), 500),
	}
	good := makePackage(t, files, nil)
	var out bytes.Buffer
	if err := verifyPackage(good, &out); err != nil {
		t.Fatalf("a whole package: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok    footage/camera-1.mp4") || !strings.Contains(out.String(), "verified") {
		t.Errorf("output:\n%s", out.String())
	}
	if err := run(t.Context(), []string{"evidence", "verify", good}); err != nil {
		t.Errorf("shequ evidence verify: %v", err)
	}

	// One byte of camera 2's file changed in the package.
	b, _ := os.ReadFile(good)
	i := bytes.LastIndex(b, []byte("camera two footage"))
	b[i] = 'C'
	bad := filepath.Join(t.TempDir(), "bad.zip")
	os.WriteFile(bad, b, 0o600)
	out.Reset()
	err := verifyPackage(bad, &out)
	if !errors.Is(err, errVerifyFailed) || !strings.Contains(out.String(), "FAIL  file footage/camera-2.mp4 (camera 2): SHA-256 is") || strings.Contains(out.String(), "FAIL  file footage/camera-1") {
		t.Errorf("a changed byte: %v\n%s", err, out.String())
	}
	if err := run(t.Context(), []string{"evidence", "verify", bad}); err == nil {
		t.Error("shequ evidence verify passed a changed package")
	}

	// One custody entry changed: the approver's name.
	forged := makePackage(t, files, func(log []evidence.CustodyEntry) { log[1].Actor = "someone" })
	out.Reset()
	err = verifyPackage(forged, &out)
	if err == nil || !strings.Contains(out.String(), "FAIL  custody entry 2: was changed") {
		t.Errorf("a changed entry: %v\n%s", err, out.String())
	}
	// An entry removed and the rest re-hashed still breaks the link.
	cut := makePackage(t, files, func(log []evidence.CustodyEntry) {
		log[2].Seq, log[2].Prev = 2, log[0].Hash
		log[2].Hash = log[2].ComputeHash()
		copy(log[1:], log[2:])
	})
	out.Reset()
	if err := verifyPackage(cut, &out); err == nil || !strings.Contains(out.String(), "FAIL  custody entry") {
		t.Errorf("an entry cut out: %v\n%s", err, out.String())
	}
}
