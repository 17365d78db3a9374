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
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/content"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
	"github.com/shequ/shequ/pii"
)

// Who sees a notice: a reader's reach sees it while it is live and its
// audience takes in the reach (a household: its home's grid or building;
// a grid: a community-wide notice or one aimed at the grid or a building
// in it; a community: all of the community's). A writer's reach sees it
// in any status, so that staff see what is scheduled and what expired.
// Readers' and writers' scopes are given apart; a resident has no writer
// scope and so never sees a notice before it is published.

// audienceCols tells audienceWhere where a table keeps its audience.
type audienceCols struct {
	id, community, audience string
	targets, fk             string // the targets table and its column naming the row
	households              bool   // the targets table has household_id
}

var (
	noticeAudience = audienceCols{id: "n.id", community: "n.community_id", audience: "n.audience", targets: "notice_targets", fk: "notice_id"}
	docAudience    = audienceCols{id: "d.id", community: "d.community_id", audience: "d.audience", targets: "search_targets", fk: "doc_id", households: true}
)

const (
	householdGrid     = "(SELECT b2.grid_id FROM households hh2 JOIN homes h2 ON h2.id = hh2.home_id JOIN buildings b2 ON b2.id = h2.building_id WHERE hh2.id = %s)"
	householdBuilding = "(SELECT h2.building_id FROM households hh2 JOIN homes h2 ON h2.id = hh2.home_id WHERE hh2.id = %s)"
)

