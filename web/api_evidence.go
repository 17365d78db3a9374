package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/evidence"
	"github.com/shequ/shequ/media"
)

// evidenceStore is what cameras, footage requests and warning notices need.
type evidenceStore interface {
	ListCameras(ctx context.Context, scope auth.Scope, f evidence.CameraFilter) (shequ.List[evidence.Camera], error)
	Camera(ctx context.Context, scope auth.Scope, id int64) (evidence.Camera, error)
	SetCamera(ctx context.Context, scope auth.Scope, c *evidence.Camera, clearPassword bool) error
	IncidentCameras(ctx context.Context, scope auth.Scope, incidentID int64) ([]evidence.IncidentCamera, error)
	IncidentSnapshot(ctx context.Context, scope auth.Scope, incidentID, mediaID int64) (media.Media, error)

	ListFootageRequests(ctx context.Context, scope auth.Scope, f evidence.FootageFilter) (shequ.List[evidence.FootageRequest], error)
	FootageRequest(ctx context.Context, scope auth.Scope, id, mine int64) (evidence.FootageRequest, error)
	CreateFootageRequest(ctx context.Context, scope auth.Scope, x *evidence.FootageRequest) error
	DecideFootageRequest(ctx context.Context, scope auth.Scope, id int64, d evidence.Decision) (evidence.FootageRequest, error)
	FootageCustody(ctx context.Context, scope auth.Scope, id, mine int64) ([]evidence.CustodyEntry, error)
	FootagePackage(ctx context.Context, scope auth.Scope, id, mine int64) (evidence.Manifest, []evidence.CustodyEntry, error)
	ShareFootage(ctx context.Context, scope auth.Scope, id, mine int64, to, note string) (evidence.CustodyEntry, error)
	ReleaseFootage(ctx context.Context, scope auth.Scope, id int64, reason string) (evidence.FootageRequest, error)

	ListWarnings(ctx context.Context, scope auth.Scope, f evidence.WarningFilter) (shequ.List[evidence.Warning], error)
	Warning(ctx context.Context, scope auth.Scope, id int64, staff bool) (evidence.Warning, error)
	CreateWarning(ctx context.Context, scope auth.Scope, w *evidence.Warning, photo *media.Media) error
	SetWarningPhoto(ctx context.Context, scope auth.Scope, id int64, m media.Media) (int64, error)
	DecideWarning(ctx context.Context, scope auth.Scope, id int64, d evidence.Decision) (evidence.Warning, error)
	WithdrawWarning(ctx context.Context, scope auth.Scope, id int64, reason string) (evidence.Warning, error)
	WarningPhoto(ctx context.Context, scope auth.Scope, id int64, staff bool) (media.Media, error)
}

type cameraBody struct {
	LiveURL       string              `json:"live_url,omitempty" maxLength:"500" doc:"What the operator opens to watch: rtsp://… or a gateway's HLS/WebRTC page (MediaMTX, go2rtc)"`
	SnapshotURL   string              `json:"snapshot_url,omitempty" maxLength:"500" doc:"The camera's HTTP snapshot (JPEG); empty: found with ONVIF"`
	ONVIFURL      string              `json:"onvif_url,omitempty" maxLength:"500" doc:"The ONVIF device service, e.g. http://cam/onvif/device_service"`
	Username      string              `json:"username,omitempty" maxLength:"64"`
	Password      string              `json:"password,omitempty" maxLength:"128" doc:"Kept sealed, never answered; empty keeps the one kept"`
	ClearPassword bool                `json:"clear_password,omitempty"`
	RecorderKind  string              `json:"recorder_kind,omitempty" enum:"playback,isapi," doc:"playback: an RTSP/HTTP playback URL ffmpeg records with -c copy ({start}, {end}, {start_unix}, {end_unix} are filled in); isapi: a Hikvision ISAPI-style recorder"`
	RecorderURL   string              `json:"recorder_url,omitempty" maxLength:"500"`
	Channel       string              `json:"channel,omitempty" maxLength:"16" doc:"isapi: the track, e.g. 101"`
	Coverage      []evidence.Coverage `json:"coverage,omitempty" maxItems:"50"`
}

type footageBody struct {
	Reason     string    `json:"reason" maxLength:"500"`
	CaseNumber string    `json:"case_number" maxLength:"64"`
	CameraIDs  []int64   `json:"camera_ids" maxItems:"16"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"`
}

