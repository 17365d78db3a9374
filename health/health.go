// Package health watches the box shequ runs on: that its data folder can
// still be written (a small write, synced, every interval) and how full the
// folder's disk is. /readyz turns unready when the folder cannot be written
// or its disk is full; /metrics carries both; at 80 % the administrator is
// warned, at 95 % a trouble is raised on the console.
package health

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Levels of disk use.
const (
	LevelOK      = "ok"
	LevelWarn    = "warn"    // the administrator is told
	LevelTrouble = "trouble" // a trouble on the console
	LevelFull    = "full"    // not ready
)

// Defaults of the thresholds.
const (
	DefaultWarnAt    = 0.80
	DefaultTroubleAt = 0.95
	// DefaultMinFree is the free space below which the disk counts as
	// full: SQLite needs room for its journal and checkpoints.
	DefaultMinFree = 16 << 20
)

// Troubles raises a trouble on the console.
type Troubles interface {
	RaiseSystemTrouble(ctx context.Context, account, text string) error
}

// Usage is a disk's size and free space, in bytes.
type Usage struct{ Total, Free uint64 }

// Probe checks a data folder.
type Probe struct {
	Dir       string
	WarnAt    float64
	TroubleAt float64
	MinFree   uint64
	Troubles  Troubles
	Log       *slog.Logger
	// Usage and Write are the file system; nil uses the real one (tests
	// inject faults through them).
	Usage func(dir string) (Usage, error)
	Write func(path string, data []byte) error

	mu    sync.Mutex
	state State
	// raised is the level a trouble or warning was last given for, so one
	// is given once per crossing, not every interval.
	raised string
}

// State is the result of the last check.
type State struct {
	CheckedAt  time.Time `json:"checked_at"`
	WriteOK    bool      `json:"write_ok"`
	WriteError string    `json:"write_error,omitempty"`
	WriteTook  time.Duration
	Total      uint64  `json:"total_bytes"`
	Free       uint64  `json:"free_bytes"`
	Used       float64 `json:"used_ratio"`
	Level      string  `json:"level"`
}

// Check writes the probe file, reads the disk's use and records the state;
// it warns and raises a trouble when a threshold is crossed upward.
func (p *Probe) Check(ctx context.Context) State {
	s := State{CheckedAt: time.Now(), WriteOK: true}
	buf := make([]byte, 512)
	rand.Read(buf)
	t0 := time.Now()
	write := p.Write
	if write == nil {
		write = writeSynced
	}
	if err := write(filepath.Join(p.Dir, ".shequ-write-probe"), buf); err != nil {
		s.WriteOK, s.WriteError = false, err.Error()
	}
	s.WriteTook = time.Since(t0)
	usage := p.Usage
	if usage == nil {
		usage = DiskUsage
	}
	if u, err := usage(p.Dir); err == nil && u.Total > 0 {
		s.Total, s.Free = u.Total, u.Free
		s.Used = 1 - float64(u.Free)/float64(u.Total)
	}
	s.Level = p.level(s)
	p.mu.Lock()
	p.state = s
	prev := p.raised
	p.raised = s.Level
	p.mu.Unlock()
	if s.Level != prev && !(prev == "" && s.Level == LevelOK) {
		p.tell(ctx, s)
	}
	return s
}

func (p *Probe) level(s State) string {
	warnAt, troubleAt, minFree := p.WarnAt, p.TroubleAt, p.MinFree
	if warnAt == 0 {
		warnAt = DefaultWarnAt
	}
	if troubleAt == 0 {
		troubleAt = DefaultTroubleAt
	}
	if minFree == 0 {
		minFree = DefaultMinFree
	}
	switch {
	case !s.WriteOK || (s.Total > 0 && s.Free < minFree):
		return LevelFull
	case s.Used >= troubleAt:
		return LevelTrouble
	case s.Used >= warnAt:
		return LevelWarn
	}
	return LevelOK
}