// audienceWhere returns a condition keeping the rows whose audience takes
// in some reach of scope. An empty scope keeps nothing.
func audienceWhere(scope auth.Scope, c audienceCols, a *args) string {
	if len(scope) == 0 {
		return "FALSE"
	}
	var ors []string
	for _, r := range scope {
		if r.CommunityID == 0 {
			return "TRUE"
		}
		part := c.community + " = " + a.add(r.CommunityID)
		var match []string
		switch {
		case r.HouseholdID != 0:
			h := a.add(r.HouseholdID)
			match = append(match, "t.grid_id = "+fmt.Sprintf(householdGrid, h), "t.building_id = "+fmt.Sprintf(householdBuilding, h))
			if c.households {
				match = append(match, "t.household_id = "+h)
			}
		case r.GridID != 0:
			g := a.add(r.GridID)
			match = append(match, "t.grid_id = "+g, "t.building_id IN (SELECT b2.id FROM buildings b2 WHERE b2.grid_id = "+g+")")
			if c.households {
				match = append(match, "t.household_id IN (SELECT hh2.id FROM households hh2 JOIN homes h2 ON h2.id = hh2.home_id JOIN buildings b2 ON b2.id = h2.building_id WHERE b2.grid_id = "+g+")")
			}
		}
		if match != nil {
			part += " AND (" + c.audience + " = 'community' OR EXISTS (SELECT 1 FROM " + c.targets + " t WHERE t." + c.fk + " = " + c.id +
				" AND (" + strings.Join(match, " OR ") + ")))"
		}
		ors = append(ors, "("+part+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// staffOnly drops the households from scope: a writer's scope is staff's.
func staffOnly(scope auth.Scope) auth.Scope {
	var out auth.Scope
	for _, r := range scope {
		if r.HouseholdID == 0 {
			out = append(out, r)
		}
	}
	return out
}

func householdsOf(scope auth.Scope) []int64 {
	var out []int64
	for _, r := range scope {
		if r.HouseholdID != 0 {
			out = append(out, r.HouseholdID)
		}
	}
	return out
}

// windowCond is the condition for a status of rows whose window runs from
// from until until (NULL: never ends) at now.
func windowCond(status, from, until string, a *args, now time.Time) string {
	switch status {
	case content.StatusScheduled:
		return from + " > " + a.add(now)
	case content.StatusExpired:
		return "(" + until + " IS NOT NULL AND " + until + " <= " + a.add(now) + ")"
	case content.StatusAll:
		return "TRUE"
	}
	n := a.add(now)
	return "(" + from + " <= " + n + " AND (" + until + " IS NULL OR " + until + " > " + n + "))"
}

func checkStatus(status string) error {
	switch status {
	case "", content.StatusLive, content.StatusScheduled, content.StatusExpired, content.StatusAll:
		return nil
	}
	return shequ.Invalid(map[string]string{"status": "must be live, scheduled, expired or all"})
}

// listWhere returns one page of rows of from that where keeps.
func listWhere[T any](ctx context.Context, q querier, what, from, columns, where, order string, a args, page shequ.Page, scan func(scanner) (T, error)) (shequ.List[T], error) {
	return listCounted(ctx, q, what, from, columns, where, order, a, page, false, scan)
}

// listCounted is listWhere whose total, when capped, is counted only up to
// shequ.MaxExactTotal: a resident's feed of years of notices cost 85 % of
// its time counting them (issue 13).
func listCounted[T any](ctx context.Context, q querier, what, from, columns, where, order string, a args, page shequ.Page, capped bool, scan func(scanner) (T, error)) (shequ.List[T], error) {
	countQuery := "SELECT COUNT(*) FROM " + from + " WHERE " + where
	if capped {
		countQuery = "SELECT COUNT(*) FROM (SELECT 1 FROM " + from + " WHERE " + where + " LIMIT " + strconv.Itoa(shequ.MaxExactTotal+1) + ") capped"
	}
	out, err := pageThenCount(ctx, q, what, "SELECT "+columns+" FROM "+from+" WHERE "+where+" ORDER BY "+order, countQuery, a, page, scan)
	if capped && out.Total > shequ.MaxExactTotal {
		// Said as the capped count says it, whether or not it was counted.
		out.Total, out.TotalIsEstimate = shequ.MaxExactTotal+1, true
	}
	return out, err
}

// inList returns "(…)" placeholders for ids.
func inList(a *args, ids []int64) string {
	marks := make([]string, len(ids))
	for i, id := range ids {
		marks[i] = a.add(id)
	}
	return "(" + strings.Join(marks, ", ") + ")"
}

// --- notices ---

const noticeColumns = "n.id, n.community_id, n.title, n.body, n.category, n.audience, n.publish_at, n.expires_at, n.pinned, n.important, n.author_id, n.author_name, n.created_at, n.updated_at, n.broadcast"

func scanNotice(r scanner) (content.Notice, error) {
	var n content.Notice
	var expires sql.NullTime
	var author sql.NullInt64
	err := r.Scan(&n.ID, &n.CommunityID, &n.Title, &n.Body, &n.Category, &n.Audience.Scope, &n.PublishAt, &expires, &n.Pinned, &n.Important,
		&author, &n.AuthorName, &n.CreatedAt, &n.UpdatedAt, &n.Broadcast)
	n.PublishAt, n.CreatedAt, n.UpdatedAt = n.PublishAt.UTC(), n.CreatedAt.UTC(), n.UpdatedAt.UTC()
	if expires.Valid {
		t := expires.Time.UTC()
		n.ExpiresAt = &t
	}
	n.AuthorID = author.Int64
	n.Attachments = []content.Attachment{}
	return n, err
}

// noticeVisible is the condition for the notices a reader sees live and a
// writer sees in any status.
func (s *Store) noticeVisible(read, write auth.Scope, a *args) string {
	return s.noticeVisibleAt(read, write, a, s.now())
}

// noticeVisibleAt is noticeVisible with readers' notices live at now.
func (s *Store) noticeVisibleAt(read, write auth.Scope, a *args, now time.Time) string {
	live := windowCond(content.StatusLive, "n.publish_at", "n.expires_at", a, now)
	readers := "(" + audienceWhere(read, noticeAudience, a) + " AND " + live + ")"
	if write = staffOnly(write); len(write) == 0 {
		return readers // a resident's feed: keep the query plain for the planner
	}
	return "(" + readers + " OR " + audienceWhere(write, noticeAudience, a) + ")"
}

// ListNotices returns the notices read sees live and write sees in any
// status: pinned first, then the newest. A reader's feed is kept by the
// web layer while the notices' stamp holds (ListStamp).
func (s *Store) ListNotices(ctx context.Context, read, write auth.Scope, f content.NoticeFilter) (shequ.List[content.Notice], error) {
	if err := checkStatus(f.Status); err != nil {
		return shequ.List[content.Notice]{}, err
	}
	now := s.now()
	var a args
	conds := []string{s.noticeVisibleAt(read, write, &a, now), windowCond(f.Status, "n.publish_at", "n.expires_at", &a, now)}
	if f.CommunityID != 0 {
		conds = append(conds, "n.community_id = "+a.add(f.CommunityID))
	}
	if f.Category != "" {
		conds = append(conds, "n.category = "+a.add(f.Category))
	}
	if f.Important {
		conds = append(conds, "n.important = "+a.add(true))
	}
	q := s.reader()
	// A reader who cannot write notices (a resident's feed) has them
	// counted only so far; those who manage them get the exact count.
	capped := len(staffOnly(write)) == 0
	l, err := listCounted(ctx, q, "notice", "notices n", noticeColumns, strings.Join(conds, " AND "), "n.pinned DESC, n.publish_at DESC, n.id DESC", a, f.Page, capped, scanNotice)
	if err != nil {
		return l, err
	}
	for i := range l.Items {
		l.Items[i].Summary = content.Summarize(l.Items[i].Body, 120)
	}
	return l, s.completeNoticesAt(ctx, q, read, l.Items, now)
}

// Notice returns one notice with its body rendered.
func (s *Store) Notice(ctx context.Context, read, write auth.Scope, id int64) (content.Notice, error) {
	q := s.reader()
	n, err := s.notice(ctx, q, read, write, id)
	if err != nil {
		return n, err
	}
	n.BodyHTML = content.RenderMarkdown(n.Body)
	n.Summary = content.Summarize(n.Body, 120)
	one := []content.Notice{n}
	err = s.completeNotices(ctx, q, read, one)
	return one[0], err
}

func (s *Store) notice(ctx context.Context, q querier, read, write auth.Scope, id int64) (content.Notice, error) {
	var a args
	query := "SELECT " + noticeColumns + " FROM notices n WHERE n.id = " + a.add(id) + " AND " + s.noticeVisible(read, write, &a)
	n, err := scanNotice(q.QueryRowContext(ctx, query, a...))
	if err == sql.ErrNoRows {
		return n, notFound("notice", id)
	} else if err != nil {
		return n, fmt.Errorf("get notice %d: %w", id, err)
	}
	n.Status = content.StatusAt(n.PublishAt, n.ExpiresAt, s.now())
	return n, s.loadTargets(ctx, q, []*content.Notice{&n})
}

// completeNotices fills in statuses, audiences, attachments and
// confirmations: the reader's household's for residents, the count for
// staff.
func (s *Store) completeNotices(ctx context.Context, q querier, read auth.Scope, ns []content.Notice) error {
	return s.completeNoticesAt(ctx, q, read, ns, s.now())
}

// completeNoticesAt is completeNotices with the statuses at now.
func (s *Store) completeNoticesAt(ctx context.Context, q querier, read auth.Scope, ns []content.Notice, now time.Time) error {
	if len(ns) == 0 {
		return nil
	}
	ptrs := make([]*content.Notice, len(ns))
	ids := make([]int64, len(ns))
	at := map[int64]*content.Notice{}
	for i := range ns {
		ns[i].Status = content.StatusAt(ns[i].PublishAt, ns[i].ExpiresAt, now)
		ptrs[i], ids[i], at[ns[i].ID] = &ns[i], ns[i].ID, &ns[i]
	}
	if err := s.loadTargets(ctx, q, ptrs); err != nil {
		return err
	}
	atts, err := s.attachmentsOf(ctx, q, content.KindNotice, ids)
	if err != nil {
		return err
	}
	for id, list := range atts {
		at[id].Attachments = list
	}
	var a args
	households := householdsOf(read)
	if len(households) > 0 {
		// A resident sees when their household confirmed.
		rows, err := q.QueryContext(ctx, "SELECT notice_id, confirmed_at FROM notice_confirmations WHERE notice_id IN "+inList(&a, ids)+
			" AND household_id IN "+inList(&a, households), a...)
		if err != nil {
			return fmt.Errorf("notice confirmations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var t time.Time
			if err := rows.Scan(&id, &t); err != nil {
				return err
			}
			t = t.UTC()
			if n := at[id]; n.ConfirmedAt == nil || t.Before(*n.ConfirmedAt) {
				n.ConfirmedAt = &t
			}
		}
		return rows.Err()
	}
	// Staff see how many households confirmed.
	rows, err := q.QueryContext(ctx, "SELECT notice_id, COUNT(*) FROM notice_confirmations WHERE notice_id IN "+inList(&a, ids)+" GROUP BY notice_id", a...)
	if err != nil {
		return fmt.Errorf("notice confirmations: %w", err)
	}
	defer rows.Close()
	for i := range ns {
		zero := 0
		ns[i].Confirmations = &zero
	}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		at[id].Confirmations = &n
	}
	return rows.Err()
}

func (s *Store) loadTargets(ctx context.Context, q querier, ns []*content.Notice) error {
	var ids []int64
	at := map[int64]*content.Notice{}
	for _, n := range ns {
		n.Audience.GridIDs, n.Audience.BuildingIDs = nil, nil
		if n.Audience.Scope != content.AudienceCommunity {
			ids = append(ids, n.ID)
			at[n.ID] = n
		}
	}
	if len(ids) == 0 {
		return nil
	}
	var a args
	rows, err := q.QueryContext(ctx, "SELECT notice_id, grid_id, building_id FROM notice_targets WHERE notice_id IN "+inList(&a, ids)+" ORDER BY notice_id, grid_id, building_id", a...)
	if err != nil {
		return fmt.Errorf("notice targets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var grid, building sql.NullInt64
		if err := rows.Scan(&id, &grid, &building); err != nil {
			return err
		}
		n := at[id]
		if grid.Valid {
			n.Audience.GridIDs = append(n.Audience.GridIDs, grid.Int64)
		}
		if building.Valid {
			n.Audience.BuildingIDs = append(n.Audience.BuildingIDs, building.Int64)
		}
	}
	return rows.Err()
}

// mayAddress checks that the audience's grids and buildings are of the
// notice's community and that scope may write to all of it: the whole
// community, or only grids the scope reaches.
func mayAddress(ctx context.Context, q querier, scope auth.Scope, n *content.Notice) error {
	c := n.CommunityID
	gridOf := map[int64]int64{}
	grids, buildings := n.Audience.Targets()
	if len(grids) > 0 {
		var a args
		k, err := count(ctx, q, "SELECT COUNT(*) FROM grids WHERE community_id = "+a.add(c)+" AND id IN "+inList(&a, grids), a...)
		if err != nil {
			return err
		}
		if k != len(grids) {
			return shequ.Invalid(map[string]string{"audience.grid_ids": fmt.Sprintf("not all are grids of community %d", c)})
		}
	}
	if len(buildings) > 0 {
		var a args
		rows, err := q.QueryContext(ctx, "SELECT id, grid_id FROM buildings WHERE community_id = "+a.add(c)+" AND id IN "+inList(&a, buildings), a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var b, g int64
			if err := rows.Scan(&b, &g); err != nil {
				rows.Close()
				return err
			}
			gridOf[b] = g
		}
		rows.Close()
		if len(gridOf) != len(buildings) {
			return shequ.Invalid(map[string]string{"audience.building_ids": fmt.Sprintf("not all are buildings of community %d", c)})
		}
	}
	if scope.WholeCommunity(c) {
		return nil
	}
	for _, r := range scope {
		if r.CommunityID == c && r.GridID != 0 && r.HouseholdID == 0 && n.Audience.Within(r.GridID, gridOf) {
			return nil
		}
	}
	return shequ.Errorf(shequ.EFORBIDDEN, "you may address notices only to the grids you look after")
}

// CreateNotice adds a notice. An important notice queues a
// "notice_published" job for when it is published, to notify its audience.
func (s *Store) CreateNotice(ctx context.Context, scope auth.Scope, n *content.Notice) error {
	now := s.now()
	if err := n.Validate(now); err != nil {
		return err
	}
	if a := auth.ActorFrom(ctx); a != nil {
		n.AuthorID, n.AuthorName = a.User.ID, a.User.DisplayName
		if n.AuthorName == "" {
			n.AuthorName = a.User.Username
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := mayAddress(ctx, tx, scope, n); err != nil {
			return err
		}
		n.CreatedAt, n.UpdatedAt = now, now
		id, err := insert(ctx, tx, `INSERT INTO notices (community_id, title, body, category, audience, publish_at, expires_at, pinned, important, author_id, author_name, created_at, updated_at, broadcast)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			n.CommunityID, n.Title, n.Body, n.Category, n.Audience.Scope, n.PublishAt, nullTimePtr(n.ExpiresAt), n.Pinned, n.Important,
			nullID(n.AuthorID), n.AuthorName, now, now, n.Broadcast)
		if err != nil {
			return err
		}
		n.ID = id
		if err := s.saveNotice(ctx, tx, n, false); err != nil {
			return err
		}
		if n.Broadcast {
			if err := s.readOnAir(ctx, tx, n); err != nil {
				return err
			}
		}
		n.Status = content.StatusAt(n.PublishAt, n.ExpiresAt, now)
		n.Attachments = []content.Attachment{}
		return s.change(ctx, tx, n.CommunityID, "create", "notice", id, nil, n)
	})
}

// saveNotice writes a notice's targets, its search entry and, when it is
// important, its notification job.
func (s *Store) saveNotice(ctx context.Context, tx *sql.Tx, n *content.Notice, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, "DELETE FROM notice_targets WHERE notice_id = $1", n.ID); err != nil {
			return err
		}
	}
	for _, g := range n.Audience.GridIDs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO notice_targets (notice_id, grid_id) VALUES ($1, $2)", n.ID, g); err != nil {
			return mapError(err)
		}
	}
	for _, b := range n.Audience.BuildingIDs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO notice_targets (notice_id, building_id) VALUES ($1, $2)", n.ID, b); err != nil {
			return mapError(err)
		}
	}
	doc := searchDoc{Kind: content.KindNotice, RefID: n.ID, CommunityID: n.CommunityID, Title: n.Title, Body: content.PlainText(n.Body),
		VisibleFrom: &n.PublishAt, VisibleUntil: n.ExpiresAt,
		Targeted: n.Audience.Scope != content.AudienceCommunity, Grids: n.Audience.GridIDs, Buildings: n.Audience.BuildingIDs}
	if err := s.indexDoc(ctx, tx, doc); err != nil {
		return err
	}
	if n.Important {
		runAt := n.PublishAt
		if now := s.now(); runAt.Before(now) {
			runAt = now
		}
		key := fmt.Sprintf("notice_published:%d", n.ID)
		if err := s.enqueue(ctx, tx, key, jobs.NoticePublished{NoticeID: n.ID, CommunityID: n.CommunityID}, runAt); err != nil {
			return err
		}
	}
	return nil
}

// UpdateNotice replaces a notice's content, audience and times. Who may
// write to the old audience and the new one may.
func (s *Store) UpdateNotice(ctx context.Context, scope auth.Scope, n *content.Notice) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.notice(ctx, tx, nil, scope, n.ID)
		if err != nil {
			return err
		}
		if err := mayAddress(ctx, tx, scope, &before); err != nil {
			return err
		}
		n.CommunityID = before.CommunityID
		now := s.now()
		if err := n.Validate(now); err != nil {
			return err
		}
		if err := mayAddress(ctx, tx, scope, n); err != nil {
			return err
		}
		n.AuthorID, n.AuthorName, n.CreatedAt, n.UpdatedAt = before.AuthorID, before.AuthorName, before.CreatedAt, now
		// It was put on the air, or not, when it was written.
		n.Broadcast = before.Broadcast
		if _, err := tx.ExecContext(ctx, `UPDATE notices SET title = $1, body = $2, category = $3, audience = $4, publish_at = $5, expires_at = $6,
			pinned = $7, important = $8, updated_at = $9 WHERE id = $10`,
			n.Title, n.Body, n.Category, n.Audience.Scope, n.PublishAt, nullTimePtr(n.ExpiresAt), n.Pinned, n.Important, now, n.ID); err != nil {
			return mapError(err)
		}
		if err := s.saveNotice(ctx, tx, n, true); err != nil {
			return err
		}
		n.Status = content.StatusAt(n.PublishAt, n.ExpiresAt, now)
		n.Attachments = before.Attachments
		return s.change(ctx, tx, n.CommunityID, "update", "notice", n.ID, before, n)
	})
}

// DeleteNotice removes a notice with its attachments and confirmations.
func (s *Store) DeleteNotice(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.notice(ctx, tx, nil, scope, id)
		if err != nil {
			return err
		}
		if err := mayAddress(ctx, tx, scope, &before); err != nil {
			return err
		}
		if err := s.deleteOwned(ctx, tx, content.KindNotice, id); err != nil {
			return err
		}
		if err := s.takeOffAir(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM notices WHERE id = $1", id); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, before.CommunityID, "delete", "notice", id, before, nil)
	})
}

// deleteOwned removes the attachments and search entry of a notice, guide
// or policy.
func (s *Store) deleteOwned(ctx context.Context, tx *sql.Tx, kind string, id int64) error {
	if err := s.deleteMedia(ctx, tx, kind, id, 0); err != nil {
		return err
	}
	return s.unindexDoc(ctx, tx, kind, id)
}

// ConfirmNotice records that the resident's household has read a live
// notice addressed to it, and returns when it first did. Confirming again
// changes nothing.
func (s *Store) ConfirmNotice(ctx context.Context, scope auth.Scope, id int64) (time.Time, error) {
	var at time.Time
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range scope {
			if r.HouseholdID == 0 {
				continue
			}
			n, err := s.notice(ctx, tx, auth.Scope{r}, nil, id)
			if shequ.ErrorCode(err) == shequ.ENOTFOUND {
				continue
			} else if err != nil {
				return err
			}
			now := s.now()
			var user any
			if a := auth.ActorFrom(ctx); a != nil {
				user = a.User.ID
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO notice_confirmations (notice_id, household_id, user_id, confirmed_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (notice_id, household_id) DO NOTHING`, id, r.HouseholdID, user, now)
			if err != nil {
				return mapError(err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				if err := s.change(ctx, tx, n.CommunityID, "confirm", "notice", id, nil, map[string]int64{"household_id": r.HouseholdID}); err != nil {
					return err
				}
			}
			if err := tx.QueryRowContext(ctx, "SELECT confirmed_at FROM notice_confirmations WHERE notice_id = $1 AND household_id = $2", id, r.HouseholdID).Scan(&at); err != nil {
				return err
			}
			at = at.UTC()
			return nil
		}
		return notFound("notice", id)
	})
	return at, err
}

// UnconfirmedHouseholds lists the households in a notice's audience, and
// in scope, that have not confirmed it: where they live, so a grid worker
// can knock, and who lives there, phone numbers masked. Only households
// with someone living in them are counted.
func (s *Store) UnconfirmedHouseholds(ctx context.Context, scope auth.Scope, id int64, page shequ.Page) (shequ.List[content.UnconfirmedHousehold], error) {
	q := s.reader()
	scope = staffOnly(scope)
	n, err := s.notice(ctx, q, nil, scope, id)
	if err != nil {
		return shequ.List[content.UnconfirmedHousehold]{}, err
	}
	var a args
	nid := a.add(n.ID)
	conds := []string{
		"hh.community_id = " + a.add(n.CommunityID),
		scopeWhere(scope, householdCols, &a),
		"EXISTS (SELECT 1 FROM people p WHERE p.household_id = hh.id)",
		"NOT EXISTS (SELECT 1 FROM notice_confirmations nc WHERE nc.notice_id = " + nid + " AND nc.household_id = hh.id)",
	}
	if n.Audience.Scope != content.AudienceCommunity {
		conds = append(conds, "EXISTS (SELECT 1 FROM notice_targets t WHERE t.notice_id = "+nid+" AND (t.grid_id = b.grid_id OR t.building_id = b.id))")
	}
	l, err := listWhere(ctx, q, "household", "households hh JOIN homes h ON h.id = hh.home_id JOIN buildings b ON b.id = h.building_id JOIN grids g ON g.id = b.grid_id",
		"hh.id, hh.name, h.id, h.entrance, h.floor, h.door, b.id, b.name, g.id, g.name", strings.Join(conds, " AND "),
		"g.code, b.name, h.entrance, h.floor, h.door, hh.id", a, page, func(r scanner) (content.UnconfirmedHousehold, error) {
			var x content.UnconfirmedHousehold
			err := r.Scan(&x.HouseholdID, &x.HouseholdName, &x.HomeID, &x.Entrance, &x.Floor, &x.Door, &x.BuildingID, &x.BuildingName, &x.GridID, &x.GridName)
			x.Residents = []content.Resident{}
			return x, err
		})
	if err != nil || len(l.Items) == 0 {
		return l, err
	}
	var b args
	at := map[int64]*content.UnconfirmedHousehold{}
	ids := make([]int64, len(l.Items))
	for i := range l.Items {
		ids[i], at[l.Items[i].HouseholdID] = l.Items[i].HouseholdID, &l.Items[i]
	}
	rows, err := q.QueryContext(ctx, "SELECT household_id, name, phone_enc FROM people WHERE household_id IN "+inList(&b, ids)+" ORDER BY id", b...)
	if err != nil {
		return l, fmt.Errorf("residents: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hh int64
		var name, phone string
		if err := rows.Scan(&hh, &name, &phone); err != nil {
			return l, err
		}
		if phone, err = s.cipher.Open(phone); err != nil {
			return l, fmt.Errorf("resident phone: %w", err)
		}
		at[hh].Residents = append(at[hh].Residents, content.Resident{Name: name, Phone: pii.Mask(phone)})
	}
	return l, rows.Err()
}

func nullTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}

// --- guides ---

const guideColumns = "gd.id, gd.community_id, gd.name, gd.category, gd.summary, gd.steps, gd.documents, gd.office, gd.hours, gd.fees, gd.duration, gd.contacts, gd.forms, gd.body, gd.created_at, gd.updated_at"

func scanGuide(r scanner) (content.Guide, error) {
	var g content.Guide
	var steps, docs, contacts, forms string
	if err := r.Scan(&g.ID, &g.CommunityID, &g.Name, &g.Category, &g.Summary, &steps, &docs, &g.Office, &g.Hours, &g.Fees, &g.Duration,
		&contacts, &forms, &g.Body, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return g, err
	}
	g.CreatedAt, g.UpdatedAt = g.CreatedAt.UTC(), g.UpdatedAt.UTC()
	g.Steps, g.Documents, g.Contacts, g.Forms, g.Attachments = []string{}, []string{}, []content.ServiceContact{}, []content.Link{}, []content.Attachment{}
	for _, f := range []struct {
		s string
		v any
	}{{steps, &g.Steps}, {docs, &g.Documents}, {contacts, &g.Contacts}, {forms, &g.Forms}} {
		if err := json.Unmarshal([]byte(f.s), f.v); err != nil {
			return g, fmt.Errorf("guide %d: %w", g.ID, err)
		}
	}
	return g, nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "[]"
	}
	return string(b)
}

// ListGuides returns the service guides of the communities scope reaches,
// by name.
func (s *Store) ListGuides(ctx context.Context, scope auth.Scope, f content.ListFilter) (shequ.List[content.Guide], error) {
	var a args
	conds := []string{communityWhere(scope, "gd.community_id", &a)}
	if f.CommunityID != 0 {
		conds = append(conds, "gd.community_id = "+a.add(f.CommunityID))
	}
	if f.Category != "" {
		conds = append(conds, "gd.category = "+a.add(f.Category))
	}
	q := s.reader()
	l, err := listWhere(ctx, q, "guide", "guides gd", guideColumns, strings.Join(conds, " AND "), "gd.category, gd.name, gd.id", a, f.Page, scanGuide)
	if err != nil || len(l.Items) == 0 {
		return l, err
	}
	ids := make([]int64, len(l.Items))
	for i, g := range l.Items {
		ids[i] = g.ID
	}
	atts, err := s.attachmentsOf(ctx, q, content.KindGuide, ids)
	for i := range l.Items {
		if x, ok := atts[l.Items[i].ID]; ok {
			l.Items[i].Attachments = x
		}
	}
	return l, err
}

// communityWhere keeps the rows of the communities scope reaches at all;
// guides and policies are for everyone in a community.
func communityWhere(scope auth.Scope, col string, a *args) string {
	wide := make(auth.Scope, len(scope))
	for i, r := range scope {
		wide[i] = auth.Reach{CommunityID: r.CommunityID}
	}
	return scopeWhere(wide, scopeCols{community: col}, a)
}

// Guide returns one service guide with its notes rendered.
func (s *Store) Guide(ctx context.Context, scope auth.Scope, id int64) (content.Guide, error) {
	g, err := s.guide(ctx, s.reader(), scope, id)
	if err != nil {
		return g, err
	}
	g.BodyHTML = content.RenderMarkdown(g.Body)
	atts, err := s.attachmentsOf(ctx, s.reader(), content.KindGuide, []int64{id})
	if x, ok := atts[id]; ok {
		g.Attachments = x
	}
	return g, err
}

func (s *Store) guide(ctx context.Context, q querier, scope auth.Scope, id int64) (content.Guide, error) {
	var a args
	g, err := scanGuide(q.QueryRowContext(ctx, "SELECT "+guideColumns+" FROM guides gd WHERE gd.id = "+a.add(id)+" AND "+communityWhere(scope, "gd.community_id", &a), a...))
	if err == sql.ErrNoRows {
		return g, notFound("guide", id)
	} else if err != nil {
		return g, fmt.Errorf("get guide %d: %w", id, err)
	}
	return g, nil
}

func guideDoc(g *content.Guide) searchDoc {
	parts := []string{g.Summary, strings.Join(g.Steps, " "), strings.Join(g.Documents, " "), g.Office, g.Hours, g.Fees, g.Duration, content.PlainText(g.Body)}
	return searchDoc{Kind: content.KindGuide, RefID: g.ID, CommunityID: g.CommunityID, Title: g.Name, Body: joinText(parts)}
}

func joinText(parts []string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return strings.TrimSpace(s) == "" }), " ")
}

