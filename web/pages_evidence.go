package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/evidence"
)

// cameraBlock is the console's block of an incident's cameras.
type cameraBlock struct {
	Items       []cameraShot
	From, Until time.Time
	// Pending is true while snapshots are still being taken.
	Pending bool
}

type cameraShot struct {
	evidence.IncidentCamera
	// Snapshot is where the picture is served; Link the live view when
	// the browser opens it (a gateway's http(s) page; RTSP is shown to
	// copy into a player).
	Snapshot string
	Link     template.URL
}

// incidentCameras gathers the cameras of an incident for the console.
func (s *Server) incidentCameras(ctx context.Context, sc auth.Scope, id int64) (cameraBlock, error) {
	cams, err := s.store.IncidentCameras(ctx, sc, id)
	if err != nil {
		return cameraBlock{}, err
	}
	var b cameraBlock
	for _, c := range cams {
		shot := cameraShot{IncidentCamera: c}
		if c.SnapshotMediaID != 0 {
			shot.Snapshot = fmt.Sprintf("/api/v1/incidents/%d/snapshots/%d", id, c.SnapshotMediaID)
		} else if c.SnapshotError == "" && s.clock.Now().Before(c.BookmarkUntil) {
			b.Pending = true // after the window a snapshot says nothing of the moment
		}
		if l := strings.ToLower(c.LiveURL); strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://") {
			shot.Link = template.URL(c.LiveURL)
		}
		b.Items = append(b.Items, shot)
		b.From, b.Until = c.BookmarkFrom, c.BookmarkUntil
	}
	return b, nil
}

// consoleCameras answers the cameras block alone, which fetches itself
// again while snapshots are being taken.
func (s *Server) consoleCameras(w http.ResponseWriter, r *http.Request, p *pageData) error {
	if !canWatch(p.Actor) {
		return shequ.Errorf(shequ.EFORBIDDEN, "the console is for the monitoring centre")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	b, err := s.incidentCameras(r.Context(), p.Actor.Scope(auth.PermAlarmRead), id)
	if err != nil {
		return err
	}
	if _, err := s.store.Incident(r.Context(), p.Actor.Scope(auth.PermAlarmRead), id); err != nil {
		return err
	}
	v := &incidentView{Cameras: b}
	v.ID = id
	p.Body = &consoleBody{Selected: v}
	s.renderFragment(w, p, "staff/console", "incident-cameras", http.StatusOK)
	return nil
}
