package auth

import (
	"sync"
	"time"
)

// RateLimiter allows each key a burst of attempts that refills at a steady
// rate (a token bucket). It guards logins per client address so that one
// address cannot try passwords fast, whatever usernames it tries.
type RateLimiter struct {
	mu      sync.Mutex
	burst   float64
	every   time.Duration
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewRateLimiter allows burst attempts at once and one more every period.
func NewRateLimiter(burst int, every time.Duration) *RateLimiter {
	return &RateLimiter{burst: float64(burst), every: every, buckets: map[string]*bucket{}}
}

// Allow takes one attempt for key at now, reporting whether it may go on.
func (l *RateLimiter) Allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 100_000 {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// sweep forgets buckets that have filled up again, so memory stays bounded.
func (l *RateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.buckets, k)
		}
	}
}
