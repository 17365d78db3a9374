package sqlstore

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/access"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// --- the community's signing key ---

// accessKeyOf returns community c's key pair, making it on first use. The
// private key is sealed like other personal data, so a copy of the
// database alone cannot forge passes.
func (s *Store) accessKeyOf(ctx context.Context, c int64) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	pub, priv, err := s.readAccessKey(ctx, s.reader(), c)
	if err == nil {
		return pub, priv, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if _, _, err := s.readAccessKey(ctx, tx, c); err == nil {
			return nil // made meanwhile on another connection
		}
		npub, npriv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO access_keys (community_id, public_key, private_sealed, created_at) VALUES ($1, $2, $3, $4)",
			c, base64.StdEncoding.EncodeToString(npub), s.cipher.Seal(base64.StdEncoding.EncodeToString(npriv.Seed())), s.now())
		if err != nil {
			return mapError(err)
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: c, Action: "access.key_created", Entity: "community", EntityID: c})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("access key of community %d: %w", c, err)
	}
	return s.readAccessKey(ctx, s.write, c)
}

func (s *Store) readAccessKey(ctx context.Context, q querier, c int64) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	var pubText, sealed string
	if err := q.QueryRowContext(ctx, "SELECT public_key, private_sealed FROM access_keys WHERE community_id = $1", c).Scan(&pubText, &sealed); err != nil {
		return nil, nil, err
	}
	pub, err := base64.StdEncoding.DecodeString(pubText)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, nil, fmt.Errorf("access key of community %d is corrupt", c)
	}
	seedText, err := s.cipher.Open(sealed)
	if err != nil {
		return nil, nil, fmt.Errorf("access key of community %d: %w", c, err)
	}
	seed, err := base64.StdEncoding.DecodeString(seedText)
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, nil, fmt.Errorf("access key of community %d is corrupt", c)
	}
	return pub, ed25519.NewKeyFromSeed(seed), nil
}

// AccessPublicKey returns the public key controllers of community c check
// tokens with.
func (s *Store) AccessPublicKey(ctx context.Context, c int64) (ed25519.PublicKey, error) {
	pub, _, err := s.accessKeyOf(ctx, c)
	return pub, err
}

// newSerial is a random token serial: unguessable, positive in a BIGINT.
func newSerial() uint64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return binary.BigEndian.Uint64(b[:])>>2 | 1
}

// --- doors ---

var accessDoors = table{
	what: "door", id: "ad.device_id", order: "ad.community_id, ad.kind, ad.name",
	from:    "access_doors ad JOIN devices d ON d.id = ad.device_id LEFT JOIN buildings b ON b.id = ad.building_id",
	scope:   scopeCols{community: "ad.community_id"},
	columns: "ad.device_id, ad.community_id, ad.building_id, ad.entrance, ad.name, ad.kind, ad.fire_release, ad.held_open_seconds, ad.state, ad.state_at, d.status, d.last_seen_at, COALESCE(b.name, '')",
}

func scanDoor(r scanner) (access.Door, error) {
	var d access.Door
	var building sql.NullInt64
	var stateAt, seen sql.NullTime
	var status string
	err := r.Scan(&d.ID, &d.CommunityID, &building, &d.Entrance, &d.Name, &d.Kind, &d.FireRelease, &d.HeldOpenSeconds, &d.State, &stateAt, &status, &seen, &d.BuildingName)
	d.DeviceID, d.BuildingID, d.StateAt, d.LastSeenAt = d.ID, building.Int64, timePtr(stateAt), timePtr(seen)
	d.Online = status == community.DeviceOnline
	return d, err
}

// ListDoors returns the doors scope reaches.
func (s *Store) ListDoors(ctx context.Context, scope auth.Scope, f access.DoorFilter) (shequ.List[access.Door], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "ad.community_id = "+a.add(f.CommunityID))
	}
	if f.BuildingID != 0 {
		conds = append(conds, "ad.building_id = "+a.add(f.BuildingID))
	}
	return listOf(ctx, s.reader(), accessDoors, scope, conds, a, f.Page, scanDoor)
}

// Door returns one door.
func (s *Store) Door(ctx context.Context, scope auth.Scope, id int64) (access.Door, error) {
	return oneOf(ctx, s.reader(), accessDoors, scope, id, scanDoor)
}