// CreateGuide adds a service guide; it needs the whole community.
func (s *Store) CreateGuide(ctx context.Context, scope auth.Scope, g *content.Guide) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, g.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		g.CreatedAt, g.UpdatedAt, g.Attachments = now, now, []content.Attachment{}
		id, err := insert(ctx, tx, `INSERT INTO guides (community_id, name, category, summary, steps, documents, office, hours, fees, duration, contacts, forms, body, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			g.CommunityID, g.Name, g.Category, g.Summary, jsonText(g.Steps), jsonText(g.Documents), g.Office, g.Hours, g.Fees, g.Duration,
			jsonText(g.Contacts), jsonText(g.Forms), g.Body, now, now)
		if err != nil {
			return err
		}
		g.ID = id
		if err := s.indexDoc(ctx, tx, guideDoc(g)); err != nil {
			return err
		}
		return s.change(ctx, tx, g.CommunityID, "create", "guide", id, nil, g)
	})
}

// UpdateGuide replaces a service guide.
func (s *Store) UpdateGuide(ctx context.Context, scope auth.Scope, g *content.Guide) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.guide(ctx, tx, scope, g.ID)
		if err != nil {
			return err
		}
		g.CommunityID = before.CommunityID
		if err := g.Validate(); err != nil {
			return err
		}
		if err := mustReachCommunity(scope, g.CommunityID); err != nil {
			return err
		}
		now := s.now()
		g.CreatedAt, g.UpdatedAt, g.Attachments = before.CreatedAt, now, []content.Attachment{}
		if _, err := tx.ExecContext(ctx, `UPDATE guides SET name = $1, category = $2, summary = $3, steps = $4, documents = $5, office = $6, hours = $7, fees = $8,
			duration = $9, contacts = $10, forms = $11, body = $12, updated_at = $13 WHERE id = $14`,
			g.Name, g.Category, g.Summary, jsonText(g.Steps), jsonText(g.Documents), g.Office, g.Hours, g.Fees, g.Duration,
			jsonText(g.Contacts), jsonText(g.Forms), g.Body, now, g.ID); err != nil {
			return mapError(err)
		}
		if err := s.indexDoc(ctx, tx, guideDoc(g)); err != nil {
			return err
		}
		return s.change(ctx, tx, g.CommunityID, "update", "guide", g.ID, before, g)
	})
}

// DeleteGuide removes a service guide with its attachments.
func (s *Store) DeleteGuide(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.guide(ctx, tx, scope, id)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, before.CommunityID); err != nil {
			return err
		}
		if err := s.deleteOwned(ctx, tx, content.KindGuide, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM guides WHERE id = $1", id); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, before.CommunityID, "delete", "guide", id, before, nil)
	})
}

// --- policies ---

const policyColumns = "po.id, po.community_id, po.title, po.category, po.summary, po.body, po.eligibility, po.how_to_apply, po.documents, po.guide_ids, po.valid_from, po.valid_until, po.created_at, po.updated_at"

func scanPolicy(r scanner) (content.Policy, error) {
	var x content.Policy
	var docs, guides string
	var until sql.NullTime
	if err := r.Scan(&x.ID, &x.CommunityID, &x.Title, &x.Category, &x.Summary, &x.Body, &x.Eligibility, &x.HowToApply, &docs, &guides,
		&x.ValidFrom, &until, &x.CreatedAt, &x.UpdatedAt); err != nil {
		return x, err
	}
	x.ValidFrom, x.CreatedAt, x.UpdatedAt = x.ValidFrom.UTC(), x.CreatedAt.UTC(), x.UpdatedAt.UTC()
	if until.Valid {
		t := until.Time.UTC()
		x.ValidUntil = &t
	}
	x.Documents, x.GuideIDs, x.Attachments = []string{}, []int64{}, []content.Attachment{}
	if err := json.Unmarshal([]byte(docs), &x.Documents); err != nil {
		return x, fmt.Errorf("policy %d: %w", x.ID, err)
	}
	if err := json.Unmarshal([]byte(guides), &x.GuideIDs); err != nil {
		return x, fmt.Errorf("policy %d: %w", x.ID, err)
	}
	return x, nil
}

// policyVisible: readers see policies while they are valid, writers
// always.
func (s *Store) policyVisible(read, write auth.Scope, a *args) string {
	live := windowCond(content.StatusLive, "po.valid_from", "po.valid_until", a, s.now())
	readers := "(" + communityWhere(read, "po.community_id", a) + " AND " + live + ")"
	if write = staffOnly(write); len(write) == 0 {
		return readers
	}
	return "(" + readers + " OR " + communityWhere(write, "po.community_id", a) + ")"
}

// ListPolicies returns the policies read sees valid now and write sees in
// any status; the newest valid first.
func (s *Store) ListPolicies(ctx context.Context, read, write auth.Scope, f content.ListFilter) (shequ.List[content.Policy], error) {
	if err := checkStatus(f.Status); err != nil {
		return shequ.List[content.Policy]{}, err
	}
	var a args
	conds := []string{s.policyVisible(read, write, &a), windowCond(f.Status, "po.valid_from", "po.valid_until", &a, s.now())}
	if f.CommunityID != 0 {
		conds = append(conds, "po.community_id = "+a.add(f.CommunityID))
	}
	if f.Category != "" {
		conds = append(conds, "po.category = "+a.add(f.Category))
	}
	q := s.reader()
	l, err := listWhere(ctx, q, "policy", "policies po", policyColumns, strings.Join(conds, " AND "), "po.valid_from DESC, po.id DESC", a, f.Page, scanPolicy)
	if err != nil || len(l.Items) == 0 {
		return l, err
	}
	now := s.now()
	ids := make([]int64, len(l.Items))
	for i := range l.Items {
		l.Items[i].Status = content.StatusAt(l.Items[i].ValidFrom, l.Items[i].ValidUntil, now)
		ids[i] = l.Items[i].ID
	}
	atts, err := s.attachmentsOf(ctx, q, content.KindPolicy, ids)
	for i := range l.Items {
		if x, ok := atts[l.Items[i].ID]; ok {
			l.Items[i].Attachments = x
		}
	}
	return l, err
}

// Policy returns one policy with its body rendered.
func (s *Store) Policy(ctx context.Context, read, write auth.Scope, id int64) (content.Policy, error) {
	x, err := s.policy(ctx, s.reader(), read, write, id)
	if err != nil {
		return x, err
	}
	x.BodyHTML = content.RenderMarkdown(x.Body)
	atts, err := s.attachmentsOf(ctx, s.reader(), content.KindPolicy, []int64{id})
	if v, ok := atts[id]; ok {
		x.Attachments = v
	}
	return x, err
}

func (s *Store) policy(ctx context.Context, q querier, read, write auth.Scope, id int64) (content.Policy, error) {
	var a args
	x, err := scanPolicy(q.QueryRowContext(ctx, "SELECT "+policyColumns+" FROM policies po WHERE po.id = "+a.add(id)+" AND "+s.policyVisible(read, write, &a), a...))
	if err == sql.ErrNoRows {
		return x, notFound("policy", id)
	} else if err != nil {
		return x, fmt.Errorf("get policy %d: %w", id, err)
	}
	x.Status = content.StatusAt(x.ValidFrom, x.ValidUntil, s.now())
	return x, nil
}

func policyDoc(x *content.Policy) searchDoc {
	parts := []string{x.Summary, content.PlainText(x.Body), x.Eligibility, x.HowToApply, strings.Join(x.Documents, " ")}
	return searchDoc{Kind: content.KindPolicy, RefID: x.ID, CommunityID: x.CommunityID, Title: x.Title, Body: joinText(parts),
		VisibleFrom: &x.ValidFrom, VisibleUntil: x.ValidUntil}
}

// checkGuides makes sure the policy's related guides are of its community.
func checkGuides(ctx context.Context, q querier, x *content.Policy) error {
	if len(x.GuideIDs) == 0 {
		return nil
	}
	var a args
	n, err := count(ctx, q, "SELECT COUNT(*) FROM guides WHERE community_id = "+a.add(x.CommunityID)+" AND id IN "+inList(&a, x.GuideIDs), a...)
	if err != nil {
		return err
	}
	if n != len(x.GuideIDs) {
		return shequ.Invalid(map[string]string{"guide_ids": fmt.Sprintf("not all are guides of community %d", x.CommunityID)})
	}
	return nil
}

// CreatePolicy adds a policy; it needs the whole community.
func (s *Store) CreatePolicy(ctx context.Context, scope auth.Scope, x *content.Policy) error {
	now := s.now()
	if err := x.Validate(now); err != nil {
		return err
	}
	if err := mustReachCommunity(scope, x.CommunityID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := checkGuides(ctx, tx, x); err != nil {
			return err
		}
		x.CreatedAt, x.UpdatedAt, x.Attachments = now, now, []content.Attachment{}
		id, err := insert(ctx, tx, `INSERT INTO policies (community_id, title, category, summary, body, eligibility, how_to_apply, documents, guide_ids, valid_from, valid_until, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			x.CommunityID, x.Title, x.Category, x.Summary, x.Body, x.Eligibility, x.HowToApply, jsonText(x.Documents), jsonText(x.GuideIDs),
			x.ValidFrom, nullTimePtr(x.ValidUntil), now, now)
		if err != nil {
			return err
		}
		x.ID = id
		x.Status = content.StatusAt(x.ValidFrom, x.ValidUntil, now)
		if err := s.indexDoc(ctx, tx, policyDoc(x)); err != nil {
			return err
		}
		return s.change(ctx, tx, x.CommunityID, "create", "policy", id, nil, x)
	})
}

