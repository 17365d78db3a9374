package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/media"
)

// Cameras: the settings shequ keeps beside a camera's entry in the device
// registry (which belongs to device health and is only read here), its
// coverage, and the snapshots taken when an incident opens.

var cameraTable = table{
	what: "camera", from: "devices d LEFT JOIN cameras cm ON cm.device_id = d.id", id: "d.id", scope: deviceCols,
	order: "d.name, d.id",
	columns: "d.id, d.community_id, d.name, COALESCE(d.building_id, 0), d.status, COALESCE(cm.live_url, ''), COALESCE(cm.snapshot_url, ''), COALESCE(cm.onvif_url, ''), " +
		"COALESCE(cm.username, ''), COALESCE(cm.password_sealed, ''), COALESCE(cm.recorder_kind, ''), COALESCE(cm.recorder_url, ''), COALESCE(cm.channel, '')",
}

func (s *Store) scanCamera(r scanner) (evidence.Camera, error) {
	var c evidence.Camera
	var sealed string
	err := r.Scan(&c.DeviceID, &c.CommunityID, &c.Name, &c.BuildingID, &c.Status, &c.LiveURL, &c.SnapshotURL, &c.ONVIFURL,
		&c.Username, &sealed, &c.RecorderKind, &c.RecorderURL, &c.Channel)
	c.HasPassword = sealed != ""
	c.Coverage = []evidence.Coverage{}
	if err == nil && sealed != "" {
		// Opened only for the worker, which calls openCamera; never
		// answered (json "-").
		c.Password = sealed
	}
	return c, err
}

// openCamera replaces the sealed password by the password.
func (s *Store) openCamera(c *evidence.Camera) error {
	if c.Password == "" {
		return nil
	}
	p, err := s.cipher.Open(c.Password)
	if err != nil {
		return fmt.Errorf("camera %d password: %w", c.DeviceID, err)
	}
	c.Password = p
	return nil
}

