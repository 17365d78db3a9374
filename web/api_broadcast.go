package web

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/broadcast"
	"github.com/shequ/shequ/media"
)

// broadcastStore is what the loudspeakers' programme needs.
type broadcastStore interface {
	ListZones(ctx context.Context, scope auth.Scope, communityID int64, page shequ.Page) (shequ.List[broadcast.Zone], error)
	Zone(ctx context.Context, scope auth.Scope, id int64) (broadcast.Zone, error)
	ZoneByCode(ctx context.Context, communityID int64, code string) (broadcast.Zone, error)
	CreateZone(ctx context.Context, scope auth.Scope, z *broadcast.Zone) error
	UpdateZone(ctx context.Context, scope auth.Scope, z *broadcast.Zone) error
	DeleteZone(ctx context.Context, scope auth.Scope, id int64) error
	UpdateSlot(ctx context.Context, scope auth.Scope, x *broadcast.Slot) error
	DeleteSlot(ctx context.Context, scope auth.Scope, id int64) error
	ListSlots(ctx context.Context, scope auth.Scope, communityID int64, page shequ.Page) (shequ.List[broadcast.Slot], error)
	Slot(ctx context.Context, scope auth.Scope, id int64) (broadcast.Slot, error)
	CreateSlot(ctx context.Context, scope auth.Scope, x *broadcast.Slot) error
	Rundown(ctx context.Context, scope auth.Scope, slotID int64) (broadcast.Rundown, error)
	SetRundown(ctx context.Context, scope auth.Scope, r *broadcast.Rundown) error
	ListTracks(ctx context.Context, scope auth.Scope, communityID int64, page shequ.Page) (shequ.List[broadcast.Track], error)
	Track(ctx context.Context, scope auth.Scope, id int64) (broadcast.Track, error)
	AddTrack(ctx context.Context, scope auth.Scope, t *broadcast.Track, blob media.Media) error
	ListAsRun(ctx context.Context, scope auth.Scope, f broadcast.AsRunFilter) (shequ.List[broadcast.AsRun], error)
	CreateEmergency(ctx context.Context, scope auth.Scope, e *broadcast.Emergency) error
	ListDedications(ctx context.Context, scope auth.Scope, user int64, communityID int64, status string, page shequ.Page) (shequ.List[broadcast.Dedication], error)
	RequestDedication(ctx context.Context, scope auth.Scope, d *broadcast.Dedication) error
	DecideDedication(ctx context.Context, scope auth.Scope, id int64, approve bool, slotID, trackID int64, note string) (broadcast.Dedication, error)
	// SpeakerTroubles lists the loudspeakers that missed a whole slot.
	SpeakerTroubles(ctx context.Context, scope auth.Scope, communityID int64) ([]broadcast.SpeakerTrouble, error)
	// ListenerProgramme is what a household's loudspeaker plays.
	ListenerProgramme(ctx context.Context, householdID int64) (broadcast.Programme, error)
}

// Broadcaster is the running broadcast: it measures audio, puts emergency
// announcements on the air and hands out the zone streams.
type Broadcaster interface {
	// Probe measures audio: its tags, duration and loudness.
	Probe(ctx context.Context, r io.Reader) (broadcast.AudioInfo, error)
	// Render renders items to the audio that goes out (cached).
	Render(ctx context.Context, communityID int64, items []broadcast.Item) (broadcast.Audio, error)
	// Announce renders an emergency announcement and puts it on its zones.
	Announce(ctx context.Context, e broadcast.Emergency) error
	// Listen returns the MP3 stream of a zone from now on, in chunks; the
	// channel closes when ctx ends or the listener falls behind.
	Listen(ctx context.Context, zoneID int64) (<-chan []byte, error)
	// ListenAs is Listen for a listener known by its address: a
	// loudspeaker is online while it listens.
	ListenAs(ctx context.Context, zoneID int64, who broadcast.Listener) (<-chan []byte, error)
}

// errNoBroadcast answers when the server runs without the broadcast.
var errNoBroadcast = shequ.Errorf(shequ.ENOTIMPL, "the broadcast is not running on this server")