// UpdatePolicy replaces a policy.
func (s *Store) UpdatePolicy(ctx context.Context, scope auth.Scope, x *content.Policy) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.policy(ctx, tx, nil, scope, x.ID)
		if err != nil {
			return err
		}
		x.CommunityID = before.CommunityID
		now := s.now()
		if err := x.Validate(now); err != nil {
			return err
		}
		if err := mustReachCommunity(scope, x.CommunityID); err != nil {
			return err
		}
		if err := checkGuides(ctx, tx, x); err != nil {
			return err
		}
		x.CreatedAt, x.UpdatedAt, x.Attachments = before.CreatedAt, now, []content.Attachment{}
		if _, err := tx.ExecContext(ctx, `UPDATE policies SET title = $1, category = $2, summary = $3, body = $4, eligibility = $5, how_to_apply = $6,
			documents = $7, guide_ids = $8, valid_from = $9, valid_until = $10, updated_at = $11 WHERE id = $12`,
			x.Title, x.Category, x.Summary, x.Body, x.Eligibility, x.HowToApply, jsonText(x.Documents), jsonText(x.GuideIDs),
			x.ValidFrom, nullTimePtr(x.ValidUntil), now, x.ID); err != nil {
			return mapError(err)
		}
		x.Status = content.StatusAt(x.ValidFrom, x.ValidUntil, now)
		if err := s.indexDoc(ctx, tx, policyDoc(x)); err != nil {
			return err
		}
		return s.change(ctx, tx, x.CommunityID, "update", "policy", x.ID, before, x)
	})
}

