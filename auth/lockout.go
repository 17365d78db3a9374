package auth

import (
	"math"
	"time"
)

// Sign-in throttling. Wrong passwords slow down the one (username,
// address) pair that makes them, exponentially, rather than lock the
// account: a stranger who tries the operator's name cannot lock the
// operator out. An account-wide budget of guesses bounds how fast many
// addresses together may guess one password; an address the account
// signed in from lately is exempt from it, so that the account's own
// people keep their way in while strangers spend it. Usernames that do
// not exist are throttled just like those that do, so neither the answer
// nor its timing says which is which.
const (
	// FreeFailures wrong passwords in a row from one address cost nothing;
	// each one more doubles the wait before the next, from FirstDelay up
	// to MaxDelay.
	FreeFailures = 3
	FirstDelay   = 2 * time.Second
	MaxDelay     = 15 * time.Minute
	// ForgetFailures after this long without an attempt.
	ForgetFailures = 24 * time.Hour
	// AccountBurst guesses may be checked at once for one username from
	// anywhere; one more every AccountRefill.
	AccountBurst  = 10
	AccountRefill = 30 * time.Second
	// TrustedFor is how long a good sign-in from an address exempts it
	// from the account-wide budget.
	TrustedFor = 30 * 24 * time.Hour
)

// Attempts is what the store keeps of the sign-in attempts for one
// username, from one address (Failures, SucceededAt) or from all of them
// (Tokens). At is the last attempt; zero when there was none.
type Attempts struct {
	Failures    int
	Tokens      float64
	At          time.Time
	SucceededAt time.Time
}

// Delay is how long to wait after failures wrong passwords in a row.
func Delay(failures int) time.Duration {
	if failures < FreeFailures {
		return 0
	}
	n := failures - FreeFailures
	if n >= 30 || FirstDelay<<n > MaxDelay {
		return MaxDelay
	}
	return FirstDelay << n
}

// Admit decides whether an attempt at now may check a password, given the
// pair's and the account's attempts so far. When it may, Admit counts the
// attempt in both, as a failure until Succeeded says otherwise; when not,
// it leaves them alone and says when to try again.
func Admit(pair, account *Attempts, now time.Time) (ok bool, retry time.Time) {
	if now.Sub(pair.At) > ForgetFailures {
		pair.Failures = 0
	}
	if wait := Delay(pair.Failures); wait > 0 && now.Before(pair.At.Add(wait)) {
		return false, pair.At.Add(wait)
	}
	tokens := float64(AccountBurst)
	if !account.At.IsZero() {
		tokens = math.Min(AccountBurst, account.Tokens+float64(now.Sub(account.At))/float64(AccountRefill))
	}
	trusted := !pair.SucceededAt.IsZero() && now.Sub(pair.SucceededAt) < TrustedFor
	if tokens < 1 && !trusted {
		return false, now.Add(time.Duration((1 - tokens) * float64(AccountRefill)))
	}
	account.Tokens, account.At = math.Max(0, tokens-1), now
	pair.Failures, pair.At = pair.Failures+1, now
	return true, time.Time{}
}

// Succeeded undoes what Admit counted for an attempt whose password was
// right, and trusts the pair's address from now.
func Succeeded(pair, account *Attempts, now time.Time) {
	pair.Failures, pair.SucceededAt = 0, now
	account.Tokens = math.Min(AccountBurst, account.Tokens+1)
}
