package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/audit"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
)

// Footage requests, their exports and custody log. Nothing is exported
// before the director approves: the export job checks the status in the
// store, and RecordExport refuses a request that is not approved.

// footageOwner is the owner kind of exported footage in the media store.
const footageOwner = "footage_request"

var footageRequests = table{
	what: "footage request", id: "fr.id", order: "fr.created_at DESC, fr.id DESC",
	from:  "footage_requests fr JOIN users ru ON ru.id = fr.requested_by LEFT JOIN users du ON du.id = fr.decided_by",
	scope: scopeCols{community: "fr.community_id"},
	columns: "fr.id, fr.community_id, fr.requested_by, ru.display_name, fr.reason, fr.case_number, fr.from_at, fr.until_at, fr.status, " +
		"COALESCE(fr.decided_by, 0), COALESCE(du.display_name, ''), fr.decided_at, fr.decision_reason, fr.exported_at, fr.export_error, fr.legal_hold, fr.released_at, fr.created_at",
}

func scanFootageRequest(r scanner) (evidence.FootageRequest, error) {
	var x evidence.FootageRequest
	var decided, exported, released sql.NullTime
	err := r.Scan(&x.ID, &x.CommunityID, &x.RequestedBy, &x.RequesterName, &x.Reason, &x.CaseNumber, &x.From, &x.Until, &x.Status,
		&x.DecidedBy, &x.DeciderName, &decided, &x.DecisionReason, &exported, &x.ExportError, &x.LegalHold, &released, &x.CreatedAt)
	x.From, x.Until, x.CreatedAt = x.From.UTC(), x.Until.UTC(), x.CreatedAt.UTC()
	x.DecidedAt, x.ExportedAt, x.ReleasedAt = timePtr(decided), timePtr(exported), timePtr(released)
	x.CameraIDs, x.Exports = []int64{}, []evidence.FootageFile{}
	return x, err
}

// ListFootageRequests lists requests in scope, newest first.
func (s *Store) ListFootageRequests(ctx context.Context, scope auth.Scope, f evidence.FootageFilter) (shequ.List[evidence.FootageRequest], error) {
	var a args
	var conds []string
	if f.CommunityID != 0 {
		conds = append(conds, "fr.community_id = "+a.add(f.CommunityID))
	}
	if f.Status != "" {
		conds = append(conds, "fr.status = "+a.add(f.Status))
	}
	if f.RequestedBy != 0 {
		conds = append(conds, "fr.requested_by = "+a.add(f.RequestedBy))
	}
	l, err := listOf(ctx, s.reader(), footageRequests, scope.Widen(), conds, a, f.Page, scanFootageRequest)
	if err != nil {
		return l, err
	}
	for i := range l.Items {
		if err := s.footageDetails(ctx, s.reader(), &l.Items[i]); err != nil {
			return l, err
		}
	}
	return l, nil
}