// DeletePolicy removes a policy with its attachments.
func (s *Store) DeletePolicy(ctx context.Context, scope auth.Scope, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		before, err := s.policy(ctx, tx, nil, scope, id)
		if err != nil {
			return err
		}
		if err := mustReachCommunity(scope, before.CommunityID); err != nil {
			return err
		}
		if err := s.deleteOwned(ctx, tx, content.KindPolicy, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM policies WHERE id = $1", id); err != nil {
			return mapError(err)
		}
		return s.change(ctx, tx, before.CommunityID, "delete", "policy", id, before, nil)
	})
}

// --- attachments ---

// AttachmentURL is where an attachment is served.
func AttachmentURL(kind string, owner int64, n int) string {
	return fmt.Sprintf("/api/v1/%s/%d/attachments/%d", ownerPath(kind), owner, n)
}

func ownerPath(kind string) string {
	if kind == content.KindPolicy {
		return "policies"
	}
	return kind + "s"
}

func (s *Store) attachmentsOf(ctx context.Context, q querier, kind string, ids []int64) (map[int64][]content.Attachment, error) {
	all, err := mediaOf(ctx, q, kind, ids)
	if err != nil {
		return nil, fmt.Errorf("attachments: %w", err)
	}
	out := map[int64][]content.Attachment{}
	for owner, ms := range all {
		for _, m := range ms {
			out[owner] = append(out[owner], attachment(m))
		}
	}
	return out, nil
}

