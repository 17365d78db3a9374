package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/pii"
)

var people = table{
	what: "person", id: "p.id", scope: personCols, order: "p.id",
	from:    "people p LEFT JOIN households hh ON hh.id = p.household_id LEFT JOIN homes h ON h.id = hh.home_id LEFT JOIN buildings b ON b.id = h.building_id",
	columns: "p.id, p.community_id, p.household_id, p.name, p.gender, p.phone_enc, p.id_number_enc, p.birth_date, p.relation, p.tags, p.created_at, p.updated_at, hh.home_id",
}

// scanPerson returns a scanner that opens the sealed fields.
func (s *Store) scanPerson(r scanner) (community.Person, error) {
	var p community.Person
	var household, home sql.NullInt64
	var phone, idNumber, tags string
	err := r.Scan(&p.ID, &p.CommunityID, &household, &p.Name, &p.Gender, &phone, &idNumber, &p.BirthDate, &p.Relation, &tags, &p.CreatedAt, &p.UpdatedAt, &home)
	if err != nil {
		return p, err
	}
	p.HouseholdID, p.HomeID = household.Int64, home.Int64
	p.Tags = splitTags(tags)
	if p.Phone, err = s.cipher.Open(phone); err != nil {
		return p, fmt.Errorf("person %d phone: %w", p.ID, err)
	}
	if p.IDNumber, err = s.cipher.Open(idNumber); err != nil {
		return p, fmt.Errorf("person %d id number: %w", p.ID, err)
	}
	p.Contacts = []community.Contact{}
	return p, nil
}

// Tags are stored as ",a,b," so that one tag can be found with LIKE.
func joinTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "," + strings.Join(tags, ",") + ","
}

func splitTags(s string) []string {
	out := []string{}
	for _, t := range strings.Split(s, ",") {
		if t != "" {
			out = append(out, t)
		}
	}
	return out
}

// ListPeople returns the people scope reaches, with their emergency contacts.
func (s *Store) ListPeople(ctx context.Context, scope auth.Scope, f community.Filter) (shequ.List[community.Person], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "p.community_id = "+a.add(f.CommunityID))
	}
	if f.HouseholdID != 0 {
		conds = append(conds, "p.household_id = "+a.add(f.HouseholdID))
	}
	if f.HomeID != 0 {
		conds = append(conds, "hh.home_id = "+a.add(f.HomeID))
	}
	if f.BuildingID != 0 {
		conds = append(conds, "h.building_id = "+a.add(f.BuildingID))
	}
	if f.GridID != 0 {
		conds = append(conds, "b.grid_id = "+a.add(f.GridID))
	}
	if f.Tag != "" {
		conds = append(conds, "p.tags LIKE "+a.add("%,"+likeEscape(f.Tag)+",%")+` ESCAPE '\'`)
	}
	var indexes []string // the keyed indexes a whole number would have
	if f.Query != "" && len(f.NumberScope) > 0 {
		indexes = s.cipher.Indexes(f.Query)
	}
	byNumber := len(indexes) > 0
	if f.Query != "" {
		name := "p.name LIKE " + a.add("%"+likeEscape(f.Query)+"%") + ` ESCAPE '\'`
		if !byNumber {
			conds = append(conds, name)
		} else {
			// A whole phone or ID number finds its person through the
			// keyed index, within the scope of whole numbers only.
			// During a key rotation a row is indexed under either key.
			var idx []string
			for _, x := range indexes {
				idx = append(idx, a.add(x))
			}
			in := strings.Join(idx, ", ")
			conds = append(conds, "("+name+" OR ((p.phone_idx IN ("+in+") OR p.id_number_idx IN ("+in+")) AND "+scopeWhere(f.NumberScope, personCols, &a)+"))")
		}
	}
	list, err := listOf(ctx, s.reader(), people, scope, conds, a, f.Page, s.scanPerson)
	if err != nil {
		return list, err
	}
	if byNumber {
		// Finding someone by their number tells the reader the number
		// is theirs: a read of it, audited as one.
		var found []community.Person
		q := pii.Normalize(f.Query)
		for _, p := range list.Items {
			if pii.Normalize(p.Phone) == q || pii.Normalize(p.IDNumber) == q {
				found = append(found, p)
			}
		}
		if err := s.recordPIIRead(ctx, found, map[string]any{"found_by": "a search by their whole phone or ID number"}); err != nil {
			return list, err
		}
	}
	return list, s.loadContacts(ctx, s.reader(), list.Items)
}