// CreateDoor puts a controller on a door. A door without a device gets a
// door_controller registered for it in the same transaction.
func (s *Store) CreateDoor(ctx context.Context, scope auth.Scope, d *access.Door) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if d.DeviceID != 0 {
			dev, err := oneOf(ctx, tx, devices, scope, d.DeviceID, scanDevice)
			if err != nil {
				return shequ.Invalid(map[string]string{"device_id": fmt.Sprintf("device %d not found", d.DeviceID)})
			}
			if dev.Kind != community.DeviceDoorController {
				return shequ.Invalid(map[string]string{"device_id": "is not a door controller"})
			}
			if d.CommunityID != 0 && d.CommunityID != dev.CommunityID {
				return shequ.Invalid(map[string]string{"community_id": "differs from the device's"})
			}
			d.CommunityID = dev.CommunityID
			if d.BuildingID == 0 {
				d.BuildingID = dev.BuildingID
			}
		} else {
			if d.CommunityID == 0 && d.BuildingID != 0 {
				if err := tx.QueryRowContext(ctx, "SELECT community_id FROM buildings WHERE id = $1", d.BuildingID).Scan(&d.CommunityID); err != nil {
					return shequ.Invalid(map[string]string{"building_id": fmt.Sprintf("building %d not found", d.BuildingID)})
				}
			}
			if d.CommunityID == 0 {
				return shequ.Invalid(map[string]string{"community_id": "say which community's door"})
			}
			dev := community.Device{CommunityID: d.CommunityID, Kind: community.DeviceDoorController, Name: d.Name, BuildingID: d.BuildingID, Location: d.Entrance}
			if err := dev.Validate(); err != nil {
				return err
			}
			if err := mustReachCommunity(scope, d.CommunityID); err != nil {
				return err
			}
			if err := s.createDevice(ctx, tx, &dev); err != nil {
				return err
			}
			d.DeviceID = dev.ID
		}
		if err := mustReachCommunity(scope, d.CommunityID); err != nil {
			return err
		}
		if d.BuildingID != 0 {
			var c int64
			if err := tx.QueryRowContext(ctx, "SELECT community_id FROM buildings WHERE id = $1", d.BuildingID).Scan(&c); err != nil || c != d.CommunityID {
				return shequ.Invalid(map[string]string{"building_id": fmt.Sprintf("%d is not in community %d", d.BuildingID, d.CommunityID)})
			}
		}
		d.ID = d.DeviceID
		_, err := tx.ExecContext(ctx, `INSERT INTO access_doors (device_id, community_id, building_id, entrance, name, kind, fire_release, held_open_seconds, state, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			d.ID, d.CommunityID, nullID(d.BuildingID), d.Entrance, d.Name, d.Kind, d.FireRelease, d.HeldOpenSeconds, d.State, s.now())
		if err != nil {
			if shequ.ErrorCode(mapError(err)) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "device %d already controls a door", d.DeviceID)
			}
			return mapError(err)
		}
		return s.change(ctx, tx, d.CommunityID, "create", "door", d.ID, nil, d)
	})
}

// UpdateDoor changes a door's name, kind, fire release and held-open limit.
func (s *Store) UpdateDoor(ctx context.Context, scope auth.Scope, d *access.Door) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := oneOf(ctx, tx, accessDoors, scope, d.ID, scanDoor)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, before.CommunityID); err != nil {
			return err
		}
		d.CommunityID, d.DeviceID, d.State = before.CommunityID, before.DeviceID, before.State
		if err := d.Validate(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE access_doors SET building_id = $1, entrance = $2, name = $3, kind = $4, fire_release = $5, held_open_seconds = $6 WHERE device_id = $7",
			nullID(d.BuildingID), d.Entrance, d.Name, d.Kind, d.FireRelease, d.HeldOpenSeconds, d.ID)
		if err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, d.CommunityID, "update", "door", d.ID, before, d)
	})
}

// doorByID reads a door for a controller, which has no scope.
func (s *Store) doorByID(ctx context.Context, q querier, id int64) (access.Door, error) {
	return oneOf(ctx, q, accessDoors, everything, id, scanDoor)
}

func (s *Store) communityDoors(ctx context.Context, q querier, c int64) ([]access.Door, error) {
	l, err := listOf(ctx, q, accessDoors, everything, []string{"ad.community_id = $1"}, args{c}, shequ.Page{Limit: 10000}, scanDoor)
	return l.Items, err
}

// --- credentials ---

var accessCredentials = table{
	what: "credential", id: "ac.id", order: "ac.revoked_at IS NOT NULL, ac.id DESC",
	from: `access_credentials ac LEFT JOIN households hh ON hh.id = ac.household_id LEFT JOIN homes h ON h.id = hh.home_id
		LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN people p ON p.id = ac.person_id`,
	scope:   scopeCols{community: "ac.community_id", grid: "b.grid_id", household: "ac.household_id = %s"},
	columns: "ac.id, ac.community_id, ac.person_id, ac.household_id, ac.user_id, ac.kind, ac.role, ac.label, ac.hint, ac.serial, ac.created_at, ac.revoked_at, ac.revoked_reason, COALESCE(p.name, '')",
}

func scanCredential(r scanner) (access.Credential, error) {
	var c access.Credential
	var person, household, user sql.NullInt64
	var revoked sql.NullTime
	var serial int64
	err := r.Scan(&c.ID, &c.CommunityID, &person, &household, &user, &c.Kind, &c.Role, &c.Label, &c.Hint, &serial, &c.CreatedAt, &revoked, &c.RevokedReason, &c.PersonName)
	c.PersonID, c.HouseholdID, c.UserID, c.Serial, c.RevokedAt = person.Int64, household.Int64, user.Int64, uint64(serial), timePtr(revoked)
	return c, err
}

// ListCredentials returns the credentials scope reaches.
func (s *Store) ListCredentials(ctx context.Context, scope auth.Scope, f access.CredentialFilter) (shequ.List[access.Credential], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "ac.community_id = "+a.add(f.CommunityID))
	}
	if f.HouseholdID != 0 {
		conds = append(conds, "ac.household_id = "+a.add(f.HouseholdID))
	}
	if f.PersonID != 0 {
		conds = append(conds, "ac.person_id = "+a.add(f.PersonID))
	}
	if !f.All {
		conds = append(conds, "ac.revoked_at IS NULL")
	}
	return listOf(ctx, s.reader(), accessCredentials, scope, conds, a, f.Page, scanCredential)
}

// Credential returns one credential.
func (s *Store) Credential(ctx context.Context, scope auth.Scope, id int64) (access.Credential, error) {
	return oneOf(ctx, s.reader(), accessCredentials, scope, id, scanCredential)
}

// credentialIndex is the keyed hash a card or PIN is found by: per
// community, so two communities may hand out the same PIN.
func (s *Store) credentialIndex(c int64, kind, value string) string {
	return s.cipher.Index(credentialIndexInput(kind, strconv.FormatInt(c, 10), value))
}

// credentialIndexes are the hashes of a card or PIN under every key of
// the ring: during a key rotation a credential is found by either.
func (s *Store) credentialIndexes(c int64, kind, value string) []string {
	return s.cipher.Indexes(credentialIndexInput(kind, strconv.FormatInt(c, 10), value))
}

// credentialIndexInput is what a credential's keyed hash is taken of (the
// key rotation hashes the same: see sealedTables).
func credentialIndexInput(kind, community, value string) string {
	return kind + "." + community + "." + value
}

// CreateCredential issues a credential to a person (or a staff account).
// A card UID is sealed and found by its keyed hash; a PIN is kept only as
// that hash; a phone key gets the serial its tokens carry.
func (s *Store) CreateCredential(ctx context.Context, scope auth.Scope, c *access.Credential) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if c.PersonID != 0 {
			p, err := s.person(ctx, tx, scope, c.PersonID)
			if err != nil {
				return shequ.Invalid(map[string]string{"person_id": fmt.Sprintf("person %d not found", c.PersonID)})
			}
			c.CommunityID, c.HouseholdID = p.CommunityID, p.HouseholdID
			if c.Role == access.RoleResident && c.HouseholdID == 0 {
				return shequ.Invalid(map[string]string{"person_id": "lives in no household"})
			}
		} else {
			if err := mustReachCommunity(scope, c.CommunityID); err != nil {
				return err
			}
		}
		if c.Role != access.RoleResident && !scope.WholeCommunity(c.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the community's staff may issue %s credentials", c.Role)
		}
		var idx, enc, fp string
		switch c.Kind {
		case access.KindCard:
			idx, enc, fp = s.credentialIndex(c.CommunityID, c.Kind, c.Value), s.cipher.Seal(c.Value), access.CardFingerprint(c.Value)
		case access.KindPIN:
			idx = s.credentialIndex(c.CommunityID, c.Kind, c.Value)
		case access.KindPhone:
			c.Serial = newSerial()
		}
		c.Hint = access.Hint(c.Kind, c.Value)
		c.CreatedAt = s.now()
		id, err := insert(ctx, tx, `INSERT INTO access_credentials (community_id, person_id, household_id, user_id, kind, role, label, value_idx, value_enc, hint, fingerprint, serial, created_at, pii_key)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			c.CommunityID, nullID(c.PersonID), nullID(c.HouseholdID), nullID(c.UserID), c.Kind, c.Role, c.Label, idx, enc, c.Hint, fp, int64(c.Serial), c.CreatedAt, s.cipher.Current())
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ECONFLICT {
				return shequ.Errorf(shequ.ECONFLICT, "this %s is already in use", c.Kind)
			}
			return err
		}
		c.ID = id
		c.Value = ""
		return s.change(ctx, tx, c.CommunityID, "create", "access_credential", id, nil, c)
	})
}

