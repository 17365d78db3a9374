package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/community"
)

// Assistance policies and applications. The catalogue is open to the
// administrators and association roles of its community; only
// administrators change it. Who appears eligible is worked out in SQL over
// people and ledger_values, through the reader's view of each ledger the
// rules look at: a rule over a ledger or field the reader may not see
// (help-education, a health field) makes the list forbidden to them
// rather than let it hint at what they may not read. Applications are
// seen by administrators, the policy's owner association and whoever
// filed them; the owner association and administrators decide them.

var assistancePolicies = table{
	what: "policy", id: "ap.id", order: "ap.community_id, ap.id",
	from:    "assistance_policies ap",
	columns: "ap.id, ap.community_id, ap.association_id, ap.name, ap.description, ap.benefit, ap.valid_from, ap.valid_to, ap.rules, ap.created_by, ap.created_at, ap.updated_at",
}

func scanAssistancePolicy(r scanner) (assoc.AssistancePolicy, error) {
	var x assoc.AssistancePolicy
	var rules string
	var by sql.NullInt64
	if err := r.Scan(&x.ID, &x.CommunityID, &x.AssociationID, &x.Name, &x.Description, &x.Benefit, &x.ValidFrom, &x.ValidTo, &rules, &by, &x.CreatedAt, &x.UpdatedAt); err != nil {
		return x, err
	}
	x.CreatedBy, x.CreatedAt, x.UpdatedAt = by.Int64, x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	if err := json.Unmarshal([]byte(rules), &x.Rules); err != nil {
		return x, fmt.Errorf("policy %d rules: %w", x.ID, err)
	}
	return x, nil
}

// assistancePolicyWhere keeps the policies of the communities acc administers or
// holds an association role in.
func assistancePolicyWhere(acc assoc.Access, a *args) string {
	if acc.All() {
		return "TRUE"
	}
	cs := append([]int64{}, acc.Admin...)
	for _, s := range acc.Associations {
		cs = append(cs, s.CommunityID)
	}
	if len(cs) == 0 {
		return "FALSE"
	}
	return "ap.community_id IN " + inList(a, cs)
}

// ledgersByKey returns the ledgers of community c by key.
func (s *Store) ledgersByKey(ctx context.Context, q querier, c int64) (map[string]assoc.LedgerType, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+ledgerTypes.columns+" FROM ledger_types lt WHERE lt.community_id = $1", c)
	if err != nil {
		return nil, fmt.Errorf("ledgers of %d: %w", c, err)
	}
	defer rows.Close()
	out := map[string]assoc.LedgerType{}
	for rows.Next() {
		t, err := scanLedgerType(rows)
		if err != nil {
			return nil, err
		}
		out[t.Key] = t
	}
	return out, rows.Err()
}

// ListAssistancePolicies returns the policy catalogue acc reaches.
func (s *Store) ListAssistancePolicies(ctx context.Context, acc assoc.Access, f assoc.AssistancePolicyFilter) (shequ.List[assoc.AssistancePolicy], error) {
	var a args
	conds := []string{assistancePolicyWhere(acc, &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "ap.community_id = "+a.add(f.CommunityID))
	}
	if f.AssociationID != 0 {
		conds = append(conds, "ap.association_id = "+a.add(f.AssociationID))
	}
	return listOf(ctx, s.reader(), assistancePolicies, everything, conds, a, f.Page, scanAssistancePolicy)
}

func (s *Store) assistancePolicy(ctx context.Context, q querier, acc assoc.Access, id int64) (assoc.AssistancePolicy, error) {
	var a args
	x, err := scanAssistancePolicy(q.QueryRowContext(ctx, "SELECT "+assistancePolicies.columns+" FROM assistance_policies ap WHERE ap.id = "+a.add(id)+" AND "+assistancePolicyWhere(acc, &a), a...))
	if err == sql.ErrNoRows {
		return x, notFound("policy", id)
	} else if err != nil {
		return x, fmt.Errorf("policy %d: %w", id, err)
	}
	return x, nil
}