// Person returns one person with their emergency contacts.
func (s *Store) Person(ctx context.Context, scope auth.Scope, id int64) (community.Person, error) {
	return s.person(ctx, s.reader(), scope, id)
}

func (s *Store) person(ctx context.Context, q querier, scope auth.Scope, id int64) (community.Person, error) {
	p, err := oneOf(ctx, q, people, scope, id, s.scanPerson)
	if err != nil {
		return p, err
	}
	one := []community.Person{p}
	err = s.loadContacts(ctx, q, one)
	return one[0], err
}

func (s *Store) loadContacts(ctx context.Context, q querier, ps []community.Person) error {
	if len(ps) == 0 {
		return nil
	}
	var a args
	at := map[int64]int{}
	var marks []string
	for i, p := range ps {
		at[p.ID] = i
		marks = append(marks, a.add(p.ID))
	}
	rows, err := q.QueryContext(ctx, "SELECT person_id, name, phone_enc, relation FROM emergency_contacts WHERE person_id IN ("+strings.Join(marks, ",")+") ORDER BY person_id, position", a...)
	if err != nil {
		return fmt.Errorf("emergency contacts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var pid int64
		var c community.Contact
		var phone string
		if err := rows.Scan(&pid, &c.Name, &phone, &c.Relation); err != nil {
			return err
		}
		if c.Phone, err = s.cipher.Open(phone); err != nil {
			return fmt.Errorf("contact of person %d: %w", pid, err)
		}
		i := at[pid]
		ps[i].Contacts = append(ps[i].Contacts, c)
	}
	return rows.Err()
}

// placePerson checks where a person may be put: into a household scope
// reaches, or (with no household) into a community scope wholly reaches.
func (s *Store) placePerson(ctx context.Context, tx *sql.Tx, scope auth.Scope, p *community.Person) error {
	if p.HouseholdID == 0 {
		return mustReachCommunity(scope, p.CommunityID)
	}
	hh, err := oneOf(ctx, tx, households, scope, p.HouseholdID, scanHousehold)
	if err != nil {
		return shequ.Invalid(map[string]string{"household_id": fmt.Sprintf("household %d not found", p.HouseholdID)})
	}
	p.CommunityID = hh.CommunityID
	return nil
}

// CreatePerson adds a resident.
func (s *Store) CreatePerson(ctx context.Context, scope auth.Scope, p *community.Person) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.createPerson(ctx, tx, scope, p) })
}

