package disk_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shequ/shequ/media/disk"
	"github.com/shequ/shequ/media/mediatest"
)

func TestBlobs(t *testing.T) {
	dir := t.TempDir()
	b, err := disk.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	mediatest.Run(t, b)
	// Nothing is left half-written: refused and finished puts leave no
	// temporary file.
	left, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil || len(left) != 0 {
		t.Errorf("temporary files left: %v %v", left, err)
	}
}
