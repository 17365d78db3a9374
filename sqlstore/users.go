package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

const userColumns = "u.id, u.username, u.display_name, u.person_id, u.disabled, u.created_at"

func scanUser(r scanner) (auth.User, error) {
	var u auth.User
	var person sql.NullInt64
	err := r.Scan(&u.ID, &u.Username, &u.DisplayName, &person, &u.Disabled, &u.CreatedAt)
	u.PersonID = person.Int64
	u.Grants = []auth.Grant{}
	return u, err
}

func validUsername(name string) bool {
	if len(name) < 2 || len(name) > 64 {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// CreateUser adds an account with its grants. scope must wholly reach the
// community of every grant; an empty password leaves the account unable to
// sign in until one is set.
func (s *Store) CreateUser(ctx context.Context, scope auth.Scope, u *auth.User, password string) error {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	if !validUsername(u.Username) {
		return shequ.Invalid(map[string]string{"username": "use 2 to 64 lower-case letters, digits, dots, dashes or underscores"})
	}
	var hash string
	if password != "" {
		var err error
		if hash, err = auth.HashPassword(password); err != nil {
			return err
		}
	}
	for _, g := range u.Grants {
		if err := checkGrant(scope, g); err != nil {
			return err
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, g := range u.Grants {
			if err := grantRefsIn(ctx, tx, g); err != nil {
				return err
			}
		}
		if err := personOfUser(ctx, tx, scope, u); err != nil {
			return err
		}
		now := s.now()
		id, err := insert(ctx, tx, `INSERT INTO users (username, display_name, password_hash, person_id, disabled, phone_enc, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			u.Username, u.DisplayName, hash, nullID(u.PersonID), u.Disabled, s.cipher.Seal(u.Phone), now, now)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "the username %q is taken", u.Username)
			}
			return err
		}
		u.ID, u.CreatedAt = id, now
		for i := range u.Grants {
			u.Grants[i].UserID = id
			if u.Grants[i].ID, err = insertGrant(ctx, tx, u.Grants[i]); err != nil {
				return err
			}
		}
		return s.change(ctx, tx, firstCommunity(u.Grants), "create", "user", id, nil, u)
	})
}

func firstCommunity(gs []auth.Grant) int64 {
	for _, g := range gs {
		if g.CommunityID != 0 {
			return g.CommunityID
		}
	}
	return 0
}

func checkGrant(scope auth.Scope, g auth.Grant) error {
	if !g.Role.Valid() {
		return shequ.Invalid(map[string]string{"role": fmt.Sprintf("%q is not a role", g.Role)})
	}
	if g.CommunityID == 0 {
		if g.Role != auth.RoleAdmin {
			return shequ.Invalid(map[string]string{"community_id": "is required for every role but admin"})
		}
		if !scope.All() {
			return shequ.Errorf(shequ.EFORBIDDEN, "only a deployment administrator may grant the whole deployment")
		}
		return nil
	}
	return mustReachCommunity(scope, g.CommunityID)
}

// grantRefsIn makes sure the grid, association and partner a grant names
// are of the grant's community: reach is worked out from these ids, so one
// community's administrator could otherwise seat themselves in another's.
func grantRefsIn(ctx context.Context, q querier, g auth.Grant) error {
	if g.CommunityID == 0 {
		if g.GridID != 0 || g.AssociationID != 0 || g.PartnerID != 0 {
			return shequ.Invalid(map[string]string{"community_id": "is required with a grid, association or partner"})
		}
		return nil
	}
	if g.GridID != 0 {
		if err := checkGridOf(ctx, q, g.CommunityID, g.GridID); err != nil {
			return err
		}
	}
	if g.AssociationID != 0 {
		if err := associationIn(ctx, q, g.AssociationID, g.CommunityID); err != nil {
			return err
		}
	}
	if g.PartnerID != 0 {
		if err := partnerIn(ctx, q, g.PartnerID, g.CommunityID); err != nil {
			return err
		}
	}
	return nil
}

// personOfUser makes sure the resident an account is lives in a community
// the caller wholly reaches and, when the account has grants in
// communities, in one of them: the account's household reach follows from
// that person.
func personOfUser(ctx context.Context, q querier, scope auth.Scope, u *auth.User) error {
	if u.PersonID == 0 {
		return nil
	}
	var c int64
	err := q.QueryRowContext(ctx, "SELECT community_id FROM people WHERE id = $1", u.PersonID).Scan(&c)
	if err == sql.ErrNoRows || (err == nil && !scope.WholeCommunity(c)) {
		return shequ.Invalid(map[string]string{"person_id": fmt.Sprintf("person %d not found", u.PersonID)})
	} else if err != nil {
		return fmt.Errorf("person of user: %w", err)
	}
	if firstCommunity(u.Grants) == 0 {
		return nil
	}
	for _, g := range u.Grants {
		if g.CommunityID == c {
			return nil
		}
	}
	return shequ.Invalid(map[string]string{"person_id": fmt.Sprintf("person %d is not of a community this account has a role in", u.PersonID)})
}

// staffIn makes sure user holds a role other than resident in community c;
// field names the request field that refers to them.
func staffIn(ctx context.Context, q querier, field string, user, c int64) error {
	n, err := count(ctx, q, "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND community_id = $2 AND role <> 'resident'", user, c)
	if err != nil {
		return err
	}
	if n == 0 {
		return shequ.Invalid(map[string]string{field: fmt.Sprintf("user %d is not a cadre of this community", user)})
	}
	return nil
}

func insertGrant(ctx context.Context, tx *sql.Tx, g auth.Grant) (int64, error) {
	return insert(ctx, tx, `INSERT INTO grants (user_id, role, community_id, grid_id, association_id, partner_id) VALUES ($1, $2, $3, $4, $5, $6)`,
		g.UserID, string(g.Role), nullID(g.CommunityID), nullID(g.GridID), nullID(g.AssociationID), nullID(g.PartnerID))
}

// AddGrant gives a user one more role.
func (s *Store) AddGrant(ctx context.Context, scope auth.Scope, g *auth.Grant) error {
	if err := checkGrant(scope, *g); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if n, err := count(ctx, tx, "SELECT COUNT(*) FROM users WHERE id = $1", g.UserID); err != nil {
			return err
		} else if n == 0 {
			return notFound("user", g.UserID)
		}
		if err := grantRefsIn(ctx, tx, *g); err != nil {
			return err
		}
		id, err := insertGrant(ctx, tx, *g)
		if err != nil {
			return err
		}
		g.ID = id
		return s.change(ctx, tx, g.CommunityID, "create", "grant", id, nil, g)
	})
}

// RevokeGrant takes a role away.
func (s *Store) RevokeGrant(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		gs, err := grantsWhere(ctx, tx, "id = $1", id)
		if err != nil {
			return err
		}
		if len(gs) == 0 {
			return notFound("grant", id)
		}
		if err := checkGrant(scope, gs[0]); err != nil {
			if shequ.ErrorCode(err) == shequ.EFORBIDDEN {
				return notFound("grant", id)
			}
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM grants WHERE id = $1", id); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, gs[0].CommunityID, "delete", "grant", id, gs[0], nil)
	})
}

func grantsWhere(ctx context.Context, q querier, where string, a ...any) ([]auth.Grant, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, user_id, role, community_id, grid_id, association_id, partner_id FROM grants WHERE "+where+" ORDER BY id", a...)
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	defer rows.Close()
	var out []auth.Grant
	for rows.Next() {
		var g auth.Grant
		var role string
		var c, gr, as, p sql.NullInt64
		if err := rows.Scan(&g.ID, &g.UserID, &role, &c, &gr, &as, &p); err != nil {
			return nil, err
		}
		g.Role, g.CommunityID, g.GridID, g.AssociationID, g.PartnerID = auth.Role(role), c.Int64, gr.Int64, as.Int64, p.Int64
		out = append(out, g)
	}
	return out, rows.Err()
}

// ListUsers returns the accounts with a grant in a community scope wholly
// reaches; a deployment-wide scope sees every account.
func (s *Store) ListUsers(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[auth.User], error) {
	return s.listUsers(ctx, scope, page, false)
}

// ListStaff returns the accounts that hold a role other than resident in a
// community scope wholly reaches: the people who work for the community.
func (s *Store) ListStaff(ctx context.Context, scope auth.Scope, page shequ.Page) (shequ.List[auth.User], error) {
	return s.listUsers(ctx, scope, page, true)
}

func (s *Store) listUsers(ctx context.Context, scope auth.Scope, page shequ.Page, staffOnly bool) (shequ.List[auth.User], error) {
	var a args
	where := "TRUE"
	if staffOnly {
		where = "u.id IN (SELECT user_id FROM grants WHERE role <> 'resident')"
	}
	if !scope.All() {
		var marks []string
		for _, r := range scope {
			if r.GridID == 0 && r.HouseholdID == 0 {
				marks = append(marks, a.add(r.CommunityID))
			}
		}
		if len(marks) == 0 {
			return shequ.List[auth.User]{Items: []auth.User{}}, nil
		}
		where += " AND u.id IN (SELECT user_id FROM grants WHERE community_id IN (" + strings.Join(marks, ",") + "))"
	}
	t := table{what: "user", from: "users u", columns: userColumns, order: "u.username"}
	total, err := count(ctx, s.reader(), "SELECT COUNT(*) FROM users u WHERE "+where, a...)
	if err != nil {
		return shequ.List[auth.User]{}, err
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT "+t.columns+" FROM "+t.from+" WHERE "+where+" ORDER BY "+t.order+limit(&a, page), a...)
	if err != nil {
		return shequ.List[auth.User]{}, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := shequ.List[auth.User]{Items: []auth.User{}, Total: total}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, u)
	}
	if err := rows.Err(); err != nil {
		return out, err
	}
	for i := range out.Items {
		gs, err := grantsWhere(ctx, s.reader(), "user_id = $1", out.Items[i].ID)
		if err != nil {
			return out, err
		}
		if gs != nil {
			out.Items[i].Grants = gs
		}
	}
	return out, nil
}

// UserByName returns an account and its grants.
func (s *Store) UserByName(ctx context.Context, username string) (auth.User, error) {
	return s.userWhere(ctx, s.reader(), "u.username = $1", strings.ToLower(username))
}

func (s *Store) userWhere(ctx context.Context, q querier, where string, a ...any) (auth.User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE "+where, a...))
	if err == sql.ErrNoRows {
		return u, shequ.Errorf(shequ.ENOTFOUND, "user not found")
	} else if err != nil {
		return u, fmt.Errorf("user: %w", err)
	}
	gs, err := grantsWhere(ctx, q, "user_id = $1", u.ID)
	if gs != nil {
		u.Grants = gs
	}
	return u, err
}

// SetPassword sets an account's password and ends its sessions.
func (s *Store) SetPassword(ctx context.Context, username, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		u, err := s.userWhere(ctx, tx, "u.username = $1", strings.ToLower(username))
		if err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3", hash, now, u.ID); err != nil {
			return err
		}
		// A new password starts with a clean slate of sign-in attempts.
		if _, err := tx.ExecContext(ctx, "DELETE FROM login_throttle WHERE username = $1", u.Username); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", now, u.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: firstCommunity(u.Grants), Action: "user.set_password", Entity: "user", EntityID: u.ID})
	})
}

// EnsureAdmin makes sure the account "admin" exists with a deployment-wide
// admin grant and the given password. A password the account already has
// is left alone, and so are the admin's sessions: it is given again at
// every start.
func (s *Store) EnsureAdmin(ctx context.Context, password string) error {
	if _, err := s.UserByName(ctx, "admin"); shequ.ErrorCode(err) == shequ.ENOTFOUND {
		u := &auth.User{Username: "admin", DisplayName: "Administrator", Grants: []auth.Grant{{Role: auth.RoleAdmin}}}
		return s.CreateUser(ctx, auth.Scope{{}}, u, password)
	} else if err != nil {
		return err
	}
	if c, err := s.Credentials(ctx, "admin"); err == nil && auth.VerifyPassword(c.PasswordHash, password) {
		if !auth.NeedsRehash(c.PasswordHash) {
			return nil
		}
		h, err := auth.HashPassword(password)
		if err != nil {
			return err
		}
		return s.ReplacePasswordHash(ctx, c.UserID, c.PasswordHash, h)
	}
	return s.SetPassword(ctx, "admin", password)
}

// ReplacePasswordHash implements auth.LoginStore. The sessions stay: the
// password is the same.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID int64, oldHash, newHash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3", newHash, userID, oldHash); err != nil {
			return fmt.Errorf("replace password hash: %w", err)
		}
		return nil
	})
}

// Credentials implements auth.LoginStore.
func (s *Store) Credentials(ctx context.Context, username string) (auth.Credentials, error) {
	var c auth.Credentials
	err := s.reader().QueryRowContext(ctx, "SELECT id, password_hash, disabled FROM users WHERE username = $1",
		strings.ToLower(username)).Scan(&c.UserID, &c.PasswordHash, &c.Disabled)
	if err == sql.ErrNoRows {
		return c, shequ.Errorf(shequ.ENOTFOUND, "user not found")
	} else if err != nil {
		return c, fmt.Errorf("credentials: %w", err)
	}
	return c, nil
}

// accountWide is the address of the row that holds an account's budget of
// guesses from anywhere; no client address looks like it.
const accountWide = "*"

// ThrottleLogin implements auth.LoginStore. The two rows are made if
// missing, then read under their row locks (on SQLite, the transaction's
// write lock), so that parallel attempts for one username take turns:
// each sees what the one before counted.
func (s *Store) ThrottleLogin(ctx context.Context, username, address string, change func(pair, account *auth.Attempts) bool) error {
	username = strings.ToLower(strings.TrimSpace(username))
	if address == "" || address == accountWide {
		address = "-"
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		// Rows of names nobody tried for long are kept no longer than
		// what they can still change: a trusted address's exemption.
		if _, err := tx.ExecContext(ctx, "DELETE FROM login_throttle WHERE at < $1", now.Add(-auth.TrustedFor)); err != nil {
			return fmt.Errorf("forget sign-in attempts: %w", err)
		}
		lock := ""
		if s.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var rows [2]auth.Attempts
		for i, addr := range []string{accountWide, address} {
			if _, err := tx.ExecContext(ctx, "INSERT INTO login_throttle (username, address) VALUES ($1, $2) ON CONFLICT (username, address) DO NOTHING", username, addr); err != nil {
				return fmt.Errorf("sign-in attempts: %w", err)
			}
			var at, ok sql.NullTime
			if err := tx.QueryRowContext(ctx, "SELECT failures, tokens, at, succeeded_at FROM login_throttle WHERE username = $1 AND address = $2"+lock, username, addr).
				Scan(&rows[i].Failures, &rows[i].Tokens, &at, &ok); err != nil {
				return fmt.Errorf("sign-in attempts: %w", err)
			}
			rows[i].At, rows[i].SucceededAt = timeOrZero(at), timeOrZero(ok)
		}
		account, pair := &rows[0], &rows[1]
		if !change(pair, account) {
			return nil
		}
		for _, r := range []struct {
			addr string
			a    *auth.Attempts
		}{{accountWide, account}, {address, pair}} {
			if _, err := tx.ExecContext(ctx, "UPDATE login_throttle SET failures = $1, tokens = $2, at = $3, succeeded_at = $4 WHERE username = $5 AND address = $6",
				r.a.Failures, r.a.Tokens, nullTime(r.a.At), nullTime(r.a.SucceededAt), username, r.addr); err != nil {
				return fmt.Errorf("sign-in attempts: %w", err)
			}
		}
		return nil
	})
}

// SaveLoginFailure implements auth.LoginStore.
func (s *Store) SaveLoginFailure(ctx context.Context, username string, userID int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return s.record(ctx, tx, audit.Entry{Username: strings.ToLower(username), Action: "auth.login_failed", Entity: "user", EntityID: userID})
	})
}

// CreateSession implements auth.LoginStore.
func (s *Store) CreateSession(ctx context.Context, userID int64, kind, tokenHash, csrf string, expires time.Time) (auth.Session, error) {
	sess := auth.Session{UserID: userID, Kind: kind, CSRFToken: csrf, CreatedAt: s.now(), ExpiresAt: expires.UTC()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		id, err := insert(ctx, tx, "INSERT INTO sessions (token_hash, user_id, kind, csrf_token, ip, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			tokenHash, userID, kind, csrf, audit.OriginFrom(ctx).IP, sess.CreatedAt, sess.ExpiresAt)
		if err != nil {
			return err
		}
		sess.ID = id
		var name string
		if err := tx.QueryRowContext(ctx, "SELECT username FROM users WHERE id = $1", userID).Scan(&name); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{UserID: userID, Username: name, Action: "auth.login", Entity: "session", EntityID: id})
	})
	return sess, err
}

// Actor returns who holds the session with this secret, or EUNAUTHORIZED
// when it is unknown, expired or revoked. It runs on every request, so the
// session, the account and the resident's household come in one query.
func (s *Store) Actor(ctx context.Context, token string) (*auth.Actor, error) {
	var a auth.Actor
	var revoked sql.NullTime
	var person, household sql.NullInt64
	err := s.reader().QueryRowContext(ctx, `SELECT s.id, s.user_id, s.kind, s.csrf_token, s.created_at, s.expires_at, s.revoked_at,
			u.username, u.display_name, u.person_id, u.disabled, u.created_at, p.household_id
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN people p ON p.id = u.person_id
		WHERE s.token_hash = $1`, auth.HashToken(token)).
		Scan(&a.Session.ID, &a.Session.UserID, &a.Session.Kind, &a.Session.CSRFToken, &a.Session.CreatedAt, &a.Session.ExpiresAt, &revoked,
			&a.User.Username, &a.User.DisplayName, &person, &a.User.Disabled, &a.User.CreatedAt, &household)
	if err == sql.ErrNoRows || (err == nil && (revoked.Valid || !s.now().Before(a.Session.ExpiresAt))) {
		return nil, shequ.Errorf(shequ.EUNAUTHORIZED, "please sign in again")
	} else if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if a.User.Disabled {
		return nil, shequ.Errorf(shequ.EUNAUTHORIZED, "this account is disabled")
	}
	a.User.ID, a.User.PersonID, a.HouseholdID = a.Session.UserID, person.Int64, household.Int64
	gs, err := grantsWhere(ctx, s.reader(), "user_id = $1", a.User.ID)
	if err != nil {
		return nil, err
	}
	a.User.Grants = gs
	if a.User.Grants == nil {
		a.User.Grants = []auth.Grant{}
	}
	return &a, nil
}

// RevokeSession ends a session at once.
func (s *Store) RevokeSession(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", s.now(), id)
		if err != nil {
			return err
		}
		if err := requireAffected(res, "session", id); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Action: "auth.logout", Entity: "session", EntityID: id})
	})
}

// SetPasswordHash sets an already hashed password on several accounts at
// once; the demo uses it so that one slow hash serves all its accounts.
func (s *Store) SetPasswordHash(ctx context.Context, usernames []string, hash string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, name := range usernames {
			res, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL, updated_at = $2 WHERE username = $3", hash, s.now(), name)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return shequ.Errorf(shequ.ENOTFOUND, "user %q not found", name)
			}
			if err := s.record(ctx, tx, audit.Entry{Action: "user.set_password", Entity: "user", Username: name}); err != nil {
				return err
			}
		}
		return nil
	})
}

// PasswordMatches reports whether password is the account's password.
func (s *Store) PasswordMatches(ctx context.Context, username, password string) bool {
	c, err := s.Credentials(ctx, username)
	return err == nil && auth.VerifyPassword(c.PasswordHash, password)
}

// PasswordNeedsRehash reports whether username's password hash was made
// with other parameters than today's.
func (s *Store) PasswordNeedsRehash(ctx context.Context, username string) bool {
	c, err := s.Credentials(ctx, username)
	return err == nil && auth.NeedsRehash(c.PasswordHash)
}