// attachment is the file of a notice, guide or policy as content has it.
func attachment(m media.Media) content.Attachment {
	return content.Attachment{N: m.N, Name: m.Name, ContentType: m.ContentType, Size: int(m.Size), SHA256: m.SHA256,
		CreatedAt: m.CreatedAt, URL: AttachmentURL(m.OwnerKind, m.OwnerID, m.N)}
}

// ownerCommunity checks that write may change the notice, guide or policy
// and returns its community.
func (s *Store) ownerCommunity(ctx context.Context, tx *sql.Tx, write auth.Scope, kind string, id int64) (int64, error) {
	switch kind {
	case content.KindNotice:
		n, err := s.notice(ctx, tx, nil, write, id)
		if err != nil {
			return 0, err
		}
		return n.CommunityID, mayAddress(ctx, tx, write, &n)
	case content.KindGuide:
		g, err := s.guide(ctx, tx, write, id)
		if err != nil {
			return 0, err
		}
		return g.CommunityID, mustReachCommunity(write, g.CommunityID)
	case content.KindPolicy:
		x, err := s.policy(ctx, tx, nil, write, id)
		if err != nil {
			return 0, err
		}
		return x.CommunityID, mustReachCommunity(write, x.CommunityID)
	}
	return 0, shequ.Errorf(shequ.EINVALID, "no attachments for %q", kind)
}

