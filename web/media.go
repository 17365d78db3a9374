package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/media"
)

// The one way photos and files come in and go out, whatever they belong
// to: uploads are streamed into the media store (never held whole in
// memory) and then recorded by the capability under its own checks;
// downloads pass the capability's scope check and are served from the
// media store with range requests and the SHA-256 as ETag.

// mediaStore is what the helper itself needs of the store.
type mediaStore interface {
	ReleaseMedia(ctx context.Context, sha string) error
}

// mediaIn says what an upload route takes.
type mediaIn struct {
	Kind media.Kind
	// Field names the problems, and the form field a multipart upload
	// sends the file in.
	Field string
	// Refused is the problem when the bytes are not of a type the kind
	// takes; empty leaves the type to the capability (attachments weigh
	// it against the declared one).
	Refused string
}

// upload is what came in: put, but not yet recorded.
type upload struct {
	media.Media
	// Declared is the type the sender gave; Name the file's name.
	Declared string
}

// errNoMedia answers when the server was built without a media store.
var errNoMedia = shequ.Errorf(shequ.EINTERNAL, "no media store is configured")

// bigUpload is the size past which an upload may take longer than the
// server's read timeout allows a request.
const bigUpload = 64 << 20

// receiveMedia streams a request's file into the media store: the body
// itself (its type in Content-Type, its name in ?name=) or the field
// in.Field of a multipart form. The type is sniffed from the first 512
// bytes before anything is kept, and the kind's size limit is enforced
// while streaming.
func (s *Server) receiveMedia(w http.ResponseWriter, r *http.Request, in mediaIn) (upload, error) {
	if s.blobs == nil {
		return upload{}, errNoMedia
	}
	tooBig := shequ.Invalid(map[string]string{in.Field: fmt.Sprintf("must be at most %d MiB", in.Kind.MaxBytes>>20)})
	if r.ContentLength > in.Kind.MaxBytes+1<<20 {
		return upload{}, tooBig
	}
	if in.Kind.MaxBytes > bigUpload {
		// A clip of a few GB takes longer than a form; the size limit
		// still bounds it.
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(time.Hour))
	}
	body := http.MaxBytesReader(w, r.Body, in.Kind.MaxBytes+1<<20)
	mediaType, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	declared, name := mediaType, r.URL.Query().Get("name")
	var src io.Reader = body
	if mediaType == "multipart/form-data" {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return upload{}, shequ.Invalid(map[string]string{in.Field: "the form has no field '" + in.Field + "'"})
				}
				return upload{}, shequ.Invalid(map[string]string{in.Field: "the form cannot be read"})
			}
			if part.FormName() == in.Field {
				if name == "" {
					name = part.FileName()
				}
				declared, _, _ = mime.ParseMediaType(part.Header.Get("Content-Type"))
				src = part
				break
			}
			part.Close()
		}
	}
	m, err := s.putMedia(r.Context(), src, in)
	m.Name = name
	up := upload{Media: m, Declared: declared}
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, media.ErrTooLarge), errors.As(err, &mbe):
		return up, tooBig
	case err != nil && shequ.ErrorCode(err) == shequ.EINVALID:
		return up, err
	case err != nil && r.Context().Err() == nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return up, err
	case err != nil:
		return up, shequ.Invalid(map[string]string{in.Field: "the file could not be received whole"})
	}
	return up, nil
}

// putMedia sniffs src and streams it into the media store.
func (s *Server) putMedia(ctx context.Context, src io.Reader, in mediaIn) (media.Media, error) {
	br := bufio.NewReaderSize(src, 4096)
	head, err := br.Peek(512)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return media.Media{}, err
	}
	if len(head) == 0 {
		return media.Media{}, shequ.Invalid(map[string]string{in.Field: "is empty"})
	}
	sniffed := media.Sniff(head)
	if in.Refused != "" && !in.Kind.Takes(sniffed) {
		return media.Media{}, shequ.Invalid(map[string]string{in.Field: in.Refused})
	}
	sha, size, err := s.blobs.Put(ctx, media.Capped(br, in.Kind.MaxBytes))
	if err != nil {
		return media.Media{}, err
	}
	return media.Media{Kind: in.Kind.Name, ContentType: sniffed, Size: size, SHA256: sha}, nil
}

