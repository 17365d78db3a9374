package health

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

type troubles struct {
	mu    sync.Mutex
	texts []string
}

func (t *troubles) RaiseSystemTrouble(_ context.Context, account, text string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.texts = append(t.texts, account+": "+text)
	return nil
}

func (t *troubles) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.texts)
}

// TestReadyOnAFullDisk fills a small tmpfs: the probe write fails, the
// probe turns unready and raises one trouble; freed, it is ready again.
func TestReadyOnAFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=2m"); err != nil {
		if os.Getenv("CI") == "true" && os.Geteuid() == 0 {
			t.Fatalf("mount a tmpfs as root: %v", err)
		}
		t.Skipf("cannot mount a tmpfs here (%v); TestLevels covers the logic with injected faults", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	tr := &troubles{}
	p := &Probe{Dir: dir, Troubles: tr, MinFree: 1} // full means no room at all here
	ctx := context.Background()
	if s := p.Check(ctx); s.Level != LevelOK || p.Ready(ctx) != nil {
		t.Fatalf("empty tmpfs: %+v", s)
	}
	// Fill it the way a database growing would: until the disk refuses.
	filler := filepath.Join(dir, "filler")
	out, err := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").CombinedOutput()
	if err == nil {
		t.Fatalf("dd filled nothing: %s", out)
	}
	s := p.Check(ctx)
	if s.WriteOK || s.Level != LevelFull {
		t.Fatalf("full tmpfs: %+v", s)
	}
	if err := p.Ready(ctx); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("full tmpfs ready: %v", err)
	}
	p.Check(ctx)
	if tr.count() != 1 {
		t.Errorf("%d troubles raised, want one for the crossing", tr.count())
	}
	os.Remove(filler)
	if s := p.Check(ctx); s.Level != LevelOK || p.Ready(ctx) != nil {
		t.Fatalf("freed tmpfs: %+v", s)
	}
}

// TestLevels: the thresholds, through injected disk figures and faults.
func TestLevels(t *testing.T) {
	tests := []struct {
		name     string
		total    uint64
		free     uint64
		writeErr error
		want     string
		ready    bool
		troubles int
	}{
		{"half", 100 << 30, 50 << 30, nil, LevelOK, true, 0},
		{"80 %", 100 << 30, 20 << 30, nil, LevelWarn, true, 0},
		{"96 %", 100 << 30, 4 << 30, nil, LevelTrouble, true, 1},
		{"write refused", 100 << 30, 50 << 30, syscall.ENOSPC, LevelFull, false, 1},
		{"under the minimum free", 100 << 30, 1 << 20, nil, LevelFull, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := &troubles{}
			p := &Probe{Dir: t.TempDir(), Troubles: tr,
				Usage: func(string) (Usage, error) { return Usage{Total: tt.total, Free: tt.free}, nil },
				Write: func(string, []byte) error { return tt.writeErr }}
			s := p.Check(context.Background())
			if s.Level != tt.want {
				t.Errorf("level %s, want %s", s.Level, tt.want)
			}
			if (p.Ready(context.Background()) == nil) != tt.ready {
				t.Errorf("ready %v, want %v", p.Ready(context.Background()), tt.ready)
			}
			if tr.count() != tt.troubles {
				t.Errorf("%d troubles, want %d", tr.count(), tt.troubles)
			}
		})
	}
}