// coverageOf fills in the coverage of cameras.
func coverageOf(ctx context.Context, q querier, cams []evidence.Camera) error {
	if len(cams) == 0 {
		return nil
	}
	idx := map[int64]int{}
	ids := make([]int64, len(cams))
	for i, c := range cams {
		idx[c.DeviceID], ids[i] = i, c.DeviceID
	}
	var a args
	rows, err := q.QueryContext(ctx, "SELECT device_id, COALESCE(building_id, 0), kind, label FROM camera_coverage WHERE device_id IN "+inList(&a, ids)+" ORDER BY id", a...)
	if err != nil {
		return fmt.Errorf("camera coverage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var cv evidence.Coverage
		if err := rows.Scan(&id, &cv.BuildingID, &cv.Kind, &cv.Label); err != nil {
			return err
		}
		c := &cams[idx[id]]
		c.Coverage = append(c.Coverage, cv)
	}
	return rows.Err()
}

// Camera returns a camera scope reaches, with its coverage; its password
// is never given.
func (s *Store) Camera(ctx context.Context, scope auth.Scope, id int64) (evidence.Camera, error) {
	var a args
	c, err := s.scanCamera(s.reader().QueryRowContext(ctx, "SELECT "+cameraTable.columns+" FROM "+cameraTable.from+
		" WHERE d.id = "+a.add(id)+" AND d.kind = "+a.add(community.DeviceCamera)+" AND "+scopeWhere(scope, cameraTable.scope, &a), a...))
	if err == sql.ErrNoRows {
		return c, notFound("camera", id)
	} else if err != nil {
		return c, fmt.Errorf("camera %d: %w", id, err)
	}
	c.Password = ""
	cams := []evidence.Camera{c}
	err = coverageOf(ctx, s.reader(), cams)
	return cams[0], err
}

// ListCameras lists the cameras scope reaches, with their coverage.
func (s *Store) ListCameras(ctx context.Context, scope auth.Scope, f evidence.CameraFilter) (shequ.List[evidence.Camera], error) {
	var a args
	conds := []string{"d.kind = " + a.add(community.DeviceCamera)}
	if f.CommunityID != 0 {
		conds = append(conds, "d.community_id = "+a.add(f.CommunityID))
	}
	if f.BuildingID != 0 {
		conds = append(conds, "(d.building_id = "+a.add(f.BuildingID)+" OR EXISTS (SELECT 1 FROM camera_coverage cc WHERE cc.device_id = d.id AND cc.building_id = "+a.add(f.BuildingID)+"))")
	}
	l, err := listOf(ctx, s.reader(), cameraTable, scope, conds, a, f.Page, s.scanCamera)
	if err != nil {
		return l, err
	}
	for i := range l.Items {
		l.Items[i].Password = ""
	}
	return l, coverageOf(ctx, s.reader(), l.Items)
}

// SetCamera keeps a camera's settings and coverage. An empty password
// keeps the one kept; clearPassword removes it.
func (s *Store) SetCamera(ctx context.Context, scope auth.Scope, c *evidence.Camera, clearPassword bool) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var a args
		before, err := s.scanCamera(tx.QueryRowContext(ctx, "SELECT "+cameraTable.columns+" FROM "+cameraTable.from+
			" WHERE d.id = "+a.add(c.DeviceID)+" AND d.kind = "+a.add(community.DeviceCamera)+" AND "+scopeWhere(scope, cameraTable.scope, &a), a...))
		if err == sql.ErrNoRows {
			return notFound("camera", c.DeviceID)
		} else if err != nil {
			return err
		}
		if !scope.WholeCommunity(before.CommunityID) && !scopeReachesGridOf(ctx, tx, scope, c.DeviceID) {
			return shequ.Errorf(shequ.EFORBIDDEN, "you may not change camera %d", c.DeviceID)
		}
		for _, cv := range c.Coverage {
			if cv.BuildingID == 0 {
				continue
			}
			var bc int64
			if err := tx.QueryRowContext(ctx, "SELECT community_id FROM buildings WHERE id = $1", cv.BuildingID).Scan(&bc); err != nil || bc != before.CommunityID {
				return shequ.Invalid(map[string]string{"coverage": fmt.Sprintf("building %d is not in the camera's community", cv.BuildingID)})
			}
		}
		sealed := before.Password // still sealed: scanCamera does not open it
		switch {
		case clearPassword:
			sealed = ""
		case c.Password != "":
			sealed = s.cipher.Seal(c.Password)
		case !cameraHostsKept(before, *c):
			// The stored password would be sent where it never went
			// (the snapshot fetch answers a Basic challenge with it): an
			// address elsewhere needs the password given again.
			sealed = ""
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, `INSERT INTO cameras (device_id, live_url, snapshot_url, onvif_url, username, password_sealed, recorder_kind, recorder_url, channel, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			ON CONFLICT (device_id) DO UPDATE SET live_url = excluded.live_url, snapshot_url = excluded.snapshot_url, onvif_url = excluded.onvif_url,
				username = excluded.username, password_sealed = excluded.password_sealed, recorder_kind = excluded.recorder_kind,
				recorder_url = excluded.recorder_url, channel = excluded.channel, updated_at = excluded.updated_at`,
			c.DeviceID, c.LiveURL, c.SnapshotURL, c.ONVIFURL, c.Username, sealed, c.RecorderKind, c.RecorderURL, c.Channel, now); err != nil {
			return fmt.Errorf("camera %d: %w", c.DeviceID, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM camera_coverage WHERE device_id = $1", c.DeviceID); err != nil {
			return err
		}
		for _, cv := range c.Coverage {
			if _, err := tx.ExecContext(ctx, "INSERT INTO camera_coverage (device_id, building_id, kind, label) VALUES ($1, $2, $3, $4)",
				c.DeviceID, nullID(cv.BuildingID), cv.Kind, cv.Label); err != nil {
				return fmt.Errorf("camera coverage: %w", err)
			}
		}
		c.CommunityID, c.Name, c.BuildingID, c.Status = before.CommunityID, before.Name, before.BuildingID, before.Status
		c.HasPassword, c.Password = sealed != "", ""
		// The password is not in the entry: only whether there is one.
		return s.change(ctx, tx, before.CommunityID, "update", "camera", c.DeviceID, nil, c)
	})
}

