package evidence

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ/onvif"
)

// Source is where one camera's footage is fetched from.
type Source struct {
	CameraID int64
	Kind     string // RecorderPlayback or RecorderISAPI
	URL      string
	Channel  string
	Username string
	Password string
}

// Fetcher fetches footage into files, never re-encoding it.
type Fetcher struct {
	// FFmpeg is the ffmpeg program; "" finds it on PATH.
	FFmpeg string
	// HTTP is the client for recorder APIs; nil uses one without a
	// timeout (a download is as long as the footage), bounded by ctx.
	HTTP *http.Client
}

func (f *Fetcher) ffmpeg() string {
	if f.FFmpeg != "" {
		return f.FFmpeg
	}
	return "ffmpeg"
}

func (f *Fetcher) http() *http.Client {
	if f.HTTP != nil {
		return f.HTTP
	}
	return &http.Client{}
}

// Fetch writes the footage of src over [from, until) to dst as MP4 and
// returns the adapter's name.
func (f *Fetcher) Fetch(ctx context.Context, src Source, from, until time.Time, dst string) (string, error) {
	switch src.Kind {
	case RecorderPlayback:
		return "ffmpeg-copy", f.playback(ctx, src, from, until, dst)
	case RecorderISAPI:
		return "isapi-download", f.isapi(ctx, src, from, until, dst)
	case "":
		return "", fmt.Errorf("camera %d has no recorder configured", src.CameraID)
	}
	return "", fmt.Errorf("camera %d: unknown recorder kind %q", src.CameraID, src.Kind)
}

// PlaybackURL fills a playback URL's placeholders with the window.
func PlaybackURL(tmpl string, from, until time.Time) string {
	const stamp = "20060102T150405Z"
	return strings.NewReplacer(
		"{start}", from.UTC().Format(stamp), "{end}", until.UTC().Format(stamp),
		"{start_unix}", strconv.FormatInt(from.Unix(), 10), "{end_unix}", strconv.FormatInt(until.Unix(), 10),
	).Replace(tmpl)
}

// withCredentials puts the camera's credentials into an RTSP URL, where
// ffmpeg takes them (it answers Basic and Digest challenges itself).
func withCredentials(raw, user, pass string) string {
	u, err := url.Parse(raw)
	if err != nil || user == "" || u.User != nil {
		return raw
	}
	u.User = url.UserPassword(user, pass)
	return u.String()
}

// playback records the playback URL with ffmpeg, copying the streams
// into MP4: no re-encoding, so the pictures are the recorder's own.
// Recording stops after the window's length: an RTSP playback plays in
// real time and may go on past the end.
func (f *Fetcher) playback(ctx context.Context, src Source, from, until time.Time, dst string) error {
	in := withCredentials(PlaybackURL(src.URL, from, until), src.Username, src.Password)
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}
	if strings.HasPrefix(strings.ToLower(in), "rtsp") {
		// TCP: no packets lost on the way; a recorder silent for 30 s
		// (the recording ended early, the link died) ends the export
		// instead of holding it forever.
		args = append(args, "-rtsp_transport", "tcp", "-timeout", "30000000")
	} else {
		args = append(args, "-rw_timeout", "30000000")
	}
	secs := strconv.FormatFloat(until.Sub(from).Seconds(), 'f', 3, 64)
	args = append(args, "-i", in, "-t", secs, "-map", "0:v", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", dst)
	return runFFmpeg(ctx, f.ffmpeg(), args)
}

func runFFmpeg(ctx context.Context, prog string, args []string) error {
	cmd := exec.CommandContext(ctx, prog, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return fmt.Errorf("ffmpeg: %w: %s", err, msg)
	}
	return nil
}

// ISAPI's search, as Hikvision recorders take it.
type cmSearch struct {
	XMLName      xml.Name `xml:"CMSearchDescription"`
	NS           string   `xml:"xmlns,attr"`
	SearchID     string   `xml:"searchID"`
	TrackID      string   `xml:"trackList>trackID"`
	Start        string   `xml:"timeSpanList>timeSpan>startTime"`
	End          string   `xml:"timeSpanList>timeSpan>endTime"`
	MaxResults   int      `xml:"maxResults"`
	ResultOffset int      `xml:"searchResultPostion"`
	MetadataID   string   `xml:"metadataList>metadataDescriptor"`
}

type cmResult struct {
	Status  string `xml:"responseStatusStrg"`
	Matches []struct {
		Start string `xml:"timeSpan>startTime"`
		End   string `xml:"timeSpan>endTime"`
		URI   string `xml:"mediaSegmentDescriptor>playbackURI"`
	} `xml:"matchList>searchMatchItem"`
}

type downloadRequest struct {
	XMLName xml.Name `xml:"downloadRequest"`
	NS      string   `xml:"xmlns,attr"`
	URI     string   `xml:"playbackURI"`
}

const isapiNS = "http://www.hikvision.com/ver20/XMLSchema"

// ISAPIStamp is how ISAPI writes times.
const ISAPIStamp = "2006-01-02T15:04:05Z"

