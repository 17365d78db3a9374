package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/open311"
)

var categories = table{
	what: "category", from: "matter_categories mc", id: "mc.id", order: "mc.community_id, mc.grp, mc.code",
	scope:   scopeCols{community: "mc.community_id"},
	columns: "mc.id, mc.community_id, mc.code, mc.name, mc.name_en, mc.description, mc.grp, mc.sla_hours, mc.attributes",
}

func scanCategory(r scanner) (matter.Category, error) {
	var c matter.Category
	var attrs string
	if err := r.Scan(&c.ID, &c.CommunityID, &c.Code, &c.Name, &c.NameEn, &c.Description, &c.Group, &c.SLAHours, &attrs); err != nil {
		return c, err
	}
	c.Attributes = []matter.Attribute{}
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return c, fmt.Errorf("category %s attributes: %w", c.Code, err)
	}
	return c, nil
}

// ListCategories returns the matter categories of the communities scope
// reaches.
func (s *Store) ListCategories(ctx context.Context, scope auth.Scope, community int64, page shequ.Page) (shequ.List[matter.Category], error) {
	var a args
	var conds []string
	if community != 0 {
		conds = append(conds, "mc.community_id = "+a.add(community))
	}
	return listOf(ctx, s.reader(), categories, scope.Widen(), conds, a, page, scanCategory)
}

// CategoryByCode returns a community's category.
func (s *Store) CategoryByCode(ctx context.Context, community int64, code string) (matter.Category, error) {
	c, err := scanCategory(s.reader().QueryRowContext(ctx, "SELECT "+categories.columns+" FROM matter_categories mc WHERE mc.community_id = $1 AND mc.code = $2", community, code))
	if err == sql.ErrNoRows {
		return c, shequ.Errorf(shequ.ENOTFOUND, "no category %q", code)
	}
	return c, err
}

