package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/community"
	"github.com/shequ/shequ/transfer"
)

// transferStore is what moving a register in and out as a file needs.
type transferStore interface {
	Import(ctx context.Context, scope auth.Scope, communityID int64, kind string, rows []transfer.Row, dryRun bool) (transfer.Report, error)
	ExportHomes(ctx context.Context, scope auth.Scope, communityID int64) ([]transfer.HomeRecord, error)
	ExportPeople(ctx context.Context, scope auth.Scope, communityID int64) ([]transfer.PersonRecord, error)
	ExportDevices(ctx context.Context, scope auth.Scope, communityID int64) ([]transfer.DeviceRecord, error)
	RecordExport(ctx context.Context, communityID int64, kind string, rows int, revealed bool) error
}

type importInput struct {
	Kind        string `path:"kind" enum:"homes,people,devices" doc:"What the file holds: homes, people (residents) or devices"`
	DryRun      bool   `query:"dry_run" doc:"Check the whole file and report what an import would do, writing nothing"`
	Community   int64  `query:"community" doc:"The community to import into; needed only by users who work in several"`
	ContentType string `header:"Content-Type" doc:"text/csv, the XLSX type, or multipart/form-data with the file in the field 'file'"`
	// body is the request body, left unread by huma: huma would read a
	// raw body whole with no size limit, and a register may be 10 MiB.
	body io.Reader
}

// Resolve takes the request body for the handler to read within limits.
func (in *importInput) Resolve(ctx huma.Context) []error {
	in.body = ctx.BodyReader()
	return nil
}

type importOutput struct {
	Status int
	Body   transfer.Report
}

type exportInput struct {
	Kind      string `path:"kind" enum:"homes,people,devices" doc:"What to export: homes, people (residents) or devices"`
	Format    string `query:"format" enum:"csv,xlsx" default:"csv" doc:"File format"`
	Community int64  `query:"community" doc:"The community to export; needed only by users who work in several"`
	Reveal    bool   `query:"reveal" doc:"People only: whole phone and ID numbers instead of masked ones (every resident's read is audited). Needed for a file that is to be imported again."`
	Lang      string `query:"lang" enum:"zh,en" default:"zh" doc:"Language of the headers and labels; imports accept both"`
}

type exportOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	Body               []byte
}

func (s *Server) registerTransferAPI() {
	handle(s, post("/api/v1/import/{kind}", auth.PermImport), "import", "Import homes, residents or devices from a CSV or XLSX file sent as the request body; each row goes in whole or is reported", "transfer",
		func(ctx context.Context, in *importInput) (*importOutput, error) {
			c, err := s.transferCommunity(ctx, auth.PermImport, in.Community)
			if err != nil {
				return nil, err
			}
			data, format, err := readUpload(in.body, in.ContentType)
			if err != nil {
				return nil, err
			}
			rows, err := transfer.Read(data, format, in.Kind)
			if err != nil {
				return nil, err
			}
			rep, err := s.store.Import(ctx, scope(ctx, auth.PermImport), c, in.Kind, rows, in.DryRun)
			if err != nil {
				return nil, err
			}
			return &importOutput{Status: http.StatusOK, Body: rep}, nil
		})
	handle(s, get("/api/v1/export/{kind}", auth.PermExport), "export", "Export a community's homes, residents or devices as a CSV or XLSX file that imports again", "transfer",
		func(ctx context.Context, in *exportInput) (*exportOutput, error) {
			c, err := s.transferCommunity(ctx, auth.PermExport, in.Community)
			if err != nil {
				return nil, err
			}
			sc := scope(ctx, auth.PermExport)
			com, err := s.store.Community(ctx, sc, c)
			if err != nil {
				return nil, err
			}
			lang := transfer.Lang(in.Lang)
			revealed := in.Reveal && in.Kind == transfer.KindPeople
			rows, err := s.exportRows(ctx, sc, c, in.Kind, lang, revealed)
			if err != nil {
				return nil, err
			}
			format := transfer.Format(in.Format)
			var buf bytes.Buffer
			if err := transfer.Write(&buf, format, in.Kind, lang, rows); err != nil {
				return nil, fmt.Errorf("export %s: %w", in.Kind, err)
			}
			if err := s.store.RecordExport(ctx, c, in.Kind, len(rows), revealed); err != nil {
				return nil, err
			}
			name := fmt.Sprintf("%s-%s-%s.%s", com.Code, in.Kind, s.today(com).Format("20060102"), format)
			return &exportOutput{
				ContentType:        format.ContentType(),
				ContentDisposition: mime.FormatMediaType("attachment", map[string]string{"filename": name}),
				// A register of residents has no business in a shared cache.
				CacheControl: "no-store",
				Body:         buf.Bytes(),
			}, nil
		})
}

// today is the date in the community's own time zone, which is the date
// its staff would write on the file.
func (s *Server) today(c community.Community) time.Time {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		loc = time.UTC
	}
	return s.clock.Now().In(loc)
}

