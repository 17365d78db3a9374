package main

import (
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type personOut struct {
	ID       int64  `json:"id"`
	Phone    string `json:"phone"`
	IDNumber string `json:"id_number"`
}

// TestBackupRestoreAndKeyRotationCommands: beside a running server, the
// key is rotated (the server keeps reading and finding numbers, and reads
// the key file again) and a backup is taken; the backup is restored into a
// new folder and the server started there has the data, the key and the
// last backup on /metrics.
func TestBackupRestoreAndKeyRotationCommands(t *testing.T) {
	data, backups := t.TempDir(), t.TempDir()
	env := []string{"SHEQU_DEMO_PASSWORD=demo-password-1", "SHEQU_ADMIN_PASSWORD=admin-password-1", "SHEQU_BACKUP_PASSPHRASE=a long backup passphrase"}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("shequ %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	p := start(t, env, "--demo", "--data", data, "--http", "127.0.0.1:0")
	token := p.token(t, "admin", "admin-password-1")
	var people struct{ Items []personOut }
	if code := p.api(t, token, "GET", "/api/v1/people?limit=20&reveal=true", nil, &people); code != 200 || len(people.Items) == 0 {
		t.Fatalf("people: %d", code)
	}
	var someone personOut
	for _, x := range people.Items {
		if x.Phone != "" {
			someone = x
			break
		}
	}
	find := func(p *proc, token string) {
		t.Helper()
		var found struct{ Items []personOut }
		if code := p.api(t, token, "GET", "/api/v1/people?reveal=true&q="+url.QueryEscape(someone.Phone), nil, &found); code != 200 || len(found.Items) != 1 || found.Items[0].IDNumber != someone.IDNumber {
			t.Fatalf("find %s: %d %+v", someone.Phone, code, found.Items)
		}
	}
	find(p, token)

	out := run("key", "rotate", "--data", data, "--settle", "12s")
	if !strings.Contains(out, "rows resealed") {
		t.Fatalf("rotate: %s", out)
	}
	find(p, token) // the server reads and finds under the new key
	if out := run("key", "retire", "--data", data); !strings.Contains(out, "retired keys") {
		t.Fatalf("retire: %s", out)
	}
	find(p, token)

	out = run("backup", "--data", data, "--to", backups)
	if !strings.Contains(out, "backup shequ-") {
		t.Fatalf("backup: %s", out)
	}
	// The running server tells of the backup the command took.
	metrics(t, p, "shequ_backup_last_success_timestamp_seconds", "shequ_backup_last_run_ok 1", "shequ_data_disk_free_bytes", "shequ_data_write_ok 1")
	p.stop(t)
	entries, _ := os.ReadDir(backups)
	if len(entries) != 1 {
		t.Fatalf("%d backups", len(entries))
	}
	from := filepath.Join(backups, entries[0].Name())
	run("restore", from, "--verify")

	restored := t.TempDir()
	os.WriteFile(filepath.Join(restored, "x"), []byte("x"), 0o600)
	cmd := exec.Command(binary, "restore", from, "--data", restored)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "not empty") {
		t.Fatalf("restore into a non-empty folder: %v %s", err, out)
	}
	os.Remove(filepath.Join(restored, "x"))
	run("restore", from, "--data", restored)

	q := start(t, env, "--data", restored, "--http", "127.0.0.1:0")
	token = q.token(t, "admin", "admin-password-1")
	find(q, token)
	metrics(t, q, "shequ_data_write_ok 1")
	q.stop(t)
}

func metrics(t *testing.T, p *proc, want ...string) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range want {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}