func (p *Probe) tell(ctx context.Context, s State) {
	log := p.Log
	if log == nil {
		log = slog.Default()
	}
	text := fmt.Sprintf("数据盘已用 %.0f%%，剩余 %d MB data disk %.0f%% full, %d MB free (%s)", s.Used*100, s.Free>>20, s.Used*100, s.Free>>20, p.Dir)
	switch s.Level {
	case LevelOK:
		log.Info("data disk healthy again", "dir", p.Dir, "used", s.Used)
		return
	case LevelWarn:
		log.Warn("data disk filling up: free space soon", "dir", p.Dir, "used", s.Used, "free_bytes", s.Free)
		return
	case LevelFull:
		text = "数据目录无法写入 the data folder cannot be written: " + s.WriteError + " " + text
		log.Error("data folder cannot be written or its disk is full: not ready", "dir", p.Dir, "err", s.WriteError, "free_bytes", s.Free)
	default:
		log.Error("data disk nearly full", "dir", p.Dir, "used", s.Used, "free_bytes", s.Free)
	}
	if p.Troubles != nil {
		if err := p.Troubles.RaiseSystemTrouble(ctx, "DISK", text); err != nil {
			log.Error("raise disk trouble", "err", err)
		}
	}
}

// State returns the last check's result.
func (p *Probe) State() State {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// ErrNotWritable is what Ready returns when the last check failed.
var ErrNotWritable = errors.New("data folder cannot be written or its disk is full")

// Ready says whether the last check found the folder writable with room.
func (p *Probe) Ready(context.Context) error {
	s := p.State()
	if s.CheckedAt.IsZero() || s.Level != LevelFull {
		return nil
	}
	if s.WriteError != "" {
		return fmt.Errorf("%w: %s", ErrNotWritable, s.WriteError)
	}
	return fmt.Errorf("%w: %d bytes free", ErrNotWritable, s.Free)
}

// Run checks every interval until ctx ends.
func (p *Probe) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		p.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writeSynced writes data to path, syncs it and removes it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// DiskUsage returns the size and the space free to unprivileged users of
// the file system holding dir.
func DiskUsage(dir string) (Usage, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Usage{}, err
	}
	return Usage{Total: st.Blocks * uint64(st.Bsize), Free: st.Bavail * uint64(st.Bsize)}, nil
}

var (
	descWriteOK = prometheus.NewDesc("shequ_data_write_ok", "1 when the last probe write to the data folder succeeded.", nil, nil)
	descWriteS  = prometheus.NewDesc("shequ_data_write_seconds", "How long the last probe write (synced) took.", nil, nil)
	descFree    = prometheus.NewDesc("shequ_data_disk_free_bytes", "Free space on the data folder's disk.", nil, nil)
	descTotal   = prometheus.NewDesc("shequ_data_disk_size_bytes", "Size of the data folder's disk.", nil, nil)
	descUsed    = prometheus.NewDesc("shequ_data_disk_used_ratio", "Used share of the data folder's disk (warn at 0.8, trouble at 0.95).", nil, nil)
)

// Describe implements prometheus.Collector.
func (p *Probe) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWriteOK, descWriteS, descFree, descTotal, descUsed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector with the last check's figures.
func (p *Probe) Collect(ch chan<- prometheus.Metric) {
	s := p.State()
	ok := 0.0
	if s.WriteOK {
		ok = 1
	}
	ch <- prometheus.MustNewConstMetric(descWriteOK, prometheus.GaugeValue, ok)
	ch <- prometheus.MustNewConstMetric(descWriteS, prometheus.GaugeValue, s.WriteTook.Seconds())
	ch <- prometheus.MustNewConstMetric(descFree, prometheus.GaugeValue, float64(s.Free))
	ch <- prometheus.MustNewConstMetric(descTotal, prometheus.GaugeValue, float64(s.Total))
	ch <- prometheus.MustNewConstMetric(descUsed, prometheus.GaugeValue, s.Used)
}
