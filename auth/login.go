package auth

import (
	"context"
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
	Credentials(ctx context.Context, username string) (Credentials, error)
	SaveLoginFailure(ctx context.Context, username string, c Credentials) error
	CreateSession(ctx context.Context, userID int64, kind, tokenHash, csrf string, expires time.Time) (Session, error)
}

// ErrBadLogin is the one answer to a wrong username or password: which of
// the two was wrong is not said.
var ErrBadLogin = shequ.Errorf(shequ.EUNAUTHORIZED, "wrong username or password")

// Login checks a username and password and opens a session of kind "web"
// or "token". It returns the session's secret, which is shown only once.
// Wrong passwords count towards a lockout; a locked account answers
// ETOOMANY until the lock expires, even with the right password.
func Login(ctx context.Context, st LoginStore, clock shequ.Clock, username, password, kind string) (string, Session, error) {
	now := clock.Now()
	c, err := st.Credentials(ctx, username)
	if shequ.ErrorCode(err) == shequ.ENOTFOUND {
		BurnPasswordCheck(password)
		return "", Session{}, ErrBadLogin
	} else if err != nil {
		return "", Session{}, err
	}
	if c.Locked(now) {
		return "", Session{}, shequ.Errorf(shequ.ETOOMANY, "too many failed logins: try again after %s", c.LockedUntil.Format(time.RFC3339))
	}
	if !VerifyPassword(c.PasswordHash, password) {
		if err := st.SaveLoginFailure(ctx, username, c.AfterFailure(now)); err != nil {
			return "", Session{}, err
		}
		return "", Session{}, ErrBadLogin
	}
	if c.Disabled {
		return "", Session{}, shequ.Errorf(shequ.EFORBIDDEN, "this account is disabled")
	}
	ttl := WebSessionTTL
	if kind != "web" {
		kind, ttl = "token", TokenSessionTTL
	}
	token := NewToken()
	sess, err := st.CreateSession(ctx, c.UserID, kind, HashToken(token), NewToken(), now.Add(ttl))
	if err != nil {
		return "", Session{}, err
	}
	return token, sess, nil
}