// footageDetails fills in a request's cameras and exports.
func (s *Store) footageDetails(ctx context.Context, q querier, x *evidence.FootageRequest) error {
	rows, err := q.QueryContext(ctx, "SELECT device_id FROM footage_request_cameras WHERE request_id = $1 ORDER BY device_id", x.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		x.CameraIDs = append(x.CameraIDs, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT e.device_id, COALESCE(d.name, ''), e.media_id, e.sha256, e.size, e.from_at, e.until_at, e.adapter
		FROM footage_exports e LEFT JOIN devices d ON d.id = e.device_id WHERE e.request_id = $1 ORDER BY e.device_id`, x.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var e evidence.FootageFile
		if err := rows.Scan(&e.DeviceID, &e.CameraName, &e.MediaID, &e.SHA256, &e.Size, &e.From, &e.Until, &e.Adapter); err != nil {
			return err
		}
		e.From, e.Until = e.From.UTC(), e.Until.UTC()
		x.Exports = append(x.Exports, e)
	}
	return rows.Err()
}

// FootageRequest returns one request in scope; with mine set, only when
// that user made it.
func (s *Store) FootageRequest(ctx context.Context, scope auth.Scope, id, mine int64) (evidence.FootageRequest, error) {
	return s.footageRequest(ctx, s.reader(), scope, id, mine)
}

func (s *Store) footageRequest(ctx context.Context, q querier, scope auth.Scope, id, mine int64) (evidence.FootageRequest, error) {
	x, err := oneOf(ctx, q, footageRequests, scope.Widen(), id, scanFootageRequest)
	if err != nil {
		return x, err
	}
	if mine != 0 && x.RequestedBy != mine {
		return evidence.FootageRequest{}, notFound(footageRequests.what, id)
	}
	return x, s.footageDetails(ctx, q, &x)
}

// CreateFootageRequest records a request for footage of cameras scope
// reaches, all of one community, and opens its custody log.
func (s *Store) CreateFootageRequest(ctx context.Context, scope auth.Scope, x *evidence.FootageRequest) error {
	if err := x.Validate(s.now()); err != nil {
		return err
	}
	a := auth.ActorFrom(ctx)
	if a == nil {
		return shequ.Errorf(shequ.EUNAUTHORIZED, "sign in to request footage")
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		x.CommunityID = 0
		for _, id := range x.CameraIDs {
			var c int64
			var kind string
			err := tx.QueryRowContext(ctx, "SELECT community_id, kind FROM devices WHERE id = $1", id).Scan(&c, &kind)
			if err == sql.ErrNoRows || (err == nil && (kind != community.DeviceCamera || !scope.Widen().WholeCommunity(c))) {
				return shequ.Invalid(map[string]string{"camera_ids": fmt.Sprintf("camera %d is not one of your community's cameras", id)})
			} else if err != nil {
				return err
			}
			if x.CommunityID != 0 && c != x.CommunityID {
				return shequ.Invalid(map[string]string{"camera_ids": "the cameras of one request are of one community"})
			}
			x.CommunityID = c
		}
		x.RequestedBy, x.Status, x.CreatedAt = a.User.ID, evidence.StatusRequested, s.now()
		x.From, x.Until = x.From.UTC().Truncate(time.Second), x.Until.UTC().Truncate(time.Second)
		id, err := insert(ctx, tx, `INSERT INTO footage_requests (community_id, requested_by, reason, case_number, from_at, until_at, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, x.CommunityID, x.RequestedBy, x.Reason, x.CaseNumber, x.From, x.Until, x.Status, x.CreatedAt)
		if err != nil {
			return fmt.Errorf("footage request: %w", err)
		}
		x.ID = id
		for _, d := range x.CameraIDs {
			if _, err := tx.ExecContext(ctx, "INSERT INTO footage_request_cameras (request_id, device_id) VALUES ($1, $2)", id, d); err != nil {
				return err
			}
		}
		if _, err := s.appendCustody(ctx, tx, id, evidence.ActRequested, map[string]any{
			"reason": x.Reason, "case_number": x.CaseNumber, "camera_ids": x.CameraIDs, "from": x.From, "until": x.Until}); err != nil {
			return err
		}
		x.RequesterName = a.User.DisplayName
		return s.change(ctx, tx, x.CommunityID, "create", "footage_request", id, nil, x)
	})
}