// CreateCategory adds a matter category to a community.
func (s *Store) CreateCategory(ctx context.Context, scope auth.Scope, c *matter.Category) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, c.CommunityID); err != nil {
		return err
	}
	attrs, _ := json.Marshal(c.Attributes)
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := insert(ctx, tx, `INSERT INTO matter_categories (community_id, code, name, name_en, description, grp, sla_hours, attributes, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.CommunityID, c.Code, c.Name, c.NameEn, c.Description, c.Group, c.SLAHours, string(attrs), s.now())
		if err != nil {
			return err
		}
		c.ID = id
		return s.change(ctx, tx, c.CommunityID, "create", "matter_category", id, nil, c)
	})
}

var matters = table{
	what: "matter", id: "m.id", order: "m.created_at DESC, m.id DESC",
	from:  "matters m JOIN matter_categories mc ON mc.id = m.category_id",
	scope: scopeCols{community: "m.community_id", grid: "m.grid_id", household: "m.household_id = %s"},
	columns: "m.id, m.community_id, m.tracking, m.category_id, mc.code, m.person_id, m.household_id, m.home_id, m.grid_id, m.description, m.address, m.lat, m.lng, m.attributes, " +
		"m.status, m.status_note, m.assignee_user_id, m.assignee_association_id, m.submitted_by, m.filed_by, m.channel, m.rating, m.rating_comment, m.due_at, m.created_at, m.updated_at, m.resolved_at",
}

func (s *Store) scanMatter(r scanner) (matter.Matter, error) {
	var m matter.Matter
	var person, household, home, grid, assUser, assAssoc, submitted, filed sql.NullInt64
	var attrs string
	var resolved sql.NullTime
	err := r.Scan(&m.ID, &m.CommunityID, &m.Tracking, &m.CategoryID, &m.Category, &person, &household, &home, &grid, &m.Description, &m.Address, &m.Lat, &m.Lng, &attrs,
		&m.Status, &m.StatusNote, &assUser, &assAssoc, &submitted, &filed, &m.Channel, &m.Rating, &m.RatingComment, &m.DueAt, &m.CreatedAt, &m.UpdatedAt, &resolved)
	if err != nil {
		return m, err
	}
	m.PersonID, m.HouseholdID, m.HomeID, m.GridID = person.Int64, household.Int64, home.Int64, grid.Int64
	m.AssigneeUserID, m.AssigneeAssociationID, m.SubmittedBy, m.FiledBy = assUser.Int64, assAssoc.Int64, submitted.Int64, filed.Int64
	m.DueAt, m.CreatedAt, m.UpdatedAt, m.ResolvedAt = m.DueAt.UTC(), m.CreatedAt.UTC(), m.UpdatedAt.UTC(), timePtr(resolved)
	if attrs != "" && attrs != "{}" {
		if err := json.Unmarshal([]byte(attrs), &m.Attributes); err != nil {
			return m, fmt.Errorf("matter %d attributes: %w", m.ID, err)
		}
	}
	m.Overdue = m.IsOverdue(s.now())
	return m, nil
}

// ListMatters returns matters scope reaches, newest first.
func (s *Store) ListMatters(ctx context.Context, scope auth.Scope, f matter.Filter) (shequ.List[matter.Matter], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "m.community_id = "+a.add(f.CommunityID))
	}
	switch f.Status {
	case "":
	case "open":
		conds = append(conds, "m.status NOT IN ('resolved', 'closed', 'rejected')")
	case "closed_any":
		conds = append(conds, "m.status IN ('resolved', 'closed', 'rejected')")
	default:
		conds = append(conds, "m.status = "+a.add(f.Status))
	}
	if f.Category != "" {
		conds = append(conds, "mc.code = "+a.add(f.Category))
	}
	if f.Overdue {
		conds = append(conds, "m.due_at < "+a.add(s.now())+" AND m.status NOT IN ('resolved', 'closed', 'rejected')")
	}
	if f.AssigneeID != 0 {
		conds = append(conds, "m.assignee_user_id = "+a.add(f.AssigneeID))
	}
	if f.Tracking != "" {
		conds = append(conds, "m.tracking = "+a.add(f.Tracking))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "m.created_at >= "+a.add(f.Since.UTC()))
	}
	if !f.Until.IsZero() {
		conds = append(conds, "m.created_at < "+a.add(f.Until.UTC()))
	}
	if len(f.IDs) > 0 {
		in := ""
		for i, id := range f.IDs {
			if i > 0 {
				in += ","
			}
			in += a.add(id)
		}
		conds = append(conds, "m.id IN ("+in+")")
	}
	return listOf(ctx, s.reader(), matters, scope, conds, a, f.Page, s.scanMatter)
}

// Matter returns one matter with its timeline.
func (s *Store) Matter(ctx context.Context, scope auth.Scope, id int64) (matter.Matter, error) {
	m, err := oneOf(ctx, s.reader(), matters, scope, id, s.scanMatter)
	if err != nil {
		return m, err
	}
	m.Timeline, err = s.matterTimeline(ctx, s.reader(), id)
	return m, err
}

func (s *Store) matterTimeline(ctx context.Context, q querier, id int64) ([]matter.Change, error) {
	rows, err := q.QueryContext(ctx, "SELECT at, action, user_id, from_status, to_status, note FROM matter_log WHERE matter_id = $1 ORDER BY id", id)
	if err != nil {
		return nil, fmt.Errorf("matter timeline: %w", err)
	}
	defer rows.Close()
	out := []matter.Change{}
	for rows.Next() {
		var e matter.Change
		var user sql.NullInt64
		if err := rows.Scan(&e.At, &e.Action, &user, &e.From, &e.To, &e.Note); err != nil {
			return nil, err
		}
		e.At, e.UserID = e.At.UTC(), user.Int64
		out = append(out, e)
	}
	return out, rows.Err()
}

// SubmitMatter files a new matter. For a resident it lands at their home;
// staff filing for a resident name the person. The tracking number comes
// from the day and a counter; two submissions racing for one number retry.
func (s *Store) SubmitMatter(ctx context.Context, scope auth.Scope, m *matter.Matter) error {
	if err := m.Validate(); err != nil {
		return err
	}
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = s.tx(ctx, func(tx *sql.Tx) error { return s.submitMatter(ctx, tx, scope, m) })
		if shequ.ErrorCode(err) != shequ.ECONFLICT {
			return err
		}
	}
	return err
}

func (s *Store) submitMatter(ctx context.Context, tx *sql.Tx, scope auth.Scope, m *matter.Matter) error {
	if m.PersonID != 0 {
		p, err := s.person(ctx, tx, scope, m.PersonID)
		if err != nil {
			return shequ.Invalid(map[string]string{"person_id": fmt.Sprintf("person %d not found", m.PersonID)})
		}
		m.CommunityID, m.HouseholdID, m.HomeID = p.CommunityID, p.HouseholdID, p.HomeID
	}
	if m.CommunityID == 0 {
		return shequ.Invalid(map[string]string{"community_id": "is required"})
	}
	if m.HomeID != 0 {
		h, err := oneOf(ctx, tx, homes, everything, m.HomeID, scanHome)
		if err != nil {
			return err
		}
		m.GridID = h.GridID
		if m.Address == "" {
			m.Address = h.BuildingName + " " + h.Door
		}
	}
	var cat matter.Category
	var err error
	if m.CategoryID != 0 {
		cat, err = oneOf(ctx, tx, categories, everything, m.CategoryID, scanCategory)
	} else {
		cat, err = scanCategory(tx.QueryRowContext(ctx, "SELECT "+categories.columns+" FROM matter_categories mc WHERE mc.community_id = $1 AND mc.code = $2", m.CommunityID, m.Category))
	}
	if err != nil || cat.CommunityID != m.CommunityID {
		return shequ.Invalid(map[string]string{"category": "is not a category of this community"})
	}
	if err := cat.CheckAttributes(m.Attributes); err != nil {
		return err
	}
	now := s.now()
	m.CategoryID, m.Category, m.Status = cat.ID, cat.Code, matter.Submitted
	m.CreatedAt, m.UpdatedAt, m.DueAt = now, now, now.Add(time.Duration(cat.SLAHours)*time.Hour)
	// The day's counter row, taken and locked in this transaction, so
	// that submissions on several nodes cannot take one number (see
	// migration 00043).
	var n int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO matter_day_counters (day, last) VALUES ($1, 1)
		ON CONFLICT (day) DO UPDATE SET last = matter_day_counters.last + 1 RETURNING last`, now.Format("20060102")).Scan(&n); err != nil {
		return fmt.Errorf("tracking number: %w", err)
	}
	m.Tracking = matter.TrackingNumber(now, n)
	attrs, _ := json.Marshal(m.Attributes)
	id, err := insert(ctx, tx, `INSERT INTO matters (community_id, tracking, category_id, person_id, household_id, home_id, grid_id, description, address, lat, lng, attributes,
		status, submitted_by, filed_by, channel, due_at, created_at, updated_at, public_description, public_note, public_address)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)`,
		m.CommunityID, m.Tracking, m.CategoryID, nullID(m.PersonID), nullID(m.HouseholdID), nullID(m.HomeID), nullID(m.GridID), m.Description, m.Address, m.Lat, m.Lng, string(attrs),
		m.Status, nullID(m.SubmittedBy), nullID(m.FiledBy), m.Channel, m.DueAt, now, now, open311.Scrub(m.Description), open311.Scrub(m.StatusNote), open311.Scrub(m.Address))
	if err != nil {
		return err
	}
	m.ID = id
	if _, err := tx.ExecContext(ctx, "INSERT INTO matter_log (matter_id, at, action, user_id, to_status, note) VALUES ($1, $2, 'submit', $3, $4, $5)",
		id, now, nullID(firstNonZero(m.FiledBy, m.SubmittedBy)), m.Status, m.Channel); err != nil {
		return err
	}
	m.Timeline = []matter.Change{{At: now, Action: "submit", UserID: firstNonZero(m.FiledBy, m.SubmittedBy), To: m.Status, Note: m.Channel}}
	// Matters are found by search only by their household and by staff:
	// a neighbour in the same grid must not find them.
	doc := searchDoc{Kind: matterDocs, RefID: id, CommunityID: m.CommunityID, Title: m.Tracking + " " + cat.Name,
		Body: m.Description + " " + m.Address, Targeted: true}
	if m.HouseholdID != 0 {
		doc.Households = []int64{m.HouseholdID}
	}
	if err := s.indexDoc(ctx, tx, doc); err != nil {
		return err
	}
	if err := s.matterNotice(ctx, tx, *m, "submit"); err != nil {
		return err
	}
	return s.change(ctx, tx, m.CommunityID, "create", "matter", id, nil, m)
}