// exportRows lists a community's rows of kind as a file holds them.
// Residents' numbers are masked unless revealed, and a reveal is audited
// per resident as every other whole read is.
func (s *Server) exportRows(ctx context.Context, sc auth.Scope, c int64, kind string, lang transfer.Lang, reveal bool) ([]transfer.Row, error) {
	var rows []transfer.Row
	switch kind {
	case transfer.KindHomes:
		recs, err := s.store.ExportHomes(ctx, sc, c)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			rows = append(rows, transfer.EncodeHome(r, lang))
		}
	case transfer.KindPeople:
		if reveal && !scope(ctx, auth.PermPeoplePII).WholeCommunity(c) {
			return nil, shequ.Errorf(shequ.EFORBIDDEN, "your role may not see whole phone and ID numbers of this community")
		}
		recs, err := s.store.ExportPeople(ctx, sc, c)
		if err != nil {
			return nil, err
		}
		ps := make([]community.Person, len(recs))
		for i, r := range recs {
			ps[i] = r.Person
		}
		if ps, err = s.revealOrMask(ctx, ps, reveal); err != nil {
			return nil, err
		}
		for i, r := range recs {
			r.Person = ps[i]
			rows = append(rows, transfer.EncodePerson(r, lang))
		}
	case transfer.KindDevices:
		recs, err := s.store.ExportDevices(ctx, sc, c)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			rows = append(rows, transfer.EncodeDevice(r, lang))
		}
	default:
		return nil, transfer.CheckKind(kind)
	}
	return rows, nil
}

// transferCommunity is the community an import or export is about: the
// one asked for (the store checks it is within reach), or else the only
// one the caller reaches with p.
func (s *Server) transferCommunity(ctx context.Context, p auth.Permission, asked int64) (int64, error) {
	if asked != 0 {
		return asked, nil
	}
	sc := scope(ctx, p)
	ids := sc.Communities()
	switch {
	case ids == nil:
		// A deployment-wide grant: the one community there is, if so.
		l, err := s.store.ListCommunities(ctx, sc, shequ.Page{Limit: 2})
		if err != nil {
			return 0, err
		}
		if l.Total == 1 {
			return l.Items[0].ID, nil
		}
	case len(ids) == 1:
		return ids[0], nil
	}
	return 0, shequ.Errorf(shequ.EINVALID, "say which community with ?community=ID: your account reaches more than one")
}

// Media types an upload may come as. Browsers label a .csv
// application/vnd.ms-excel on Windows, and curl --data-binary labels
// anything a form.
var (
	csvTypes  = []string{"text/csv", "application/csv", "text/plain", "application/vnd.ms-excel", "application/x-www-form-urlencoded"}
	anyTypes  = []string{"", "application/octet-stream"}
	tooLarge  = fmt.Sprintf("the file is larger than %d MiB: split it into smaller files", transfer.MaxBytes>>20)
	errNoFile = shequ.Errorf(shequ.EINVALID, "the request has no file: send it as the request body, or as the field 'file' of a multipart form")
)

// readUpload reads the uploaded file, at most transfer.MaxBytes of it, and
// tells its format. The content decides the format, the label only
// whether the request is a file at all: users' tools label files loosely.
func readUpload(body io.Reader, contentType string) ([]byte, transfer.Format, error) {
	if body == nil {
		return nil, "", errNoFile
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil && contentType != "" {
		return nil, "", shequ.Errorf(shequ.EINVALID, "the Content-Type %q cannot be read", contentType)
	}
	var data []byte
	declared := transfer.Format("")
	switch {
	case mediaType == "multipart/form-data":
		return readMultipart(body, params["boundary"])
	case mediaType == transfer.XLSXType:
		declared = transfer.XLSX
		data, err = readLimited(body)
	case slices.Contains(csvTypes, mediaType), slices.Contains(anyTypes, mediaType):
		data, err = readLimited(body)
	default:
		return nil, "", shequ.Errorf(shequ.EINVALID, "a file of type %q cannot be imported: send CSV (text/csv), XLSX (%s) or a multipart form with the field 'file'", mediaType, transfer.XLSXType)
	}
	if err != nil {
		return nil, "", err
	}
	return checkedFile(data, declared)
}

// readMultipart takes the part named file from a form.
func readMultipart(body io.Reader, boundary string) ([]byte, transfer.Format, error) {
	if boundary == "" {
		return nil, "", shequ.Errorf(shequ.EINVALID, "the multipart form has no boundary")
	}
	// The other fields of a form are small; this leaves room for them.
	mr := multipart.NewReader(io.LimitReader(body, transfer.MaxBytes+1<<20), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, "", errNoFile
		}
		if err != nil {
			return nil, "", shequ.Errorf(shequ.EINVALID, "the multipart form cannot be read: %v", err)
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		data, err := readLimited(part)
		part.Close()
		if err != nil {
			return nil, "", err
		}
		declared := transfer.Format("")
		if strings.EqualFold(path.Ext(part.FileName()), ".xlsx") || part.Header.Get("Content-Type") == transfer.XLSXType {
			declared = transfer.XLSX
		}
		return checkedFile(data, declared)
	}
}

func readLimited(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, transfer.MaxBytes+1))
	if err != nil {
		return nil, shequ.Errorf(shequ.EINVALID, "the file could not be received whole: %v", err)
	}
	if len(data) > transfer.MaxBytes {
		return nil, newProblem(http.StatusRequestEntityTooLarge, shequ.EINVALID, tooLarge)
	}
	return data, nil
}

// checkedFile sniffs the format of data and holds it to the declared one.
func checkedFile(data []byte, declared transfer.Format) ([]byte, transfer.Format, error) {
	if len(data) == 0 {
		return nil, "", errNoFile
	}
	format := transfer.Sniff(data)
	if declared == transfer.XLSX && format != transfer.XLSX {
		return nil, "", shequ.Errorf(shequ.EINVALID, "the file is labelled XLSX but is not an XLSX workbook")
	}
	return data, format, nil
}
