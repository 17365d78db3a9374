package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/privacy"
)

// personalSection is one table of what is held about a person: a query
// taking $1 the person, $2 their household (0 for none) and $3 their
// home (0 for none). A capability that keeps data about residents adds
// its table here, so the export and the erasure see it.
type personalSection struct {
	table string
	query string
}

var personalSections = []personalSection{
	{"people", `SELECT * FROM people WHERE id = $1`},
	{"emergency_contacts", `SELECT * FROM emergency_contacts WHERE person_id = $1 ORDER BY id`},
	{"households", `SELECT * FROM households WHERE id = $2`},
	{"household_members", `SELECT id, name, gender, relation, birth_date, created_at FROM people WHERE household_id = $2 AND id <> $1 ORDER BY id`},
	{"users", `SELECT id, username, display_name, disabled, phone_enc, created_at, updated_at FROM users WHERE person_id = $1 ORDER BY id`},
	{"ledger_entries", `SELECT * FROM ledger_entries WHERE person_id = $1 ORDER BY id`},
	{"ledger_consents", `SELECT c.*, p.name AS partner_name FROM ledger_consents c JOIN partners p ON p.id = c.partner_id
		WHERE c.entry_id IN (SELECT id FROM ledger_entries WHERE person_id = $1) ORDER BY c.entry_id, c.partner_id`},
	{"ledger_history", `SELECT * FROM ledger_history WHERE entry_id IN (SELECT id FROM ledger_entries WHERE person_id = $1) ORDER BY id`},
	{"ledger_followups", `SELECT * FROM ledger_followups WHERE entry_id IN (SELECT id FROM ledger_entries WHERE person_id = $1) ORDER BY id`},
	{"matters", `SELECT * FROM matters WHERE person_id = $1 OR (household_id = $2 AND $2 <> 0) ORDER BY id`},
	{"matter_log", `SELECT * FROM matter_log WHERE matter_id IN (SELECT id FROM matters WHERE person_id = $1 OR (household_id = $2 AND $2 <> 0)) ORDER BY id`},
	{"incidents", `SELECT * FROM incidents WHERE home_id = $3 ORDER BY id`},
	{"alarm_events", `SELECT * FROM alarm_events WHERE home_id = $3 ORDER BY id`},
	{"assoc_cases", `SELECT * FROM assoc_cases WHERE person_id = $1 OR id IN (SELECT case_id FROM case_attendees WHERE person_id = $1) ORDER BY id`},
	{"mediation_parties", `SELECT * FROM mediation_parties WHERE person_id = $1 ORDER BY id`},
	{"assistance_applications", `SELECT * FROM assistance_applications WHERE person_id = $1 ORDER BY id`},
	{"notifications", `SELECT * FROM notifications WHERE person_id = $1 ORDER BY id`},
	{"access_credentials", `SELECT * FROM access_credentials WHERE person_id = $1 ORDER BY id`},
	{"access_passes", `SELECT * FROM access_passes WHERE person_id = $1 OR (household_id = $2 AND $2 <> 0) ORDER BY id`},
	{"access_log", `SELECT * FROM access_log WHERE person_id = $1 OR (household_id = $2 AND $2 <> 0) ORDER BY id`},
	{"access_welfare", `SELECT * FROM access_welfare WHERE person_id = $1`},
	{"privacy_requests", `SELECT * FROM privacy_requests WHERE person_id = $1 ORDER BY id`},
	{"audit_log", `SELECT * FROM audit_log WHERE entity = 'person' AND entity_id = $1 ORDER BY id`},
}

// PersonalSections names the tables of an export, in order.
func PersonalSections() []string {
	var out []string
	for _, s := range personalSections {
		out = append(out, s.table)
	}
	return out
}

