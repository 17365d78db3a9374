package sia

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// maxLogSources bounds the sources the log limiter tells apart in one
// interval. UDP source addresses can be forged, so without a bound a flood
// from made-up addresses would grow the map (and the log) without end;
// sources beyond it share one budget.
const maxLogSources = 4096

// logLimiter lets each source address write at most burst warnings per
// interval and counts the rest. Every frame a source sends can cause a
// warning (corrupt, DUH, NAK), so without it whoever reaches the port
// decides how much the receiver writes to the log: 5 s of UDP garbage
// wrote 91,107 lines.
type logLimiter struct {
	burst int

	mu         sync.Mutex
	written    map[netip.Addr]int    // lines written this interval
	suppressed map[netip.Addr]uint64 // lines not written this interval
	overflow   int                   // lines written this interval by sources beyond maxLogSources

	suppressedTotal atomic.Uint64
}

func (l *logLimiter) init(burst int) {
	l.burst = burst
	l.written = make(map[netip.Addr]int)
	l.suppressed = make(map[netip.Addr]uint64)
}

// allow reports whether a warning caused by src may be written, and counts
// it as suppressed when not.
func (l *logLimiter) allow(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, known := l.written[src]
	if !known && len(l.written) >= maxLogSources {
		if l.overflow < l.burst {
			l.overflow++
			return true
		}
		l.suppressedTotal.Add(1)
		l.suppressed[netip.Addr{}]++
		return false
	}
	if n < l.burst {
		l.written[src] = n + 1
		return true
	}
	l.suppressedTotal.Add(1)
	if _, ok := l.suppressed[src]; ok || len(l.suppressed) < maxLogSources {
		l.suppressed[src]++
	} else {
		l.suppressed[netip.Addr{}]++
	}
	return false
}

// logSummary is what one interval suppressed.
type logSummary struct {
	lines    uint64
	sources  int
	top      netip.Addr // the source with most suppressed lines; invalid when only unnamed sources
	topLines uint64
	unnamed  uint64 // lines of sources beyond maxLogSources
}

// next ends the interval: it returns what was suppressed and starts anew.
func (l *logLimiter) next() logSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	var s logSummary
	for src, n := range l.suppressed {
		s.lines += n
		if !src.IsValid() {
			s.unnamed += n
			continue
		}
		s.sources++
		if n > s.topLines {
			s.top, s.topLines = src, n
		}
	}
	clear(l.written)
	clear(l.suppressed)
	l.overflow = 0
	return s
}

// warn writes a warning caused by what src sent, unless src has used its
// lines for this interval.
func (r *Receiver) warn(ctx context.Context, src netip.Addr, msg string, args ...any) {
	if !r.log.Enabled(ctx, slog.LevelWarn) || !r.logs.allow(src) {
		return
	}
	r.log.Warn(msg, args...)
}

// summarizeLogs writes, once an interval, one line for the warnings it
// kept back, until ctx ends; then once more for the last interval.
func (r *Receiver) summarizeLogs(ctx context.Context) {
	t := time.NewTicker(r.cfg.LogInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			r.logSummary(context.WithoutCancel(ctx))
			return
		}
		r.logSummary(ctx)
	}
}

func (r *Receiver) logSummary(ctx context.Context) {
	s := r.logs.next()
	if s.lines == 0 {
		return
	}
	args := []any{"suppressed", s.lines, "sources", s.sources, "interval", r.cfg.LogInterval, "per_source", r.cfg.LogBurst}
	if s.top.IsValid() {
		args = append(args, "top_source", s.top.String(), "top_suppressed", s.topLines)
	}
	if s.unnamed > 0 {
		args = append(args, "other_sources_suppressed", s.unnamed)
	}
	r.log.Log(ctx, slog.LevelWarn, "SIA warnings suppressed: too many from the same sources", args...)
}