// AddAttachment records a file of a notice, guide or policy whose bytes
// are put: blob carries their SHA-256, size and sniffed type, which must
// agree with the type x declares. It gets the next number of its owner.
func (s *Store) AddAttachment(ctx context.Context, write auth.Scope, kind string, owner int64, x *content.Attachment, blob media.Media) error {
	x.Size = int(blob.Size)
	if err := x.Validate(blob.ContentType); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.ownerCommunity(ctx, tx, write, kind, owner)
		if err != nil {
			return err
		}
		n, err := countMedia(ctx, tx, kind, owner)
		if err != nil {
			return err
		}
		if n >= content.MaxAttachments {
			return shequ.Errorf(shequ.EINVALID, "a %s may have at most %d attachments", kind, content.MaxAttachments)
		}
		m := media.Media{CommunityID: c, OwnerKind: kind, OwnerID: owner, Kind: media.Attachment.Name, Name: x.Name,
			ContentType: x.ContentType, Size: blob.Size, SHA256: blob.SHA256}
		if a := auth.ActorFrom(ctx); a != nil {
			m.CreatedBy = a.User.ID
		}
		if err := s.addMedia(ctx, tx, &m); err != nil {
			return err
		}
		*x = attachment(m)
		return s.change(ctx, tx, c, "create", "attachment", m.ID, nil, x)
	})
}

