package auth

import (
	"context"
	"fmt"
	"time"

	"github.com/shequ/shequ"
)

// Session lifetimes: a web session lasts a working shift and a bit; an app
// or machine token a month.
const (
	WebSessionTTL   = 12 * time.Hour
	TokenSessionTTL = 30 * 24 * time.Hour
)

// LoginStore is what Login needs of the store.
type LoginStore interface {
	// ThrottleLogin reads the attempts for username from address and from
	// anywhere, lets change change them, and stores them when it returns
	// true; all of it at once with respect to other attempts for username,
	// which wait. Usernames need not exist.
	ThrottleLogin(ctx context.Context, username, address string, change func(pair, account *Attempts) bool) error
	Credentials(ctx context.Context, username string) (Credentials, error)
	// SaveLoginFailure records a wrong password for an account that exists.
	SaveLoginFailure(ctx context.Context, username string, userID int64) error
	CreateSession(ctx context.Context, userID int64, kind, tokenHash, csrf string, expires time.Time) (Session, error)
	// ReplacePasswordHash stores newHash for the account if its hash is
	// still oldHash: the same password, hashed with today's parameters.
	ReplacePasswordHash(ctx context.Context, userID int64, oldHash, newHash string) error
}

// ErrBadLogin is the one answer to a wrong username or password: which of
// the two was wrong is not said.
var ErrBadLogin = shequ.Errorf(shequ.EUNAUTHORIZED, "wrong username or password")

// Login checks a username and password from a client address and opens a
// session of kind "web" or "token". It returns the session's secret, which
// is shown only once. Attempts are throttled before anything is looked up
// (see Admit), so a throttled answer is the same for every username.
func Login(ctx context.Context, st LoginStore, clock shequ.Clock, username, password, kind, address string) (string, Session, error) {
	c, err := checkPassword(ctx, st, clock, username, password, address)
	if err != nil {
		return "", Session{}, err
	}
	if c.Disabled {
		return "", Session{}, shequ.Errorf(shequ.EFORBIDDEN, "this account is disabled")
	}
	ttl := WebSessionTTL
	if kind != "web" {
		kind, ttl = "token", TokenSessionTTL
	}
	token := NewToken()
	sess, err := st.CreateSession(ctx, c.UserID, kind, HashToken(token), NewToken(), clock.Now().Add(ttl))
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}

// Reauthenticate checks the password of someone already signed in who
// confirms an action with it (a resident saying an SOS was a mistake),
// under the same throttle as signing in: a stranger holding the phone
// gets no more guesses this way than at the sign-in form.
func Reauthenticate(ctx context.Context, st LoginStore, clock shequ.Clock, username, password, address string) error {
	_, err := checkPassword(ctx, st, clock, username, password, address)
	return err
}

// checkPassword throttles the attempt, then checks the password; it
// returns the account's credentials when the password is right.
func checkPassword(ctx context.Context, st LoginStore, clock shequ.Clock, username, password, address string) (Credentials, error) {
	now := clock.Now()
	var retry time.Time
	admitted := false
	err := st.ThrottleLogin(ctx, username, address, func(pair, account *Attempts) bool {
		admitted, retry = Admit(pair, account, now)
		return admitted
	})
	if err != nil {
		return Credentials{}, err
	}
	if !admitted {
		wait := max(time.Second, retry.Sub(now).Round(time.Second))
		return Credentials{}, shequ.Errorf(shequ.ETOOMANY, "too many sign-in attempts: try again in %s", fmt.Sprint(wait))
	}
	c, err := st.Credentials(ctx, username)
	if shequ.ErrorCode(err) == shequ.ENOTFOUND {
		BurnPasswordCheck(password)
		return Credentials{}, ErrBadLogin
	} else if err != nil {
		return Credentials{}, err
	}
	if !VerifyPassword(c.PasswordHash, password) {
		if err := st.SaveLoginFailure(ctx, username, c.UserID); err != nil {
			return Credentials{}, err
		}
		return Credentials{}, ErrBadLogin
	}
	// The right password is no failure: it gives the attempt back and
	// trusts the address, whether or not the account may sign in.
	err = st.ThrottleLogin(ctx, username, address, func(pair, account *Attempts) bool {
		Succeeded(pair, account, now)
		return true
	})
	if err != nil {
		return Credentials{}, err
	}
	if NeedsRehash(c.PasswordHash) {
		// Best effort: a sign-in never fails because of it, and the
		// old hash still verifies next time.
		if h, err := HashPassword(password); err == nil {
			_ = st.ReplacePasswordHash(ctx, c.UserID, c.PasswordHash, h)
		}
	}
	return c, nil
}