// AssistancePolicy returns one policy of the catalogue.
func (s *Store) AssistancePolicy(ctx context.Context, acc assoc.Access, id int64) (assoc.AssistancePolicy, error) {
	return s.assistancePolicy(ctx, s.reader(), acc, id)
}

// checkAssistancePolicy validates x against its community's ledgers for an
// administrator of the community.
func (s *Store) checkAssistancePolicy(ctx context.Context, tx *sql.Tx, acc assoc.Access, x *assoc.AssistancePolicy) error {
	if x.CommunityID != 0 && !acc.IsAdmin(x.CommunityID) {
		return shequ.Errorf(shequ.EFORBIDDEN, "only an administrator of community %d changes its policies", x.CommunityID)
	}
	types, err := s.ledgersByKey(ctx, tx, x.CommunityID)
	if err != nil {
		return err
	}
	if err := x.Check(types); err != nil {
		return err
	}
	return associationIn(ctx, tx, x.AssociationID, x.CommunityID)
}

// CreateAssistancePolicy adds a policy with its rules (administrators); the rules are
// checked against the community's ledgers, and on any error nothing is
// stored.
func (s *Store) CreateAssistancePolicy(ctx context.Context, acc assoc.Access, x *assoc.AssistancePolicy) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkAssistancePolicy(ctx, tx, acc, x); err != nil {
			return err
		}
		rules, _ := json.Marshal(x.Rules)
		now, by := s.now(), actorID(ctx)
		id, err := insert(ctx, tx, `INSERT INTO assistance_policies (community_id, association_id, name, description, benefit, valid_from, valid_to, rules, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, x.CommunityID, x.AssociationID, x.Name, x.Description, x.Benefit, x.ValidFrom, x.ValidTo, string(rules), nullID(by), now, now)
		if err != nil {
			return err
		}
		x.ID, x.CreatedBy, x.CreatedAt, x.UpdatedAt = id, by, now, now
		return s.change(ctx, tx, x.CommunityID, "create", "assistance_policy", id, nil, x)
	})
}

// UpdateAssistancePolicy replaces a policy's text, dates, owner and rules
// (administrators).
func (s *Store) UpdateAssistancePolicy(ctx context.Context, acc assoc.Access, x *assoc.AssistancePolicy) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		old, err := s.assistancePolicy(ctx, tx, acc, x.ID)
		if err != nil {
			return err
		}
		x.CommunityID, x.CreatedBy, x.CreatedAt = old.CommunityID, old.CreatedBy, old.CreatedAt
		if err := s.checkAssistancePolicy(ctx, tx, acc, x); err != nil {
			return err
		}
		rules, _ := json.Marshal(x.Rules)
		x.UpdatedAt = s.now()
		if _, err := tx.ExecContext(ctx, `UPDATE assistance_policies SET association_id = $1, name = $2, description = $3, benefit = $4, valid_from = $5, valid_to = $6, rules = $7, updated_at = $8 WHERE id = $9`,
			x.AssociationID, x.Name, x.Description, x.Benefit, x.ValidFrom, x.ValidTo, string(rules), x.UpdatedAt, x.ID); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, x.CommunityID, "update", "assistance_policy", x.ID, old, x)
	})
}

// --- eligibility ---

var residents = table{what: "resident", from: "people p", id: "p.id", order: "p.id", columns: "p.id, p.name, p.birth_date, p.gender"}

// eligibility holds what working out a policy's eligible residents needs.
type eligibility struct {
	policy assoc.AssistancePolicy
	types  map[string]assoc.LedgerType
	day    time.Time
}

// eligibleWhere returns the conditions that keep the people of the
// policy's community who pass every rule on day, through acc's view of the
// ledgers, and have no granted application under it. It is EFORBIDDEN when
// a rule looks at a ledger or field acc may not see.
func (s *Store) eligibleWhere(ctx context.Context, q querier, acc assoc.Access, x assoc.AssistancePolicy, day time.Time, a *args) (eligibility, []string, error) {
	types, err := s.ledgersByKey(ctx, q, x.CommunityID)
	if err != nil {
		return eligibility{policy: x, day: day}, nil, err
	}
	return s.eligibleWhereIn(types, acc, x, day, a)
}

// eligibleWhereIn is eligibleWhere with the ledgers of the policy's
// community, by key, already read.
func (s *Store) eligibleWhereIn(types map[string]assoc.LedgerType, acc assoc.Access, x assoc.AssistancePolicy, day time.Time, a *args) (eligibility, []string, error) {
	el := eligibility{policy: x, day: day, types: types}
	conds := []string{"p.community_id = " + a.add(x.CommunityID)}
	views := map[string]assoc.View{}
	for _, key := range x.Ledgers() {
		t, ok := el.types[key]
		if !ok {
			return el, nil, fmt.Errorf("policy %d: the ledger %s is gone", x.ID, key)
		}
		v := acc.ViewOf(t, nil, s.now())
		if v.None() {
			return el, nil, shequ.Errorf(shequ.EFORBIDDEN, "the rules of this policy look at the ledger %s, which is not open to you", key)
		}
		views[key] = v
	}
	for i, c := range x.Rules {
		f, _, ok := c.FieldOf(el.types)
		if !ok {
			return el, nil, fmt.Errorf("policy %d rule %d: no field %s.%s", x.ID, i, c.Ledger, c.Field)
		}
		if c.Ledger == "" {
			conds = append(conds, residentCond(c, day, a))
			continue
		}
		seen := fieldSeenWhere(views[c.Ledger], f, a)
		if seen == "" {
			return el, nil, shequ.Errorf(shequ.EFORBIDDEN, "the rules of this policy look at %s.%s, which is not open to you", c.Ledger, c.Field)
		}
		expr := "lv.value"
		vals := make([]any, 0, len(c.Values()))
		for _, val := range c.Values() {
			if f.Type == assoc.FieldNumber {
				vals = append(vals, val)
			} else {
				vals = append(vals, assoc.Canonical(val))
			}
		}
		field := a.add(c.Field)
		if f.Type == assoc.FieldNumber {
			// The CASE keeps PostgreSQL from casting another field's text.
			expr = "CASE WHEN lv.field = " + field + " THEN CAST(lv.value AS DOUBLE PRECISION) END"
		}
		conds = append(conds, "EXISTS (SELECT 1 FROM ledger_entries e JOIN ledger_values lv ON lv.entry_id = e.id WHERE e.person_id = p.id AND e.type_id = "+a.add(views[c.Ledger].Type.ID)+
			" AND e.status = 'active' AND "+seen+" AND lv.field = "+field+" AND "+compare(expr, c.Op, vals, a)+")")
	}
	conds = append(conds, "NOT EXISTS (SELECT 1 FROM assistance_applications aa WHERE aa.policy_id = "+a.add(x.ID)+" AND aa.person_id = p.id AND aa.status = 'granted')")
	return el, conds, nil
}

// fieldSeenWhere keeps the entries on which view v shows field f, as
// View.See does: all of them to an administrator, the owner associations'
// entries in full, other associations' entries without their sensitive
// fields. It returns "" when v shows f on no entry; partners' views do not
// evaluate policies.
func fieldSeenWhere(v assoc.View, f assoc.Field, a *args) string {
	switch {
	case v.Full:
		return "TRUE"
	case v.Partner():
		return ""
	case v.Others && !f.Sensitive:
		return "TRUE"
	case len(v.Own) > 0:
		return "e.association_id IN " + inList(a, v.Own)
	}
	return ""
}

// compare returns expr compared with vals by op: the one value, or any
// of them for in.
func compare(expr, op string, vals []any, a *args) string {
	if op == assoc.OpIn {
		ps := make([]string, len(vals))
		for i, v := range vals {
			ps[i] = a.add(v)
		}
		return expr + " IN (" + strings.Join(ps, ", ") + ")"
	}
	sqlOp := op
	if op == assoc.OpNe {
		sqlOp = "<>"
	}
	return expr + " " + sqlOp + " " + a.add(vals[0])
}

// residentCond is the SQL of a condition on a resident's own fields.
func residentCond(c assoc.Condition, day time.Time, a *args) string {
	switch c.Field {
	case assoc.ResidentSex:
		vals := make([]any, len(c.Values()))
		for i, v := range c.Values() {
			vals[i] = assoc.Canonical(v)
		}
		return "(p.gender <> '' AND " + compare("p.gender", c.Op, vals, a) + ")"
	case assoc.ResidentTag:
		var ors []string
		for _, v := range c.Values() {
			// LOWER on both sides: LIKE ignores case on SQLite but not on
			// PostgreSQL, and tags are kept as typed.
			ors = append(ors, "LOWER(p.tags) LIKE LOWER("+a.add("%,"+likeEscape(assoc.Canonical(v))+",%")+`) ESCAPE '\'`)
		}
		has := "(" + strings.Join(ors, " OR ") + ")"
		if c.Op == assoc.OpNe {
			return "NOT " + has
		}
		return has
	}
	// Age: a range of whole years [lo, hi) is a range of birth dates, which
	// compare as text on both dialects.
	known := "p.birth_date <> '' AND p.birth_date <= " + a.add(day.Format(time.DateOnly))
	years := func(lo, hi int) string {
		var parts []string
		if lo > 0 {
			parts = append(parts, "p.birth_date <= "+a.add(assoc.BornBy(day, lo)))
		}
		if hi >= 0 {
			parts = append(parts, "p.birth_date > "+a.add(assoc.BornBy(day, hi)))
		}
		if len(parts) == 0 {
			return "TRUE"
		}
		return "(" + strings.Join(parts, " AND ") + ")"
	}
	var ors []string
	for _, v := range c.Values() {
		n := int(v.(float64))
		switch c.Op {
		case assoc.OpGe:
			ors = append(ors, years(n, -1))
		case assoc.OpGt:
			ors = append(ors, years(n+1, -1))
		case assoc.OpLt:
			ors = append(ors, years(0, n))
		case assoc.OpLe:
			ors = append(ors, years(0, n+1))
		case assoc.OpNe:
			ors = append(ors, "NOT "+years(n, n+1))
		default:
			ors = append(ors, years(n, n+1))
		}
	}
	return "(" + known + " AND (" + strings.Join(ors, " OR ") + "))"
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// assistanceDay returns day, or today in the policy's community when day is
// zero.
func (s *Store) assistanceDay(ctx context.Context, c int64, day time.Time) (time.Time, error) {
	if !day.IsZero() {
		y, m, d := day.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC), nil
	}
	return s.today(ctx, s.reader(), c)
}

