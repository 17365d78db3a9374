package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/jobs"
	"github.com/shequ/shequ/media"
)

// Store is what the background work needs of storage.
type Store interface {
	// ExportSources returns a request and where each of its cameras'
	// footage is, credentials opened.
	ExportSources(ctx context.Context, requestID int64) (FootageRequest, []Source, error)
	// RecordFootageExport records the exported files (their bytes put) of an
	// approved request, its exported entry in the custody log and, under
	// a case, its legal hold, in one transaction.
	RecordFootageExport(ctx context.Context, requestID int64, files []FootageFile) error
	// NoteExportError keeps the last failure of an export being retried
	// and returns how many there were; FailExport ends it, with an entry
	// in the custody log.
	NoteExportError(ctx context.Context, requestID int64, cause string) (int, error)
	FailExport(ctx context.Context, requestID int64, cause string) error

	// SnapshotTargets returns when an incident opened and the cameras
	// covering its building's entrances that have no snapshot for it yet,
	// credentials opened.
	SnapshotTargets(ctx context.Context, incidentID int64) (time.Time, []Camera, error)
	// RecordSnapshot keeps a snapshot (its bytes put) or, with m nil, why
	// there is none.
	RecordSnapshot(ctx context.Context, incidentID, deviceID int64, m *media.Media, cause string) error

	// ExpireWarning takes down a published warning notice whose time is up.
	ExpireWarning(ctx context.Context, id int64) (bool, error)
}

// Worker does the background work of cameras and evidence.
type Worker struct {
	Store   Store
	Blobs   media.Blobs
	Fetcher *Fetcher
	// HTTP fetches snapshots; nil uses one with a 10-second timeout.
	HTTP  *http.Client
	Clock shequ.Clock
	Log   *slog.Logger
	// TempDir holds footage while it is fetched; "" is the system's.
	TempDir string
	// Attempts is how many times an export is tried before it fails for
	// good. Default 5.
	Attempts int
}

// Register adds the worker's handlers to r.
func (w *Worker) Register(r *jobs.Registry) {
	jobs.Handle(r, w.export)
	jobs.Handle(r, w.snapshots)
	jobs.Handle(r, w.expire)
}

func (w *Worker) http() *http.Client {
	if w.HTTP != nil {
		return w.HTTP
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (w *Worker) export(ctx context.Context, _ string, p jobs.FootageExport) ([]jobs.New, error) {
	err := w.Export(ctx, p.RequestID)
	if err == nil || jobs.IsPermanent(err) {
		return nil, err
	}
	tries, nerr := w.Store.NoteExportError(ctx, p.RequestID, err.Error())
	if nerr != nil {
		return nil, errors.Join(err, nerr)
	}
	max := w.Attempts
	if max <= 0 {
		max = 5
	}
	if tries >= max {
		if ferr := w.Store.FailExport(ctx, p.RequestID, err.Error()); ferr != nil {
			return nil, ferr
		}
		return nil, jobs.Permanent{Err: err}
	}
	return nil, err
}

// Export fetches the footage of an approved request, puts each file into
// the media store, hashed as it is written, and records them. A request
// that is not approved (or exported already) is left alone.
func (w *Worker) Export(ctx context.Context, requestID int64) error {
	req, sources, err := w.Store.ExportSources(ctx, requestID)
	if err != nil {
		return err
	}
	if req.Status != StatusApproved {
		return nil
	}
	for _, s := range sources {
		if s.Kind == "" {
			cause := fmt.Sprintf("camera %d has no recorder configured", s.CameraID)
			if err := w.Store.FailExport(ctx, requestID, cause); err != nil {
				return err
			}
			return jobs.Permanent{Err: errors.New(cause)}
		}
	}
	dir, err := os.MkdirTemp(w.TempDir, "shequ-export-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var files []FootageFile
	for _, s := range sources {
		dst := filepath.Join(dir, fmt.Sprintf("camera-%d.mp4", s.CameraID))
		start := time.Now()
		adapter, err := w.Fetcher.Fetch(ctx, s, req.From, req.Until, dst)
		if err != nil {
			return fmt.Errorf("camera %d: %w", s.CameraID, err)
		}
		f, err := os.Open(dst)
		if err != nil {
			return err
		}
		head := make([]byte, 512)
		n, _ := f.Read(head)
		if ct := media.Sniff(head[:n]); !media.VideoExport.Takes(ct) {
			f.Close()
			return fmt.Errorf("camera %d: the recorder gave %s, not video", s.CameraID, ct)
		}
		if _, err := f.Seek(0, 0); err != nil {
			f.Close()
			return err
		}
		sha, size, err := w.Blobs.Put(ctx, media.Capped(f, media.VideoExport.MaxBytes))
		f.Close()
		if err != nil {
			return fmt.Errorf("camera %d: store: %w", s.CameraID, err)
		}
		w.Log.Info("footage exported", "request", requestID, "camera", s.CameraID, "adapter", adapter, "bytes", size, "took", time.Since(start).Round(time.Millisecond))
		files = append(files, FootageFile{DeviceID: s.CameraID, SHA256: sha, Size: size, From: req.From, Until: req.Until, Adapter: adapter})
	}
	return w.Store.RecordFootageExport(ctx, requestID, files)
}

func (w *Worker) snapshots(ctx context.Context, _ string, p jobs.IncidentSnapshots) ([]jobs.New, error) {
	return nil, w.Snapshots(ctx, p.IncidentID)
}

// Snapshots takes a snapshot from each camera covering the incident's
// building entrances that has none yet. Cameras that fail are tried again
// (the error makes the job retry) while the bookmark window lasts; after
// it a later picture says nothing of the moment, and the failure stays
// recorded.
func (w *Worker) Snapshots(ctx context.Context, incidentID int64) error {
	opened, cams, err := w.Store.SnapshotTargets(ctx, incidentID)
	if err != nil {
		return err
	}
	_, until := Bookmark(opened)
	failed := 0
	for _, c := range cams {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		b, err := Snapshot(cctx, w.http(), c, media.Photo.MaxBytes)
		cancel()
		if err != nil {
			if !errors.Is(err, ErrNoSnapshot) {
				failed++ // worth trying again; a camera without an address is not
			}
			if rerr := w.Store.RecordSnapshot(ctx, incidentID, c.DeviceID, nil, err.Error()); rerr != nil {
				return rerr
			}
			continue
		}
		sha, size, err := w.Blobs.Put(ctx, bytes.NewReader(b))
		if err != nil {
			return err
		}
		m := media.Media{SHA256: sha, Size: size, ContentType: media.Sniff(b), Name: fmt.Sprintf("camera-%d.jpg", c.DeviceID)}
		if err := w.Store.RecordSnapshot(ctx, incidentID, c.DeviceID, &m, ""); err != nil {
			return err
		}
	}
	if failed > 0 && w.Clock.Now().Before(until) {
		return fmt.Errorf("incident %d: %d of %d cameras gave no snapshot yet", incidentID, failed, len(cams))
	}
	return nil
}

func (w *Worker) expire(ctx context.Context, _ string, p jobs.WarningExpiry) ([]jobs.New, error) {
	down, err := w.Store.ExpireWarning(ctx, p.WarningID)
	if err == nil && down {
		w.Log.Info("warning notice expired and taken down", "warning", p.WarningID)
	}
	return nil, err
}