func (s *Store) createPerson(ctx context.Context, tx *sql.Tx, scope auth.Scope, p *community.Person) error {
	if err := s.placePerson(ctx, tx, scope, p); err != nil {
		return err
	}
	p.CreatedAt, p.UpdatedAt = s.now(), s.now()
	if err := s.idNumberTaken(ctx, tx, p.CommunityID, 0, p.IDNumber); err != nil {
		return err
	}
	id, err := insert(ctx, tx, `INSERT INTO people (community_id, household_id, name, gender, phone_enc, phone_idx, id_number_enc, id_number_idx, birth_date, relation, tags, created_at, updated_at, pii_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		p.CommunityID, nullID(p.HouseholdID), p.Name, p.Gender, s.cipher.Seal(p.Phone), s.cipher.Index(p.Phone),
		s.cipher.Seal(p.IDNumber), s.cipher.Index(p.IDNumber), p.BirthDate, p.Relation, joinTags(p.Tags), p.CreatedAt, p.UpdatedAt, s.cipher.Current())
	if err != nil {
		if shequ.ErrorCode(err) == shequ.ECONFLICT {
			return shequ.Errorf(shequ.ECONFLICT, "a resident with this ID number is already registered in this community")
		}
		return err
	}
	p.ID = id
	if err := s.saveContacts(ctx, tx, p); err != nil {
		return err
	}
	return s.change(ctx, tx, p.CommunityID, "create", "person", id, nil, maskedCopy(*p))
}

func (s *Store) saveContacts(ctx context.Context, tx *sql.Tx, p *community.Person) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM emergency_contacts WHERE person_id = $1", p.ID); err != nil {
		return fmt.Errorf("clear contacts: %w", err)
	}
	for i, c := range p.Contacts {
		if _, err := tx.ExecContext(ctx, "INSERT INTO emergency_contacts (person_id, position, name, phone_enc, relation) VALUES ($1, $2, $3, $4, $5)",
			p.ID, i, c.Name, s.cipher.Seal(c.Phone), c.Relation); err != nil {
			return fmt.Errorf("save contact: %w", err)
		}
	}
	return nil
}

// maskedCopy is what the audit log keeps of a person: no whole numbers.
func maskedCopy(p community.Person) community.Person {
	return p.Mask()
}

// UpdatePerson replaces a resident's details.
func (s *Store) UpdatePerson(ctx context.Context, scope auth.Scope, p *community.Person) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.person(ctx, tx, scope, p.ID)
		if err != nil {
			return err
		}
		p.CommunityID = before.CommunityID
		if err := s.placePerson(ctx, tx, scope, p); err != nil {
			return err
		}
		p.CreatedAt, p.UpdatedAt = before.CreatedAt, s.now()
		if err := s.idNumberTaken(ctx, tx, p.CommunityID, p.ID, p.IDNumber); err != nil {
			return err
		}
		if p.HouseholdID != before.HouseholdID {
			// Moving out of a household ends the keys and passes of it.
			if err := s.revokePersonAccess(ctx, tx, p.ID, "moved_out"); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE people SET household_id = $1, name = $2, gender = $3, phone_enc = $4, phone_idx = $5, id_number_enc = $6, id_number_idx = $7,
			birth_date = $8, relation = $9, tags = $10, updated_at = $11, pii_key = $13 WHERE id = $12`,
			nullID(p.HouseholdID), p.Name, p.Gender, s.cipher.Seal(p.Phone), s.cipher.Index(p.Phone), s.cipher.Seal(p.IDNumber), s.cipher.Index(p.IDNumber),
			p.BirthDate, p.Relation, joinTags(p.Tags), p.UpdatedAt, p.ID, s.cipher.Current())
		if err != nil {
			return mapError(err)
		}
		if err := s.saveContacts(ctx, tx, p); err != nil {
			return err
		}
		return s.change(ctx, tx, p.CommunityID, "update", "person", p.ID, maskedCopy(before), maskedCopy(*p))
	})
}

// DeletePerson removes a resident.
func (s *Store) DeletePerson(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.person(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if err := s.revokePersonAccess(ctx, tx, id, "removed"); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM people WHERE id = $1", id); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, before.CommunityID, "delete", "person", id, maskedCopy(before), nil)
	})
}

// RecordPIIRead writes to the audit log that the actor saw the whole
// personal numbers of the given people.
func (s *Store) RecordPIIRead(ctx context.Context, ps []community.Person) error {
	return s.recordPIIRead(ctx, ps, nil)
}

// recordPIIRead is RecordPIIRead saying how the numbers were learnt
// (how, nil: they were shown).
func (s *Store) recordPIIRead(ctx context.Context, ps []community.Person, how map[string]any) error {
	if len(ps) == 0 {
		return nil
	}
	var after json.RawMessage
	if how != nil {
		after = snapshot(how)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, p := range ps {
			if err := s.record(ctx, tx, audit.Entry{CommunityID: p.CommunityID, Action: "person.read_pii", Entity: "person", EntityID: p.ID, After: after}); err != nil {
				return err
			}
		}
		return nil
	})
}
