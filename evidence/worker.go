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
	"sync"
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
	// PendingExports lists the approved requests not yet exported.
	PendingExports(ctx context.Context) ([]int64, error)
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

	// ReleaseMedia notes put bytes that no row came to name, for the sweep.
	ReleaseMedia(ctx context.Context, sha string) error

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
	// good, ExportEvery apart. Default 10.
	Attempts int
	// ExportEvery is how often approved requests are looked for besides
	// the wake-up an approval's job gives. Default a minute.
	ExportEvery time.Duration

	once  sync.Once
	woken chan struct{}
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

// export only wakes the exporter: an export runs as long as its footage
// plays on an RTSP recorder, and the outbox worker that runs this handler
// also sends the alarm SMS, which must not wait behind it. The request's
// status (approved, not yet exported) is what keeps the work durable: the
// exporter finds it after a crash too.
func (w *Worker) export(_ context.Context, _ string, _ jobs.FootageExport) ([]jobs.New, error) {
	select {
	case w.wake() <- struct{}{}:
	default: // already woken
	}
	return nil, nil
}

func (w *Worker) wake() chan struct{} {
	w.once.Do(func() { w.woken = make(chan struct{}, 1) })
	return w.woken
}

// RunExports exports approved requests, oldest approval first, until ctx
// ends: at once when an approval wakes it, else every ExportEvery. Run it
// on one node (jobs.Leader): two nodes would fetch the same footage twice.
func (w *Worker) RunExports(ctx context.Context) {
	every := w.ExportEvery
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ids, err := w.Store.PendingExports(ctx)
		if err != nil && ctx.Err() == nil {
			w.Log.Error("pending exports", "err", err)
		}
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			if err := w.tryExport(ctx, id); err != nil && ctx.Err() == nil {
				w.Log.Warn("footage export failed; tried again later", "request", id, "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.wake():
		case <-t.C:
		}
	}
}

// tryExport exports one request; a failure is kept on the request, and
// after Attempts failures the export fails for good, on the custody log.
func (w *Worker) tryExport(ctx context.Context, id int64) error {
	err := w.Export(ctx, id)
	if err == nil || jobs.IsPermanent(err) {
		return nil
	}
	if ctx.Err() != nil {
		return err // stopped, not failed
	}
	tries, nerr := w.Store.NoteExportError(ctx, id, err.Error())
	if nerr != nil {
		return errors.Join(err, nerr)
	}
	max := w.Attempts
	if max <= 0 {
		max = 10
	}
	if tries >= max {
		if ferr := w.Store.FailExport(ctx, id, err.Error()); ferr != nil {
			return ferr
		}
	}
	return err
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
	if err := w.Store.RecordFootageExport(ctx, requestID, files); err != nil {
		// Bytes no row names are swept, unless named again meanwhile.
		for _, f := range files {
			if rerr := w.Store.ReleaseMedia(context.WithoutCancel(ctx), f.SHA256); rerr != nil {
				w.Log.Error("release unrecorded export", "sha256", f.SHA256, "err", rerr)
			}
		}
		return err
	}
	return nil
}

func (w *Worker) snapshots(ctx context.Context, _ string, p jobs.IncidentSnapshots) ([]jobs.New, error) {
	return nil, w.Snapshots(ctx, p.IncidentID)
}

// SnapshotTimeout bounds how long a camera has to give its snapshot. The
// snapshot job runs in the outbox worker that sends the alarm SMS: the
// cameras are asked all at once, so the job holds it up at most this long.
const SnapshotTimeout = 5 * time.Second

// Snapshots takes a snapshot from each camera covering the incident's
// building entrances that has none yet, all at once. Cameras that fail
// are tried again (the error makes the job retry) while the bookmark
// window lasts; after it a later picture says nothing of the moment, and
// the failure stays recorded.
func (w *Worker) Snapshots(ctx context.Context, incidentID int64) error {
	opened, cams, err := w.Store.SnapshotTargets(ctx, incidentID)
	if err != nil {
		return err
	}
	_, until := Bookmark(opened)
	type shot struct {
		b   []byte
		err error
	}
	shots := make([]shot, len(cams))
	var wg sync.WaitGroup
	for i, c := range cams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, SnapshotTimeout)
			defer cancel()
			shots[i].b, shots[i].err = Snapshot(cctx, w.http(), c, media.Photo.MaxBytes)
		}()
	}
	wg.Wait()
	failed := 0
	for i, c := range cams {
		if err := shots[i].err; err != nil {
			if !errors.Is(err, ErrNoSnapshot) {
				failed++ // worth trying again; a camera without an address is not
			}
			if rerr := w.Store.RecordSnapshot(ctx, incidentID, c.DeviceID, nil, err.Error()); rerr != nil {
				return rerr
			}
			continue
		}
		b := shots[i].b
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
