package evidence

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// FormatV1 names the layout of a package: a zip of manifest.json,
// custody.json and the footage, one MP4 per camera under footage/.
const FormatV1 = "shequ-evidence/1"

// Manifest says what a package holds.
type Manifest struct {
	Format      string         `json:"format"`
	RequestID   int64          `json:"request_id"`
	CommunityID int64          `json:"community_id"`
	CaseNumber  string         `json:"case_number"`
	Reason      string         `json:"reason"`
	RequestedBy string         `json:"requested_by"`
	ApprovedBy  string         `json:"approved_by"`
	From        time.Time      `json:"from"`
	Until       time.Time      `json:"until"`
	Files       []ManifestFile `json:"files"`
	// CustodyHead is the hash of the custody log's last entry when the
	// package was made: the log in the package ends there.
	CustodyHead string    `json:"custody_head"`
	PackagedAt  time.Time `json:"packaged_at"`
}

// ManifestFile is one camera's footage in a package.
type ManifestFile struct {
	Name       string    `json:"name"`
	CameraID   int64     `json:"camera_id"`
	CameraName string    `json:"camera_name"`
	From       time.Time `json:"from"`
	Until      time.Time `json:"until"`
	SHA256     string    `json:"sha256"`
	Size       int64     `json:"size"`
	Adapter    string    `json:"adapter"`
}

// FileName is the name of a camera's footage in a package.
func FileName(cameraID int64) string { return fmt.Sprintf("footage/camera-%d.mp4", cameraID) }

// WritePackage writes the package of m to w: the manifest, the custody
// log and each file open gives, checked against its hash while it is
// copied. A file whose bytes no longer match is not packaged: the write
// fails, naming it.
func WritePackage(w io.Writer, m Manifest, custody []CustodyEntry, open func(ManifestFile) (io.ReadCloser, error)) error {
	m.Format = FormatV1
	if len(custody) > 0 {
		m.CustodyHead = custody[len(custody)-1].Hash
	}
	z := zip.NewWriter(w)
	put := func(name string, v any) error {
		f, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.PackagedAt})
		if err != nil {
			return err
		}
		enc := json.NewEncoder(f)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if err := put("manifest.json", m); err != nil {
		return err
	}
	if err := put("custody.json", custody); err != nil {
		return err
	}
	for _, mf := range m.Files {
		// Video does not compress: stored, it is copied at disk speed.
		dst, err := z.CreateHeader(&zip.FileHeader{Name: mf.Name, Method: zip.Store, Modified: m.PackagedAt})
		if err != nil {
			return err
		}
		src, err := open(mf)
		if err != nil {
			return fmt.Errorf("package %s: %w", mf.Name, err)
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(dst, h), src)
		src.Close()
		if err != nil {
			return fmt.Errorf("package %s: %w", mf.Name, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != mf.SHA256 || n != mf.Size {
			return fmt.Errorf("package %s: the stored bytes (%d, SHA-256 %s) are not what was exported (%d, %s)", mf.Name, n, got, mf.Size, mf.SHA256)
		}
	}
	return z.Close()
}

// Report is what Verify found.
type Report struct {
	Manifest Manifest
	Custody  []CustodyEntry
	// Checked lists the files whose hash matched.
	Checked []string
	// Problems says exactly what is wrong, one line each; none when the
	// package is whole.
	Problems []string
}

// OK reports whether the package is whole.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(format string, a ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, a...))
}

// Verify checks a package: every file against the manifest, the custody
// chain, the exported entry's hashes against the manifest and the
// manifest's head against the chain. An error is returned only when the
// package cannot be read at all.
func Verify(ra io.ReaderAt, size int64) (*Report, error) {
	z, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, fmt.Errorf("not an evidence package (zip): %w", err)
	}
	r := &Report{}
	files := map[string]*zip.File{}
	for _, f := range z.File {
		files[f.Name] = f
	}
	readJSON := func(name string, v any) bool {
		f := files[name]
		if f == nil {
			r.add("%s is missing", name)
			return false
		}
		rc, err := f.Open()
		if err != nil {
			r.add("%s cannot be read: %v", name, err)
			return false
		}
		defer rc.Close()
		dec := json.NewDecoder(rc)
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			r.add("%s is not a valid %s: %v", name, name, err)
			return false
		}
		return true
	}
	haveManifest := readJSON("manifest.json", &r.Manifest)
	haveCustody := readJSON("custody.json", &r.Custody)
	if haveManifest && r.Manifest.Format != FormatV1 {
		r.add("manifest.json: format %q is not %q", r.Manifest.Format, FormatV1)
	}
	if haveCustody {
		if err := VerifyChain(r.Custody); err != nil {
			r.add("%v", err)
		} else if haveManifest {
			head := ""
			if len(r.Custody) > 0 {
				head = r.Custody[len(r.Custody)-1].Hash
			}
			if head != r.Manifest.CustodyHead {
				r.add("manifest.json: custody head %s is not the hash of the log's last entry (%s): entries were removed or added", short(r.Manifest.CustodyHead), short(head))
			}
		}
	}
	if !haveManifest {
		return r, nil
	}
	named := map[string]bool{"manifest.json": true, "custody.json": true}
	for _, mf := range r.Manifest.Files {
		named[mf.Name] = true
		f := files[mf.Name]
		if f == nil {
			r.add("file %s (camera %d) is missing", mf.Name, mf.CameraID)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			r.add("file %s cannot be read: %v", mf.Name, err)
			continue
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil && !errors.Is(err, zip.ErrChecksum) {
			r.add("file %s cannot be read: %v", mf.Name, err)
			continue
		}
		got := hex.EncodeToString(h.Sum(nil))
		switch {
		case got != mf.SHA256:
			r.add("file %s (camera %d): SHA-256 is %s, the manifest says %s: the file was changed", mf.Name, mf.CameraID, got, mf.SHA256)
		case n != mf.Size:
			r.add("file %s (camera %d): %d bytes, the manifest says %d", mf.Name, mf.CameraID, n, mf.Size)
		default:
			r.Checked = append(r.Checked, mf.Name)
		}
	}
	for _, f := range z.File {
		if !named[f.Name] {
			r.add("file %s is in the package but not in the manifest", f.Name)
		}
	}
	if haveCustody {
		checkExported(r)
	}
	return r, nil
}

// checkExported holds the manifest to what the custody log recorded at
// export: a manifest rewritten to match changed files is caught here.
func checkExported(r *Report) {
	i := slices.IndexFunc(r.Custody, func(e CustodyEntry) bool { return e.Action == ActExported })
	if i < 0 {
		r.add("custody.json has no exported entry: nothing in the package was recorded as exported")
		return
	}
	e := r.Custody[i]
	var d ExportedDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		r.add("custody entry %d (exported): its detail is not readable: %v", e.Seq, err)
		return
	}
	recorded := map[string]ExportedFile{}
	for _, f := range d.Files {
		recorded[f.Name] = f
	}
	for _, mf := range r.Manifest.Files {
		f, ok := recorded[mf.Name]
		switch {
		case !ok:
			r.add("manifest.json: file %s was not recorded by custody entry %d (exported)", mf.Name, e.Seq)
		case f.SHA256 != mf.SHA256:
			r.add("manifest.json: file %s has SHA-256 %s, custody entry %d (exported) recorded %s", mf.Name, short(mf.SHA256), e.Seq, short(f.SHA256))
		}
		delete(recorded, mf.Name)
	}
	for name := range recorded {
		r.add("manifest.json: file %s, recorded by custody entry %d (exported), is not in the manifest", name, e.Seq)
	}
}
