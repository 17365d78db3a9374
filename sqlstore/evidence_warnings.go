package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
)

// Warning notices with a captured face. The face is a media row owned by
// the notice; lists never carry it, and residents see a notice (and its
// face) only while it is published and unexpired.

const warningOwner = "warning"

var warningsTable = table{
	what: "warning notice", id: "w.id", order: "w.requested_at DESC, w.id DESC",
	from:  "warnings w JOIN users ru ON ru.id = w.requested_by LEFT JOIN users du ON du.id = w.decided_by",
	scope: scopeCols{community: "w.community_id"},
	columns: "w.id, w.community_id, w.title, w.body, w.reason, w.case_number, w.status, w.requested_by, ru.display_name, w.requested_at, " +
		"COALESCE(w.decided_by, 0), COALESCE(du.display_name, ''), w.decided_at, w.decision_reason, w.published_at, w.expires_at, w.taken_down_at",
}

func scanWarning(r scanner) (evidence.Warning, error) {
	var w evidence.Warning
	var decided, published, down sql.NullTime
	err := r.Scan(&w.ID, &w.CommunityID, &w.Title, &w.Body, &w.Reason, &w.CaseNumber, &w.Status, &w.RequestedBy, &w.RequesterName, &w.RequestedAt,
		&w.DecidedBy, &w.DeciderName, &decided, &w.DecisionReason, &published, &w.ExpiresAt, &down)
	w.RequestedAt, w.ExpiresAt = w.RequestedAt.UTC(), w.ExpiresAt.UTC()
	w.DecidedAt, w.PublishedAt, w.TakenDownAt = timePtr(decided), timePtr(published), timePtr(down)
	return w, err
}

// ListWarnings lists warning notices in scope, without their faces. A
// list for residents (Live) also leaves out who asked and why.
func (s *Store) ListWarnings(ctx context.Context, scope auth.Scope, f evidence.WarningFilter) (shequ.List[evidence.Warning], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "w.community_id = "+a.add(f.CommunityID))
	}
	if f.Status != "" {
		conds = append(conds, "w.status = "+a.add(f.Status))
	}
	if f.Live {
		conds = append(conds, "w.status = "+a.add(evidence.WarningPublished)+" AND w.expires_at > "+a.add(s.now()))
	}
	l, err := listOf(ctx, s.reader(), warningsTable, scope.Widen(), conds, a, f.Page, scanWarning)
	if f.Live {
		for i := range l.Items {
			publicOnly(&l.Items[i])
		}
	}
	return l, err
}

// publicOnly leaves what a resident reads of a notice.
func publicOnly(w *evidence.Warning) {
	w.Reason, w.RequestedBy, w.RequesterName, w.DecidedBy, w.DeciderName, w.DecisionReason = "", 0, "", 0, "", ""
}

// Warning returns one notice in scope with its face. With staff false (a
// resident) only a live notice is found, and only its public part.
func (s *Store) Warning(ctx context.Context, scope auth.Scope, id int64, staff bool) (evidence.Warning, error) {
	return s.warning(ctx, s.reader(), scope, id, staff)
}

func (s *Store) warning(ctx context.Context, q querier, scope auth.Scope, id int64, staff bool) (evidence.Warning, error) {
	w, err := oneOf(ctx, q, warningsTable, scope.Widen(), id, scanWarning)
	if err != nil {
		return w, err
	}
	if !staff {
		if !w.Live(s.now()) {
			return evidence.Warning{}, notFound(warningsTable.what, id)
		}
		publicOnly(&w)
	}
	ids, err := mediaIDs(ctx, q, warningOwner, id)
	if err != nil {
		return w, err
	}
	if len(ids) > 0 {
		w.PhotoID = ids[len(ids)-1]
	}
	return w, nil
}