// RevokeCredential stops a credential at once (reason: revoked, lost,
// moved_out, removed) and puts it on the list pushed to controllers.
func (s *Store) RevokeCredential(ctx context.Context, scope auth.Scope, id int64, reason string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		c, err := oneOf(ctx, tx, accessCredentials, scope, id, scanCredential)
		if err != nil {
			return err
		}
		if !c.Active() {
			return shequ.Errorf(shequ.ECONFLICT, "credential %d is already revoked", id)
		}
		return s.revokeCredential(ctx, tx, c.ID, reason)
	})
}

func (s *Store) revokeCredential(ctx context.Context, tx *sql.Tx, id int64, reason string) error {
	now := s.now()
	var community, serial int64
	var fp string
	err := tx.QueryRowContext(ctx, "UPDATE access_credentials SET revoked_at = $1, revoked_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING community_id, serial, fingerprint",
		now, reason, id).Scan(&community, &serial, &fp)
	if err == sql.ErrNoRows {
		return nil
	} else if err != nil {
		return fmt.Errorf("revoke credential %d: %w", id, err)
	}
	if serial != 0 || fp != "" {
		if _, err := tx.ExecContext(ctx, "INSERT INTO access_revocations (community_id, serial, card, revoked_at) VALUES ($1, $2, $3, $4)", community, serial, fp, now); err != nil {
			return fmt.Errorf("revocation list: %w", err)
		}
	}
	return s.record(ctx, tx, audit.Entry{CommunityID: community, Action: "access_credential.revoke", Entity: "access_credential", EntityID: id, After: snapshot(map[string]string{"reason": reason})})
}