// privacyAccess checks that the actor may act on person's data: the
// resident themselves (PermPrivacyOwn), or an office worker whose scope
// of PermPrivacyAssist reaches the person (onBehalf). It returns the
// person's community, household and home.
func (s *Store) privacyAccess(ctx context.Context, q querier, person int64) (community, household, home int64, onBehalf bool, err error) {
	a := auth.ActorFrom(ctx)
	if a == nil {
		return 0, 0, 0, false, shequ.Errorf(shequ.EUNAUTHORIZED, "sign in")
	}
	own := a.User.PersonID != 0 && a.User.PersonID == person && a.Can(auth.PermPrivacyOwn)
	if !own {
		if err := mustReach(ctx, q, people, a.Scope(auth.PermPrivacyAssist), person); err != nil {
			return 0, 0, 0, false, err
		}
		onBehalf = true
	}
	var hh, hm sql.NullInt64
	err = q.QueryRowContext(ctx, `SELECT p.community_id, p.household_id, h.home_id FROM people p LEFT JOIN households h ON h.id = p.household_id WHERE p.id = $1`, person).Scan(&community, &hh, &hm)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, 0, false, notFound("person", person)
	}
	return community, hh.Int64, hm.Int64, onBehalf, err
}

// PersonalData returns everything held about a person and their
// household, table by table, and records the request (and, when an office
// worker asks on the resident's behalf, the audit log says who).
func (s *Store) PersonalData(ctx context.Context, person int64) (privacy.Export, error) {
	e := privacy.Export{PersonID: person, GeneratedAt: s.now()}
	c, hh, home, onBehalf, err := s.privacyAccess(ctx, s.read, person)
	if err != nil {
		return e, err
	}
	// The request is recorded first, so the export lists it too.
	if _, err := s.addPrivacyRequest(ctx, c, person, privacy.KindExport, privacy.StatusDone, "", onBehalf, nil); err != nil {
		return e, err
	}
	for _, sec := range personalSections {
		rows, err := s.personalRows(ctx, sec.query, person, hh, home)
		if err != nil {
			return e, fmt.Errorf("personal data %s: %w", sec.table, err)
		}
		e.Sections = append(e.Sections, privacy.Section{Table: sec.table, Rows: rows})
	}
	if len(e.Sections) > 0 && len(e.Sections[0].Rows) == 1 {
		e.Name, _ = e.Sections[0].Rows[0]["name"].(string)
	}
	return e, nil
}