type decisionBody struct {
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"Required to refuse"`
}

type shareBody struct {
	To   string `json:"to" maxLength:"200" doc:"To whom the package went: a court, a prosecutor's office, another station"`
	Note string `json:"note,omitempty" maxLength:"500"`
}

type warningBody struct {
	Title      string    `json:"title" maxLength:"60"`
	Body       string    `json:"body" maxLength:"1000"`
	Reason     string    `json:"reason" maxLength:"500" doc:"Why a face is to be shown (kept on record, staff only)"`
	CaseNumber string    `json:"case_number,omitempty" maxLength:"64"`
	ExpiresAt  time.Time `json:"expires_at" doc:"When it is taken down (at most 90 days ahead)"`
	// Snapshot takes the face from an incident's camera snapshot.
	Snapshot *struct {
		IncidentID int64 `json:"incident_id"`
		MediaID    int64 `json:"media_id"`
	} `json:"snapshot,omitempty" doc:"Take the face from a camera snapshot of an incident; otherwise upload one to /photo"`
	CommunityID int64 `json:"community_id,omitempty" doc:"For users of several communities"`
}

// footageScope returns the scope a footage route works in and, for a
// requester who does not decide, their user id: they see only their own.
func footageScope(ctx context.Context) (auth.Scope, int64) {
	a := auth.ActorFrom(ctx)
	if a.Can(auth.PermFootageApprove) {
		return a.Scope(auth.PermFootageApprove), 0
	}
	return a.Scope(auth.PermFootageRequest), a.User.ID
}

// warningStaff says whether the actor reads warning notices as staff: all
// of them, with who asked and why.
func warningStaff(a *auth.Actor) (auth.Scope, bool) {
	if a.Can(auth.PermWarningRequest) || a.Can(auth.PermFootageApprove) {
		sc := a.Scope(auth.PermWarningRequest)
		return append(sc, a.Scope(auth.PermFootageApprove)...), true
	}
	return a.Scope(auth.PermWarningRead), false
}

func (s *Server) registerEvidenceAPI() {
	handle(s, get("/api/v1/cameras", auth.PermDevicesRead), "list-cameras", "Cameras with their live view and coverage", "cameras",
		func(ctx context.Context, in *struct {
			PageParams
			Building int64 `query:"building" doc:"Cameras on or covering this building"`
		}) (*listBody[evidence.Camera], error) {
			return list(s.store.ListCameras(ctx, scope(ctx, auth.PermDevicesRead).Restrict(in.Community), evidence.CameraFilter{BuildingID: in.Building, Page: in.page()}))
		})
	handle(s, get("/api/v1/cameras/{id}", auth.PermDevicesRead), "get-camera", "A camera's live view, snapshot and recorder settings and coverage", "cameras",
		func(ctx context.Context, in *IDParam) (*itemBody[evidence.Camera], error) {
			return item(s.store.Camera(ctx, scope(ctx, auth.PermDevicesRead), in.ID))
		})
	handle(s, put("/api/v1/cameras/{id}", auth.PermDevicesWrite), "set-camera", "Set a camera's live view, snapshot, recorder and coverage (the device itself is in /devices)", "cameras",
		func(ctx context.Context, in *struct {
			IDParam
			Body cameraBody
		}) (*itemBody[evidence.Camera], error) {
			b := in.Body
			c := evidence.Camera{DeviceID: in.ID, LiveURL: b.LiveURL, SnapshotURL: b.SnapshotURL, ONVIFURL: b.ONVIFURL, Username: b.Username, Password: b.Password,
				RecorderKind: b.RecorderKind, RecorderURL: b.RecorderURL, Channel: b.Channel, Coverage: b.Coverage}
			if c.Coverage == nil {
				c.Coverage = []evidence.Coverage{}
			}
			err := s.store.SetCamera(ctx, scope(ctx, auth.PermDevicesWrite), &c, b.ClearPassword)
			return item(c, err)
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/incidents/{id}/snapshots/{photo}", Permission: auth.PermAlarmRead}, "photo",
		func(ctx context.Context, a *auth.Actor, id, m int64) (media.Media, error) {
			return s.store.IncidentSnapshot(ctx, a.Scope(auth.PermAlarmRead), id, m)
		}, nil)

	handle(s, get("/api/v1/footage-requests", auth.PermFootageRequest), "list-footage-requests", "Footage requests: the director's queue, or one's own", "footage",
		func(ctx context.Context, in *struct {
			PageParams
			Status string `query:"status" enum:"requested,approved,refused,exported,export_failed,"`
		}) (*listBody[evidence.FootageRequest], error) {
			sc, mine := footageScope(ctx)
			return list(s.store.ListFootageRequests(ctx, sc.Restrict(in.Community), evidence.FootageFilter{Status: in.Status, RequestedBy: mine, Page: in.page()}))
		})
	handle(s, post("/api/v1/footage-requests", auth.PermFootageRequest), "create-footage-request", "Request footage of cameras over a window, for a case", "footage",
		func(ctx context.Context, in *bodyInput[footageBody]) (*itemBody[evidence.FootageRequest], error) {
			b := in.Body
			x := evidence.FootageRequest{Reason: b.Reason, CaseNumber: b.CaseNumber, CameraIDs: b.CameraIDs, From: b.From, Until: b.Until}
			err := s.store.CreateFootageRequest(ctx, scope(ctx, auth.PermFootageRequest), &x)
			return item(x, err)
		})
	handle(s, get("/api/v1/footage-requests/{id}", auth.PermFootageRequest), "get-footage-request", "A footage request with its exports", "footage",
		func(ctx context.Context, in *IDParam) (*itemBody[evidence.FootageRequest], error) {
			sc, mine := footageScope(ctx)
			return item(s.store.FootageRequest(ctx, sc, in.ID, mine))
		})
	for _, d := range []struct {
		name, summary string
		approve       bool
	}{{"approve", "Approve a footage request: its export starts", true}, {"refuse", "Refuse a footage request, saying why", false}} {
		handle(s, Route{Method: http.MethodPost, Path: "/api/v1/footage-requests/{id}/" + d.name, Permission: auth.PermFootageApprove, OK: true}, d.name+"-footage-request", d.summary, "footage",
			func(ctx context.Context, in *struct {
				IDParam
				Body *decisionBody
			}) (*itemBody[evidence.FootageRequest], error) {
				var reason string
				if in.Body != nil {
					reason = in.Body.Reason
				}
				return item(s.store.DecideFootageRequest(ctx, scope(ctx, auth.PermFootageApprove), in.ID, evidence.Decision{Approve: d.approve, Reason: reason}))
			})
	}
	handle(s, get("/api/v1/footage-requests/{id}/custody", auth.PermFootageRequest), "footage-custody", "The request's custody log: each entry carries the hash of the one before", "footage",
		func(ctx context.Context, in *IDParam) (*itemBody[[]evidence.CustodyEntry], error) {
			sc, mine := footageScope(ctx)
			return item(s.store.FootageCustody(ctx, sc, in.ID, mine))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/footage-requests/{id}/share", Permission: auth.PermFootageRequest, OK: true}, "share-footage", "Record on the custody log that the package was handed on", "footage",
		func(ctx context.Context, in *struct {
			IDParam
			Body shareBody
		}) (*itemBody[evidence.CustodyEntry], error) {
			sc, mine := footageScope(ctx)
			return item(s.store.ShareFootage(ctx, sc, in.ID, mine, in.Body.To, in.Body.Note))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/footage-requests/{id}/release", Permission: auth.PermFootageApprove, OK: true}, "release-footage", "Lift the legal hold of an export (the case is closed)", "footage",
		func(ctx context.Context, in *struct {
			IDParam
			Body decisionBody
		}) (*itemBody[evidence.FootageRequest], error) {
			return item(s.store.ReleaseFootage(ctx, scope(ctx, auth.PermFootageApprove), in.ID, in.Body.Reason))
		})
	s.rawRoute(Route{Method: http.MethodGet, Path: "/api/v1/footage-requests/{id}/package", Permission: auth.PermFootageRequest}, s.footagePackage)

	handle(s, get("/api/v1/warnings", auth.PermWarningRead), "list-warnings", "Warning notices: residents see those published; never with faces", "warnings",
		func(ctx context.Context, in *struct {
			PageParams
			Status string `query:"status" enum:"requested,published,refused,expired,withdrawn," doc:"Staff only"`
		}) (*listBody[evidence.Warning], error) {
			sc, staff := warningStaff(auth.ActorFrom(ctx))
			f := evidence.WarningFilter{Status: in.Status, Live: !staff, Page: in.page()}
			if !staff {
				f.Status = ""
			}
			return list(s.store.ListWarnings(ctx, sc.Restrict(in.Community), f))
		})
	handle(s, get("/api/v1/warnings/{id}", auth.PermWarningRead), "get-warning", "A warning notice with its face (photo_id)", "warnings",
		func(ctx context.Context, in *IDParam) (*itemBody[evidence.Warning], error) {
			sc, staff := warningStaff(auth.ActorFrom(ctx))
			return item(s.store.Warning(ctx, sc, in.ID, staff))
		})
	handle(s, post("/api/v1/warnings", auth.PermWarningRequest), "create-warning", "Ask for a warning notice with a captured face; the director decides", "warnings",
		s.createWarning)
	s.mediaUpload(Route{Method: http.MethodPost, Path: "/api/v1/warnings/{id}/photo", Permission: auth.PermWarningRequest}, photoIn,
		func(ctx context.Context, a *auth.Actor, id int64, up upload) (any, string, error) {
			return photoAnswer(s.store.SetWarningPhoto(ctx, a.Scope(auth.PermWarningRequest), id, up.Media))
		})
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/warnings/{id}/photo", Permission: auth.PermWarningRead}, "",
		func(ctx context.Context, a *auth.Actor, id, _ int64) (media.Media, error) {
			sc, staff := warningStaff(a)
			return s.store.WarningPhoto(ctx, sc, id, staff)
		}, func(h http.Header, _ media.Media) { h.Set("Cache-Control", "private, no-store") })
	for _, d := range []struct {
		name, summary string
		approve       bool
	}{{"approve", "Publish a warning notice until its expiry", true}, {"refuse", "Refuse a warning notice, saying why", false}} {
		handle(s, Route{Method: http.MethodPost, Path: "/api/v1/warnings/{id}/" + d.name, Permission: auth.PermFootageApprove, OK: true}, d.name+"-warning", d.summary, "warnings",
			func(ctx context.Context, in *struct {
				IDParam
				Body *decisionBody
			}) (*itemBody[evidence.Warning], error) {
				var reason string
				if in.Body != nil {
					reason = in.Body.Reason
				}
				return item(s.store.DecideWarning(ctx, scope(ctx, auth.PermFootageApprove), in.ID, evidence.Decision{Approve: d.approve, Reason: reason}))
			})
	}
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/warnings/{id}/withdraw", Permission: auth.PermFootageApprove, OK: true}, "withdraw-warning", "Take a published notice down before its expiry", "warnings",
		func(ctx context.Context, in *struct {
			IDParam
			Body decisionBody
		}) (*itemBody[evidence.Warning], error) {
			return item(s.store.WithdrawWarning(ctx, scope(ctx, auth.PermFootageApprove), in.ID, in.Body.Reason))
		})
}

func (s *Server) createWarning(ctx context.Context, in *bodyInput[warningBody]) (*itemBody[evidence.Warning], error) {
	b := in.Body
	sc := scope(ctx, auth.PermWarningRequest)
	c := b.CommunityID
	if c == 0 {
		cs := sc.Communities()
		if len(cs) != 1 {
			return nil, shequ.Invalid(map[string]string{"community_id": "say which community"})
		}
		c = cs[0]
	}
	w := evidence.Warning{CommunityID: c, Title: b.Title, Body: b.Body, Reason: b.Reason, CaseNumber: b.CaseNumber, ExpiresAt: b.ExpiresAt}
	var photo *media.Media
	if b.Snapshot != nil {
		// The same bytes, named again by the notice.
		m, err := s.store.IncidentSnapshot(ctx, scope(ctx, auth.PermAlarmRead), b.Snapshot.IncidentID, b.Snapshot.MediaID)
		if err != nil {
			return nil, err
		}
		photo = &media.Media{SHA256: m.SHA256, Size: m.Size, ContentType: m.ContentType, Name: m.Name}
	}
	err := s.store.CreateWarning(ctx, sc, &w, photo)
	return item(w, err)
}

// footagePackage records the download on the custody log and in the audit
// log, then streams the package: manifest, custody log ending with this
// download, and the MP4s, each checked against its hash as it goes.
func (s *Server) footagePackage(w http.ResponseWriter, r *http.Request, a *auth.Actor) error {
	if s.blobs == nil {
		return errNoMedia
	}
	id, _, err := pathIDs(r, "id", "")
	if err != nil {
		return err
	}
	ctx := r.Context()
	sc, mine := footageScope(ctx)
	m, log, err := s.store.FootagePackage(ctx, sc, id, mine)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="footage-%d.zip"`, id))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	// A package of a few GB takes longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	err = evidence.WritePackage(w, m, log, func(f evidence.ManifestFile) (io.ReadCloser, error) {
		b, err := s.blobs.Open(ctx, f.SHA256)
		if err != nil {
			return nil, err
		}
		return b, nil
	})
	if err != nil {
		// The headers are out: the broken zip fails to open, and the log says why.
		s.log.Error("footage package", "request", id, "user", a.User.Username, "err", err)
	}
	return nil
}