// scopeReachesGridOf reports whether a grid-wide scope reaches the grid of
// a device: a grid worker may set up the cameras of their grid.
func scopeReachesGridOf(ctx context.Context, q querier, scope auth.Scope, device int64) bool {
	var grid sql.NullInt64
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(d.grid_id, b.grid_id) FROM devices d LEFT JOIN buildings b ON b.id = d.building_id WHERE d.id = $1", device).Scan(&grid); err != nil || !grid.Valid {
		return false
	}
	for _, r := range scope {
		if r.GridID == grid.Int64 && r.HouseholdID == 0 {
			return true
		}
	}
	return false
}

// incidentPlace returns an incident's community, opening time and the
// building of its home (0 without one).
func incidentPlace(ctx context.Context, q querier, incidentID int64) (community int64, opened time.Time, building int64, err error) {
	var b sql.NullInt64
	err = q.QueryRowContext(ctx, "SELECT i.community_id, i.opened_at, h.building_id FROM incidents i LEFT JOIN homes h ON h.id = i.home_id WHERE i.id = $1", incidentID).
		Scan(&community, &opened, &b)
	if err == sql.ErrNoRows {
		err = notFound("incident", incidentID)
	}
	return community, opened.UTC(), b.Int64, err
}

// entranceCamera is a camera covering an entrance, with the label of the
// first entrance it sees and its snapshot for an incident.
type entranceCamera struct {
	evidence.Camera
	label   string
	mediaID int64
	cause   string
}

// entranceCameras returns the cameras covering the entrances of building,
// each once, with, when incident is not 0, their snapshots for it.
func (s *Store) entranceCameras(ctx context.Context, q querier, building, incident int64) ([]entranceCamera, error) {
	rows, err := q.QueryContext(ctx, "SELECT "+cameraTable.columns+`, cc.label, COALESCE(sn.media_id, 0), COALESCE(sn.error, '')
		FROM `+cameraTable.from+` JOIN camera_coverage cc ON cc.device_id = d.id
		LEFT JOIN incident_snapshots sn ON sn.incident_id = $1 AND sn.device_id = d.id
		WHERE cc.building_id = $2 AND cc.kind = $3 AND d.kind = $4 ORDER BY cc.label, d.name, cc.id`, incident, building, evidence.CoverEntrance, community.DeviceCamera)
	if err != nil {
		return nil, fmt.Errorf("entrance cameras: %w", err)
	}
	defer rows.Close()
	var out []entranceCamera
	seen := map[int64]bool{}
	for rows.Next() {
		var c entranceCamera
		var sealed string
		if err := rows.Scan(&c.DeviceID, &c.CommunityID, &c.Name, &c.BuildingID, &c.Status, &c.LiveURL, &c.SnapshotURL, &c.ONVIFURL,
			&c.Username, &sealed, &c.RecorderKind, &c.RecorderURL, &c.Channel, &c.label, &c.mediaID, &c.cause); err != nil {
			return nil, err
		}
		if seen[c.DeviceID] {
			continue
		}
		seen[c.DeviceID] = true
		c.Password, c.HasPassword = sealed, sealed != ""
		out = append(out, c)
	}
	return out, rows.Err()
}

// IncidentCameras lists the cameras covering the entrances of the
// building of an incident scope reaches, with the bookmark window around
// its opening and the snapshot taken then.
func (s *Store) IncidentCameras(ctx context.Context, scope auth.Scope, incidentID int64) ([]evidence.IncidentCamera, error) {
	if err := mustReach(ctx, s.reader(), incidents, scope, incidentID); err != nil {
		return nil, err
	}
	_, opened, building, err := incidentPlace(ctx, s.reader(), incidentID)
	if err != nil || building == 0 {
		return []evidence.IncidentCamera{}, err
	}
	cams, err := s.entranceCameras(ctx, s.reader(), building, incidentID)
	if err != nil {
		return nil, err
	}
	from, until := evidence.Bookmark(opened)
	out := make([]evidence.IncidentCamera, 0, len(cams))
	for _, c := range cams {
		out = append(out, evidence.IncidentCamera{DeviceID: c.DeviceID, Name: c.Name, Label: c.label, Status: c.Status, LiveURL: c.LiveURL,
			BookmarkFrom: from, BookmarkUntil: until, SnapshotMediaID: c.mediaID, SnapshotError: c.cause})
	}
	return out, nil
}