// Eligible returns the residents who appear eligible for policy id on day
// (zero: today) and are not covered by it, with the ledger values the
// rules looked at. A policy that does not run on day has nobody eligible.
func (s *Store) Eligible(ctx context.Context, acc assoc.Access, id int64, day time.Time, page shequ.Page) (shequ.List[assoc.EligibleResident], error) {
	out := shequ.List[assoc.EligibleResident]{Items: []assoc.EligibleResident{}}
	x, err := s.assistancePolicy(ctx, s.reader(), acc, id)
	if err != nil {
		return out, err
	}
	// Who is missing from the list has a granted application: only those
	// who may see the policy's applications may see the list.
	if !acc.ActsFor(x.CommunityID, x.AssociationID) {
		return out, shequ.Errorf(shequ.EFORBIDDEN, "who appears eligible for %q is the work of the association that owns it", x.Name)
	}
	if day, err = s.assistanceDay(ctx, x.CommunityID, day); err != nil {
		return out, err
	}
	var a args
	el, conds, err := s.eligibleWhere(ctx, s.reader(), acc, x, day, &a)
	if err != nil || !x.ValidOn(day.Format(time.DateOnly)) {
		return out, err
	}
	list, err := listOf(ctx, s.reader(), residents, everything, conds, a, page, func(r scanner) (assoc.EligibleResident, error) {
		var e assoc.EligibleResident
		err := r.Scan(&e.PersonID, &e.Name, &e.BirthDate, &e.Sex)
		if age := assoc.AgeOn(e.BirthDate, day); age >= 0 {
			e.Age = age
		}
		// Its readers see ID numbers masked: the whole date beside the
		// masked number would leave two digits of it unknown.
		e.BirthDate = community.MaskDate(e.BirthDate)
		return e, err
	})
	if err != nil {
		return out, err
	}
	return list, s.ruleValues(ctx, el, list.Items)
}

