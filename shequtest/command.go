package shequtest

import (
	"os"
	"os/exec"
	"testing"
)

// NeedCommand skips the test when a program it runs is not installed,
// saying which and how to get it; in CI (CI=true) it fails instead, so
// that nothing is skipped there unnoticed.
func NeedCommand(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			msg := n + " is not installed (Debian: apt-get install espeak-ng ffmpeg icecast2)"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}