// isapi asks the recorder for the recordings of the channel over the
// window, then downloads each, cut to the window by the times in its
// playback URI; several segments are joined with ffmpeg's concat, again
// without re-encoding.
func (f *Fetcher) isapi(ctx context.Context, src Source, from, until time.Time, dst string) error {
	base := strings.TrimRight(src.URL, "/")
	track := src.Channel
	if track == "" {
		track = "101"
	}
	search := cmSearch{NS: isapiNS, SearchID: fmt.Sprintf("shequ-%d-%d", src.CameraID, from.Unix()), TrackID: track,
		Start: from.UTC().Format(ISAPIStamp), End: until.UTC().Format(ISAPIStamp), MaxResults: 100,
		MetadataID: "//recordType.meta.std-cgi.com"}
	body, err := xml.Marshal(search)
	if err != nil {
		return err
	}
	var res cmResult
	if err := f.isapiCall(ctx, src, http.MethodPost, base+"/ISAPI/ContentMgmt/search", body, func(r io.Reader) error {
		return xml.NewDecoder(io.LimitReader(r, 4<<20)).Decode(&res)
	}); err != nil {
		return fmt.Errorf("recorder search: %w", err)
	}
	if len(res.Matches) == 0 {
		return fmt.Errorf("the recorder has no recording of channel %s between %s and %s", track, from.UTC().Format(ISAPIStamp), until.UTC().Format(ISAPIStamp))
	}
	dir := filepath.Dir(dst)
	var parts []string
	defer func() {
		for _, p := range parts {
			os.Remove(p)
		}
	}()
	for i, m := range res.Matches {
		uri := clipURI(m.URI, from, until)
		req, err := xml.Marshal(downloadRequest{NS: isapiNS, URI: uri})
		if err != nil {
			return err
		}
		part := filepath.Join(dir, fmt.Sprintf("%s.part%d", filepath.Base(dst), i))
		parts = append(parts, part)
		err = f.isapiCall(ctx, src, http.MethodGet, base+"/ISAPI/ContentMgmt/download", req, func(r io.Reader) error {
			out, err := os.Create(part)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, r); err != nil {
				out.Close()
				return err
			}
			return out.Close()
		})
		if err != nil {
			return fmt.Errorf("recorder download %d of %d: %w", i+1, len(res.Matches), err)
		}
	}
	if len(parts) == 1 {
		return os.Rename(parts[0], dst)
	}
	list := dst + ".concat"
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, "file '%s'\n", strings.ReplaceAll(p, "'", `'\''`))
	}
	if err := os.WriteFile(list, []byte(b.String()), 0o600); err != nil {
		return err
	}
	defer os.Remove(list)
	return runFFmpeg(ctx, f.ffmpeg(), []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "concat", "-safe", "0", "-i", list, "-c", "copy", "-movflags", "+faststart", "-f", "mp4", dst})
}

// clipURI narrows a segment's playback URI to the window: ISAPI recorders
// cut a download to the starttime and endtime it names.
func clipURI(raw string, from, until time.Time) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	const stamp = "20060102T150405Z"
	if s, err := time.Parse(stamp, q.Get("starttime")); err == nil && s.Before(from) {
		q.Set("starttime", from.UTC().Format(stamp))
	}
	if e, err := time.Parse(stamp, q.Get("endtime")); err == nil && e.After(until) {
		q.Set("endtime", until.UTC().Format(stamp))
	}
	// Query().Encode() would reorder and escape what recorders compare
	// as text; only the two times change.
	u.RawQuery = strings.NewReplacer("%3A", ":").Replace(q.Encode())
	return u.String()
}

func (f *Fetcher) isapiCall(ctx context.Context, src Source, method, url string, body []byte, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/xml")
	resp, err := onvif.Do(f.http(), req, src.Username, src.Password)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return read(resp.Body)
}

// ErrNoSnapshot is returned for a camera with neither a snapshot URL nor
// an ONVIF address.
var ErrNoSnapshot = errors.New("the camera has no snapshot or ONVIF address")

// Snapshot fetches a JPEG from a camera: its snapshot URL, or the one
// ONVIF's GetSnapshotUri gives. At most max bytes are read.
func Snapshot(ctx context.Context, client *http.Client, c Camera, max int64) ([]byte, error) {
	uri := c.SnapshotURL
	if uri == "" && c.ONVIFURL != "" {
		oc := &onvif.Client{DeviceURL: c.ONVIFURL, Username: c.Username, Password: c.Password, HTTP: client}
		var err error
		if uri, err = oc.FindSnapshotURI(ctx); err != nil {
			return nil, err
		}
	}
	if uri == "" {
		return nil, ErrNoSnapshot
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, uri, nil)
	if err != nil {
		return nil, err
	}
	resp, err := onvif.Do(client, req, c.Username, c.Password)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("snapshot: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("snapshot: larger than %d bytes", max)
	}
	if ct := http.DetectContentType(b); ct != "image/jpeg" && ct != "image/png" {
		return nil, fmt.Errorf("snapshot: the camera sent %s, not a picture", ct)
	}
	return b, nil
}
