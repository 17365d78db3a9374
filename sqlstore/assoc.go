package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
)

// The associations' work: ledgers, sharing grants, follow-ups, openings and
// intakes. Every function takes the caller's assoc.Access and narrows its
// queries to the rules of package assoc; a partner's reads are audited in
// the transaction that reads them.

// Now returns the store's time, for callers (the demo) that set deadlines.
func (s *Store) Now() time.Time { return s.now() }

// accessScope returns the communities an access reaches as a scope.
func accessScope(communities []int64) auth.Scope {
	if communities == nil {
		return everything
	}
	s := auth.Scope{}
	for _, c := range communities {
		s = append(s, auth.Reach{CommunityID: c})
	}
	return s
}

// --- ledger types ---

var ledgerTypes = table{
	what: "ledger", from: "ledger_types lt", id: "lt.id", order: "lt.community_id, lt.id",
	scope:   scopeCols{community: "lt.community_id"},
	columns: "lt.id, lt.community_id, lt.key, lt.name, lt.name_en, lt.association_id, lt.sensitive, lt.fields, lt.created_at, lt.updated_at",
}

func scanLedgerType(r scanner) (assoc.LedgerType, error) {
	var t assoc.LedgerType
	var fields string
	if err := r.Scan(&t.ID, &t.CommunityID, &t.Key, &t.Name, &t.NameEn, &t.AssociationID, &t.Sensitive, &fields, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	t.Fields = []assoc.Field{}
	if err := json.Unmarshal([]byte(fields), &t.Fields); err != nil {
		return t, fmt.Errorf("ledger %s fields: %w", t.Key, err)
	}
	return t, nil
}

// ledgerType finds the type key names in community (0: the one community
// acc touches that has it). It does not decide what acc may do with it.
func (s *Store) ledgerType(ctx context.Context, q querier, acc assoc.Access, community int64, key string) (assoc.LedgerType, error) {
	var a args
	query := "SELECT " + ledgerTypes.columns + " FROM ledger_types lt WHERE lt.key = " + a.add(key)
	if community != 0 {
		query += " AND lt.community_id = " + a.add(community)
	}
	if cs := acc.Communities(); cs != nil {
		if len(cs) == 0 {
			return assoc.LedgerType{}, shequ.Errorf(shequ.ENOTFOUND, "no ledger %q", key)
		}
		query += " AND lt.community_id IN " + inList(&a, cs)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY lt.id LIMIT 2", a...)
	if err != nil {
		return assoc.LedgerType{}, fmt.Errorf("ledger %s: %w", key, err)
	}
	defer rows.Close()
	var found []assoc.LedgerType
	for rows.Next() {
		t, err := scanLedgerType(rows)
		if err != nil {
			return t, err
		}
		found = append(found, t)
	}
	if err := rows.Err(); err != nil {
		return assoc.LedgerType{}, err
	}
	switch len(found) {
	case 0:
		return assoc.LedgerType{}, shequ.Errorf(shequ.ENOTFOUND, "no ledger %q", key)
	case 1:
		return found[0], nil
	}
	return assoc.LedgerType{}, shequ.Invalid(map[string]string{"community": "several communities have this ledger: say which"})
}

// liveGrants returns the live grants of ledger t to the partners acc acts for.
func (s *Store) liveGrants(ctx context.Context, q querier, acc assoc.Access, t assoc.LedgerType) ([]assoc.LedgerGrant, error) {
	partners := acc.PartnersIn(t.CommunityID)
	if len(partners) == 0 || t.Sensitive {
		return nil, nil
	}
	var a args
	conds := []string{"lg.type_id = " + a.add(t.ID), "lg.partner_id IN " + inList(&a, partners), "lg.revoked_at IS NULL", "lg.expires_at > " + a.add(s.now())}
	return s.grantsWhere(ctx, q, conds, a)
}

// view works out how acc sees ledger key: EFORBIDDEN when not at all.
func (s *Store) view(ctx context.Context, q querier, acc assoc.Access, community int64, key string) (assoc.View, error) {
	t, err := s.ledgerType(ctx, q, acc, community, key)
	if err != nil {
		return assoc.View{}, err
	}
	grants, err := s.liveGrants(ctx, q, acc, t)
	if err != nil {
		return assoc.View{}, err
	}
	v := acc.ViewOf(t, grants, s.now())
	if v.None() {
		return v, shequ.Errorf(shequ.EFORBIDDEN, "the ledger %s is not open to you", key)
	}
	return v, nil
}

// ListLedgerTypes returns the ledgers acc may open: administrators all of
// their communities', association roles the non-sensitive ones and their
// own, partners those a live grant shares, cut down to the shared fields.
// Sensitive fields are listed to administrators and to the members of the
// ledger's owner association.
func (s *Store) ListLedgerTypes(ctx context.Context, acc assoc.Access, community int64) (shequ.List[assoc.LedgerType], error) {
	var a args
	var conds []string
	if community != 0 {
		conds = append(conds, "lt.community_id = "+a.add(community))
	}
	all, err := listOf(ctx, s.reader(), ledgerTypes, accessScope(acc.Communities()), conds, a, shequ.Page{Limit: shequ.MaxLimit}, scanLedgerType)
	if err != nil {
		return all, err
	}
	out := shequ.List[assoc.LedgerType]{Items: []assoc.LedgerType{}}
	for _, t := range all.Items {
		grants, err := s.liveGrants(ctx, s.reader(), acc, t)
		if err != nil {
			return out, err
		}
		v := acc.ViewOf(t, grants, s.now())
		switch {
		case v.None():
			continue
		case v.Partner():
			t = t.Restrict(v.Fields())
			t.Shared = v.Grants
		case !v.Full && !slices.Contains(v.Own, t.AssociationID):
			t = t.WithoutSensitive()
		}
		out.Items = append(out.Items, t)
	}
	out.Total = len(out.Items)
	return out, nil
}

// LedgerType returns one ledger as acc sees it; EFORBIDDEN when it is not
// open to acc.
func (s *Store) LedgerType(ctx context.Context, acc assoc.Access, community int64, key string) (assoc.LedgerType, error) {
	v, err := s.view(ctx, s.reader(), acc, community, key)
	if err != nil {
		return assoc.LedgerType{}, err
	}
	t := v.Type
	switch {
	case v.Partner():
		t = t.Restrict(v.Fields())
		t.Shared = v.Grants
	case !v.Full && !slices.Contains(v.Own, t.AssociationID):
		t = t.WithoutSensitive()
	}
	return t, nil
}

// CreateLedgerType adds a ledger to a community (administrators).
func (s *Store) CreateLedgerType(ctx context.Context, acc assoc.Access, t *assoc.LedgerType) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if !acc.IsAdmin(t.CommunityID) {
		return shequ.Errorf(shequ.EFORBIDDEN, "you may not add ledgers to community %d", t.CommunityID)
	}
	fields, _ := json.Marshal(t.Fields)
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := associationIn(ctx, tx, t.AssociationID, t.CommunityID); err != nil {
			return err
		}
		now := s.now()
		id, err := insert(ctx, tx, `INSERT INTO ledger_types (community_id, key, name, name_en, association_id, sensitive, fields, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.CommunityID, t.Key, t.Name, t.NameEn, t.AssociationID, t.Sensitive, string(fields), now, now)
		if err != nil {
			return err
		}
		t.ID, t.CreatedAt, t.UpdatedAt = id, now, now
		return s.change(ctx, tx, t.CommunityID, "create", "ledger_type", id, nil, t)
	})
}

func associationIn(ctx context.Context, q querier, id, community int64) error {
	n, err := count(ctx, q, "SELECT COUNT(*) FROM associations WHERE id = $1 AND community_id = $2", id, community)
	if err != nil {
		return err
	}
	if n == 0 {
		return shequ.Invalid(map[string]string{"association_id": fmt.Sprintf("association %d is not one of this community", id)})
	}
	return nil
}

// residentIn checks that person lives in community and returns their name.
func residentIn(ctx context.Context, q querier, person, community int64) (string, error) {
	var c int64
	var name string
	err := q.QueryRowContext(ctx, "SELECT community_id, name FROM people WHERE id = $1", person).Scan(&c, &name)
	if err == sql.ErrNoRows || (err == nil && c != community) {
		return "", shequ.Invalid(map[string]string{"person_id": fmt.Sprintf("resident %d is not one of this community", person)})
	}
	return name, err
}

func partnerIn(ctx context.Context, q querier, id, community int64) error {
	n, err := count(ctx, q, "SELECT COUNT(*) FROM partners WHERE id = $1 AND community_id = $2", id, community)
	if err != nil {
		return err
	}
	if n == 0 {
		return shequ.Invalid(map[string]string{"partner_id": fmt.Sprintf("partner %d is not one of this community", id)})
	}
	return nil
}

// AddLedgerField extends a ledger's schema (administrators). Entries made
// before keep their values; a new required field is asked for when an
// entry is next changed.
func (s *Store) AddLedgerField(ctx context.Context, acc assoc.Access, community int64, key string, f assoc.Field) (assoc.LedgerType, error) {
	var out assoc.LedgerType
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, err := s.ledgerType(ctx, tx, acc, community, key)
		if err != nil {
			return err
		}
		if !acc.IsAdmin(t.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only an administrator changes a ledger's fields")
		}
		before := t.Fields
		if err := t.AddField(f); err != nil {
			return err
		}
		fields, _ := json.Marshal(t.Fields)
		t.UpdatedAt = s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE ledger_types SET fields = $1, updated_at = $2 WHERE id = $3", string(fields), t.UpdatedAt, t.ID); err != nil {
			return mapError(err)
		}
		out = t
		return s.change(ctx, tx, t.CommunityID, "add_field", "ledger_type", t.ID, map[string]any{"fields": before}, map[string]any{"fields": t.Fields})
	})
	return out, err
}

// --- entries ---

var ledgerEntries = table{
	what: "ledger entry", id: "e.id", order: "e.id",
	from:    "ledger_entries e JOIN ledger_types lt ON lt.id = e.type_id JOIN people p ON p.id = e.person_id",
	scope:   scopeCols{community: "e.community_id"},
	columns: "e.id, e.community_id, e.type_id, lt.key, e.person_id, p.name, e.association_id, e.status, e.data, e.created_by, e.updated_by, e.created_at, e.updated_at",
}

func scanEntry(r scanner) (assoc.LedgerEntry, error) {
	var e assoc.LedgerEntry
	var data string
	var created, updated sql.NullInt64
	err := r.Scan(&e.ID, &e.CommunityID, &e.TypeID, &e.Ledger, &e.PersonID, &e.PersonName, &e.AssociationID, &e.Status, &data, &created, &updated, &e.CreatedAt, &e.UpdatedAt)
	if err != nil {
		return e, err
	}
	e.CreatedBy, e.UpdatedBy = created.Int64, updated.Int64
	e.CreatedAt, e.UpdatedAt = e.CreatedAt.UTC(), e.UpdatedAt.UTC()
	e.Values = map[string]any{}
	if err := json.Unmarshal([]byte(data), &e.Values); err != nil {
		return e, fmt.Errorf("ledger entry %d: %w", e.ID, err)
	}
	return e, nil
}

// visibleWhere is the SQL form of View.See: which entries of the ledger
// the view shows.
func visibleWhere(v assoc.View, a *args) string {
	if v.Full || v.Others {
		return "TRUE"
	}
	var ors []string
	if len(v.Own) > 0 {
		ors = append(ors, "e.association_id IN "+inList(a, v.Own))
	}
	for _, g := range v.Grants {
		parts := []string{"EXISTS (SELECT 1 FROM ledger_consents lc WHERE lc.entry_id = e.id AND lc.partner_id = " + a.add(g.PartnerID) + " AND lc.given = TRUE)"}
		keys := make([]string, 0, len(g.Filter))
		for k := range g.Filter {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, "EXISTS (SELECT 1 FROM ledger_values lv WHERE lv.entry_id = e.id AND lv.field = "+a.add(k)+" AND lv.value = "+a.add(g.Filter[k])+")")
		}
		ors = append(ors, "("+strings.Join(parts, " AND ")+")")
	}
	if len(ors) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// EntryFilter narrows the entries of one ledger.
type EntryFilter struct {
	CommunityID   int64
	Ledger        string
	PersonID      int64
	AssociationID int64
	Status        string
	// Where keeps entries whose field has the value, as typed.
	Where map[string]string
	// Query finds residents by name (not for partners).
	Query string
	shequ.Page
}

// consentsOf returns, for each entry, the partners its resident consented to.
func consentsOf(ctx context.Context, q querier, entries []assoc.LedgerEntry) (map[int64][]int64, error) {
	out := map[int64][]int64{}
	if len(entries) == 0 {
		return out, nil
	}
	var a args
	ids := make([]int64, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	rows, err := q.QueryContext(ctx, "SELECT entry_id, partner_id FROM ledger_consents WHERE given = TRUE AND entry_id IN "+inList(&a, ids), a...)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e, p int64
		if err := rows.Scan(&e, &p); err != nil {
			return nil, err
		}
		out[e] = append(out[e], p)
	}
	return out, rows.Err()
}

// seeAll passes each entry through the view once more, audits what a
// partner reads, and returns the entries as shown.
func (s *Store) seeAll(ctx context.Context, q querier, v assoc.View, entries []assoc.LedgerEntry) ([]assoc.LedgerEntry, error) {
	var consents map[int64][]int64
	if len(v.Grants) > 0 {
		var err error
		if consents, err = consentsOf(ctx, q, entries); err != nil {
			return nil, err
		}
	}
	out := make([]assoc.LedgerEntry, 0, len(entries))
	for _, e := range entries {
		seen, ok := v.See(e, func(p int64) bool { return slices.Contains(consents[e.ID], p) })
		if !ok {
			s.log.Error("ledger entry passed the query but not the rules", "entry", e.ID, "ledger", v.Type.Key)
			continue
		}
		if len(seen.Grants) > 0 {
			ids := make([]int64, len(seen.Grants))
			for i, g := range seen.Grants {
				ids[i] = g.ID
			}
			fields := make([]string, 0, len(seen.Entry.Values))
			for k := range seen.Entry.Values {
				fields = append(fields, k)
			}
			sort.Strings(fields)
			if err := s.record(ctx, q, audit.Entry{CommunityID: e.CommunityID, Action: "ledger.partner_read", Entity: "ledger_entry", EntityID: e.ID,
				After: snapshot(map[string]any{"ledger": v.Type.Key, "partner_id": seen.Grants[0].PartnerID, "grant_ids": ids, "fields": fields})}); err != nil {
				return nil, err
			}
		}
		out = append(out, seen.Entry)
	}
	return out, nil
}

// withView works out how acc sees ledger key and runs fn with it: on the
// read pool, or, when the view reaches through partner grants, in a write
// transaction that looks at the grants afresh (a revocation that commits
// first is seen) and audits what the partner reads.
func (s *Store) withView(ctx context.Context, acc assoc.Access, community int64, key string, fn func(q querier, v assoc.View) error) error {
	v, err := s.view(ctx, s.reader(), acc, community, key)
	if err != nil {
		return err
	}
	if len(v.Grants) == 0 {
		return fn(s.reader(), v)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		v, err := s.view(ctx, tx, acc, community, key)
		if err != nil {
			return err
		}
		return fn(tx, v)
	})
}

// ListEntries returns the entries of a ledger acc sees, as it sees them.
// A ledger not open to acc is EFORBIDDEN; every entry a partner reads is
// audited as ledger.partner_read.
func (s *Store) ListEntries(ctx context.Context, acc assoc.Access, f EntryFilter) (shequ.List[assoc.LedgerEntry], error) {
	var out shequ.List[assoc.LedgerEntry]
	err := s.withView(ctx, acc, f.CommunityID, f.Ledger, func(q querier, v assoc.View) error {
		var a args
		conds := []string{"e.type_id = " + a.add(v.Type.ID), visibleWhere(v, &a)}
		if f.PersonID != 0 {
			conds = append(conds, "e.person_id = "+a.add(f.PersonID))
		}
		if f.AssociationID != 0 {
			conds = append(conds, "e.association_id = "+a.add(f.AssociationID))
		}
		if f.Status != "" {
			conds = append(conds, "e.status = "+a.add(f.Status))
		}
		visible := v.Fields()
		keys := make([]string, 0, len(f.Where))
		for k := range f.Where {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !slices.Contains(visible, k) {
				return shequ.Invalid(map[string]string{"filter." + k: "is not a field you can see"})
			}
			val, err := v.Type.FilterValue(k, f.Where[k])
			if err != nil {
				return err
			}
			conds = append(conds, "EXISTS (SELECT 1 FROM ledger_values lv WHERE lv.entry_id = e.id AND lv.field = "+a.add(k)+" AND lv.value = "+a.add(val)+")")
		}
		if q := strings.TrimSpace(f.Query); q != "" {
			if v.Partner() {
				return shequ.Invalid(map[string]string{"q": "partners do not search residents by name"})
			}
			conds = append(conds, "p.name LIKE "+a.add("%"+q+"%"))
		}
		list, err := listOf(ctx, q, ledgerEntries, auth.Scope{{CommunityID: v.Type.CommunityID}}, conds, a, f.Page, scanEntry)
		if err != nil {
			return err
		}
		items, err := s.seeAll(ctx, q, v, list.Items)
		out = shequ.List[assoc.LedgerEntry]{Items: items, Total: list.Total}
		return err
	})
	return out, err
}

// entry reads one entry of the view's ledger as the view shows it, with
// whether acc sees it in full (owner association or administrator).
func (s *Store) entry(ctx context.Context, q querier, v assoc.View, id int64) (assoc.LedgerEntry, bool, error) {
	var a args
	query := "SELECT " + ledgerEntries.columns + " FROM " + ledgerEntries.from + " WHERE e.id = " + a.add(id) + " AND e.type_id = " + a.add(v.Type.ID) + " AND " + visibleWhere(v, &a)
	e, err := scanEntry(q.QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return e, false, notFound("ledger entry", id)
	} else if err != nil {
		return e, false, fmt.Errorf("ledger entry %d: %w", id, err)
	}
	full := v.Full || slices.Contains(v.Own, e.AssociationID)
	seen, err := s.seeAll(ctx, q, v, []assoc.LedgerEntry{e})
	if err != nil {
		return e, false, err
	}
	if len(seen) == 0 {
		return e, false, notFound("ledger entry", id)
	}
	return seen[0], full, nil
}

// Entry returns one entry as acc sees it: in full with its consents and
// follow-ups for the owner association and administrators; a partner's
// view with that partner's own follow-ups. A partner's read is audited.
func (s *Store) Entry(ctx context.Context, acc assoc.Access, community int64, key string, id int64) (assoc.LedgerEntry, error) {
	var out assoc.LedgerEntry
	err := s.withView(ctx, acc, community, key, func(q querier, v assoc.View) error {
		e, full, err := s.entry(ctx, q, v, id)
		if err != nil {
			return err
		}
		switch {
		case full:
			if e.Consents, err = s.consentList(ctx, q, id); err != nil {
				return err
			}
			e.FollowUps, err = s.followUps(ctx, q, id, nil)
		case v.Partner():
			e.FollowUps, err = s.followUps(ctx, q, id, acc.PartnersIn(v.Type.CommunityID))
		}
		out = e
		return err
	})
	if shequ.ErrorCode(err) == shequ.EFORBIDDEN {
		return out, notFound("ledger entry", id)
	}
	return out, err
}

func (s *Store) consentList(ctx context.Context, q querier, entry int64) ([]assoc.Consent, error) {
	rows, err := q.QueryContext(ctx, "SELECT entry_id, partner_id, given, method, recorded_by, user_id, at FROM ledger_consents WHERE entry_id = $1 ORDER BY partner_id", entry)
	if err != nil {
		return nil, fmt.Errorf("consents: %w", err)
	}
	defer rows.Close()
	out := []assoc.Consent{}
	for rows.Next() {
		var c assoc.Consent
		var user sql.NullInt64
		if err := rows.Scan(&c.EntryID, &c.PartnerID, &c.Given, &c.Method, &c.RecordedBy, &user, &c.At); err != nil {
			return nil, err
		}
		c.UserID, c.At = user.Int64, c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// putValues replaces an entry's rows in ledger_values.
func putValues(ctx context.Context, tx *sql.Tx, entry int64, values map[string]any) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM ledger_values WHERE entry_id = $1", entry); err != nil {
		return err
	}
	for k, v := range values {
		if _, err := tx.ExecContext(ctx, "INSERT INTO ledger_values (entry_id, field, value) VALUES ($1, $2, $3)", entry, k, assoc.Canonical(v)); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// history appends a line to an entry's history.
func (s *Store) history(ctx context.Context, tx *sql.Tx, entry int64, action string, before, after any) error {
	var user any
	username := "system"
	if a := auth.ActorFrom(ctx); a != nil {
		user, username = a.User.ID, a.User.Username
	}
	b, af := "", ""
	if before != nil {
		b = string(snapshot(before))
	}
	if after != nil {
		af = string(snapshot(after))
	}
	_, err := tx.ExecContext(ctx, "INSERT INTO ledger_history (entry_id, at, user_id, username, action, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		entry, s.now(), user, username, action, b, af)
	return err
}

// entrySummary is what the audit log keeps of an entry change: which
// fields, not their values, which stay in the ledger's own history under
// the ledger's rules.
func entrySummary(ledger string, e assoc.LedgerEntry, changed []string) map[string]any {
	return map[string]any{"ledger": ledger, "person_id": e.PersonID, "association_id": e.AssociationID, "status": e.Status, "fields": changed}
}

func actorID(ctx context.Context) int64 {
	if a := auth.ActorFrom(ctx); a != nil {
		return a.User.ID
	}
	return 0
}

// CreateEntry adds a resident to a ledger. The entry belongs to the
// ledger's owner association unless the writer names another of theirs.
// Values are checked against the ledger's fields. The consents e brings
// (the resident's word to partners, taken with the entry) are stored with
// it; on any error nothing is stored.
func (s *Store) CreateEntry(ctx context.Context, acc assoc.Access, community int64, key string, e *assoc.LedgerEntry) error {
	if err := e.Validate(); err != nil {
		return err
	}
	for i := range e.Consents {
		if err := e.Consents[i].Validate(); err != nil {
			return err
		}
	}
	out := *e
	err := s.tx(ctx, func(tx *sql.Tx) error {
		e := &out
		t, err := s.ledgerType(ctx, tx, acc, community, key)
		if err != nil {
			return err
		}
		c := t.CommunityID
		if e.AssociationID == 0 {
			mine := acc.AssociationsIn(c)
			switch {
			case acc.IsAdmin(c) || slices.Contains(mine, t.AssociationID):
				e.AssociationID = t.AssociationID
			case len(mine) == 1:
				e.AssociationID = mine[0]
			}
		}
		if !acc.CanWrite(t, e.AssociationID) {
			if acc.ViewOf(t, nil, s.now()).None() {
				return shequ.Errorf(shequ.EFORBIDDEN, "the ledger %s is not open to you", key)
			}
			return shequ.Errorf(shequ.EFORBIDDEN, "you may not enter residents in the ledger %s for that association", key)
		}
		if err := associationIn(ctx, tx, e.AssociationID, c); err != nil {
			return err
		}
		if _, err := residentIn(ctx, tx, e.PersonID, c); err != nil {
			return err
		}
		values, err := t.CheckValues(e.Values)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(values)
		now, by := s.now(), actorID(ctx)
		id, err := insert(ctx, tx, `INSERT INTO ledger_entries (community_id, type_id, person_id, association_id, status, data, created_by, updated_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, c, t.ID, e.PersonID, e.AssociationID, e.Status, string(data), nullID(by), nullID(by), now, now)
		if err != nil {
			return err
		}
		e.ID, e.CommunityID, e.TypeID, e.Ledger, e.Values = id, c, t.ID, t.Key, values
		e.CreatedBy, e.UpdatedBy, e.CreatedAt, e.UpdatedAt = by, by, now, now
		if err := tx.QueryRowContext(ctx, "SELECT name FROM people WHERE id = $1", e.PersonID).Scan(&e.PersonName); err != nil {
			return err
		}
		if err := putValues(ctx, tx, id, values); err != nil {
			return err
		}
		if err := s.history(ctx, tx, id, "create", nil, values); err != nil {
			return err
		}
		if err := s.change(ctx, tx, c, "create", "ledger_entry", id, nil, entrySummary(t.Key, *e, sortedKeys(values))); err != nil {
			return err
		}
		for i := range e.Consents {
			if err := s.putConsent(ctx, tx, c, id, &e.Consents[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		*e = out
	}
	return err
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// writable loads an entry acc may change: ENOTFOUND when acc cannot see
// it, EFORBIDDEN when acc sees it but may not change it.
func (s *Store) writable(ctx context.Context, tx *sql.Tx, acc assoc.Access, community int64, key string, id int64) (assoc.LedgerType, assoc.LedgerEntry, error) {
	t, err := s.ledgerType(ctx, tx, acc, community, key)
	if err != nil {
		return t, assoc.LedgerEntry{}, err
	}
	e, err := scanEntry(tx.QueryRowContext(ctx, "SELECT "+ledgerEntries.columns+" FROM "+ledgerEntries.from+" WHERE e.id = $1 AND e.type_id = $2", id, t.ID))
	if err == sql.ErrNoRows {
		return t, e, notFound("ledger entry", id)
	} else if err != nil {
		return t, e, err
	}
	if acc.CanWrite(t, e.AssociationID) {
		return t, e, nil
	}
	if _, ok := acc.ViewOf(t, nil, s.now()).See(e, func(int64) bool { return false }); ok {
		return t, e, shequ.Errorf(shequ.EFORBIDDEN, "only the association that owns this entry changes it")
	}
	return t, e, notFound("ledger entry", id)
}

// EntryChange is a change to an entry: values given are set (null clears
// one), a status or owner association given replaces the old.
type EntryChange struct {
	Values        map[string]any
	Status        string
	AssociationID int64
}

// UpdateEntry changes an entry and keeps the old and new values in its
// history. The values after the change are checked as a whole; on any
// error nothing is stored.
func (s *Store) UpdateEntry(ctx context.Context, acc assoc.Access, community int64, key string, id int64, ch EntryChange) (assoc.LedgerEntry, error) {
	var out assoc.LedgerEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		t, e, err := s.writable(ctx, tx, acc, community, key, id)
		if err != nil {
			return err
		}
		next := e
		next.Values, err = t.CheckValues(assoc.Merge(e.Values, ch.Values))
		if err != nil {
			return err
		}
		if ch.Status != "" {
			next.Status = ch.Status
		}
		if err := next.Validate(); err != nil {
			return err
		}
		if ch.AssociationID != 0 && ch.AssociationID != e.AssociationID {
			if !acc.CanWrite(t, ch.AssociationID) {
				return shequ.Errorf(shequ.EFORBIDDEN, "you may not hand the entry to association %d", ch.AssociationID)
			}
			if err := associationIn(ctx, tx, ch.AssociationID, t.CommunityID); err != nil {
				return err
			}
			next.AssociationID = ch.AssociationID
		}
		var changed []string
		for _, k := range sortedKeys(assoc.Merge(e.Values, next.Values)) {
			if assoc.Canonical(e.Values[k]) != assoc.Canonical(next.Values[k]) || (e.Values[k] == nil) != (next.Values[k] == nil) {
				changed = append(changed, k)
			}
		}
		if len(changed) == 0 && next.Status == e.Status && next.AssociationID == e.AssociationID {
			out = e
			return nil
		}
		data, _ := json.Marshal(next.Values)
		next.UpdatedAt, next.UpdatedBy = s.now(), actorID(ctx)
		if _, err := tx.ExecContext(ctx, "UPDATE ledger_entries SET data = $1, status = $2, association_id = $3, updated_by = $4, updated_at = $5 WHERE id = $6",
			string(data), next.Status, next.AssociationID, nullID(next.UpdatedBy), next.UpdatedAt, id); err != nil {
			return mapError(err)
		}
		if err := putValues(ctx, tx, id, next.Values); err != nil {
			return err
		}
		before := map[string]any{"values": e.Values, "status": e.Status, "association_id": e.AssociationID}
		after := map[string]any{"values": next.Values, "status": next.Status, "association_id": next.AssociationID}
		if err := s.history(ctx, tx, id, "update", before, after); err != nil {
			return err
		}
		out = next
		return s.change(ctx, tx, t.CommunityID, "update", "ledger_entry", id, nil, entrySummary(t.Key, next, changed))
	})
	return out, err
}

// EntryHistory returns every change of an entry, oldest first, to those
// who read the entry as an association or administrator (not partners).
// Readers from other associations do not see sensitive fields in it.
func (s *Store) EntryHistory(ctx context.Context, acc assoc.Access, community int64, key string, id int64) ([]assoc.HistoryLine, error) {
	v, err := s.view(ctx, s.reader(), acc, community, key)
	if shequ.ErrorCode(err) == shequ.EFORBIDDEN || (err == nil && v.Partner()) {
		return nil, notFound("ledger entry", id)
	} else if err != nil {
		return nil, err
	}
	e, full, err := s.entry(ctx, s.reader(), v, id)
	if err != nil {
		return nil, err
	}
	rows, err := s.reader().QueryContext(ctx, "SELECT id, at, user_id, username, action, before, after FROM ledger_history WHERE entry_id = $1 ORDER BY id", e.ID)
	if err != nil {
		return nil, fmt.Errorf("ledger history: %w", err)
	}
	defer rows.Close()
	out := []assoc.HistoryLine{}
	for rows.Next() {
		var c assoc.HistoryLine
		var user sql.NullInt64
		var before, after string
		if err := rows.Scan(&c.ID, &c.At, &user, &c.Username, &c.Action, &before, &after); err != nil {
			return nil, err
		}
		c.UserID, c.At = user.Int64, c.At.UTC()
		for _, p := range []struct {
			raw string
			to  *map[string]any
		}{{before, &c.Before}, {after, &c.After}} {
			if p.raw == "" {
				continue
			}
			if err := json.Unmarshal([]byte(p.raw), p.to); err != nil {
				return nil, fmt.Errorf("ledger history %d: %w", c.ID, err)
			}
			if !full {
				hideSensitive(v.Type, *p.to)
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// hideSensitive drops sensitive fields from a history snapshot, whether
// the values sit at its top (create) or under "values" (update).
func hideSensitive(t assoc.LedgerType, m map[string]any) {
	for k, v := range m {
		if f, ok := t.Field(k); ok && f.Sensitive {
			delete(m, k)
		}
		if k == "values" {
			if inner, ok := v.(map[string]any); ok {
				hideSensitive(t, inner)
			}
		}
	}
}

// RecordConsent records a resident's yes or no to sharing their entry with
// a partner; the owner association or an administrator records it. A no
// stops the sharing at once.
func (s *Store) RecordConsent(ctx context.Context, acc assoc.Access, community int64, key string, id int64, c *assoc.Consent) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, e, err := s.writable(ctx, tx, acc, community, key, id)
		if err != nil {
			return err
		}
		return s.putConsent(ctx, tx, t.CommunityID, e.ID, c)
	})
}

// putConsent stores a checked consent to entry id of community c, with
// its line in the entry's history and in the audit log.
func (s *Store) putConsent(ctx context.Context, tx *sql.Tx, c, id int64, cs *assoc.Consent) error {
	if err := partnerIn(ctx, tx, cs.PartnerID, c); err != nil {
		return err
	}
	cs.EntryID, cs.UserID, cs.At = id, actorID(ctx), s.now()
	if _, err := tx.ExecContext(ctx, `INSERT INTO ledger_consents (entry_id, partner_id, given, method, recorded_by, user_id, at) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (entry_id, partner_id) DO UPDATE SET given = excluded.given, method = excluded.method, recorded_by = excluded.recorded_by, user_id = excluded.user_id, at = excluded.at`,
		id, cs.PartnerID, cs.Given, cs.Method, cs.RecordedBy, nullID(cs.UserID), cs.At); err != nil {
		return mapError(err)
	}
	if err := s.history(ctx, tx, id, "consent", nil, cs); err != nil {
		return err
	}
	return s.record(ctx, tx, audit.Entry{CommunityID: c, Action: "ledger_entry.consent", Entity: "ledger_entry", EntityID: id, After: snapshot(cs)})
}

// --- sharing grants ---

var ledgerGrants = table{
	what: "grant", id: "lg.id", order: "lg.id DESC",
	from:  "ledger_grants lg JOIN ledger_types lt ON lt.id = lg.type_id JOIN partners pa ON pa.id = lg.partner_id",
	scope: scopeCols{community: "lg.community_id"},
	columns: "lg.id, lg.community_id, lg.partner_id, pa.name, lt.key, lg.type_id, lg.fields, lg.filter_json, lg.purpose, lg.expires_at, lg.created_by, lg.created_at, " +
		"lg.revoked_at, lg.revoked_by",
}

func (s *Store) scanGrant(r scanner) (assoc.LedgerGrant, error) {
	var g assoc.LedgerGrant
	var fields, filter string
	var created, revokedBy sql.NullInt64
	var revoked sql.NullTime
	if err := r.Scan(&g.ID, &g.CommunityID, &g.PartnerID, &g.PartnerName, &g.Ledger, &g.TypeID, &fields, &filter, &g.Purpose, &g.ExpiresAt, &created, &g.CreatedAt, &revoked, &revokedBy); err != nil {
		return g, err
	}
	g.ExpiresAt, g.CreatedAt, g.CreatedBy, g.RevokedBy, g.RevokedAt = g.ExpiresAt.UTC(), g.CreatedAt.UTC(), created.Int64, revokedBy.Int64, timePtr(revoked)
	g.Consent = true
	if err := json.Unmarshal([]byte(fields), &g.Fields); err != nil {
		return g, fmt.Errorf("grant %d fields: %w", g.ID, err)
	}
	if err := json.Unmarshal([]byte(filter), &g.Filter); err != nil {
		return g, fmt.Errorf("grant %d filter: %w", g.ID, err)
	}
	g.Live = g.LiveAt(s.now())
	return g, nil
}

func (s *Store) grantsWhere(ctx context.Context, q querier, conds []string, a args) ([]assoc.LedgerGrant, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+ledgerGrants.columns+" FROM "+ledgerGrants.from+" WHERE "+strings.Join(conds, " AND ")+" ORDER BY lg.id", a...)
	if err != nil {
		return nil, fmt.Errorf("grants: %w", err)
	}
	defer rows.Close()
	var out []assoc.LedgerGrant
	for rows.Next() {
		g, err := s.scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// CreateLedgerGrant shares part of a ledger with a partner (administrators):
// which fields, which entries (filter), for what purpose, until when.
func (s *Store) CreateLedgerGrant(ctx context.Context, acc assoc.Access, g *assoc.LedgerGrant, filter map[string]any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		t, err := s.ledgerType(ctx, tx, acc, g.CommunityID, g.Ledger)
		if err != nil {
			if shequ.ErrorCode(err) == shequ.ENOTFOUND {
				return shequ.Invalid(map[string]string{"ledger_type": fmt.Sprintf("there is no ledger %q", g.Ledger)})
			}
			return err
		}
		if !acc.IsAdmin(t.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only an administrator shares a ledger")
		}
		if err := g.Check(t, filter, s.now()); err != nil {
			return err
		}
		if err := partnerIn(ctx, tx, g.PartnerID, t.CommunityID); err != nil {
			return err
		}
		fields, _ := json.Marshal(g.Fields)
		flt, _ := json.Marshal(g.Filter)
		g.CreatedBy, g.CreatedAt = actorID(ctx), s.now()
		id, err := insert(ctx, tx, `INSERT INTO ledger_grants (community_id, partner_id, type_id, fields, filter_json, purpose, expires_at, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, t.CommunityID, g.PartnerID, t.ID, string(fields), string(flt), g.Purpose, g.ExpiresAt.UTC(), nullID(g.CreatedBy), g.CreatedAt)
		if err != nil {
			return err
		}
		g.ID, g.Live = id, true
		if err := tx.QueryRowContext(ctx, "SELECT name FROM partners WHERE id = $1", g.PartnerID).Scan(&g.PartnerName); err != nil {
			return err
		}
		return s.change(ctx, tx, t.CommunityID, "create", "ledger_grant", id, nil, g)
	})
}

// GrantFilter narrows the grant list.
type GrantFilter struct {
	CommunityID int64
	PartnerID   int64
	Ledger      string
	LiveOnly    bool
	shequ.Page
}

// ListLedgerGrants returns the sharing grants of the communities acc administers,
// newest first.
func (s *Store) ListLedgerGrants(ctx context.Context, acc assoc.Access, f GrantFilter) (shequ.List[assoc.LedgerGrant], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "lg.community_id = "+a.add(f.CommunityID))
	}
	if f.PartnerID != 0 {
		conds = append(conds, "lg.partner_id = "+a.add(f.PartnerID))
	}
	if f.Ledger != "" {
		conds = append(conds, "lt.key = "+a.add(f.Ledger))
	}
	if f.LiveOnly {
		conds = append(conds, "lg.revoked_at IS NULL", "lg.expires_at > "+a.add(s.now()))
	}
	admin := acc.Admin
	if acc.All() {
		admin = nil
	} else if len(admin) == 0 {
		admin = []int64{}
	}
	return listOf(ctx, s.reader(), ledgerGrants, accessScope(admin), conds, a, f.Page, s.scanGrant)
}

// RevokeLedgerGrant ends a grant at once: the partner's next request finds
// nothing.
func (s *Store) RevokeLedgerGrant(ctx context.Context, acc assoc.Access, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		g, err := s.scanGrant(tx.QueryRowContext(ctx, "SELECT "+ledgerGrants.columns+" FROM "+ledgerGrants.from+" WHERE lg.id = $1", id))
		if err == sql.ErrNoRows || (err == nil && !acc.IsAdmin(g.CommunityID)) {
			return notFound("grant", id)
		} else if err != nil {
			return err
		}
		if g.RevokedAt != nil {
			return shequ.Errorf(shequ.ECONFLICT, "grant %d was revoked already", id)
		}
		now, by := s.now(), actorID(ctx)
		if _, err := tx.ExecContext(ctx, "UPDATE ledger_grants SET revoked_at = $1, revoked_by = $2 WHERE id = $3", now, nullID(by), id); err != nil {
			return mapError(err)
		}
		after := g
		after.RevokedAt, after.RevokedBy, after.Live = &now, by, false
		return s.change(ctx, tx, g.CommunityID, "revoke", "ledger_grant", id, g, after)
	})
}

// --- follow-ups ---

func (s *Store) followUps(ctx context.Context, q querier, entry int64, partners []int64) ([]assoc.FollowUp, error) {
	var a args
	query := "SELECT id, entry_id, partner_id, association_id, opening_id, kind, note, at, user_id, created_at FROM ledger_followups WHERE entry_id = " + a.add(entry)
	if partners != nil {
		if len(partners) == 0 {
			return []assoc.FollowUp{}, nil
		}
		query += " AND partner_id IN " + inList(&a, partners)
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY at, id", a...)
	if err != nil {
		return nil, fmt.Errorf("follow-ups: %w", err)
	}
	defer rows.Close()
	out := []assoc.FollowUp{}
	for rows.Next() {
		var f assoc.FollowUp
		var partner, association, opening, user sql.NullInt64
		if err := rows.Scan(&f.ID, &f.EntryID, &partner, &association, &opening, &f.Kind, &f.Note, &f.At, &user, &f.CreatedAt); err != nil {
			return nil, err
		}
		f.PartnerID, f.AssociationID, f.OpeningID, f.UserID = partner.Int64, association.Int64, opening.Int64, user.Int64
		f.At, f.CreatedAt = f.At.UTC(), f.CreatedAt.UTC()
		out = append(out, f)
	}
	return out, rows.Err()
}

// AddFollowUp records a step taken for a resident: by a partner on an
// entry it sees through a live grant, or by the owner association or an
// administrator. A follow-up naming an opening is a match to that job.
func (s *Store) AddFollowUp(ctx context.Context, acc assoc.Access, community int64, key string, id int64, f *assoc.FollowUp) error {
	if err := f.Validate(s.now()); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		v, err := s.view(ctx, tx, acc, community, key)
		if err != nil {
			return err
		}
		e, full, err := s.entry(ctx, tx, v, id)
		if err != nil {
			return err
		}
		switch {
		case full:
			f.AssociationID, f.PartnerID = e.AssociationID, 0
		case v.Partner():
			f.PartnerID, f.AssociationID = v.Grants[0].PartnerID, 0
		default:
			return shequ.Errorf(shequ.EFORBIDDEN, "only the association that owns the entry, or a partner it is shared with, records follow-ups")
		}
		if f.OpeningID != 0 {
			var oc, op int64
			err := tx.QueryRowContext(ctx, "SELECT community_id, partner_id FROM job_openings WHERE id = $1", f.OpeningID).Scan(&oc, &op)
			if err == sql.ErrNoRows || (err == nil && (oc != v.Type.CommunityID || (f.PartnerID != 0 && op != f.PartnerID))) {
				return shequ.Invalid(map[string]string{"opening_id": "is not an opening you may name"})
			} else if err != nil {
				return err
			}
		}
		f.EntryID, f.UserID, f.CreatedAt = e.ID, actorID(ctx), s.now()
		fid, err := insert(ctx, tx, `INSERT INTO ledger_followups (entry_id, partner_id, association_id, opening_id, kind, note, at, user_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, id, nullID(f.PartnerID), nullID(f.AssociationID), nullID(f.OpeningID), f.Kind, f.Note, f.At, nullID(f.UserID), f.CreatedAt)
		if err != nil {
			return err
		}
		f.ID = fid
		if err := s.history(ctx, tx, id, "followup", nil, f); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: v.Type.CommunityID, Action: "ledger_entry.followup", Entity: "ledger_entry", EntityID: id, After: snapshot(f)})
	})
}

// ListFollowUps returns an entry's follow-ups: all of them to the owner
// association and administrators, its own to a partner.
func (s *Store) ListFollowUps(ctx context.Context, acc assoc.Access, community int64, key string, id int64) ([]assoc.FollowUp, error) {
	e, err := s.Entry(ctx, acc, community, key, id)
	if err != nil {
		return nil, err
	}
	if e.FollowUps == nil {
		return nil, shequ.Errorf(shequ.EFORBIDDEN, "the follow-ups are the owner association's")
	}
	return e.FollowUps, nil
}

// --- openings ---

var openings = table{
	what: "opening", id: "o.id", order: "o.status DESC, o.id DESC",
	from:  "job_openings o JOIN partners pa ON pa.id = o.partner_id",
	scope: scopeCols{community: "o.community_id"},
	columns: "o.id, o.community_id, o.partner_id, pa.name, o.title, o.description, o.skills, o.location, o.salary, o.positions, o.status, o.closes_at, o.created_by, o.created_at, o.updated_at, " +
		"(SELECT COUNT(*) FROM ledger_followups f WHERE f.opening_id = o.id AND f.kind = 'job_offered'), " +
		"(SELECT COUNT(*) FROM ledger_followups f WHERE f.opening_id = o.id AND f.kind = 'interview'), " +
		"(SELECT COUNT(*) FROM ledger_followups f WHERE f.opening_id = o.id AND f.kind = 'placed')",
}

func scanOpening(r scanner) (assoc.Opening, error) {
	var o assoc.Opening
	var closes sql.NullTime
	var by sql.NullInt64
	err := r.Scan(&o.ID, &o.CommunityID, &o.PartnerID, &o.PartnerName, &o.Title, &o.Description, &o.Skills, &o.Location, &o.Salary, &o.Positions, &o.Status, &closes, &by,
		&o.CreatedAt, &o.UpdatedAt, &o.Offered, &o.Interviews, &o.Placed)
	o.ClosesAt, o.CreatedBy, o.CreatedAt, o.UpdatedAt = timeOrZero(closes), by.Int64, o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	return o, err
}

// openingWhere keeps the openings acc reaches: a community's for its
// administrators and association roles, a partner's own for the partner.
func openingWhere(acc assoc.Access, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	var ors []string
	var whole []int64
	for _, c := range acc.Communities() {
		if acc.IsAdmin(c) || acc.MemberIn(c) {
			whole = append(whole, c)
		}
	}
	if len(whole) > 0 {
		ors = append(ors, "o.community_id IN "+inList(a, whole))
	}
	return anyOf(appendSeats(ors, a, "o.partner_id", acc.Partners))
}

// OpeningFilter narrows the openings.
type OpeningFilter struct {
	CommunityID int64
	PartnerID   int64
	Status      string
	shequ.Page
}

// ListOpenings returns the job openings acc reaches, open ones first.
func (s *Store) ListOpenings(ctx context.Context, acc assoc.Access, f OpeningFilter) (shequ.List[assoc.Opening], error) {
	var a args
	conds := []string{openingWhere(acc, &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "o.community_id = "+a.add(f.CommunityID))
	}
	if f.PartnerID != 0 {
		conds = append(conds, "o.partner_id = "+a.add(f.PartnerID))
	}
	if f.Status != "" {
		conds = append(conds, "o.status = "+a.add(f.Status))
	}
	return listOf(ctx, s.reader(), openings, everything, conds, a, f.Page, scanOpening)
}

// Opening returns one opening acc reaches.
func (s *Store) Opening(ctx context.Context, acc assoc.Access, id int64) (assoc.Opening, error) {
	var a args
	query := "SELECT " + openings.columns + " FROM " + openings.from + " WHERE o.id = " + a.add(id) + " AND " + openingWhere(acc, &a)
	o, err := scanOpening(s.reader().QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return o, notFound("opening", id)
	}
	return o, err
}

// mayPost reports whether acc posts openings for partner p of community c.
func mayPost(acc assoc.Access, c, p int64) bool {
	return acc.IsAdmin(c) || slices.Contains(acc.PartnersIn(c), p)
}

// CreateOpening posts a job: a partner its own, an administrator any
// partner's of the community.
func (s *Store) CreateOpening(ctx context.Context, acc assoc.Access, o *assoc.Opening) error {
	if o.PartnerID == 0 && len(acc.Partners) == 1 {
		o.PartnerID = acc.Partners[0].ID
	}
	if err := o.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		err := tx.QueryRowContext(ctx, "SELECT community_id FROM partners WHERE id = $1", o.PartnerID).Scan(&c)
		if err == sql.ErrNoRows {
			return shequ.Invalid(map[string]string{"partner_id": fmt.Sprintf("there is no partner %d", o.PartnerID)})
		} else if err != nil {
			return err
		}
		if !mayPost(acc, c, o.PartnerID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "you may not post openings for partner %d", o.PartnerID)
		}
		now := s.now()
		o.CommunityID, o.CreatedBy, o.CreatedAt, o.UpdatedAt = c, actorID(ctx), now, now
		id, err := insert(ctx, tx, `INSERT INTO job_openings (community_id, partner_id, title, description, skills, location, salary, positions, status, closes_at, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			c, o.PartnerID, o.Title, o.Description, o.Skills, o.Location, o.Salary, o.Positions, o.Status, nullTime(o.ClosesAt), nullID(o.CreatedBy), now, now)
		if err != nil {
			return err
		}
		o.ID = id
		if err := tx.QueryRowContext(ctx, "SELECT name FROM partners WHERE id = $1", o.PartnerID).Scan(&o.PartnerName); err != nil {
			return err
		}
		return s.change(ctx, tx, c, "create", "job_opening", id, nil, o)
	})
}

// UpdateOpening changes an opening (its partner or an administrator);
// closing it is setting its status to closed.
func (s *Store) UpdateOpening(ctx context.Context, acc assoc.Access, o *assoc.Opening) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := scanOpening(tx.QueryRowContext(ctx, "SELECT "+openings.columns+" FROM "+openings.from+" WHERE o.id = $1", o.ID))
		if err == sql.ErrNoRows || (err == nil && !mayPost(acc, old.CommunityID, old.PartnerID)) {
			return notFound("opening", o.ID)
		} else if err != nil {
			return err
		}
		o.PartnerID, o.CommunityID, o.PartnerName, o.CreatedBy, o.CreatedAt = old.PartnerID, old.CommunityID, old.PartnerName, old.CreatedBy, old.CreatedAt
		if err := o.Validate(); err != nil {
			return err
		}
		o.UpdatedAt = s.now()
		o.Offered, o.Interviews, o.Placed = old.Offered, old.Interviews, old.Placed
		if _, err := tx.ExecContext(ctx, `UPDATE job_openings SET title = $1, description = $2, skills = $3, location = $4, salary = $5, positions = $6, status = $7, closes_at = $8, updated_at = $9 WHERE id = $10`,
			o.Title, o.Description, o.Skills, o.Location, o.Salary, o.Positions, o.Status, nullTime(o.ClosesAt), o.UpdatedAt, o.ID); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, o.CommunityID, "update", "job_opening", o.ID, old, o)
	})
}

// OpeningCandidate is a job seeker who may fit an opening, as the reader sees them.
type OpeningCandidate struct {
	Entry assoc.LedgerEntry `json:"entry"`
	Score int               `json:"score" doc:"How many of the opening's words the seeker's entry mentions"`
}

// OpeningCandidates returns the job seekers acc sees whose entries mention
// the opening's title or skills, best first. A partner sees only the
// seekers its grant shares (and the read is audited like any other).
func (s *Store) OpeningCandidates(ctx context.Context, acc assoc.Access, id int64, limit int) ([]OpeningCandidate, error) {
	o, err := s.Opening(ctx, acc, id)
	if err != nil {
		return nil, err
	}
	seekers, err := s.ListEntries(ctx, acc, EntryFilter{CommunityID: o.CommunityID, Ledger: assoc.JobSeekers, Status: assoc.EntryActive, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	out := []OpeningCandidate{}
	for _, e := range seekers.Items {
		if n := o.Score(e.Values); n > 0 {
			out = append(out, OpeningCandidate{Entry: e, Score: n})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// --- placements ---

// PlacementStats counts the residents placed in work in a year of the
// community's own calendar: a resident placed twice counts once. Partners
// count their own placements only.
func (s *Store) PlacementStats(ctx context.Context, acc assoc.Access, community int64, year int) (assoc.PlacementStats, error) {
	out := assoc.PlacementStats{Year: year, ByPartner: []assoc.PartnerCount{}}
	if community == 0 {
		cs := acc.Communities()
		if len(cs) != 1 {
			return out, shequ.Invalid(map[string]string{"community": "say which community"})
		}
		community = cs[0]
	}
	out.CommunityID = community
	var partners []int64
	switch {
	case acc.IsAdmin(community), acc.MemberIn(community):
	case len(acc.PartnersIn(community)) > 0:
		partners = acc.PartnersIn(community)
	default:
		return out, shequ.Errorf(shequ.EFORBIDDEN, "you do not work in community %d", community)
	}
	loc, err := s.location(ctx, s.reader(), community)
	if err != nil {
		return out, err
	}
	if year == 0 {
		year = s.now().In(loc).Year()
		out.Year = year
	}
	from, to := time.Date(year, 1, 1, 0, 0, 0, 0, loc), time.Date(year+1, 1, 1, 0, 0, 0, 0, loc)
	placements, err := placedRows(ctx, s.reader(), community, from, to, partners)
	if err != nil {
		return out, err
	}
	seen := map[int64]bool{}
	byPartner := map[int64]map[int64]bool{}
	names := map[int64]string{}
	var order []int64
	for _, x := range placements {
		out.Placements++
		if !seen[x.personID] {
			seen[x.personID] = true
			out.ResidentsPlaced++
			out.ByMonth[x.at.In(loc).Month()-1]++
		}
		p := x.partnerID
		if byPartner[p] == nil {
			byPartner[p] = map[int64]bool{}
			names[p] = x.partnerName
			order = append(order, p)
		}
		byPartner[p][x.personID] = true
	}
	for _, p := range order {
		out.ByPartner = append(out.ByPartner, assoc.PartnerCount{PartnerID: p, Name: names[p], Residents: len(byPartner[p])})
	}
	sort.SliceStable(out.ByPartner, func(i, j int) bool { return out.ByPartner[i].Residents > out.ByPartner[j].Residents })
	return out, nil
}

// --- intakes ---

var intakes = table{
	what: "intake", id: "i.id", order: "i.id DESC",
	from:    "assoc_intakes i",
	scope:   scopeCols{community: "i.community_id"},
	columns: "i.id, i.community_id, i.association_id, i.person_id, i.household_id, i.description, i.channel, i.status, i.note, i.submitted_by, i.created_at, i.updated_at",
}

func scanIntake(r scanner) (assoc.Intake, error) {
	var in assoc.Intake
	var person, household, by sql.NullInt64
	err := r.Scan(&in.ID, &in.CommunityID, &in.AssociationID, &person, &household, &in.Description, &in.Channel, &in.Status, &in.Note, &by, &in.CreatedAt, &in.UpdatedAt)
	in.PersonID, in.HouseholdID, in.SubmittedBy = person.Int64, household.Int64, by.Int64
	in.CreatedAt, in.UpdatedAt = in.CreatedAt.UTC(), in.UpdatedAt.UTC()
	return in, err
}

// SubmitIntake brings a resident's problem to an association: a resident
// for themselves or their household, a member or administrator for a
// resident of the community who came to them.
func (s *Store) SubmitIntake(ctx context.Context, acc assoc.Access, in *assoc.Intake) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var c int64
		err := tx.QueryRowContext(ctx, "SELECT community_id FROM associations WHERE id = $1", in.AssociationID).Scan(&c)
		if err == sql.ErrNoRows {
			return notFound("association", in.AssociationID)
		} else if err != nil {
			return err
		}
		staff := acc.IsAdmin(c) || acc.MemberIn(c)
		homes := acc.HouseholdsIn(c)
		if !staff && len(homes) == 0 {
			return notFound("association", in.AssociationID)
		}
		var pc int64
		var household sql.NullInt64
		err = tx.QueryRowContext(ctx, "SELECT community_id, household_id FROM people WHERE id = $1", in.PersonID).Scan(&pc, &household)
		if err == sql.ErrNoRows || (err == nil && (pc != c || (!staff && !slices.Contains(homes, household.Int64)))) {
			return shequ.Invalid(map[string]string{"person_id": "is not a resident you may speak for"})
		} else if err != nil {
			return err
		}
		now := s.now()
		in.CommunityID, in.HouseholdID, in.SubmittedBy, in.CreatedAt, in.UpdatedAt = c, household.Int64, actorID(ctx), now, now
		id, err := insert(ctx, tx, `INSERT INTO assoc_intakes (community_id, association_id, person_id, household_id, description, channel, status, submitted_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, c, in.AssociationID, in.PersonID, nullID(in.HouseholdID), in.Description, in.Channel, in.Status, nullID(in.SubmittedBy), now, now)
		if err != nil {
			return err
		}
		in.ID = id
		return s.change(ctx, tx, c, "create", "intake", id, nil, map[string]any{"association_id": in.AssociationID, "person_id": in.PersonID, "channel": in.Channel})
	})
}