// --- passes ---

var accessPasses = table{
	what: "pass", id: "ap.id", order: "ap.created_at DESC, ap.id DESC",
	from:    "access_passes ap LEFT JOIN households hh ON hh.id = ap.household_id LEFT JOIN homes h ON h.id = hh.home_id LEFT JOIN buildings b ON b.id = h.building_id",
	scope:   scopeCols{community: "ap.community_id", grid: "b.grid_id", household: "ap.household_id = %s"},
	columns: "ap.id, ap.community_id, ap.household_id, ap.person_id, ap.kind, ap.serial, ap.visitor_name, ap.door_ids, ap.valid_from, ap.valid_until, ap.uses, ap.used, ap.created_at, ap.revoked_at",
}

func scanPass(r scanner) (access.Pass, error) {
	var p access.Pass
	var household, person sql.NullInt64
	var serial int64
	var doors string
	var revoked sql.NullTime
	err := r.Scan(&p.ID, &p.CommunityID, &household, &person, &p.Kind, &serial, &p.VisitorName, &doors, &p.ValidFrom, &p.ValidUntil, &p.Uses, &p.Used, &p.CreatedAt, &revoked)
	p.HouseholdID, p.PersonID, p.Serial, p.RevokedAt = household.Int64, person.Int64, uint64(serial), timePtr(revoked)
	p.ValidFrom, p.ValidUntil, p.CreatedAt = p.ValidFrom.UTC(), p.ValidUntil.UTC(), p.CreatedAt.UTC()
	p.DoorIDs = splitIDs(doors)
	return p, err
}

func splitIDs(s string) []int64 {
	out := []int64{}
	for _, f := range strings.Split(s, ",") {
		if id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(parts, ",")
}

// ListPasses returns the passes scope reaches.
func (s *Store) ListPasses(ctx context.Context, scope auth.Scope, f access.PassFilter) (shequ.List[access.Pass], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "ap.community_id = "+a.add(f.CommunityID))
	}
	if f.HouseholdID != 0 {
		conds = append(conds, "ap.household_id = "+a.add(f.HouseholdID))
	}
	if f.Active {
		conds = append(conds, "ap.revoked_at IS NULL AND ap.used < ap.uses AND ap.valid_until > "+a.add(s.now()))
	}
	return listOf(ctx, s.reader(), accessPasses, scope, conds, a, f.Page, scanPass)
}

// Pass returns one pass.
func (s *Store) Pass(ctx context.Context, scope auth.Scope, id int64) (access.Pass, error) {
	return oneOf(ctx, s.reader(), accessPasses, scope, id, scanPass)
}

// CreatePass makes a visitor or courier pass for a household. Without
// doors it opens the route to the home: the gates and the home's building
// entrances. The doors it names must be ones the household opens unless
// scope reaches the whole community (access.CheckPassDoors). It returns
// the signed token the QR code carries.
func (s *Store) CreatePass(ctx context.Context, scope auth.Scope, p *access.Pass) (string, error) {
	var token string
	if p.HouseholdID == 0 {
		return "", shequ.Invalid(map[string]string{"household_id": "say whose visitor it is"})
	}
	hh, err := oneOf(ctx, s.reader(), households, scope, p.HouseholdID, scanHousehold)
	if err != nil {
		return "", shequ.Invalid(map[string]string{"household_id": fmt.Sprintf("household %d not found", p.HouseholdID)})
	}
	p.CommunityID = hh.CommunityID
	doors, err := s.communityDoors(ctx, s.reader(), p.CommunityID)
	if err != nil {
		return "", err
	}
	var building int64
	if err := s.reader().QueryRowContext(ctx, "SELECT building_id FROM homes WHERE id = $1", hh.HomeID).Scan(&building); err != nil {
		return "", fmt.Errorf("home of household %d: %w", hh.ID, err)
	}
	if len(p.DoorIDs) == 0 {
		p.DoorIDs = access.ResidentDoors(doors, building, true)
	}
	// Whoever reaches only part of the community (a resident their
	// household, a grid worker their grid) gives a visitor at most the
	// household's own doors; the community's staff may name any of its.
	if err := access.CheckPassDoors(doors, p.DoorIDs, building, scope.WholeCommunity(p.CommunityID)); err != nil {
		return "", err
	}
	if err := p.Validate(s.now()); err != nil {
		return "", err
	}
	_, priv, err := s.accessKeyOf(ctx, p.CommunityID)
	if err != nil {
		return "", err
	}
	p.Serial = newSerial()
	p.CreatedAt = s.now()
	token, err = passToken(*p, priv)
	if err != nil {
		return "", err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		id, err := insert(ctx, tx, `INSERT INTO access_passes (community_id, household_id, person_id, kind, serial, visitor_name, door_ids, valid_from, valid_until, uses, used, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11)`,
			p.CommunityID, p.HouseholdID, nullID(p.PersonID), p.Kind, int64(p.Serial), p.VisitorName, joinIDs(p.DoorIDs), p.ValidFrom, p.ValidUntil, p.Uses, p.CreatedAt)
		if err != nil {
			return err
		}
		p.ID = id
		return s.change(ctx, tx, p.CommunityID, "create", "access_pass", id, nil, p)
	})
	return token, err
}