// appendCustody appends an entry to a request's custody log, by the actor
// of ctx (the system when there is none) from the request's address, in
// the caller's transaction, chained to the last entry.
func (s *Store) appendCustody(ctx context.Context, tx *sql.Tx, requestID int64, action string, detail any) (evidence.CustodyEntry, error) {
	if err := s.lockRow(ctx, tx, "footage_requests", requestID); err != nil {
		return evidence.CustodyEntry{}, err
	}
	var prev *evidence.CustodyEntry
	var last evidence.CustodyEntry
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM custody_log WHERE request_id = $1 ORDER BY seq DESC LIMIT 1", requestID).Scan(&last.Seq, &last.Hash)
	switch {
	case err == nil:
		prev = &last
	case err != sql.ErrNoRows:
		return evidence.CustodyEntry{}, fmt.Errorf("custody log: %w", err)
	}
	e := evidence.CustodyEntry{At: s.now(), Action: action, Actor: "system", From: audit.OriginFrom(ctx).IP}
	if a := auth.ActorFrom(ctx); a != nil {
		e.ActorID, e.Actor = a.User.ID, a.User.Username
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return e, err
		}
		e.Detail = b
	}
	e = evidence.Seal(e, prev)
	_, err = tx.ExecContext(ctx, `INSERT INTO custody_log (request_id, seq, at, action, actor_id, actor, from_addr, detail, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, requestID, e.Seq, e.At, e.Action, nullID(e.ActorID), e.Actor, e.From, string(e.Detail), e.Prev, e.Hash)
	if err != nil {
		return e, fmt.Errorf("custody log: %w", mapError(err))
	}
	return e, nil
}

// custody returns a request's custody log in order.
func custody(ctx context.Context, q querier, requestID int64) ([]evidence.CustodyEntry, error) {
	rows, err := q.QueryContext(ctx, "SELECT seq, at, action, COALESCE(actor_id, 0), actor, from_addr, detail, prev_hash, hash FROM custody_log WHERE request_id = $1 ORDER BY seq", requestID)
	if err != nil {
		return nil, fmt.Errorf("custody log: %w", err)
	}
	defer rows.Close()
	out := []evidence.CustodyEntry{}
	for rows.Next() {
		var e evidence.CustodyEntry
		var detail string
		if err := rows.Scan(&e.Seq, &e.At, &e.Action, &e.ActorID, &e.Actor, &e.From, &detail, &e.Prev, &e.Hash); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		if detail != "" {
			e.Detail = json.RawMessage(detail)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// FootageCustody returns the custody log of a request in scope (mine as
// for FootageRequest).
func (s *Store) FootageCustody(ctx context.Context, scope auth.Scope, id, mine int64) ([]evidence.CustodyEntry, error) {
	if _, err := s.FootageRequest(ctx, scope, id, mine); err != nil {
		return nil, err
	}
	return custody(ctx, s.reader(), id)
}

// DecideFootageRequest approves or refuses a request. Only someone who
// reaches its whole community decides, and never on their own request.
// An approval queues the export.
func (s *Store) DecideFootageRequest(ctx context.Context, scope auth.Scope, id int64, d evidence.Decision) (evidence.FootageRequest, error) {
	if err := d.Validate(); err != nil {
		return evidence.FootageRequest{}, err
	}
	a := auth.ActorFrom(ctx)
	var x evidence.FootageRequest
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "footage_requests", id); err != nil {
			return err
		}
		var err error
		if x, err = s.footageRequest(ctx, tx, scope, id, 0); err != nil {
			return err
		}
		if !scope.WholeCommunity(x.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the community's director decides footage requests")
		}
		if a != nil && a.User.ID == x.RequestedBy {
			return shequ.Errorf(shequ.EFORBIDDEN, "a request is decided by someone other than who made it")
		}
		if x.Status != evidence.StatusRequested {
			return shequ.Errorf(shequ.ECONFLICT, "this request was %s already", x.Status)
		}
		before := x
		x.Status, x.DecisionReason = evidence.StatusRefused, d.Reason
		action := evidence.ActRefused
		if d.Approve {
			x.Status, action = evidence.StatusApproved, evidence.ActApproved
		}
		now := s.now()
		x.DecidedAt = &now
		if a != nil {
			x.DecidedBy, x.DeciderName = a.User.ID, a.User.DisplayName
		}
		if _, err := tx.ExecContext(ctx, "UPDATE footage_requests SET status = $1, decided_by = $2, decided_at = $3, decision_reason = $4 WHERE id = $5",
			x.Status, nullID(x.DecidedBy), now, x.DecisionReason, id); err != nil {
			return err
		}
		if _, err := s.appendCustody(ctx, tx, id, action, map[string]string{"reason": d.Reason}); err != nil {
			return err
		}
		if d.Approve {
			if err := s.enqueue(ctx, tx, fmt.Sprintf("footage_export:%d", id), jobs.FootageExport{RequestID: id}, now); err != nil {
				return err
			}
		}
		return s.change(ctx, tx, x.CommunityID, action, "footage_request", id, map[string]string{"status": before.Status}, map[string]string{"status": x.Status, "reason": d.Reason})
	})
	return x, err
}

// ExportSources returns a request and where its cameras' footage is.
func (s *Store) ExportSources(ctx context.Context, requestID int64) (evidence.FootageRequest, []evidence.Source, error) {
	x, err := s.footageRequest(ctx, s.reader(), auth.Scope{{}}, requestID, 0)
	if err != nil {
		return x, nil, err
	}
	var out []evidence.Source
	for _, id := range x.CameraIDs {
		c, err := s.scanCamera(s.reader().QueryRowContext(ctx, "SELECT "+cameraTable.columns+" FROM "+cameraTable.from+" WHERE d.id = $1", id))
		if err != nil {
			return x, nil, fmt.Errorf("camera %d: %w", id, err)
		}
		if err := s.openCamera(&c); err != nil {
			return x, nil, err
		}
		out = append(out, evidence.Source{CameraID: id, Kind: c.RecorderKind, URL: c.RecorderURL, Channel: c.Channel, Username: c.Username, Password: c.Password})
	}
	return x, out, nil
}

// PendingExports lists the approved requests not yet exported, oldest
// approval first.
func (s *Store) PendingExports(ctx context.Context) ([]int64, error) {
	rows, err := s.reader().QueryContext(ctx, "SELECT id FROM footage_requests WHERE status = $1 ORDER BY decided_at, id", evidence.StatusApproved)
	if err != nil {
		return nil, fmt.Errorf("pending exports: %w", err)
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

// RecordFootageExport records the exported files of an approved request (their
// bytes put), the exported entry of its custody log with their hashes
// and, under a case number, the legal hold that keeps them from
// retention deletion until released.
func (s *Store) RecordFootageExport(ctx context.Context, requestID int64, files []evidence.FootageFile) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "footage_requests", requestID); err != nil {
			return err
		}
		x, err := s.footageRequest(ctx, tx, auth.Scope{{}}, requestID, 0)
		if err != nil {
			return err
		}
		if x.Status != evidence.StatusApproved {
			return shequ.Errorf(shequ.ECONFLICT, "footage request %d is %s, not approved: nothing is exported", requestID, x.Status)
		}
		var d evidence.ExportedDetail
		for _, f := range files {
			m := media.Media{CommunityID: x.CommunityID, OwnerKind: footageOwner, OwnerID: requestID, Kind: media.VideoExport.Name,
				Name: evidence.FileName(f.DeviceID), ContentType: "video/mp4", Size: f.Size, SHA256: f.SHA256}
			if err := s.addMedia(ctx, tx, &m); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO footage_exports (request_id, device_id, media_id, sha256, size, from_at, until_at, adapter)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, requestID, f.DeviceID, m.ID, f.SHA256, f.Size, f.From.UTC(), f.Until.UTC(), f.Adapter); err != nil {
				return fmt.Errorf("footage export: %w", err)
			}
			d.Files = append(d.Files, evidence.ExportedFile{Name: evidence.FileName(f.DeviceID), CameraID: f.DeviceID, SHA256: f.SHA256, Size: f.Size})
		}
		hold := x.CaseNumber != ""
		if _, err := tx.ExecContext(ctx, "UPDATE footage_requests SET status = $1, exported_at = $2, export_error = '', legal_hold = $3 WHERE id = $4",
			evidence.StatusExported, s.now(), hold, requestID); err != nil {
			return err
		}
		if _, err := s.appendCustody(ctx, tx, requestID, evidence.ActExported, d); err != nil {
			return err
		}
		if hold {
			if _, err := s.appendCustody(ctx, tx, requestID, evidence.ActRetained, map[string]string{"case_number": x.CaseNumber, "hold": "legal hold until released"}); err != nil {
				return err
			}
		}
		return s.change(ctx, tx, x.CommunityID, "export", "footage_request", requestID, nil, d)
	})
}

// NoteExportError keeps the failure of an export that will be retried and
// returns how many attempts failed.
func (s *Store) NoteExportError(ctx context.Context, requestID int64, cause string) (int, error) {
	var n int
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE footage_requests SET export_error = $1, export_attempts = export_attempts + 1 WHERE id = $2", clip(cause, 500), requestID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, "SELECT export_attempts FROM footage_requests WHERE id = $1", requestID).Scan(&n)
	})
	return n, err
}

// FailExport ends an export that cannot succeed, on the custody log.
func (s *Store) FailExport(ctx context.Context, requestID int64, cause string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE footage_requests SET status = $1, export_error = $2 WHERE id = $3 AND status = $4",
			evidence.StatusExportFailed, clip(cause, 500), requestID, evidence.StatusApproved)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = s.appendCustody(ctx, tx, requestID, evidence.ActFailed, map[string]string{"error": clip(cause, 500)})
		return err
	})
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// FootagePackage records a download of an exported request's package by
// the actor of ctx, on the custody log and in the audit log, and returns
// its manifest and the custody log ending with that download.
func (s *Store) FootagePackage(ctx context.Context, scope auth.Scope, id, mine int64) (evidence.Manifest, []evidence.CustodyEntry, error) {
	var m evidence.Manifest
	var log []evidence.CustodyEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		x, err := s.footageRequest(ctx, tx, scope, id, mine)
		if err != nil {
			return err
		}
		if x.Status != evidence.StatusExported {
			return shequ.Errorf(shequ.ECONFLICT, "footage request %d is %s: there is no package to download", id, x.Status)
		}
		m = evidence.Manifest{Format: evidence.FormatV1, RequestID: x.ID, CommunityID: x.CommunityID, CaseNumber: x.CaseNumber, Reason: x.Reason,
			RequestedBy: x.RequesterName, ApprovedBy: x.DeciderName, From: x.From, Until: x.Until, PackagedAt: s.now()}
		for _, e := range x.Exports {
			m.Files = append(m.Files, evidence.ManifestFile{Name: evidence.FileName(e.DeviceID), CameraID: e.DeviceID, CameraName: e.CameraName,
				From: e.From, Until: e.Until, SHA256: e.SHA256, Size: e.Size, Adapter: e.Adapter})
		}
		var files []string
		for _, f := range m.Files {
			files = append(files, f.Name+" "+f.SHA256)
		}
		if _, err := s.appendCustody(ctx, tx, id, evidence.ActDownloaded, map[string]any{"files": files}); err != nil {
			return err
		}
		if log, err = custody(ctx, tx, id); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{CommunityID: x.CommunityID, Action: "footage_request.download", Entity: "footage_request", EntityID: id,
			After: snapshot(map[string]any{"case_number": x.CaseNumber, "files": files})})
	})
	return m, log, err
}

// FootageMedia returns the stored file of one camera of an exported
// request, for packaging; the caller has been allowed the package.
func (s *Store) FootageMedia(ctx context.Context, requestID, cameraID int64) (media.Media, error) {
	var id int64
	if err := s.reader().QueryRowContext(ctx, "SELECT media_id FROM footage_exports WHERE request_id = $1 AND device_id = $2", requestID, cameraID).Scan(&id); err != nil {
		if err == sql.ErrNoRows {
			return media.Media{}, notFound("export", cameraID)
		}
		return media.Media{}, err
	}
	return mediaByID(ctx, s.reader(), footageOwner, requestID, id)
}

// ShareFootage records on the custody log that the package was handed on
// (to whom, how), by its requester or the director.
func (s *Store) ShareFootage(ctx context.Context, scope auth.Scope, id, mine int64, to, note string) (evidence.CustodyEntry, error) {
	p := shequ.Problems{}
	p.RequireText("to", to, 200)
	p.OptionalText("note", note, 500)
	if err := p.Err(); err != nil {
		return evidence.CustodyEntry{}, err
	}
	var e evidence.CustodyEntry
	err := s.tx(ctx, func(tx *sql.Tx) error {
		x, err := s.footageRequest(ctx, tx, scope, id, mine)
		if err != nil {
			return err
		}
		if x.Status != evidence.StatusExported {
			return shequ.Errorf(shequ.ECONFLICT, "footage request %d is %s: nothing was exported to share", id, x.Status)
		}
		if e, err = s.appendCustody(ctx, tx, id, evidence.ActShared, map[string]string{"to": to, "note": note}); err != nil {
			return err
		}
		return s.change(ctx, tx, x.CommunityID, "share", "footage_request", id, nil, map[string]string{"to": to, "note": note})
	})
	return e, err
}

// ReleaseFootage lifts the legal hold of a request's export: from then
// on retention may delete it. Only the director releases.
func (s *Store) ReleaseFootage(ctx context.Context, scope auth.Scope, id int64, reason string) (evidence.FootageRequest, error) {
	p := shequ.Problems{}
	p.RequireText("reason", reason, 500)
	if err := p.Err(); err != nil {
		return evidence.FootageRequest{}, err
	}
	var x evidence.FootageRequest
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if x, err = s.footageRequest(ctx, tx, scope, id, 0); err != nil {
			return err
		}
		if !scope.WholeCommunity(x.CommunityID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "only the community's director releases a legal hold")
		}
		if !x.LegalHold {
			return shequ.Errorf(shequ.ECONFLICT, "footage request %d is not on legal hold", id)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, "UPDATE footage_requests SET legal_hold = FALSE, released_at = $1 WHERE id = $2", now, id); err != nil {
			return err
		}
		x.LegalHold, x.ReleasedAt = false, &now
		if _, err := s.appendCustody(ctx, tx, id, evidence.ActReleased, map[string]string{"reason": reason}); err != nil {
			return err
		}
		return s.change(ctx, tx, x.CommunityID, "release", "footage_request", id, map[string]bool{"legal_hold": true}, map[string]any{"legal_hold": false, "reason": reason})
	})
	return x, err
}

// OnLegalHold reports whether the bytes of sha belong to an export under
// a legal hold: retention must not delete them.
func (s *Store) OnLegalHold(ctx context.Context, sha string) (bool, error) {
	n, err := count(ctx, s.reader(), "SELECT COUNT(*) FROM footage_exports e JOIN footage_requests fr ON fr.id = e.request_id WHERE e.sha256 = $1 AND fr.legal_hold = TRUE", strings.ToLower(sha))
	return n > 0, err
}
