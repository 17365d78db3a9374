package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
)

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
func (s *Store) ListEntries(ctx context.Context, acc assoc.Access, f assoc.EntryFilter) (shequ.List[assoc.LedgerEntry], error) {
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
			conds = append(conds, "p.name LIKE "+a.add("%"+likeEscape(q)+"%")+` ESCAPE '\'`)
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
	// Its writers read the entry, merge their change into it and write it
	// whole: two at once must not each write over the other's change.
	if err := s.lockRow(ctx, tx, "ledger_entries", id); err != nil {
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

// UpdateEntry changes an entry and keeps the old and new values in its
// history. The values after the change are checked as a whole; on any
// error nothing is stored.
func (s *Store) UpdateEntry(ctx context.Context, acc assoc.Access, community int64, key string, id int64, ch assoc.EntryChange) (assoc.LedgerEntry, error) {
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