func passToken(p access.Pass, priv ed25519.PrivateKey) (string, error) {
	return access.Token{Kind: access.KindPass, Serial: p.Serial, CommunityID: p.CommunityID, NotBefore: p.ValidFrom, NotAfter: p.ValidUntil, Uses: p.Uses, Doors: p.DoorIDs}.Sign(priv)
}

// PassToken returns the token of a pass again (to show its QR code).
func (s *Store) PassToken(ctx context.Context, scope auth.Scope, id int64) (string, error) {
	p, err := s.Pass(ctx, scope, id)
	if err != nil {
		return "", err
	}
	_, priv, err := s.accessKeyOf(ctx, p.CommunityID)
	if err != nil {
		return "", err
	}
	return passToken(p, priv)
}

// PhoneKeyLife is how long a phone key's token is valid after it is shown;
// the app fetches a fresh one each time it opens.
const PhoneKeyLife = 7 * 24 * time.Hour

// PhoneKeyToken signs a token for a phone key: the doors its holder opens
// now, for PhoneKeyLife.
func (s *Store) PhoneKeyToken(ctx context.Context, scope auth.Scope, id int64) (string, error) {
	c, err := s.Credential(ctx, scope, id)
	if err != nil {
		return "", err
	}
	if c.Kind != access.KindPhone || !c.Active() {
		return "", shequ.Errorf(shequ.ECONFLICT, "credential %d is not an active phone key", id)
	}
	doors, err := s.communityDoors(ctx, s.reader(), c.CommunityID)
	if err != nil {
		return "", err
	}
	var ids []int64
	switch c.Role {
	case access.RoleResident:
		var building int64
		if err := s.reader().QueryRowContext(ctx, "SELECT h.building_id FROM households hh JOIN homes h ON h.id = hh.home_id WHERE hh.id = $1", c.HouseholdID).Scan(&building); err != nil {
			return "", fmt.Errorf("home of credential %d: %w", id, err)
		}
		ids = access.ResidentDoors(doors, building, false)
	default:
		for _, d := range doors {
			ids = append(ids, d.ID)
		}
	}
	if len(ids) > access.MaxTokenDoors {
		ids = ids[:access.MaxTokenDoors]
	}
	_, priv, err := s.accessKeyOf(ctx, c.CommunityID)
	if err != nil {
		return "", err
	}
	now := s.now().Truncate(time.Second)
	return access.Token{Kind: access.KindPhone, Serial: c.Serial, CommunityID: c.CommunityID, NotBefore: now.Add(-time.Minute), NotAfter: now.Add(PhoneKeyLife), Doors: ids}.Sign(priv)
}

// RevokePass stops a pass at once and lists it for the controllers.
func (s *Store) RevokePass(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		p, err := oneOf(ctx, tx, accessPasses, scope, id, scanPass)
		if err != nil {
			return err
		}
		if p.RevokedAt != nil {
			return shequ.Errorf(shequ.ECONFLICT, "pass %d is already revoked", id)
		}
		return s.revokePass(ctx, tx, p.ID)
	})
}

func (s *Store) revokePass(ctx context.Context, tx *sql.Tx, id int64) error {
	now := s.now()
	var community, serial int64
	var until time.Time
	err := tx.QueryRowContext(ctx, "UPDATE access_passes SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING community_id, serial, valid_until", now, id).Scan(&community, &serial, &until)
	if err == sql.ErrNoRows {
		return nil
	} else if err != nil {
		return fmt.Errorf("revoke pass %d: %w", id, err)
	}
	if until.After(now) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO access_revocations (community_id, serial, revoked_at, expires_at) VALUES ($1, $2, $3, $4)", community, serial, now, until.UTC()); err != nil {
			return fmt.Errorf("revocation list: %w", err)
		}
	}
	return s.record(ctx, tx, audit.Entry{CommunityID: community, Action: "access_pass.revoke", Entity: "access_pass", EntityID: id})
}

// revokeWhere revokes every live credential and pass cond selects, with
// reason: how a move-out, a removal or a lost phone stops all of them.
func (s *Store) revokeWhere(ctx context.Context, tx *sql.Tx, column string, id int64, reason string) (int, error) {
	var ids []int64
	rows, err := tx.QueryContext(ctx, "SELECT id FROM access_credentials WHERE "+column+" = $1 AND revoked_at IS NULL", id)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, c)
	}
	rows.Close()
	for _, c := range ids {
		if err := s.revokeCredential(ctx, tx, c, reason); err != nil {
			return 0, err
		}
	}
	var passes []int64
	rows, err = tx.QueryContext(ctx, "SELECT id FROM access_passes WHERE "+column+" = $1 AND revoked_at IS NULL AND valid_until > $2", id, s.now())
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return 0, err
		}
		passes = append(passes, p)
	}
	rows.Close()
	for _, p := range passes {
		if err := s.revokePass(ctx, tx, p); err != nil {
			return 0, err
		}
	}
	return len(ids) + len(passes), nil
}

// revokePersonAccess is called in the transaction that removes a person or
// moves them to another household.
func (s *Store) revokePersonAccess(ctx context.Context, tx *sql.Tx, person int64, reason string) error {
	_, err := s.revokeWhere(ctx, tx, "person_id", person, reason)
	return err
}