// SnapshotTargets returns when an incident opened and the cameras covering
// its building's entrances that have no snapshot for it yet.
func (s *Store) SnapshotTargets(ctx context.Context, incidentID int64) (time.Time, []evidence.Camera, error) {
	_, opened, building, err := incidentPlace(ctx, s.reader(), incidentID)
	if err != nil || building == 0 {
		return opened, nil, err
	}
	cams, err := s.entranceCameras(ctx, s.reader(), building, incidentID)
	if err != nil {
		return opened, nil, err
	}
	var out []evidence.Camera
	for _, c := range cams {
		if c.mediaID != 0 {
			continue
		}
		if err := s.openCamera(&c.Camera); err != nil {
			return opened, nil, err
		}
		out = append(out, c.Camera)
	}
	return opened, out, nil
}

// incidentSnapshotOwner is the owner kind of the snapshots kept with an
// incident, apart from the photos staff report from the home.
const incidentSnapshotOwner = "incident_camera"

// RecordSnapshot keeps the snapshot a camera gave for an incident (its
// bytes put) or, with m nil, why it gave none. A snapshot kept stays: a
// second one for the same camera is not recorded.
func (s *Store) RecordSnapshot(ctx context.Context, incidentID, deviceID int64, m *media.Media, cause string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		community, _, _, err := incidentPlace(ctx, tx, incidentID)
		if err != nil {
			return err
		}
		var have sql.NullInt64
		err = tx.QueryRowContext(ctx, "SELECT media_id FROM incident_snapshots WHERE incident_id = $1 AND device_id = $2", incidentID, deviceID).Scan(&have)
		if err != nil && err != sql.ErrNoRows {
			return err
		}
		if have.Valid {
			return nil
		}
		exists := err == nil
		var mediaID any
		if m != nil {
			m.CommunityID, m.OwnerKind, m.OwnerID, m.Kind = community, incidentSnapshotOwner, incidentID, media.Photo.Name
			if err := s.addMedia(ctx, tx, m); err != nil {
				return err
			}
			mediaID, cause = m.ID, ""
		}
		if exists {
			_, err = tx.ExecContext(ctx, "UPDATE incident_snapshots SET media_id = $1, error = $2, at = $3 WHERE incident_id = $4 AND device_id = $5", mediaID, cause, s.now(), incidentID, deviceID)
		} else {
			_, err = tx.ExecContext(ctx, "INSERT INTO incident_snapshots (incident_id, device_id, media_id, error, at) VALUES ($1, $2, $3, $4, $5)", incidentID, deviceID, mediaID, cause, s.now())
		}
		if err != nil {
			return fmt.Errorf("incident snapshot: %w", err)
		}
		return nil
	})
}

// IncidentSnapshot returns a snapshot kept with an incident scope reaches.
func (s *Store) IncidentSnapshot(ctx context.Context, scope auth.Scope, incidentID, mediaID int64) (media.Media, error) {
	if err := mustReach(ctx, s.reader(), incidents, scope, incidentID); err != nil {
		return media.Media{}, err
	}
	return mediaByID(ctx, s.reader(), incidentSnapshotOwner, incidentID, mediaID)
}

// cameraHostsKept tells whether every host the new settings would send
// the camera's password to (live view, snapshot, ONVIF, recorder) is one
// the old settings sent it to.
func cameraHostsKept(before, after evidence.Camera) bool {
	old := map[string]bool{}
	for _, u := range []string{before.LiveURL, before.SnapshotURL, before.ONVIFURL, before.RecorderURL} {
		old[urlHost(u)] = true
	}
	for _, u := range []string{after.LiveURL, after.SnapshotURL, after.ONVIFURL, after.RecorderURL} {
		if u != "" && !old[urlHost(u)] {
			return false
		}
	}
	return true
}

// urlHost is the scheme and host (with port) of a URL; the URL itself
// when it cannot be read, so that anything unreadable counts as new.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}