// Attachment returns a file of a notice, guide or policy the reader may
// see; its bytes are in the media store under its SHA256.
func (s *Store) Attachment(ctx context.Context, read, write auth.Scope, kind string, owner int64, n int) (content.Attachment, error) {
	q := s.reader()
	var err error
	switch kind {
	case content.KindNotice:
		_, err = s.notice(ctx, q, read, write, owner)
	case content.KindGuide:
		_, err = s.guide(ctx, q, read, owner)
	case content.KindPolicy:
		_, err = s.policy(ctx, q, read, write, owner)
	default:
		err = shequ.Errorf(shequ.ENOTFOUND, "no attachments for %q", kind)
	}
	if err != nil {
		return content.Attachment{}, err
	}
	m, err := mediaByN(ctx, q, kind, owner, n)
	if shequ.ErrorCode(err) == shequ.ENOTFOUND {
		return content.Attachment{}, shequ.Errorf(shequ.ENOTFOUND, "%s %d has no attachment %d", kind, owner, n)
	} else if err != nil {
		return content.Attachment{}, fmt.Errorf("attachment: %w", err)
	}
	return attachment(m), nil
}

// DeleteAttachment removes a file from a notice, guide or policy; the
// numbers of the others stay.
func (s *Store) DeleteAttachment(ctx context.Context, write auth.Scope, kind string, owner int64, n int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.ownerCommunity(ctx, tx, write, kind, owner)
		if err != nil {
			return err
		}
		m, err := mediaByN(ctx, tx, kind, owner, n)
		if shequ.ErrorCode(err) == shequ.ENOTFOUND {
			return shequ.Errorf(shequ.ENOTFOUND, "%s %d has no attachment %d", kind, owner, n)
		} else if err != nil {
			return err
		}
		if err := s.deleteMedia(ctx, tx, kind, owner, n); err != nil {
			return err
		}
		return s.change(ctx, tx, c, "delete", "attachment", m.ID, map[string]any{"owner_kind": kind, "owner_id": owner, "n": n, "name": m.Name}, nil)
	})
}