// MoveOutHousehold records that a household moved out: every credential
// and pass of the household and of its members stops at once and goes on
// the list pushed to the controllers. It returns how many were revoked.
func (s *Store) MoveOutHousehold(ctx context.Context, scope auth.Scope, id int64) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		hh, err := oneOf(ctx, tx, households, scope, id, scanHousehold)
		if err != nil {
			return err
		}
		if n, err = s.revokeWhere(ctx, tx, "household_id", id, "moved_out"); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT id FROM people WHERE household_id = $1", id)
		if err != nil {
			return err
		}
		var people []int64
		for rows.Next() {
			var p int64
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return err
			}
			people = append(people, p)
		}
		rows.Close()
		for _, p := range people {
			m, err := s.revokeWhere(ctx, tx, "person_id", p, "moved_out")
			if err != nil {
				return err
			}
			n += m
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: hh.CommunityID, Action: "household.move_out", Entity: "household", EntityID: id,
			After: snapshot(map[string]int{"revoked": n})})
	})
	return n, err
}

// AccessRevocations is community c's revocation list for its controllers.
func (s *Store) AccessRevocations(ctx context.Context, c int64) (access.Revocations, error) {
	out := access.Revocations{CommunityID: c, Serials: []uint64{}, Cards: []string{}}
	rows, err := s.reader().QueryContext(ctx, "SELECT id, serial, card FROM access_revocations WHERE community_id = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY id", c, s.now())
	if err != nil {
		return out, fmt.Errorf("revocations of community %d: %w", c, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, serial int64
		var card string
		if err := rows.Scan(&id, &serial, &card); err != nil {
			return out, err
		}
		out.Version = max(out.Version, id)
		if serial != 0 {
			out.Serials = append(out.Serials, uint64(serial))
		}
		if card != "" {
			out.Cards = append(out.Cards, card)
		}
	}
	return out, rows.Err()
}

// AccessRevocationVersions returns the version of every community's
// revocation list: what the MQTT adapter compares with what it pushed.
func (s *Store) AccessRevocationVersions(ctx context.Context) (map[int64]int64, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT community_id, MAX(id) FROM access_revocations GROUP BY community_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var c, v int64
		if err := rows.Scan(&c, &v); err != nil {
			return nil, err
		}
		out[c] = v
	}
	return out, rows.Err()
}

// --- decisions ---

// resolve finds what p is at door: online, the store is the authority on
// revocation, uses and a resident's home, whatever a token says.
func (s *Store) resolve(ctx context.Context, q querier, door access.Door, pub ed25519.PublicKey, p access.Presented) (access.Subject, error) {
	var sub access.Subject
	switch p.Kind {
	case access.KindCard, access.KindPIN:
		value := p.Value
		if p.Kind == access.KindCard {
			value = access.NormalizeCard(value)
		}
		if value == "" {
			return sub, nil
		}
		var a args
		cond := "ac.community_id = " + a.add(door.CommunityID) + " AND ac.value_idx IN (" + a.list(s.credentialIndexes(door.CommunityID, p.Kind, value)) + ")"
		return s.credentialSubject(ctx, q, cond, a...)
	case access.KindPhone, access.KindPass:
		if pub == nil {
			return sub, nil // no key yet: no token was ever signed
		}
		t, err := access.ParseToken(p.Token, pub)
		if err != nil || t.CommunityID != door.CommunityID {
			return access.Subject{Kind: p.Kind}, errBadToken
		}
		if t.Kind == access.KindPhone {
			sub, err := s.credentialSubject(ctx, q, "ac.serial = $1 AND ac.community_id = $2 AND ac.kind = 'phone'", int64(t.Serial), door.CommunityID)
			if err != nil || !sub.Found {
				return sub, err
			}
			// The token's own window bounds it, on top of the key's rule.
			sub.ValidFrom, sub.ValidUntil = t.NotBefore, t.NotAfter
			return sub, nil
		}
		pass, err := scanPass(q.QueryRowContext(ctx, "SELECT "+accessPasses.columns+" FROM access_passes ap WHERE ap.serial = $1 AND ap.community_id = $2", int64(t.Serial), door.CommunityID))
		if err == sql.ErrNoRows {
			return sub, nil
		} else if err != nil {
			return sub, err
		}
		return access.Subject{Found: true, Kind: access.KindPass, Role: pass.Kind, Doors: pass.DoorIDs, ValidFrom: pass.ValidFrom, ValidUntil: pass.ValidUntil,
			Uses: pass.Uses, Used: pass.Used, Revoked: pass.RevokedAt != nil, PersonID: pass.PersonID, HouseholdID: pass.HouseholdID, PassID: pass.ID, Serial: pass.Serial}, nil
	}
	return sub, nil
}

var errBadToken = errors.New("bad token")

