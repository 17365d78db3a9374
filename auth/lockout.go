package auth

import "time"

// Lockout rules: after MaxFailedLogins wrong passwords in a row an account
// is locked for LockDuration; the count starts again after a good login or
// once FailWindow has passed since the last failure.
const (
	MaxFailedLogins = 5
	LockDuration    = 15 * time.Minute
	FailWindow      = 15 * time.Minute
)

// Locked reports whether c is locked at now.
func (c Credentials) Locked(now time.Time) bool { return now.Before(c.LockedUntil) }

// AfterFailure returns c as it must be stored after a wrong password at now.
func (c Credentials) AfterFailure(now time.Time) Credentials {
	if now.Sub(c.LastFailedAt) > FailWindow {
		c.FailedLogins = 0
	}
	c.FailedLogins++
	c.LastFailedAt = now
	if c.FailedLogins >= MaxFailedLogins {
		c.LockedUntil = now.Add(LockDuration)
		c.FailedLogins = 0
	}
	return c
}