// intakeWhere keeps the intakes acc reaches: its communities' for an
// administrator, its association's for a member, its household's for a
// resident, and those the user filed.
func intakeWhere(acc assoc.Access, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	ors := []string{}
	if acc.UserID != 0 {
		ors = append(ors, "i.submitted_by = "+a.add(acc.UserID))
	}
	if len(acc.Admin) > 0 {
		ors = append(ors, "i.community_id IN "+inList(a, acc.Admin))
	}
	ors = appendSeats(ors, a, "i.association_id", acc.Associations)
	ors = appendSeats(ors, a, "i.household_id", acc.Households)
	return anyOf(ors)
}

// appendSeats adds to ors the condition that col names one of the seats
// (those that name one), when there are any.
func appendSeats(ors []string, a *args, col string, seats []assoc.Seat) []string {
	var ids []int64
	for _, st := range seats {
		if st.ID != 0 {
			ids = append(ids, st.ID)
		}
	}
	if len(ids) == 0 {
		return ors
	}
	return append(ors, col+" IN "+inList(a, ids))
}

// associationWhere keeps the rows of the communities acc administers
// (communityCol) and of the associations it works for (associationCol):
// the reach of services, mediations and applications.
func associationWhere(acc assoc.Access, communityCol, associationCol string, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	var ors []string
	if len(acc.Admin) > 0 {
		ors = append(ors, communityCol+" IN "+inList(a, acc.Admin))
	}
	return anyOf(appendSeats(ors, a, associationCol, acc.Associations))
}

