// Package evidence owns what cameras give the community beyond a live
// picture: which entrances, roads and areas each camera sees, the
// cameras and snapshots kept with an incident, footage the police or
// staff request and the director approves, exported into one package with
// a manifest and a hash-chained custody log, and warning notices with a
// captured face that only an approval publishes, until they expire.
package evidence

import (
	"net/url"
	"strings"
	"time"

	"github.com/shequ/shequ"
)

// What a camera's coverage is of.
const (
	CoverEntrance = "entrance" // a building entrance (a unit door)
	CoverRoad     = "road"
	CoverArea     = "area"
)

// Coverage is one place a camera sees.
type Coverage struct {
	BuildingID int64  `json:"building_id,omitempty"`
	Kind       string `json:"kind" enum:"entrance,road,area"`
	Label      string `json:"label" doc:"What the place is called: 1单元入口, 宝圣东路, 小区东门 …"`
}

// Recorder kinds: how footage of a camera is fetched.
const (
	// RecorderPlayback is an RTSP or HTTP playback URL that ffmpeg
	// records with -c copy; {start} and {end} in it become the window
	// (20060102T150405Z), {start_unix} and {end_unix} its Unix seconds.
	RecorderPlayback = "playback"
	// RecorderISAPI is a recorder with a Hikvision ISAPI-style API:
	// ContentMgmt/search, then ContentMgmt/download of what it found.
	RecorderISAPI = "isapi"
)

// Camera is what shequ keeps about a camera beyond its entry in the
// device registry.
type Camera struct {
	DeviceID    int64  `json:"device_id"`
	CommunityID int64  `json:"community_id"`
	Name        string `json:"name"`
	BuildingID  int64  `json:"building_id,omitempty"`
	Status      string `json:"status"`
	// LiveURL is what the operator opens to watch: the camera's RTSP URL
	// or a gateway's (MediaMTX, go2rtc) HLS or WebRTC page. shequ does not
	// transcode.
	LiveURL string `json:"live_url"`
	// SnapshotURL is the camera's HTTP snapshot; when empty, ONVIFURL's
	// GetSnapshotUri finds one.
	SnapshotURL string `json:"snapshot_url"`
	ONVIFURL    string `json:"onvif_url"`
	Username    string `json:"username"`
	// Password is the camera's and its recorder's; sealed at rest and
	// never answered.
	Password    string `json:"-"`
	HasPassword bool   `json:"has_password"`
	// RecorderKind, RecorderURL and Channel say where its footage is.
	RecorderKind string     `json:"recorder_kind" enum:"playback,isapi,"`
	RecorderURL  string     `json:"recorder_url"`
	Channel      string     `json:"channel"`
	Coverage     []Coverage `json:"coverage"`
}

// Validate checks a camera's settings.
func (c *Camera) Validate() error {
	p := shequ.Problems{}
	checkURL(p, "live_url", c.LiveURL, "rtsp", "rtsps", "http", "https")
	checkURL(p, "snapshot_url", c.SnapshotURL, "http", "https")
	checkURL(p, "onvif_url", c.ONVIFURL, "http", "https")
	p.OptionalText("username", c.Username, 64)
	switch c.RecorderKind {
	case "":
		if c.RecorderURL != "" {
			p.Add("recorder_kind", "say what the recorder is: playback or isapi")
		}
	case RecorderPlayback:
		checkURL(p, "recorder_url", c.RecorderURL, "rtsp", "rtsps", "http", "https")
	case RecorderISAPI:
		checkURL(p, "recorder_url", c.RecorderURL, "http", "https")
		p.OptionalText("channel", c.Channel, 16)
	default:
		p.Add("recorder_kind", "must be playback or isapi")
	}
	if c.RecorderKind != "" && c.RecorderURL == "" {
		p.Add("recorder_url", "is required with a recorder")
	}
	for i, cv := range c.Coverage {
		switch cv.Kind {
		case CoverEntrance:
			if cv.BuildingID == 0 {
				p.Add("coverage", "entry %d: an entrance belongs to a building", i+1)
			}
		case CoverRoad, CoverArea:
		default:
			p.Add("coverage", "entry %d: kind must be entrance, road or area", i+1)
		}
		p.OptionalText("coverage", cv.Label, 100)
	}
	if len(c.Coverage) > 50 {
		p.Add("coverage", "at most 50 places")
	}
	return p.Err()
}

func checkURL(p shequ.Problems, field, s string, schemes ...string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		p.Add(field, "must be a URL")
		return
	}
	for _, sc := range schemes {
		if strings.EqualFold(u.Scheme, sc) {
			return
		}
	}
	p.Add(field, "must be a %s URL", strings.Join(schemes, " or "))
}

// The window around an incident the cameras are bookmarked for.
const (
	BookmarkBefore = 2 * time.Minute
	BookmarkAfter  = 5 * time.Minute
)

// IncidentCamera is a camera covering an entrance of an incident's
// building, with the window of footage to look at and the snapshot taken
// when the incident opened (0 until it is taken).
type IncidentCamera struct {
	DeviceID        int64     `json:"device_id"`
	Name            string    `json:"name"`
	Label           string    `json:"label"`
	Status          string    `json:"status"`
	LiveURL         string    `json:"live_url,omitempty"`
	BookmarkFrom    time.Time `json:"bookmark_from"`
	BookmarkUntil   time.Time `json:"bookmark_until"`
	SnapshotMediaID int64     `json:"snapshot_media_id,omitempty"`
	SnapshotError   string    `json:"snapshot_error,omitempty"`
}

// Bookmark is the window of an incident opened at t.
func Bookmark(t time.Time) (from, until time.Time) {
	return t.Add(-BookmarkBefore), t.Add(BookmarkAfter)
}