// CreateWarning records a request for a warning notice by the actor of
// ctx, in a community scope reaches wholly. photo, when given, is its
// face (bytes put).
func (s *Store) CreateWarning(ctx context.Context, scope auth.Scope, w *evidence.Warning, photo *media.Media) error {
	if err := w.Validate(s.now()); err != nil {
		return err
	}
	a := auth.ActorFrom(ctx)
	if a == nil {
		return shequ.Errorf(shequ.EUNAUTHORIZED, "sign in first")
	}
	if !scope.Widen().WholeCommunity(w.CommunityID) {
		return shequ.Errorf(shequ.EFORBIDDEN, "you may not ask for notices in community %d", w.CommunityID)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		w.Status, w.RequestedBy, w.RequestedAt, w.RequesterName = evidence.WarningRequested, a.User.ID, s.now(), a.User.DisplayName
		id, err := insert(ctx, tx, `INSERT INTO warnings (community_id, title, body, reason, case_number, status, requested_by, requested_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, w.CommunityID, w.Title, w.Body, w.Reason, w.CaseNumber, w.Status, w.RequestedBy, w.RequestedAt, w.ExpiresAt.UTC())
		if err != nil {
			return fmt.Errorf("warning: %w", err)
		}
		w.ID = id
		if photo != nil {
			if err := s.addWarningPhoto(ctx, tx, w, photo); err != nil {
				return err
			}
		}
		return s.change(ctx, tx, w.CommunityID, "create", "warning", id, nil, w)
	})
}

func (s *Store) addWarningPhoto(ctx context.Context, tx *sql.Tx, w *evidence.Warning, m *media.Media) error {
	m.CommunityID, m.OwnerKind, m.OwnerID, m.Kind = w.CommunityID, warningOwner, w.ID, media.Photo.Name
	if a := auth.ActorFrom(ctx); a != nil {
		m.CreatedBy = a.User.ID
	}
	if err := s.addMedia(ctx, tx, m); err != nil {
		return err
	}
	w.PhotoID = m.ID
	// The entry says a face was added, not whose: it is in the notice.
	return s.record(ctx, tx, audit.Entry{CommunityID: w.CommunityID, Action: "warning.photo", Entity: "warning", EntityID: w.ID,
		After: snapshot(map[string]any{"photo_id": m.ID, "sha256": m.SHA256})})
}

// SetWarningPhoto gives a requested notice its face (bytes put): the
// requester's upload, or a camera's snapshot. A face already given is
// replaced.
func (s *Store) SetWarningPhoto(ctx context.Context, scope auth.Scope, id int64, m media.Media) (int64, error) {
	a := auth.ActorFrom(ctx)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		w, err := s.warning(ctx, tx, scope, id, true)
		if err != nil {
			return err
		}
		if a == nil || (a.User.ID != w.RequestedBy && !scope.WholeCommunity(w.CommunityID)) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only who asked for the notice gives its picture")
		}
		if w.Status != evidence.WarningRequested {
			return shequ.Errorf(shequ.ECONFLICT, "the notice is %s: its picture no longer changes", w.Status)
		}
		if err := s.deleteMedia(ctx, tx, warningOwner, id, 0); err != nil {
			return err
		}
		if err := s.addWarningPhoto(ctx, tx, &w, &m); err != nil {
			return err
		}
		return nil
	})
	return m.ID, err
}

// DecideWarning publishes (until its expiry) or refuses a requested
// notice. Only the director decides, never on their own request, and
// only a notice with a face is published. Publication queues the job that
// takes it down at expiry.
func (s *Store) DecideWarning(ctx context.Context, scope auth.Scope, id int64, d evidence.Decision) (evidence.Warning, error) {
	if err := d.Validate(); err != nil {
		return evidence.Warning{}, err
	}
	a := auth.ActorFrom(ctx)
	var w evidence.Warning
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "warnings", id); err != nil {
			return err
		}
		var err error
		if w, err = s.warning(ctx, tx, scope, id, true); err != nil {
			return err
		}
		if !scope.WholeCommunity(w.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the community's director decides warning notices")
		}
		if a != nil && a.User.ID == w.RequestedBy {
			return shequ.Errorf(shequ.EFORBIDDEN, "a notice is decided by someone other than who asked for it")
		}
		if w.Status != evidence.WarningRequested {
			return shequ.Errorf(shequ.ECONFLICT, "this notice was %s already", w.Status)
		}
		now := s.now()
		if d.Approve {
			if w.PhotoID == 0 {
				return shequ.Errorf(shequ.ECONFLICT, "the notice has no picture yet")
			}
			if !w.ExpiresAt.After(now) {
				return shequ.Errorf(shequ.ECONFLICT, "the notice's expiry has passed: ask again")
			}
		}
		w.Status = evidence.WarningRefused
		if d.Approve {
			w.Status, w.PublishedAt = evidence.WarningPublished, &now
		}
		w.DecidedAt, w.DecisionReason = &now, d.Reason
		if a != nil {
			w.DecidedBy, w.DeciderName = a.User.ID, a.User.DisplayName
		}
		if _, err := tx.ExecContext(ctx, "UPDATE warnings SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4, published_at = $5 WHERE id = $6",
			w.Status, nullID(w.DecidedBy), now, d.Reason, ptrTime(w.PublishedAt), id); err != nil {
			return err
		}
		if d.Approve {
			if err := s.enqueue(ctx, tx, fmt.Sprintf("warning_expiry:%d", id), jobs.WarningExpiry{WarningID: id}, w.ExpiresAt); err != nil {
				return err
			}
		}
		action := "refuse"
		if d.Approve {
			action = "publish"
		}
		return s.change(ctx, tx, w.CommunityID, action, "warning", id, map[string]string{"status": evidence.WarningRequested},
			map[string]any{"status": w.Status, "reason": d.Reason, "expires_at": w.ExpiresAt})
	})
	return w, err
}

// WithdrawWarning takes a published notice down before its expiry.
func (s *Store) WithdrawWarning(ctx context.Context, scope auth.Scope, id int64, reason string) (evidence.Warning, error) {
	p := shequ.Problems{}
	p.RequireText("reason", reason, 500)
	if err := p.Err(); err != nil {
		return evidence.Warning{}, err
	}
	var w evidence.Warning
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if w, err = s.warning(ctx, tx, scope, id, true); err != nil {
			return err
		}
		if !scope.WholeCommunity(w.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the community's director takes a notice down")
		}
		if w.Status != evidence.WarningPublished {
			return shequ.Errorf(shequ.ECONFLICT, "the notice is %s, not published", w.Status)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE warnings SET status = $1, taken_down_at = $2 WHERE id = $3", evidence.WarningWithdrawn, now, id); err != nil {
			return err
		}
		w.Status, w.TakenDownAt = evidence.WarningWithdrawn, &now
		return s.change(ctx, tx, w.CommunityID, "withdraw", "warning", id, map[string]string{"status": evidence.WarningPublished}, map[string]string{"status": w.Status, "reason": reason})
	})
	return w, err
}

// ExpireWarning takes down a published notice whose expiry has come and
// reports whether it did.
func (s *Store) ExpireWarning(ctx context.Context, id int64) (bool, error) {
	down := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		res, err := tx.ExecContext(ctx, "UPDATE warnings SET status = $1, taken_down_at = $2 WHERE id = $3 AND status = $4 AND expires_at <= $5",
			evidence.WarningExpired, now, id, evidence.WarningPublished, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		down = true
		var c int64
		if err := tx.QueryRowContext(ctx, "SELECT community_id FROM warnings WHERE id = $1", id).Scan(&c); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: c, Action: "warning.expire", Entity: "warning", EntityID: id,
			After: snapshot(map[string]string{"status": evidence.WarningExpired})})
	})
	return down, err
}

// WarningPhoto returns the face of a notice scope reaches (a resident:
// only while it is live).
func (s *Store) WarningPhoto(ctx context.Context, scope auth.Scope, id int64, staff bool) (media.Media, error) {
	w, err := s.Warning(ctx, scope, id, staff)
	if err != nil {
		return media.Media{}, err
	}
	if w.PhotoID == 0 {
		return media.Media{}, shequ.Errorf(shequ.ENOTFOUND, "the notice has no picture")
	}
	return mediaByID(ctx, s.reader(), warningOwner, id, w.PhotoID)
}