// anyOf joins conditions with OR; none keeps nothing.
func anyOf(ors []string) string {
	if len(ors) == 0 {
		return "FALSE"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// IntakeFilter narrows the intakes.
type IntakeFilter struct {
	CommunityID   int64
	AssociationID int64
	Status        string
	shequ.Page
}

// ListIntakes returns the problems brought to associations that acc
// reaches, newest first.
func (s *Store) ListIntakes(ctx context.Context, acc assoc.Access, f IntakeFilter) (shequ.List[assoc.Intake], error) {
	var a args
	conds := []string{intakeWhere(acc, &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "i.community_id = "+a.add(f.CommunityID))
	}
	if f.AssociationID != 0 {
		conds = append(conds, "i.association_id = "+a.add(f.AssociationID))
	}
	if f.Status != "" {
		conds = append(conds, "i.status = "+a.add(f.Status))
	}
	return listOf(ctx, s.reader(), intakes, everything, conds, a, f.Page, scanIntake)
}

// MoveIntake changes an intake's status (its association or an
// administrator).
func (s *Store) MoveIntake(ctx context.Context, acc assoc.Access, id int64, status, note string) (assoc.Intake, error) {
	var out assoc.Intake
	err := s.tx(ctx, func(tx *sql.Tx) error {
		in, err := scanIntake(tx.QueryRowContext(ctx, "SELECT "+intakes.columns+" FROM assoc_intakes i WHERE i.id = $1", id))
		if err == sql.ErrNoRows || (err == nil && !acc.IsAdmin(in.CommunityID) && !slices.Contains(acc.AssociationsIn(in.CommunityID), in.AssociationID)) {
			return notFound("intake", id)
		} else if err != nil {
			return err
		}
		next, err := in.Move(status, note, s.now())
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE assoc_intakes SET status = $1, note = $2, updated_at = $3 WHERE id = $4", next.Status, next.Note, next.UpdatedAt, id); err != nil {
			return mapError(err)
		}
		out = next
		return s.change(ctx, tx, in.CommunityID, "update", "intake", id, map[string]any{"status": in.Status}, map[string]any{"status": next.Status, "note": next.Note})
	})
	return out, err
}

// --- associations and partners ---

// UpdateAssociation renames an association, sets its chair and, when
// members are given, replaces its members.
func (s *Store) UpdateAssociation(ctx context.Context, scope auth.Scope, as *community.Association) error {
	as.Name, as.NameEn = strings.TrimSpace(as.Name), strings.TrimSpace(as.NameEn)
	if as.Name == "" {
		return shequ.Invalid(map[string]string{"name": "is required"})
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := oneOf(ctx, tx, associations, scope, as.ID, scanAssociation)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, old.CommunityID); err != nil {
			return err
		}
		as.CommunityID, as.Key = old.CommunityID, old.Key
		if as.ChairUserID != 0 {
			if n, err := count(ctx, tx, "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND community_id = $2 AND role <> 'resident'", as.ChairUserID, old.CommunityID); err != nil {
				return err
			} else if n == 0 {
				return shequ.Invalid(map[string]string{"chair_user_id": "is not a cadre of this community"})
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE associations SET name = $1, name_en = $2, chair_user_id = $3 WHERE id = $4", as.Name, as.NameEn, nullID(as.ChairUserID), as.ID); err != nil {
			return mapError(err)
		}
		if as.Members != nil {
			if _, err := tx.ExecContext(ctx, "DELETE FROM association_members WHERE association_id = $1", as.ID); err != nil {
				return err
			}
			for i, m := range as.Members {
				if strings.TrimSpace(m.Name) == "" {
					return shequ.Invalid(map[string]string{fmt.Sprintf("members[%d].name", i): "is required"})
				}
				if m.Role == "" {
					m.Role = "member"
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO association_members (association_id, user_id, person_id, name, kind, role) VALUES ($1, $2, $3, $4, $5, $6)`,
					as.ID, nullID(m.UserID), nullID(m.PersonID), m.Name, m.Kind, m.Role); err != nil {
					return mapError(err)
				}
			}
		}
		return s.change(ctx, tx, old.CommunityID, "update", "association", as.ID, old, as)
	})
}

var partners = table{
	what: "partner", from: "partners pa", id: "pa.id", order: "pa.community_id, pa.id",
	scope:   scopeCols{community: "pa.community_id"},
	columns: "pa.id, pa.community_id, pa.name, pa.kind",
}

// ListPartners returns the partner organisations of the communities scope
// reaches.
func (s *Store) ListPartners(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Partner], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "pa.community_id = "+a.add(f.CommunityID))
	}
	return listOf(ctx, s.reader(), partners, scope.Widen(), conds, a, f.Page, func(r scanner) (community.Partner, error) {
		var p community.Partner
		err := r.Scan(&p.ID, &p.CommunityID, &p.Name, &p.Kind)
		return p, err
	})
}