// keepMedia records what came in with record; when record refuses it,
// the bytes are noted for the sweep, unless another row names them.
func (s *Server) keepMedia(ctx context.Context, m media.Media, record func(media.Media) error) error {
	err := record(m)
	if err != nil {
		s.releaseMedia(ctx, m)
	}
	return err
}

// releaseMedia notes the bytes of an upload that was refused, for the
// sweep.
func (s *Server) releaseMedia(ctx context.Context, m media.Media) {
	if err := s.store.ReleaseMedia(context.WithoutCancel(ctx), m.SHA256); err != nil {
		s.log.Error("release refused media", "sha256", m.SHA256, "err", err)
	}
}

// putFormFile streams a photo chosen in a form (checked by formPhoto)
// into the media store.
func (s *Server) putFormFile(ctx context.Context, fh *multipart.FileHeader) (media.Media, error) {
	if s.blobs == nil {
		return media.Media{}, errNoMedia
	}
	f, err := fh.Open()
	if err != nil {
		return media.Media{}, err
	}
	defer f.Close()
	return s.putMedia(ctx, f, photoIn)
}

// keepFormPhoto puts a photo chosen in a form and records it as by's
// with record.
func (s *Server) keepFormPhoto(ctx context.Context, fh *multipart.FileHeader, by int64, record func(media.Media) error) error {
	m, err := s.putFormFile(ctx, fh)
	if err != nil {
		return err
	}
	m.CreatedBy = by
	return s.keepMedia(ctx, m, record)
}

// mediaUpload registers a route that takes one file of an owner (the
// {id} of the path): add records it under the capability's checks and
// returns the JSON answer and, optionally, where it is served.
func (s *Server) mediaUpload(rt Route, in mediaIn, add func(ctx context.Context, a *auth.Actor, id int64, up upload) (any, string, error)) {
	s.rawRoute(rt, func(w http.ResponseWriter, r *http.Request, a *auth.Actor) error {
		id, _, err := pathIDs(r, "id", "")
		if err != nil {
			return err
		}
		up, err := s.receiveMedia(w, r, in)
		if err != nil {
			return err
		}
		var answer any
		var location string
		err = s.keepMedia(r.Context(), up.Media, func(m media.Media) error {
			up.Media = m
			answer, location, err = add(r.Context(), a, id, up)
			return err
		})
		if err != nil {
			return err
		}
		s.changed()
		w.Header().Set("Content-Type", "application/json")
		if location != "" {
			w.Header().Set("Location", location)
		}
		w.WriteHeader(http.StatusCreated)
		return jsonEncode(w, answer)
	})
}

// mediaDownload registers a route that serves one file of an owner: find
// checks that the actor reaches the owner (the {id} of the path) and
// returns the file named by second (a path value); headers adds what
// the capability sends with it.
func (s *Server) mediaDownload(rt Route, second string, find func(ctx context.Context, a *auth.Actor, id, second int64) (media.Media, error), headers func(http.Header, media.Media)) {
	s.rawRoute(rt, func(w http.ResponseWriter, r *http.Request, a *auth.Actor) error {
		id, n, err := pathIDs(r, "id", second)
		if err != nil {
			return err
		}
		m, err := find(r.Context(), a, id, n)
		if err != nil {
			return err
		}
		return s.serveMedia(w, r, m, headers)
	})
}

// serveMedia sends a file from the media store so that no browser runs
// it; http.ServeContent answers range and conditional requests.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, m media.Media, headers func(http.Header, media.Media)) error {
	if s.blobs == nil {
		return errNoMedia
	}
	blob, err := s.blobs.Open(r.Context(), m.SHA256)
	if err != nil {
		if shequ.ErrorCode(err) == shequ.ENOTFOUND {
			// A row without its bytes is the store's fault, not the asker's.
			return fmt.Errorf("media %d: %w", m.ID, err)
		}
		return err
	}
	defer blob.Close()
	h := w.Header()
	h.Set("Content-Type", m.ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("ETag", `"`+m.SHA256+`"`)
	if headers != nil {
		headers(h, m)
	}
	http.ServeContent(w, r, "", m.CreatedAt, blob)
	return nil
}