type zoneBody struct {
	CommunityID int64   `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	Code        string  `json:"code" doc:"Lower-case letters, digits and dashes; names the stream /broadcast/zones/{code}/stream"`
	Name        string  `json:"name" maxLength:"100"`
	SpeakerIDs  []int64 `json:"speaker_ids" doc:"Devices of kind speaker in the device registry"`
}

type slotBody struct {
	CommunityID int64                 `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	Name        string                `json:"name,omitempty" maxLength:"100"`
	ZoneIDs     []int64               `json:"zone_ids"`
	Days        []int                 `json:"days" doc:"ISO weekdays, 1 Monday to 7 Sunday"`
	Start       string                `json:"start" doc:"HH:MM in the community's time zone"`
	Minutes     int                   `json:"minutes" minimum:"1" maximum:"180"`
	From        string                `json:"from,omitempty" doc:"First date, YYYY-MM-DD"`
	Until       string                `json:"until,omitempty" doc:"Last date, YYYY-MM-DD"`
	Exceptions  []broadcast.Exception `json:"exceptions,omitempty" doc:"Dates the slot is skipped or moved"`
}

type dedicationBody struct {
	CommunityID int64  `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	TrackID     int64  `json:"track_id,omitempty" doc:"A song of the library"`
	Song        string `json:"song,omitempty" maxLength:"100" doc:"The song, when it is not in the library"`
	For         string `json:"for" maxLength:"50" doc:"Who it is for"`
	Occasion    string `json:"occasion,omitempty" maxLength:"30" doc:"A birthday, an anniversary…"`
	Message     string `json:"message,omitempty" maxLength:"200"`
	Day         string `json:"day,omitempty" doc:"The day wished for, YYYY-MM-DD: it plays in a slot on or after it"`
}

type rundownBody struct {
	Items []broadcast.Item `json:"items"`
}

type emergencyBody struct {
	CommunityID  int64   `json:"community_id,omitempty" doc:"Needed only by users who work in several communities"`
	ZoneIDs      []int64 `json:"zone_ids"`
	Text         string  `json:"text" maxLength:"1000"`
	Level        string  `json:"level" enum:"urgent,non_urgent" doc:"urgent cuts in within 2 seconds; non_urgent waits for the current item"`
	WarningLevel string  `json:"warning_level,omitempty" enum:"I,II,III,IV," doc:"China's early-warning level: I red … IV blue"`
	Status       string  `json:"status,omitempty" enum:"actual,exercise,test," doc:"actual when not given; a test or exercise says so before and after"`
	Repeat       int     `json:"repeat,omitempty" minimum:"0" maximum:"5" doc:"Readings, 2 when not given"`
}

func (s *Server) registerBroadcastAPI() {
	handle(s, get("/api/v1/broadcast/zones", auth.PermBroadcastRead), "list-zones", "Loudspeaker zones: which speakers always play the same thing", "broadcast",
		func(ctx context.Context, in *PageParams) (*listBody[broadcast.Zone], error) {
			return list(s.store.ListZones(ctx, scope(ctx, auth.PermBroadcastRead), in.Community, in.page()))
		})
	handle(s, post("/api/v1/broadcast/zones", auth.PermBroadcastWrite), "create-zone", "Add a zone of loudspeakers", "broadcast",
		func(ctx context.Context, in *struct{ Body zoneBody }) (*itemBody[broadcast.Zone], error) {
			c, err := s.transferCommunity(ctx, auth.PermBroadcastWrite, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			z := broadcast.Zone{CommunityID: c, Code: in.Body.Code, Name: in.Body.Name, SpeakerIDs: in.Body.SpeakerIDs}
			return item(z, s.store.CreateZone(ctx, scope(ctx, auth.PermBroadcastWrite), &z))
		})
	handle(s, put("/api/v1/broadcast/zones/{id}", auth.PermBroadcastWrite), "update-zone", "Change a zone's code, name and loudspeakers", "broadcast",
		func(ctx context.Context, in *struct {
			IDParam
			Body zoneBody
		}) (*itemBody[broadcast.Zone], error) {
			z := broadcast.Zone{ID: in.ID, Code: in.Body.Code, Name: in.Body.Name, SpeakerIDs: in.Body.SpeakerIDs}
			return item(z, s.store.UpdateZone(ctx, scope(ctx, auth.PermBroadcastWrite), &z))
		})
	handle(s, remove("/api/v1/broadcast/zones/{id}", auth.PermBroadcastWrite), "delete-zone", "Remove a zone no slot plays on", "broadcast",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteZone(ctx, scope(ctx, auth.PermBroadcastWrite), in.ID)
		})
	handle(s, put("/api/v1/broadcast/slots/{id}", auth.PermBroadcastWrite), "update-slot", "Change a slot: zones, days, time, dates and exceptions (skipped or moved dates); its rundown stays", "broadcast",
		func(ctx context.Context, in *struct {
			IDParam
			Body slotBody
		}) (*itemBody[broadcast.Slot], error) {
			b := in.Body
			x := broadcast.Slot{ID: in.ID, Name: b.Name, ZoneIDs: b.ZoneIDs, Days: b.Days, Start: b.Start, Minutes: b.Minutes, From: b.From, Until: b.Until, Exceptions: b.Exceptions}
			return item(x, s.store.UpdateSlot(ctx, scope(ctx, auth.PermBroadcastWrite), &x))
		})
	handle(s, remove("/api/v1/broadcast/slots/{id}", auth.PermBroadcastWrite), "delete-slot", "Remove a slot and its rundown; song requests approved into it go back to the queue", "broadcast",
		func(ctx context.Context, in *IDParam) (*noContent, error) {
			return &noContent{}, s.store.DeleteSlot(ctx, scope(ctx, auth.PermBroadcastWrite), in.ID)
		})
	handle(s, get("/api/v1/broadcast/slots", auth.PermBroadcastRead), "list-slots", "The programme: slots by start time; a flag says what kept a slot from going out", "broadcast",
		func(ctx context.Context, in *PageParams) (*listBody[broadcast.Slot], error) {
			return list(s.store.ListSlots(ctx, scope(ctx, auth.PermBroadcastRead), in.Community, in.page()))
		})
	handle(s, post("/api/v1/broadcast/slots", auth.PermBroadcastWrite), "create-slot", "Add a recurring slot to the programme", "broadcast",
		func(ctx context.Context, in *struct{ Body slotBody }) (*itemBody[broadcast.Slot], error) {
			c, err := s.transferCommunity(ctx, auth.PermBroadcastWrite, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			b := in.Body
			x := broadcast.Slot{CommunityID: c, Name: b.Name, ZoneIDs: b.ZoneIDs, Days: b.Days, Start: b.Start, Minutes: b.Minutes, From: b.From, Until: b.Until, Exceptions: b.Exceptions}
			return item(x, s.store.CreateSlot(ctx, scope(ctx, auth.PermBroadcastWrite), &x))
		})
	handle(s, get("/api/v1/broadcast/slots/{id}/rundown", auth.PermBroadcastRead), "get-rundown", "What a slot plays, in order", "broadcast",
		func(ctx context.Context, in *IDParam) (*itemBody[broadcast.Rundown], error) {
			return item(s.store.Rundown(ctx, scope(ctx, auth.PermBroadcastRead), in.ID))
		})
	handle(s, put("/api/v1/broadcast/slots/{id}/rundown", auth.PermBroadcastWrite), "set-rundown", "Replace what a slot plays: speech, clips, music, dedications and chimes", "broadcast",
		func(ctx context.Context, in *struct {
			IDParam
			Body rundownBody
		}) (*itemBody[broadcast.Rundown], error) {
			r := broadcast.Rundown{SlotID: in.ID, Items: in.Body.Items}
			return item(r, s.store.SetRundown(ctx, scope(ctx, auth.PermBroadcastWrite), &r))
		})
	handle(s, get("/api/v1/broadcast/library", auth.PermBroadcastRead), "list-library", "Songs and clips, with their measured duration and loudness", "broadcast",
		func(ctx context.Context, in *PageParams) (*listBody[broadcast.Track], error) {
			return list(s.store.ListTracks(ctx, scope(ctx, auth.PermBroadcastRead), in.Community, in.page()))
		})
	handle(s, get("/api/v1/broadcast/asrun", auth.PermBroadcastRead), "list-asrun", "What went out on the loudspeakers, newest first", "broadcast",
		func(ctx context.Context, in *struct {
			PageParams
			Zone  int64     `query:"zone" doc:"Only this zone"`
			Since time.Time `query:"since" doc:"Only from then on"`
		}) (*listBody[broadcast.AsRun], error) {
			return list(s.store.ListAsRun(ctx, scope(ctx, auth.PermBroadcastRead), broadcast.AsRunFilter{CommunityID: in.Community, ZoneID: in.Zone, Since: in.Since, Page: in.page()}))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/broadcast/emergency", Permission: auth.PermBroadcastEmergency}, "broadcast-emergency",
		"Cut into the loudspeakers of the zones named: urgent within 2 seconds, non-urgent after the current item", "broadcast",
		func(ctx context.Context, in *struct{ Body emergencyBody }) (*itemBody[broadcast.Emergency], error) {
			if s.broadcast == nil {
				return nil, errNoBroadcast
			}
			c, err := s.transferCommunity(ctx, auth.PermBroadcastEmergency, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			b := in.Body
			e := broadcast.Emergency{CommunityID: c, ZoneIDs: b.ZoneIDs, Text: b.Text, Level: b.Level, WarningLevel: b.WarningLevel, Status: b.Status, Repeat: b.Repeat}
			if err := s.store.CreateEmergency(ctx, scope(ctx, auth.PermBroadcastEmergency), &e); err != nil {
				return nil, err
			}
			return item(e, s.broadcast.Announce(ctx, e))
		})

	handle(s, get("/api/v1/broadcast/dedications", auth.PermBroadcastDedicate), "list-dedications", "Song requests, newest first: the community's for broadcasters, a resident's own", "broadcast",
		func(ctx context.Context, in *struct {
			PageParams
			Status string `query:"status" enum:"pending,approved,rejected,aired,"`
		}) (*listBody[broadcast.Dedication], error) {
			return list(s.store.ListDedications(ctx, scope(ctx, auth.PermBroadcastDedicate), auth.ActorFrom(ctx).User.ID, in.Community, in.Status, in.page()))
		})
	handle(s, post("/api/v1/broadcast/dedications", auth.PermBroadcastDedicate), "request-dedication", "Request a song for someone (点歌); the broadcaster approves it into a slot", "broadcast",
		func(ctx context.Context, in *struct{ Body dedicationBody }) (*itemBody[broadcast.Dedication], error) {
			c, err := s.transferCommunity(ctx, auth.PermBroadcastDedicate, in.Body.CommunityID)
			if err != nil {
				return nil, err
			}
			b := in.Body
			d := broadcast.Dedication{CommunityID: c, TrackID: b.TrackID, Song: b.Song, For: b.For, Occasion: b.Occasion, Message: b.Message, Day: b.Day}
			return item(d, s.store.RequestDedication(ctx, scope(ctx, auth.PermBroadcastDedicate), &d))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/broadcast/dedications/{id}/approve", Permission: auth.PermBroadcastWrite, OK: true}, "approve-dedication",
		"Approve a song request: it joins the slot's rundown as a dedication", "broadcast",
		func(ctx context.Context, in *struct {
			IDParam
			Body struct {
				SlotID  int64  `json:"slot_id" minimum:"1" doc:"The slot it plays in"`
				TrackID int64  `json:"track_id,omitempty" doc:"The library's song; the request's own when it named one"`
				Note    string `json:"note,omitempty" maxLength:"200"`
			}
		}) (*itemBody[broadcast.Dedication], error) {
			return item(s.store.DecideDedication(ctx, scope(ctx, auth.PermBroadcastWrite), in.ID, true, in.Body.SlotID, in.Body.TrackID, in.Body.Note))
		})
	handle(s, Route{Method: http.MethodPost, Path: "/api/v1/broadcast/dedications/{id}/reject", Permission: auth.PermBroadcastWrite, OK: true}, "reject-dedication",
		"Turn a song request down, saying why", "broadcast",
		func(ctx context.Context, in *struct {
			IDParam
			Body struct {
				Note string `json:"note" minLength:"1" maxLength:"200" doc:"Why, for the resident"`
			}
		}) (*itemBody[broadcast.Dedication], error) {
			return item(s.store.DecideDedication(ctx, scope(ctx, auth.PermBroadcastWrite), in.ID, false, 0, 0, in.Body.Note))
		})

	s.rawRoute(Route{Method: http.MethodPost, Path: "/api/v1/broadcast/library", Permission: auth.PermBroadcastWrite}, s.addTrack)
	s.mediaDownload(Route{Method: http.MethodGet, Path: "/api/v1/broadcast/library/{id}/audio", Permission: auth.PermBroadcastRead}, "",
		func(ctx context.Context, a *auth.Actor, id, _ int64) (media.Media, error) {
			t, err := s.store.Track(ctx, a.Scope(auth.PermBroadcastRead), id)
			return media.Media{ContentType: t.ContentType, Size: t.Size, SHA256: t.SHA256, CreatedAt: t.CreatedAt}, err
		}, nil)

	s.mux.HandleFunc("GET /broadcast/zones/{code}/stream", s.zoneStream)
}

// audioIn is how library audio comes in.
var audioIn = mediaIn{Kind: media.Audio, Field: "file", Refused: "must be MP3, Ogg, WAV or FLAC audio"}

// addTrack takes a song or clip (the body itself, or the field "file" of
// a form; ?title= and ?artist= or the file's own tags name it), measures
// it and adds it to the library.
func (s *Server) addTrack(w http.ResponseWriter, r *http.Request, a *auth.Actor) error {
	ctx := r.Context()
	var asked int64
	if v := r.URL.Query().Get("community"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return shequ.Invalid(map[string]string{"community": "must be a number"})
		}
		asked = n
	}
	c, err := s.transferCommunity(ctx, auth.PermBroadcastWrite, asked)
	if err != nil {
		return err
	}
	up, err := s.receiveMedia(w, r, audioIn)
	if err != nil {
		return err
	}
	up.CreatedBy = a.User.ID
	var t broadcast.Track
	err = s.keepMedia(ctx, up.Media, func(m media.Media) error {
		if s.broadcast == nil {
			return errNoBroadcast
		}
		blob, err := s.blobs.Open(ctx, m.SHA256)
		if err != nil {
			return err
		}
		info, err := s.broadcast.Probe(ctx, blob)
		blob.Close()
		if err != nil {
			return err
		}
		q := r.URL.Query()
		t = broadcast.Track{CommunityID: c, Title: q.Get("title"), Artist: q.Get("artist"), Seconds: info.Seconds, LUFS: info.LUFS}
		if t.Title == "" {
			t.Title = info.Title
		}
		if t.Title == "" {
			t.Title = up.Name
		}
		if t.Artist == "" {
			t.Artist = info.Artist
		}
		return s.store.AddTrack(ctx, a.Scope(auth.PermBroadcastWrite), &t, m)
	})
	if err != nil {
		return err
	}
	s.changed()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Location", "/api/v1/broadcast/library/"+strconv.FormatInt(t.ID, 10)+"/audio")
	w.WriteHeader(http.StatusCreated)
	return jsonEncode(w, t)
}

// zoneStream sends a zone's MP3 stream for as long as the listener stays:
// what its loudspeakers play. Like the loudspeakers in the street, it
// needs no sign-in. ?community= picks the community when several have a
// zone of that code.
func (s *Server) zoneStream(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		p := problemOf(err)
		if p.Status >= 500 {
			s.log.Error("zone stream", "err", err)
		}
		writeProblem(w, p)
	}
	if s.broadcast == nil {
		fail(errNoBroadcast)
		return
	}
	var c int64
	if v := r.URL.Query().Get("community"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			fail(shequ.Invalid(map[string]string{"community": "must be a number"}))
			return
		}
		c = n
	}
	z, err := s.store.ZoneByCode(r.Context(), c, r.PathValue("code"))
	if err != nil {
		fail(err)
		return
	}
	chunks, err := s.broadcast.ListenAs(r.Context(), z.ID, broadcast.Listener{Addr: s.clientIP(r), UserAgent: r.UserAgent()})
	if err != nil {
		fail(err)
		return
	}
	rc := http.NewResponseController(w)
	// A loudspeaker listens for days: no deadline on the request.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "audio/mpeg")
	h.Set("Cache-Control", "no-store")
	h.Set("Ice-Name", z.Name)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.stopStreams:
			return
		case b, ok := <-chunks:
			if !ok {
				return
			}
			_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if _, err := w.Write(b); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
		}
	}
}