// ruleValues fills in the ledger values the rules looked at.
func (s *Store) ruleValues(ctx context.Context, el eligibility, people []assoc.EligibleResident) error {
	if len(people) == 0 || len(el.policy.Ledgers()) == 0 {
		return nil
	}
	var a args
	ids := make([]int64, len(people))
	at := map[int64]int{}
	for i, p := range people {
		ids[i], at[p.PersonID] = p.PersonID, i
	}
	var typeIDs []int64
	var fields []string
	for _, c := range el.policy.Rules {
		if t, ok := el.types[c.Ledger]; ok {
			typeIDs, fields = append(typeIDs, t.ID), append(fields, c.Field)
		}
	}
	fieldList := make([]string, len(fields))
	for i, f := range fields {
		fieldList[i] = a.add(f)
	}
	rows, err := s.reader().QueryContext(ctx, `SELECT e.person_id, lt.key, lv.field, lv.value FROM ledger_entries e JOIN ledger_types lt ON lt.id = e.type_id JOIN ledger_values lv ON lv.entry_id = e.id
		WHERE e.status = 'active' AND e.person_id IN `+inList(&a, ids)+` AND e.type_id IN `+inList(&a, typeIDs)+` AND lv.field IN (`+strings.Join(fieldList, ", ")+`)`, a...)
	if err != nil {
		return fmt.Errorf("eligible values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var person int64
		var key, field, value string
		if err := rows.Scan(&person, &key, &field, &value); err != nil {
			return err
		}
		looked := slices.ContainsFunc(el.policy.Rules, func(c assoc.Condition) bool { return c.Ledger == key && c.Field == field })
		if !looked {
			continue
		}
		p := &people[at[person]]
		if p.Values == nil {
			p.Values = map[string]any{}
		}
		p.Values[key+"."+field] = typedValue(el.types[key], field, value)
	}
	return rows.Err()
}

// typedValue turns a value's canonical text back into its field's type.
func typedValue(t assoc.LedgerType, field, value string) any {
	f, _ := t.Field(field)
	switch f.Type {
	case assoc.FieldNumber:
		if x, err := strconv.ParseFloat(value, 64); err == nil {
			return x
		}
	case assoc.FieldBool:
		return value == "true"
	}
	return value
}

// EligibleUncovered counts, for each policy of community that runs today,
// the residents who appear eligible and are not covered. Policies whose
// rules look at what acc may not see are left out.
func (s *Store) EligibleUncovered(ctx context.Context, acc assoc.Access, community int64) ([]assoc.PolicyCount, error) {
	day, err := s.assistanceDay(ctx, community, time.Time{})
	if err != nil {
		return nil, err
	}
	return s.eligibleUncovered(ctx, acc, community, day)
}

// eligibleUncovered is EligibleUncovered on day (midnight UTC of the
// community's date) in three queries whatever the number of policies:
// the policies, the community's ledgers, and every policy's count.
func (s *Store) eligibleUncovered(ctx context.Context, acc assoc.Access, community int64, day time.Time) ([]assoc.PolicyCount, error) {
	list, err := s.ListAssistancePolicies(ctx, acc, assoc.AssistancePolicyFilter{CommunityID: community, Page: shequ.Page{Limit: shequ.MaxLimit}})
	if err != nil {
		return nil, err
	}
	out := []assoc.PolicyCount{}
	var running []assoc.AssistancePolicy
	for _, x := range list.Items {
		if x.ValidOn(day.Format(time.DateOnly)) {
			running = append(running, x)
		}
	}
	if len(running) == 0 {
		return out, nil
	}
	types, err := s.ledgersByKey(ctx, s.reader(), community)
	if err != nil {
		return nil, err
	}
	var a args
	var counts []string
	for _, x := range running {
		// A policy left out must leave no parameters behind.
		b := a
		_, conds, err := s.eligibleWhereIn(types, acc, x, day, &b)
		if shequ.ErrorCode(err) == shequ.EFORBIDDEN {
			continue
		} else if err != nil {
			return nil, err
		}
		a = b
		// The policy's place in out, as a number in the text: a parameter
		// there would be text to PostgreSQL.
		counts = append(counts, "SELECT "+strconv.Itoa(len(out))+", COUNT(*) FROM people p WHERE "+strings.Join(conds, " AND "))
		out = append(out, assoc.PolicyCount{PolicyID: x.ID, Name: x.Name, AssociationID: x.AssociationID})
	}
	if len(counts) == 0 {
		return out, nil
	}
	rows, err := s.reader().QueryContext(ctx, strings.Join(counts, " UNION ALL "), a...)
	if err != nil {
		return nil, fmt.Errorf("eligible counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			return nil, fmt.Errorf("eligible counts: %w", err)
		}
		if i < 0 || i >= len(out) {
			return nil, fmt.Errorf("eligible counts: a count of policy number %d", i)
		}
		out[i].Uncovered = n
	}
	return out, rows.Err()
}

// --- applications ---

var applications = table{
	what: "application", id: "aa.id", order: "aa.id DESC",
	from: "assistance_applications aa JOIN assistance_policies ap ON ap.id = aa.policy_id JOIN people p ON p.id = aa.person_id",
	columns: "aa.id, aa.community_id, aa.policy_id, ap.name, ap.association_id, aa.person_id, p.name, aa.note, aa.status, aa.reason, aa.decided_on, aa.decided_by, aa.created_by, " +
		"aa.created_at, aa.updated_at",
}

func scanApplication(r scanner) (assoc.Application, error) {
	var x assoc.Application
	var decided, by sql.NullInt64
	err := r.Scan(&x.ID, &x.CommunityID, &x.PolicyID, &x.PolicyName, &x.AssociationID, &x.PersonID, &x.PersonName, &x.Note, &x.Status, &x.Reason, &x.DecidedOn, &decided, &by,
		&x.CreatedAt, &x.UpdatedAt)
	x.DecidedBy, x.CreatedBy, x.CreatedAt, x.UpdatedAt = decided.Int64, by.Int64, x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	return x, err
}

// applicationWhere keeps the applications acc reaches: its communities'
// for an administrator, its associations' policies' for a member, and
// those the user filed.
func applicationWhere(acc assoc.Access, a *args) string {
	w := associationWhere(acc, "aa.community_id", "ap.association_id", a)
	if acc.UserID == 0 || w == "TRUE" {
		return w
	}
	return "(" + w + " OR aa.created_by = " + a.add(acc.UserID) + ")"
}

// ListApplications returns the applications acc reaches, newest first.
func (s *Store) ListApplications(ctx context.Context, acc assoc.Access, f assoc.ApplicationFilter) (shequ.List[assoc.Application], error) {
	var a args
	conds := []string{applicationWhere(acc, &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "aa.community_id = "+a.add(f.CommunityID))
	}
	if f.PolicyID != 0 {
		conds = append(conds, "aa.policy_id = "+a.add(f.PolicyID))
	}
	if f.PersonID != 0 {
		conds = append(conds, "aa.person_id = "+a.add(f.PersonID))
	}
	if f.Status != "" {
		conds = append(conds, "aa.status = "+a.add(f.Status))
	}
	return listOf(ctx, s.reader(), applications, everything, conds, a, f.Page, scanApplication)
}

// CreateApplication files a resident's application under a policy acc
// reaches. A resident has one pending or granted application per policy.
func (s *Store) CreateApplication(ctx context.Context, acc assoc.Access, x *assoc.Application) error {
	if err := x.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		pol, err := s.assistancePolicy(ctx, tx, acc, x.PolicyID)
		if shequ.ErrorCode(err) == shequ.ENOTFOUND {
			return shequ.Invalid(map[string]string{"policy_id": fmt.Sprintf("there is no policy %d", x.PolicyID)})
		} else if err != nil {
			return err
		}
		if x.PersonName, err = residentIn(ctx, tx, x.PersonID, pol.CommunityID); err != nil {
			return err
		}
		if n, err := count(ctx, tx, "SELECT COUNT(*) FROM assistance_applications WHERE policy_id = $1 AND person_id = $2 AND status <> 'refused'", x.PolicyID, x.PersonID); err != nil {
			return err
		} else if n > 0 {
			return shequ.Errorf(shequ.ECONFLICT, "%s has a pending or granted application under this policy already", x.PersonName)
		}
		now, by := s.now(), actorID(ctx)
		x.CommunityID, x.PolicyName, x.AssociationID, x.CreatedBy, x.CreatedAt, x.UpdatedAt = pol.CommunityID, pol.Name, pol.AssociationID, by, now, now
		id, err := insert(ctx, tx, `INSERT INTO assistance_applications (community_id, policy_id, person_id, note, status, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			x.CommunityID, x.PolicyID, x.PersonID, x.Note, x.Status, nullID(by), now, now)
		if err != nil {
			return err
		}
		x.ID = id
		return s.change(ctx, tx, x.CommunityID, "create", "assistance_application", id, nil, map[string]any{"policy_id": x.PolicyID, "person_id": x.PersonID, "status": x.Status})
	})
}

// DecideApplication records the outcome of a pending application: granted
// (the resident is then covered) or refused with a reason. The policy's
// owner association and administrators decide.
func (s *Store) DecideApplication(ctx context.Context, acc assoc.Access, id int64, status, reason, day string) (assoc.Application, error) {
	var out assoc.Application
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "assistance_applications", id); err != nil {
			return err
		}
		var a args
		x, err := scanApplication(tx.QueryRowContext(ctx, "SELECT "+applications.columns+" FROM "+applications.from+" WHERE aa.id = "+a.add(id)+" AND "+applicationWhere(acc, &a), a...))
		if err == sql.ErrNoRows {
			return notFound("application", id)
		} else if err != nil {
			return err
		}
		if !acc.ActsFor(x.CommunityID, x.AssociationID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "the association that owns the policy decides its applications")
		}
		today, err := s.today(ctx, tx, x.CommunityID)
		if err != nil {
			return err
		}
		next, err := x.Decide(status, reason, day, today.Format(time.DateOnly))
		if err != nil {
			return err
		}
		next.DecidedBy, next.UpdatedAt = actorID(ctx), s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE assistance_applications SET status = $1, reason = $2, decided_on = $3, decided_by = $4, updated_at = $5 WHERE id = $6",
			next.Status, next.Reason, next.DecidedOn, nullID(next.DecidedBy), next.UpdatedAt, id); err != nil {
			return mapError(err)
		}
		out = next
		return s.change(ctx, tx, x.CommunityID, "decide", "assistance_application", id, map[string]any{"status": x.Status}, map[string]any{"status": next.Status, "decided_on": next.DecidedOn})
	})
	return out, err
}