// matterDocs is the search kind of matters (web's search asks for it by
// this name).
const matterDocs = "matter"

func firstNonZero(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

// matterNotice tells the resident about a step: on their live stream and,
// through the outbox, by message.
func (s *Store) matterNotice(ctx context.Context, tx *sql.Tx, m matter.Matter, action string) error {
	if err := s.publishLive(ctx, tx, m.CommunityID, m.HomeID, "matter", map[string]any{"id": m.ID, "tracking_number": m.Tracking, "status": m.Status, "action": action}); err != nil {
		return err
	}
	if m.PersonID == 0 {
		return nil
	}
	key := fmt.Sprintf("matter:%d:%s:%d", m.ID, action, m.UpdatedAt.UnixNano())
	return s.enqueue(ctx, tx, key, jobs.MatterUpdate{MatterID: m.ID, PersonID: m.PersonID, Status: m.Status, Action: action}, s.now())
}

// StepMatter applies a workflow step. A step the workflow refuses leaves
// the matter, its timeline and the audit log as they were.
func (s *Store) StepMatter(ctx context.Context, scope auth.Scope, id int64, step matter.Step) (matter.Matter, error) {
	var out matter.Matter
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Locked before it is read: two steps at once (two ratings, a
		// reopen racing a close) go one after the other, and the second
		// is judged against the status the first left.
		if err := s.lockRow(ctx, tx, "matters", id); err != nil {
			return err
		}
		m, err := oneOf(ctx, tx, matters, scope, id, s.scanMatter)
		if err != nil {
			return err
		}
		if step.AssigneeUserID != 0 {
			if n, err := count(ctx, tx, "SELECT COUNT(*) FROM grants WHERE user_id = $1 AND community_id = $2 AND role <> 'resident'", step.AssigneeUserID, m.CommunityID); err != nil {
				return err
			} else if n == 0 {
				return shequ.Invalid(map[string]string{"assignee_user_id": "is not staff of this community"})
			}
		}
		if step.AssigneeAssociationID != 0 {
			if n, err := count(ctx, tx, "SELECT COUNT(*) FROM associations WHERE id = $1 AND community_id = $2", step.AssigneeAssociationID, m.CommunityID); err != nil {
				return err
			} else if n == 0 {
				return shequ.Invalid(map[string]string{"assignee_association_id": "is not an association of this community"})
			}
		}
		step.At = s.now()
		next, entry, err := m.Apply(step)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE matters SET status = $1, status_note = $2, assignee_user_id = $3, assignee_association_id = $4, rating = $5, rating_comment = $6,
			updated_at = $7, resolved_at = $8, public_note = $9 WHERE id = $10`,
			next.Status, next.StatusNote, nullID(next.AssigneeUserID), nullID(next.AssigneeAssociationID), next.Rating, next.RatingComment, next.UpdatedAt, ptrTime(next.ResolvedAt),
			open311.Scrub(next.StatusNote), id)
		if err != nil {
			return mapError(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO matter_log (matter_id, at, action, user_id, from_status, to_status, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
			id, entry.At, entry.Action, nullID(entry.UserID), entry.From, entry.To, entry.Note); err != nil {
			return err
		}
		if err := s.matterNotice(ctx, tx, next, step.Action); err != nil {
			return err
		}
		if err := s.change(ctx, tx, m.CommunityID, step.Action, "matter", id, m, next); err != nil {
			return err
		}
		next.Timeline, err = s.matterTimeline(ctx, tx, id)
		next.Overdue = next.IsOverdue(s.now())
		out = next
		return err
	})
	return out, err
}

// AddMatterPhoto records a photo of a matter whose bytes are put: m
// carries their type, size and SHA-256 and who sent them.
func (s *Store) AddMatterPhoto(ctx context.Context, scope auth.Scope, id int64, m media.Media) (int64, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		// Locked so that photos added at once count each other against
		// the cap.
		if err := s.lockRow(ctx, tx, "matters", id); err != nil {
			return err
		}
		mt, err := oneOf(ctx, tx, matters, scope, id, s.scanMatter)
		if err != nil {
			return err
		}
		if matter.Final(mt.Status) {
			return shequ.Errorf(shequ.ECONFLICT, "the matter is %s", mt.Status)
		}
		return s.addPhoto(ctx, tx, mt.CommunityID, "matter", id, &m)
	})
	return m.ID, err
}

// MatterPhoto returns a photo of a matter scope reaches.
func (s *Store) MatterPhoto(ctx context.Context, scope auth.Scope, id, photo int64) (media.Media, error) {
	if err := mustReach(ctx, s.reader(), matters, scope, id); err != nil {
		return media.Media{}, err
	}
	return mediaByID(ctx, s.reader(), "matter", id, photo)
}

// MatterPhotoIDs lists the photos of a matter.
func (s *Store) MatterPhotoIDs(ctx context.Context, id int64) ([]int64, error) {
	return mediaIDs(ctx, s.reader(), "matter", id)
}

// MaxPhotos is how many photos one post or matter takes.
const MaxPhotos = 9

// addPhoto records a photo of an owner (a matter, a lost-and-found post,
// an incident), audited, in the caller's transaction.
func (s *Store) addPhoto(ctx context.Context, tx *sql.Tx, community int64, owner string, ownerID int64, m *media.Media) error {
	if n, err := countMedia(ctx, tx, owner, ownerID); err != nil {
		return err
	} else if n >= MaxPhotos {
		return shequ.Errorf(shequ.ECONFLICT, "at most %d photos", MaxPhotos)
	}
	m.CommunityID, m.OwnerKind, m.OwnerID, m.Kind = community, owner, ownerID, media.Photo.Name
	if err := s.addMedia(ctx, tx, m); err != nil {
		return err
	}
	return s.change(ctx, tx, community, "photo", owner, ownerID, nil, map[string]any{"photo_id": m.ID, "bytes": m.Size, "content_type": m.ContentType})
}