// decisionContext reads in one query what a decision at a door needs
// besides the credential: the door, its community's time zone and public
// key (nil while the community has none).
func (s *Store) decisionContext(ctx context.Context, q querier, doorID int64) (access.Door, *time.Location, ed25519.PublicKey, error) {
	var tz, pubText string
	row := q.QueryRowContext(ctx, "SELECT "+accessDoors.columns+", c.timezone, COALESCE(k.public_key, '') FROM "+accessDoors.from+
		" JOIN communities c ON c.id = ad.community_id LEFT JOIN access_keys k ON k.community_id = ad.community_id WHERE ad.device_id = $1", doorID)
	door, err := scanDoor(rowWith{row, []any{&tz, &pubText}})
	if err == sql.ErrNoRows {
		return door, nil, nil, notFound("door", doorID)
	} else if err != nil {
		return door, nil, nil, fmt.Errorf("door %d: %w", doorID, err)
	}
	var pub ed25519.PublicKey
	if pubText != "" {
		b, err := base64.StdEncoding.DecodeString(pubText)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return door, nil, nil, fmt.Errorf("access key of community %d is corrupt", door.CommunityID)
		}
		pub = b
	}
	return door, zone(tz), pub, nil
}

// rowWith scans a row into a scanner's destinations and then extra ones.
type rowWith struct {
	r     scanner
	extra []any
}

func (r rowWith) Scan(dest ...any) error { return r.r.Scan(append(dest, r.extra...)...) }

func (s *Store) credentialSubject(ctx context.Context, q querier, cond string, a ...any) (access.Subject, error) {
	var sub access.Subject
	var person, household, building sql.NullInt64
	var revoked sql.NullTime
	var serial int64
	err := q.QueryRowContext(ctx, `SELECT ac.id, ac.kind, ac.role, ac.person_id, ac.household_id, h.building_id, ac.revoked_at, ac.serial
		FROM access_credentials ac LEFT JOIN households hh ON hh.id = ac.household_id LEFT JOIN homes h ON h.id = hh.home_id
		WHERE `+cond+" ORDER BY ac.revoked_at IS NULL DESC, ac.id DESC LIMIT 1", a...).
		Scan(&sub.CredentialID, &sub.Kind, &sub.Role, &person, &household, &building, &revoked, &serial)
	if err == sql.ErrNoRows {
		return access.Subject{}, nil
	} else if err != nil {
		return sub, fmt.Errorf("credential: %w", err)
	}
	sub.Found = true
	sub.PersonID, sub.HouseholdID, sub.BuildingID, sub.Revoked, sub.Serial = person.Int64, household.Int64, building.Int64, revoked.Valid, uint64(serial)
	return sub, nil
}

// Decide answers a controller: whether p opens door now. The decision and
// what it was made on go into the access log; a pass's use is counted in
// the same transaction, so two visitors with one single-use pass at two
// doors at once get one yes and one no.
func (s *Store) Decide(ctx context.Context, doorID int64, p access.Presented, source string) (access.Decision, error) {
	q := s.reader() // on SQLite, statements kept prepared (preparedreads.go)
	door, loc, pub, err := s.decisionContext(ctx, q, doorID)
	if err != nil {
		return access.Decision{}, err
	}
	now := s.now()
	var d access.Decision
	sub, err := s.resolve(ctx, q, door, pub, p)
	switch {
	case errors.Is(err, errBadToken):
		d = access.Decision{Reason: access.ReasonBadToken}
	case err != nil:
		return access.Decision{}, err
	default:
		d = access.Decide(door, sub, now, loc)
	}
	defer func() {
		if err := s.stmts.prepareMissed(ctx); err != nil {
			s.log.Warn("prepare access statements", "err", err)
		}
	}()
	err = s.tx(ctx, func(dbtx *sql.Tx) error {
		tx := s.stmts.in(dbtx)
		if d.Granted && sub.PassID != 0 {
			res, err := tx.ExecContext(ctx, "UPDATE access_passes SET used = used + 1 WHERE id = $1 AND used < uses AND revoked_at IS NULL", sub.PassID)
			if err != nil {
				return fmt.Errorf("count use of pass %d: %w", sub.PassID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				d = access.Decision{Reason: access.ReasonUsedUp} // the last use went to another door meanwhile
			}
		}
		return s.logAccess(ctx, tx, door, now, "decision", p.Kind, d, sub, false, source)
	})
	return d, err
}

func (s *Store) logAccess(ctx context.Context, q querier, door access.Door, at time.Time, event, kind string, d access.Decision, sub access.Subject, offline bool, source string) error {
	var visitor string
	if sub.PassID != 0 {
		if err := q.QueryRowContext(ctx, "SELECT visitor_name FROM access_passes WHERE id = $1", sub.PassID).Scan(&visitor); err != nil {
			return fmt.Errorf("visitor of pass %d: %w", sub.PassID, err)
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO access_log (community_id, door_id, at, event, kind, granted, reason, person_id, household_id, credential_id, pass_id, visitor_name, offline, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		door.CommunityID, door.ID, at.UTC(), event, kind, d.Granted, d.Reason, nullID(sub.PersonID), nullID(sub.HouseholdID), nullID(sub.CredentialID), nullID(sub.PassID), visitor, offline, source)
	if err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	return nil
}

// RecordOfflineDecisions stores what a controller decided while offline,
// uploaded on reconnect: each decision goes into the log marked offline
// with the credential it names, and a pass's uses count.
func (s *Store) RecordOfflineDecisions(ctx context.Context, doorID int64, ds []access.OfflineDecision, source string) error {
	door, err := s.doorByID(ctx, s.reader(), doorID)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, od := range ds {
			var sub access.Subject
			var err error
			switch {
			case od.Serial != 0 && od.Kind == access.KindPass:
				var household, person sql.NullInt64
				err = tx.QueryRowContext(ctx, "SELECT id, household_id, person_id FROM access_passes WHERE serial = $1 AND community_id = $2", int64(od.Serial), door.CommunityID).
					Scan(&sub.PassID, &household, &person)
				sub.HouseholdID, sub.PersonID = household.Int64, person.Int64
				if err == nil && od.Granted {
					_, err = tx.ExecContext(ctx, "UPDATE access_passes SET used = used + 1 WHERE id = $1", sub.PassID)
				}
			case od.Serial != 0:
				sub, err = s.credentialSubject(ctx, tx, "ac.serial = $1 AND ac.community_id = $2", int64(od.Serial), door.CommunityID)
			case od.Fingerprint != "":
				sub, err = s.credentialSubject(ctx, tx, "ac.fingerprint = $1 AND ac.community_id = $2", od.Fingerprint, door.CommunityID)
			}
			if err != nil && err != sql.ErrNoRows {
				return err
			}
			at := od.At
			if at.IsZero() || at.After(s.now()) {
				at = s.now()
			}
			if err := s.logAccess(ctx, tx, door, at, "decision", od.Kind, access.Decision{Granted: od.Granted, Reason: od.Reason}, sub, true, source); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: door.CommunityID, Action: "door.offline_decisions", Entity: "door", EntityID: door.ID,
			After: snapshot(map[string]int{"decisions": len(ds)})})
	})
}

