// Package broadcast owns the community's loudspeakers: zones of speakers,
// the programme of daily slots with their rundowns, the audio library,
// the as-run log and emergency announcements, and the rules that decide
// what plays when (the scheduler) and how Chinese text is rewritten before
// speech synthesis. It holds types and rules, no SQL and no HTTP; the
// rendering (espeak-ng, ffmpeg) and delivery (the zone streams) are in
// subpackages.
package broadcast

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shequ/shequ"
)

// Zone is a set of loudspeakers that always play the same thing: one grid's
// speaker, or all of them.
type Zone struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	Code        string `json:"code"`
	Name        string `json:"name"`
	// SpeakerIDs are devices of kind speaker in the device registry.
	SpeakerIDs []int64   `json:"speaker_ids"`
	CreatedAt  time.Time `json:"created_at"`
}

// Slot is a recurring time on the programme: on the given weekdays, at
// Start in the community's time zone, for Minutes, on the zones named,
// between the dates From and Until (inclusive, either may be empty).
type Slot struct {
	ID          int64   `json:"id"`
	CommunityID int64   `json:"community_id"`
	Name        string  `json:"name,omitempty"`
	ZoneIDs     []int64 `json:"zone_ids"`
	// Days are ISO weekdays: 1 Monday … 7 Sunday.
	Days    []int  `json:"days"`
	Start   string `json:"start"` // HH:MM
	Minutes int    `json:"minutes"`
	From    string `json:"from,omitempty"`  // YYYY-MM-DD
	Until   string `json:"until,omitempty"` // YYYY-MM-DD
	// Exceptions skip or move the slot on a date.
	Exceptions []Exception `json:"exceptions,omitempty"`
	// Flag says what kept the slot's last airing from going out as
	// planned (a missing program, a failed render); empty when all is well.
	Flag      string    `json:"flag,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Exception changes one date of a slot: Skip drops it, Start moves it.
type Exception struct {
	Date  string `json:"date"` // YYYY-MM-DD
	Skip  bool   `json:"skip,omitempty"`
	Start string `json:"start,omitempty"` // HH:MM
}

// Item kinds of a rundown.
const (
	ItemSpeech     = "speech"
	ItemClip       = "clip"
	ItemMusic      = "music"
	ItemDedication = "dedication"
	ItemChime      = "chime"
)

// ItemKinds lists the kinds an item may have.
var ItemKinds = []string{ItemSpeech, ItemClip, ItemMusic, ItemDedication, ItemChime}

// Voices espeak-ng speaks in.
const (
	VoiceMandarin  = "cmn"
	VoiceCantonese = "yue"
)

// Item is one thing a slot plays, in order.
type Item struct {
	Kind string `json:"kind"`
	// Text is what is spoken (speech, and the words before a dedicated
	// song).
	Text string `json:"text,omitempty"`
	// Voice is cmn (the default) or yue.
	Voice string `json:"voice,omitempty"`
	// MediaID names a recorded clip in the media store (kind audio).
	MediaID int64 `json:"media_id,omitempty"`
	// TrackID names a song of the library (music, dedication; a clip may
	// name a track instead of a media id).
	TrackID int64 `json:"track_id,omitempty"`
	// DedicationID names the song request a dedication item plays: it
	// plays once, and leaves the rundown when it has aired.
	DedicationID int64 `json:"dedication_id,omitempty"`
	// NoticeID names the notice a speech item reads ("also read on the
	// loudspeakers"): it plays once, and leaves the rundown when it has
	// aired.
	NoticeID int64 `json:"notice_id,omitempty"`
	// ZoneIDs keep the item to some of the slot's zones (a grid's notice
	// is read on its grid's loudspeaker only); every zone when empty.
	ZoneIDs []int64 `json:"zone_ids,omitempty"`
	// From is the first date (YYYY-MM-DD) the item plays: a dedication
	// waits for the day the resident wished for.
	From string `json:"from,omitempty"`
}

// ItemsFor returns the items that play on zone.
func ItemsFor(items []Item, zoneID int64) []Item {
	out := make([]Item, 0, len(items))
	for _, it := range items {
		if len(it.ZoneIDs) == 0 || slices.Contains(it.ZoneIDs, zoneID) {
			out = append(out, it)
		}
	}
	return out
}

// ItemsOn returns the items that play on date (YYYY-MM-DD).
func ItemsOn(items []Item, date string) []Item {
	out := make([]Item, 0, len(items))
	for _, it := range items {
		if it.From == "" || it.From <= date {
			out = append(out, it)
		}
	}
	return out
}

// Rundown is what a slot plays, in order.
type Rundown struct {
	SlotID    int64     `json:"slot_id"`
	Items     []Item    `json:"items"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Track is a piece of audio in the library, its bytes in the media store.
type Track struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	MediaID     int64  `json:"media_id"`
	Title       string `json:"title"`
	Artist      string `json:"artist,omitempty"`
	// Seconds is the measured duration.
	Seconds float64 `json:"seconds"`
	// LUFS is the measured integrated loudness (EBU R128).
	LUFS        float64   `json:"lufs"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	CreatedAt   time.Time `json:"created_at"`
}

// AudioInfo is what probing an audio file finds.
type AudioInfo struct {
	Title   string
	Artist  string
	Seconds float64
	LUFS    float64
}

// As-run kinds and outcomes.
const (
	RunSlot      = "slot"
	RunEmergency = "emergency"

	RunPlayed  = "played"
	RunFailed  = "failed"
	RunSkipped = "skipped"
)

// AsRun is one entry of a zone's as-run log: what went out, when, and
// whether it did.
type AsRun struct {
	ID          int64     `json:"id"`
	CommunityID int64     `json:"community_id"`
	ZoneID      int64     `json:"zone_id"`
	SlotID      int64     `json:"slot_id,omitempty"`
	EmergencyID int64     `json:"emergency_id,omitempty"`
	Kind        string    `json:"kind"`
	Status      string    `json:"status"`
	StartedAt   time.Time `json:"started_at"`
	Seconds     float64   `json:"seconds"`
	// Detail says what played, or why not.
	Detail string `json:"detail,omitempty"`
	// Listeners is how many listened to the zone's stream when it began.
	Listeners int `json:"listeners"`
	// Notices are the titles of the notices read in it ("also read on
	// the loudspeakers").
	Notices []string `json:"notices,omitempty"`
}

// AsRunFilter narrows the as-run log.
type AsRunFilter struct {
	CommunityID int64
	ZoneID      int64
	Since       time.Time
	shequ.Page
}

var (
	zoneCode = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)
	dateRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
)

// Validate checks a zone before it is stored; that its speakers are
// speakers of its community is the store's to check.
func (z *Zone) Validate() error {
	p := shequ.Problems{}
	if z.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	z.Code = strings.TrimSpace(z.Code)
	if !zoneCode.MatchString(z.Code) {
		p.Add("code", "must be 1 to 32 lower-case letters, digits and dashes")
	}
	z.Name = strings.TrimSpace(z.Name)
	p.RequireText("name", z.Name, 100)
	if z.SpeakerIDs == nil {
		z.SpeakerIDs = []int64{}
	}
	seen := map[int64]bool{}
	for _, id := range z.SpeakerIDs {
		if id <= 0 || seen[id] {
			p.Add("speaker_ids", "must be distinct device ids")
		}
		seen[id] = true
	}
	return p.Err()
}

// ParseClock reads HH:MM (00:00 to 23:59) as minutes after midnight.
func ParseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func validDate(s string) bool {
	if !dateRE.MatchString(s) {
		return false
	}
	_, err := time.Parse(time.DateOnly, s)
	return err == nil
}

// Validate checks a slot before it is stored.
func (s *Slot) Validate() error {
	p := shequ.Problems{}
	if s.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	if utf8.RuneCountInString(s.Name) > 100 {
		p.Add("name", "must be at most 100 characters")
	}
	if len(s.ZoneIDs) == 0 {
		p.Add("zone_ids", "name at least one zone")
	}
	if len(s.Days) == 0 {
		p.Add("days", "name at least one day, 1 (Monday) to 7 (Sunday)")
	}
	for _, d := range s.Days {
		if d < 1 || d > 7 {
			p.Add("days", "must be 1 (Monday) to 7 (Sunday)")
		}
	}
	slices.Sort(s.Days)
	s.Days = slices.Compact(s.Days)
	start, ok := ParseClock(s.Start)
	if !ok {
		p.Add("start", "must be HH:MM")
	}
	if s.Minutes < 1 || s.Minutes > 180 {
		p.Add("minutes", "must be 1 to 180")
	} else if ok && start+s.Minutes > 24*60 {
		p.Add("minutes", "the slot must end by midnight")
	}
	if s.From != "" && !validDate(s.From) {
		p.Add("from", "must be YYYY-MM-DD")
	}
	if s.Until != "" && !validDate(s.Until) {
		p.Add("until", "must be YYYY-MM-DD")
	}
	if s.From != "" && s.Until != "" && s.Until < s.From {
		p.Add("until", "must not be before from")
	}
	dates := map[string]bool{}
	for _, e := range s.Exceptions {
		if !validDate(e.Date) || dates[e.Date] {
			p.Add("exceptions", "each needs a distinct date YYYY-MM-DD")
		}
		dates[e.Date] = true
		if e.Skip == (e.Start != "") {
			p.Add("exceptions", "each either skips its date or gives a start")
		} else if st, ok := ParseClock(e.Start); e.Start != "" && (!ok || st+s.Minutes > 24*60) {
			p.Add("exceptions", "a start must be HH:MM and end by midnight")
		}
	}
	return p.Err()
}

// Overlaps says whether s and o would be on the air at once on a zone
// they share, on some day both play (by their weekdays and dates). The
// scheduler can put only one of two such slots on a zone, so the second is
// refused rather than skipped on the air every time. Both must be valid.
// An exception's moved start is not weighed: it concerns one date only.
func (s *Slot) Overlaps(o Slot) bool {
	if !slices.ContainsFunc(s.ZoneIDs, func(z int64) bool { return slices.Contains(o.ZoneIDs, z) }) {
		return false
	}
	a, _ := ParseClock(s.Start)
	b, _ := ParseClock(o.Start)
	if a >= b+o.Minutes || b >= a+s.Minutes {
		return false
	}
	from, until := max(s.From, o.From), s.Until
	if until == "" || (o.Until != "" && o.Until < until) {
		until = o.Until
	}
	if until != "" && from > until {
		return false
	}
	shared := func(day int) bool { return slices.Contains(s.Days, day) && slices.Contains(o.Days, day) }
	// Fewer than seven shared dates: only the weekdays among them count.
	if from != "" && until != "" {
		first, _ := time.Parse(time.DateOnly, from)
		last, _ := time.Parse(time.DateOnly, until)
		if last.Sub(first) < 7*24*time.Hour {
			for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
				if shared(isoWeekday(d)) {
					return true
				}
			}
			return false
		}
	}
	return slices.ContainsFunc(s.Days, shared)
}

// MaxItems bounds a rundown.
const MaxItems = 50

// Validate checks a rundown's items; that the media and tracks exist in
// the community is the store's to check.
func (r *Rundown) Validate() error {
	p := shequ.Problems{}
	if len(r.Items) > MaxItems {
		p.Add("items", "must be at most %d", MaxItems)
	}
	if r.Items == nil {
		r.Items = []Item{}
	}
	for i := range r.Items {
		it := &r.Items[i]
		f := fmt.Sprintf("items[%d]", i)
		it.Text = strings.TrimSpace(it.Text)
		if it.Voice == "" && (it.Kind == ItemSpeech || it.Kind == ItemDedication) {
			it.Voice = VoiceMandarin
		}
		if it.Voice != "" && it.Voice != VoiceMandarin && it.Voice != VoiceCantonese {
			p.Add(f+".voice", "must be cmn or yue")
		}
		if it.From != "" && !validDate(it.From) {
			p.Add(f+".from", "must be YYYY-MM-DD")
		}
		if it.DedicationID != 0 && it.Kind != ItemDedication {
			p.Add(f+".dedication_id", "only a dedication names a song request")
		}
		if it.NoticeID != 0 && it.Kind != ItemSpeech {
			p.Add(f+".notice_id", "only speech reads a notice")
		}
		for _, z := range it.ZoneIDs {
			if z <= 0 {
				p.Add(f+".zone_ids", "must be zone ids")
			}
		}
		if utf8.RuneCountInString(it.Text) > 2000 {
			p.Add(f+".text", "must be at most 2000 characters")
		}
		switch it.Kind {
		case ItemSpeech:
			if it.Text == "" {
				p.Add(f+".text", "is required")
			}
			if it.MediaID != 0 || it.TrackID != 0 {
				p.Add(f, "speech has text only")
			}
		case ItemClip:
			if (it.MediaID == 0) == (it.TrackID == 0) {
				p.Add(f, "a clip names a media_id or a track_id")
			}
		case ItemMusic:
			if it.TrackID == 0 {
				p.Add(f+".track_id", "is required")
			}
		case ItemDedication:
			if it.TrackID == 0 {
				p.Add(f+".track_id", "is required")
			}
			if it.Text == "" {
				p.Add(f+".text", "say who it is for")
			}
		case ItemChime:
			if it.Text != "" || it.MediaID != 0 || it.TrackID != 0 {
				p.Add(f, "a chime takes nothing")
			}
		default:
			p.Add(f+".kind", "must be one of %s", strings.Join(ItemKinds, ", "))
		}
	}
	return p.Err()
}

// Validate checks a track's description.
func (t *Track) Validate() error {
	p := shequ.Problems{}
	t.Title = strings.TrimSpace(t.Title)
	t.Artist = strings.TrimSpace(t.Artist)
	p.RequireText("title", t.Title, 200)
	if utf8.RuneCountInString(t.Artist) > 200 {
		p.Add("artist", "must be at most 200 characters")
	}
	return p.Err()
}

// Audio is rendered or stored audio, named by the SHA-256 of its bytes in
// the media store.
type Audio struct {
	SHA256  string  `json:"sha256"`
	Seconds float64 `json:"seconds"`
	// Marks are where each rundown item after the first begins, in
	// seconds: a non-urgent announcement waits for the next one.
	Marks []float64 `json:"marks,omitempty"`
}

// Programme is one community's zones and slots with what each slot plays:
// what the scheduler reads.
type Programme struct {
	CommunityID int64
	Location    *time.Location
	Zones       []Zone
	Slots       []Slot
	Rundowns    map[int64][]Item
}

// Dedication statuses.
const (
	DedicationPending  = "pending"
	DedicationApproved = "approved"
	DedicationRejected = "rejected"
	DedicationAired    = "aired"
)

// Dedication is a resident's song request (点歌): a song for someone, with
// a few words. Approved, it joins a slot's rundown as a dedication item.
type Dedication struct {
	ID          int64  `json:"id"`
	CommunityID int64  `json:"community_id"`
	RequestedBy int64  `json:"requested_by"`
	TrackID     int64  `json:"track_id,omitempty"`
	Song        string `json:"song,omitempty"`
	For         string `json:"for"`
	// Occasion is what it is for: a birthday, an anniversary…
	Occasion string `json:"occasion,omitempty"`
	Message  string `json:"message,omitempty"`
	// Day is the day (YYYY-MM-DD) the resident wishes it to play, on or
	// after which it is put on the air.
	Day    string `json:"day,omitempty"`
	Status string `json:"status"`
	SlotID int64  `json:"slot_id,omitempty"`
	Note   string `json:"note,omitempty"`
	// DecidedBy and DecidedAt say who approved or rejected it, and when.
	DecidedBy int64      `json:"decided_by,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
	// AiredAt is when it went out.
	AiredAt   *time.Time `json:"aired_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
}

// Validate checks a song request.
func (d *Dedication) Validate() error {
	p := shequ.Problems{}
	if d.CommunityID == 0 {
		p.Add("community_id", "is required")
	}
	d.Song, d.For, d.Message, d.Occasion = strings.TrimSpace(d.Song), strings.TrimSpace(d.For), strings.TrimSpace(d.Message), strings.TrimSpace(d.Occasion)
	if d.TrackID == 0 && d.Song == "" {
		p.Add("song", "name a song, or a track of the library")
	}
	if utf8.RuneCountInString(d.Song) > 100 {
		p.Add("song", "must be at most 100 characters")
	}
	p.RequireText("for", d.For, 50)
	if utf8.RuneCountInString(d.Message) > 200 {
		p.Add("message", "must be at most 200 characters")
	}
	if utf8.RuneCountInString(d.Occasion) > 30 {
		p.Add("occasion", "must be at most 30 characters")
	}
	if d.Day != "" && !validDate(d.Day) {
		p.Add("day", "must be YYYY-MM-DD")
	}
	return p.Err()
}

// Words are what is said before the song.
func (d Dedication) Words() string {
	w := "送给" + d.For
	if d.Occasion != "" {
		w += "，" + d.Occasion
	}
	if d.Message != "" {
		w += "：" + d.Message
	}
	return w
}

// NoticeAiring is where a notice ticked "also read on the loudspeakers"
// is read: the slot's airing it was put into, on which zones, and when it
// went out (nil until it has).
type NoticeAiring struct {
	NoticeID int64      `json:"notice_id"`
	SlotID   int64      `json:"slot_id"`
	ZoneIDs  []int64    `json:"zone_ids"`
	AirsAt   time.Time  `json:"airs_at"`
	AiredAt  *time.Time `json:"aired_at,omitempty"`
}