// personalRows reads rows as maps: sealed columns (…_enc) opened and
// named without the suffix; keyed indexes, password hashes and the
// key-rotation marker left out.
func (s *Store) personalRows(ctx context.Context, query string, args ...any) ([]map[string]any, error) {
	// Only the parameters a query uses are passed, renumbered in order:
	// PostgreSQL must know the type of every one.
	var used []any
	for i, a := range args {
		mark := fmt.Sprintf("$%d", i+1)
		if strings.Contains(query, mark) {
			used = append(used, a)
			query = strings.ReplaceAll(query, mark, fmt.Sprintf("$#%d", len(used)))
		}
	}
	query = strings.ReplaceAll(query, "$#", "$")
	rows, err := s.read.QueryContext(ctx, query, used...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for i, c := range cols {
			v := vals[i]
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			switch {
			case strings.HasSuffix(c, "_idx"), c == "password_hash", c == "pii_key", c == "key_enc":
				continue
			case strings.HasSuffix(c, "_enc"):
				sealed, _ := v.(string)
				plain, err := s.cipher.Open(sealed)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", c, err)
				}
				m[strings.TrimSuffix(c, "_enc")] = plain
				continue
			}
			if t, ok := v.(time.Time); ok {
				v = t.UTC()
			}
			m[c] = v
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (s *Store) addPrivacyRequest(ctx context.Context, community, person int64, kind, status, reason string, onBehalf bool, outcome []privacy.Outcome) (privacy.Request, error) {
	r := privacy.Request{CommunityID: community, PersonID: person, Kind: kind, Status: status, Reason: reason, OnBehalf: onBehalf, Outcome: outcome, CreatedAt: s.now()}
	if a := auth.ActorFrom(ctx); a != nil {
		r.RequestedBy = a.User.Username
	}
	if r.Outcome == nil {
		r.Outcome = []privacy.Outcome{}
	}
	out, _ := json.Marshal(r.Outcome)
	var decided any
	if status == privacy.StatusDone {
		decided, r.DecidedAt = r.CreatedAt, &r.CreatedAt
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		r.ID, err = insert(ctx, tx, `INSERT INTO privacy_requests (community_id, person_id, kind, status, reason, requested_by, on_behalf, outcome, created_at, decided_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, community, person, kind, status, reason, r.RequestedBy, onBehalf, string(out), r.CreatedAt, decided)
		if err != nil {
			return err
		}
		return s.record(ctx, tx, auditEntry(community, "privacy."+kind, "person", person, nil, map[string]any{"request": r.ID, "on_behalf": onBehalf, "status": status}))
	})
	return r, err
}

const privacyRequestColumns = "id, community_id, person_id, kind, status, reason, requested_by, on_behalf, reviewed_by, note, outcome, created_at, decided_at"

func scanPrivacyRequest(sc scanner) (privacy.Request, error) {
	var r privacy.Request
	var outcome string
	var decided sql.NullTime
	err := sc.Scan(&r.ID, &r.CommunityID, &r.PersonID, &r.Kind, &r.Status, &r.Reason, &r.RequestedBy, &r.OnBehalf, &r.ReviewedBy, &r.Note, &outcome, &r.CreatedAt, &decided)
	if err != nil {
		return r, err
	}
	r.CreatedAt, r.DecidedAt = r.CreatedAt.UTC(), timePtr(decided)
	if err := json.Unmarshal([]byte(outcome), &r.Outcome); err != nil {
		r.Outcome = nil
	}
	return r, nil
}

// PrivacyRequests lists a person's requests, newest first.
func (s *Store) PrivacyRequests(ctx context.Context, person int64) ([]privacy.Request, error) {
	if _, _, _, _, err := s.privacyAccess(ctx, s.read, person); err != nil {
		return nil, err
	}
	return s.privacyRequests(ctx, `WHERE person_id = $1`, person)
}

// PendingErasures lists the erasure requests waiting for the
// administrator within scope (PermPrivacyReview).
func (s *Store) PendingErasures(ctx context.Context, scope auth.Scope) ([]privacy.Request, error) {
	all, err := s.privacyRequests(ctx, `WHERE kind = 'erase' AND status = 'pending'`)
	if err != nil {
		return nil, err
	}
	var out []privacy.Request
	for _, r := range all {
		if scope.WholeCommunity(r.CommunityID) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *Store) privacyRequests(ctx context.Context, where string, args ...any) ([]privacy.Request, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+privacyRequestColumns+` FROM privacy_requests `+where+` ORDER BY id DESC LIMIT 200`, args...)
	if err != nil {
		return nil, fmt.Errorf("privacy requests: %w", err)
	}
	defer rows.Close()
	var out []privacy.Request
	for rows.Next() {
		r, err := scanPrivacyRequest(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// WithdrawConsent records the resident's no to a partner seeing their
// ledger entry: the partner's view ends with the commit (grants read the
// consent). The resident does it themselves or an office worker for them.
func (s *Store) WithdrawConsent(ctx context.Context, person, entry, partner int64) error {
	c, _, _, onBehalf, err := s.privacyAccess(ctx, s.read, person)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var owner int64
		err := tx.QueryRowContext(ctx, `SELECT person_id FROM ledger_entries WHERE id = $1`, entry).Scan(&owner)
		if errors.Is(err, sql.ErrNoRows) || owner != person {
			return notFound("ledger entry", entry)
		}
		if err != nil {
			return err
		}
		method := "app"
		by := "resident"
		if onBehalf {
			method, by = "verbal", "office worker for the resident"
		}
		return s.putConsent(ctx, tx, c, entry, &assoc.Consent{PartnerID: partner, Given: false, Method: method, RecordedBy: by})
	})
	if err != nil {
		return err
	}
	_, err = s.addPrivacyRequest(ctx, c, person, privacy.KindWithdraw, privacy.StatusDone, fmt.Sprintf("ledger entry %d, partner %d", entry, partner), onBehalf, nil)
	return err
}

// RequestErasure records a request to erase a person's data, for the
// administrator to review.
func (s *Store) RequestErasure(ctx context.Context, person int64, reason string) (privacy.Request, error) {
	if err := privacy.ValidateErasure(reason); err != nil {
		return privacy.Request{}, err
	}
	c, _, _, onBehalf, err := s.privacyAccess(ctx, s.read, person)
	if err != nil {
		return privacy.Request{}, err
	}
	pending, err := s.privacyRequests(ctx, `WHERE person_id = $1 AND kind = 'erase' AND status = 'pending'`, person)
	if err != nil {
		return privacy.Request{}, err
	}
	if len(pending) > 0 {
		return pending[0], shequ.Errorf(shequ.ECONFLICT, "an erasure request of this person is already waiting for review")
	}
	return s.addPrivacyRequest(ctx, c, person, privacy.KindErase, privacy.StatusPending, reason, onBehalf, nil)
}

// DecideErasure is the administrator's decision on an erasure request.
// Approved, the person's data is erased or anonymised in one transaction
// and the outcome says, per kind of data, what was done and why anything
// was kept; statistics, which count rows, do not change.
func (s *Store) DecideErasure(ctx context.Context, scope auth.Scope, id int64, approve bool, note string) (privacy.Request, error) {
	if err := privacy.ValidateDecision(approve, note); err != nil {
		return privacy.Request{}, err
	}
	by := "system"
	if a := auth.ActorFrom(ctx); a != nil {
		by = a.User.Username
	}
	var r privacy.Request
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanPrivacyRequest(tx.QueryRowContext(ctx, `SELECT `+privacyRequestColumns+` FROM privacy_requests WHERE id = $1 AND kind = 'erase'`, id))
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !scope.WholeCommunity(r.CommunityID)) {
			return notFound("erasure request", id)
		}
		if err != nil {
			return err
		}
		if r.Status != privacy.StatusPending {
			return shequ.Errorf(shequ.ECONFLICT, "this request was already decided (%s)", r.Status)
		}
		now := s.now()
		r.Status, r.ReviewedBy, r.Note, r.DecidedAt = privacy.StatusRefused, by, note, &now
		if approve {
			r.Status = privacy.StatusApproved
			if r.Outcome, err = s.erasePerson(ctx, tx, r.PersonID); err != nil {
				return err
			}
		}
		out, _ := json.Marshal(r.Outcome)
		if _, err := tx.ExecContext(ctx, `UPDATE privacy_requests SET status = $1, reviewed_by = $2, note = $3, outcome = $4, decided_at = $5 WHERE id = $6`,
			r.Status, by, note, string(out), now, id); err != nil {
			return err
		}
		return s.record(ctx, tx, auditEntry(r.CommunityID, "privacy.erase."+r.Status, "person", r.PersonID, nil, map[string]any{"request": id, "outcome": r.Outcome, "note": note}))
	})
	return r, err
}

// erasePerson erases or anonymises what may be of a person and says what
// was kept and why.
func (s *Store) erasePerson(ctx context.Context, tx *sql.Tx, person int64) ([]privacy.Outcome, error) {
	var out []privacy.Outcome
	do := func(what, done, why, query string, args ...any) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return fmt.Errorf("erase %s: %w", what, err)
		}
		n, _ := res.RowsAffected()
		out = append(out, privacy.Outcome{What: what, Done: done, Rows: int(n), Why: why})
		return nil
	}
	now := s.now()
	name := fmt.Sprintf("已匿名居民 %d", person)
	steps := []struct {
		what, done, why, query string
		args                   []any
	}{
		{"person", "anonymised", "name, ID and phone numbers replaced, birth date cut to the year; the record stays so that counts (households, services) do not change",
			`UPDATE people SET name = $1, phone_enc = '', phone_idx = '', id_number_enc = '', id_number_idx = '',
				birth_date = CASE WHEN LENGTH(birth_date) >= 4 THEN SUBSTR(birth_date, 1, 4) || '-01-01' ELSE '' END, pii_key = $2, anonymised_at = $3 WHERE id = $4`,
			[]any{name, s.cipher.Current(), now, person}},
		{"emergency_contacts", "erased", "other people's numbers kept for this resident only", `DELETE FROM emergency_contacts WHERE person_id = $1`, []any{person}},
		{"users", "anonymised", "the account is disabled and its name and phone cleared; its actions stay in the audit log",
			`UPDATE users SET display_name = $1, phone_enc = '', disabled = TRUE, updated_at = $2 WHERE person_id = $3`, []any{name, now, person}},
		{"sessions", "erased", "signed out everywhere", `DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE person_id = $1)`, []any{person}},
		{"ledger_followups", "anonymised", "notes cleared; the follow-ups stay as counts in the associations' statistics",
			`UPDATE ledger_followups SET note = '' WHERE entry_id IN (SELECT id FROM ledger_entries WHERE person_id = $1)`, []any{person}},
		{"assoc_cases", "anonymised", "summaries and outcomes of their individual cases cleared; the cases stay as counts",
			`UPDATE assoc_cases SET summary = '（已匿名）', outcome = '' WHERE person_id = $1`, []any{person}},
		{"assistance_applications", "anonymised", "notes and reasons cleared; the decisions stay as counts",
			`UPDATE assistance_applications SET note = '', reason = '' WHERE person_id = $1`, []any{person}},
		{"notifications", "anonymised", "name and masked number of the messages sent to them cleared",
			`UPDATE notifications SET name = '', masked_phone = '' WHERE person_id = $1`, []any{person}},
		{"access_credentials", "erased", "their door cards and PINs stop opening doors (the controllers are told) and their numbers are removed",
			`UPDATE access_credentials SET value_enc = '', value_idx = '', hint = '', label = '' WHERE person_id = $1`, []any{person}},
		{"access_passes", "anonymised", "the names of the visitors they invited cleared; the passes stay as counts",
			`UPDATE access_passes SET visitor_name = '' WHERE person_id = $1`, []any{person}},
		{"access_log", "anonymised", "their door passages no longer name them; the passages stay as counts",
			`UPDATE access_log SET person_id = NULL, visitor_name = '' WHERE person_id = $1`, []any{person}},
		{"access_welfare", "erased", "the welfare watch of their door passages ends", `DELETE FROM access_welfare WHERE person_id = $1`, []any{person}},
	}
	// Their keys are revoked first, so that the controllers' revocation
	// list names them before the numbers are removed.
	if err := s.revokePersonAccess(ctx, tx, person, "erased"); err != nil {
		return nil, err
	}
	for _, st := range steps {
		if err := do(st.what, st.done, st.why, st.query, st.args...); err != nil {
			return nil, err
		}
	}
	// Their matters, except those under a legal hold.
	var ids []int64
	rows, err := tx.QueryContext(ctx, `SELECT id FROM matters WHERE person_id = $1 AND NOT EXISTS
		(SELECT 1 FROM legal_holds h WHERE h.kind = 'matter' AND h.entity_id = matters.id AND h.released_at IS NULL) ORDER BY id`, person)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) > 0 {
		if err := anonymiseMatters(ctx, s, tx, ids); err != nil {
			return nil, err
		}
	}
	out = append(out, privacy.Outcome{What: "matters", Done: "anonymised", Rows: len(ids), Why: "description, address, photos, contact and search entry removed; category, status and times stay for statistics"})
	var held int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM matters m WHERE m.person_id = $1 AND EXISTS
		(SELECT 1 FROM legal_holds h WHERE h.kind = 'matter' AND h.entity_id = m.id AND h.released_at IS NULL)`, person).Scan(&held); err != nil {
		return nil, err
	}
	if held > 0 {
		out = append(out, privacy.Outcome{What: "matters", Done: "kept", Rows: held, Why: "under a legal hold (a matter in dispute): kept until the hold is released"})
	}
	out = append(out,
		privacy.Outcome{What: "audit_log", Done: "kept", Why: "the law requires the record of who saw and changed personal data to be kept"},
		privacy.Outcome{What: "ledger_entries and consents", Done: "kept", Why: "the associations' service records, without name or numbers now, count in statistics; consents show what partners were allowed"},
		privacy.Outcome{What: "alarm history of the home", Done: "kept", Why: "it belongs to the home, not the person, and goes with its retention period"},
	)
	return out, nil
}

// CorrectPhone is the resident's own correction of their phone number
// (name and ID number are corrected at the office, which sees the ID
// card), audited and recorded as a request.
func (s *Store) CorrectPhone(ctx context.Context, person int64, phone string) error {
	c, _, _, onBehalf, err := s.privacyAccess(ctx, s.read, person)
	if err != nil {
		return err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.person(ctx, tx, auth.Scope{{}}, person)
		if err != nil {
			return err
		}
		after := before
		after.Phone = strings.TrimSpace(phone)
		if err := after.Validate(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE people SET phone_enc = $1, phone_idx = $2, updated_at = $3 WHERE id = $4`,
			s.cipher.Seal(after.Phone), s.cipher.Index(after.Phone), s.now(), person); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, c, "correct", "person", person, maskedCopy(before), maskedCopy(after))
	})
	if err != nil {
		return err
	}
	_, err = s.addPrivacyRequest(ctx, c, person, privacy.KindCorrect, privacy.StatusDone, "phone", onBehalf, nil)
	return err
}