// --- the access log ---

var accessLog = table{
	what: "access log entry", id: "l.id", order: "l.at DESC, l.id DESC",
	from: `access_log l JOIN access_doors ad ON ad.device_id = l.door_id LEFT JOIN people p ON p.id = l.person_id
		LEFT JOIN households hh ON hh.id = l.household_id LEFT JOIN homes h ON h.id = hh.home_id LEFT JOIN buildings b ON b.id = h.building_id`,
	scope: scopeCols{community: "l.community_id", grid: "b.grid_id", household: "l.household_id = %s"},
	columns: `l.id, l.community_id, l.door_id, ad.name, l.at, l.event, l.kind, l.granted, l.reason, COALESCE(l.person_id, 0), COALESCE(p.name, ''),
		COALESCE(l.household_id, 0), COALESCE(l.credential_id, 0), COALESCE(l.pass_id, 0), l.visitor_name, l.offline, l.source`,
}

func scanLogEntry(r scanner) (access.LogEntry, error) {
	var e access.LogEntry
	err := r.Scan(&e.ID, &e.CommunityID, &e.DoorID, &e.DoorName, &e.At, &e.Event, &e.Kind, &e.Granted, &e.Reason, &e.PersonID, &e.PersonName,
		&e.HouseholdID, &e.CredentialID, &e.PassID, &e.VisitorName, &e.Offline, &e.Source)
	e.At = e.At.UTC()
	return e, err
}

// ListAccessLog searches the access log. Who came and went is personal
// data: every search is written to the audit log with its filter.
func (s *Store) ListAccessLog(ctx context.Context, scope auth.Scope, f access.LogFilter) (shequ.List[access.LogEntry], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "l.community_id = "+a.add(f.CommunityID))
	}
	if f.DoorID != 0 {
		conds = append(conds, "l.door_id = "+a.add(f.DoorID))
	}
	if f.PersonID != 0 {
		conds = append(conds, "l.person_id = "+a.add(f.PersonID))
	}
	if f.HouseholdID != 0 {
		conds = append(conds, "l.household_id = "+a.add(f.HouseholdID))
	}
	if !f.From.IsZero() {
		conds = append(conds, "l.at >= "+a.add(f.From.UTC()))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "l.at < "+a.add(f.Until.UTC()))
	}
	out, err := listOf(ctx, s.reader(), accessLog, scope, conds, a, f.Page, scanLogEntry)
	if err != nil {
		return out, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		if cs := scope.Communities(); len(cs) == 1 {
			c = cs[0]
		}
		if f.CommunityID != 0 {
			c = f.CommunityID
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: c, Action: "access_log.read", Entity: "access_log", EntityID: f.DoorID, After: snapshot(f)})
	})
	return out, err
}

// PurgeRevocations deletes the revocations whose credential has expired
// anyway, keeping each community's newest (the controllers resume their
// list from its id); it returns how many went. The access log itself is
// kept for its period by package retention.
func (s *Store) PurgeRevocations(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM access_revocations WHERE expires_at IS NOT NULL AND expires_at < $1
			AND id < (SELECT MAX(r2.id) FROM access_revocations r2 WHERE r2.community_id = access_revocations.community_id)`, s.now())
		if err != nil {
			return fmt.Errorf("purge revocations: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// AccessDoorIDs returns the doors of community c: where its revocation
// list goes.
func (s *Store) AccessDoorIDs(ctx context.Context, c int64) ([]int64, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT device_id FROM access_doors WHERE community_id = $1 ORDER BY device_id", c)
	if err != nil {
		return nil, fmt.Errorf("doors of community %d: %w", c, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
