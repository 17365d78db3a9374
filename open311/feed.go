package open311

import (
	"io"
	"strconv"
	"time"

	"github.com/shequ/shequ/matter"
)

// FeedRow is one request of the public feed as the store reads it: what
// the feed shows of a matter and no more. Its free texts are already
// scrubbed (the store keeps them scrubbed since they were written), so a
// listing of a thousand requests scrubs nothing.
type FeedRow struct {
	Tracking    string
	Status      string // the matter's status
	Category    string // the category's code
	Description string // scrubbed
	StatusNote  string // scrubbed
	Address     string // the matter's own address, scrubbed; not shown for a matter at a home
	AtHome      bool   // the matter is at a resident's home: shown at its building
	Lat, Lng    float64
	DueAt       time.Time // zero when there is none
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Place       Place // the building: of the home, or the one address_id named
	MediaURL    string
}

// FeedRowOf is the feed's row of a matter read whole, its texts scrubbed
// here, with the building and media of v.
func FeedRowOf(m matter.Matter, v View) FeedRow {
	return FeedRow{
		Tracking: m.Tracking, Status: m.Status, Category: m.Category,
		Description: Scrub(m.Description), StatusNote: Scrub(m.StatusNote), Address: Scrub(m.Address), AtHome: m.HomeID != 0,
		Lat: m.Lat, Lng: m.Lng, DueAt: m.DueAt, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
		Place: v.Place, MediaURL: v.MediaURL,
	}
}

// Request is the public face of the row (see RequestOf) with the
// category, agency and zone of v; v's place and media are the row's.
func (r *FeedRow) Request(v View) Request {
	var out Request
	lat, lng := new(float64), new(float64)
	r.fill(&out, lat, lng, v.Category.Name, ServiceNotice(v.Category), v.Agency, v.Zone)
	return out
}

// fill writes the row's public face into out: name and notice are the
// category's, lat and lng where the point is kept.
func (r *FeedRow) fill(out *Request, lat, lng *float64, name, notice, agency string, zone *time.Location) {
	if zone == nil {
		zone = time.UTC
	}
	if name == "" {
		name = r.Category
	}
	*out = Request{
		ServiceRequestID:  r.Tracking,
		Status:            StatusOf(r.Status),
		StatusNotes:       NullString(r.StatusNote),
		ServiceName:       name,
		ServiceCode:       r.Category,
		Description:       NullString(r.Description),
		AgencyResponsible: NullString(agency),
		ServiceNotice:     NullString(notice),
		RequestedDatetime: FormatTime(r.CreatedAt, zone),
		UpdatedDatetime:   FormatTime(r.UpdatedAt, zone),
		MediaURL:          NullString(r.MediaURL),
	}
	if !r.DueAt.IsZero() {
		out.ExpectedDatetime = NullString(FormatTime(r.DueAt, zone))
	}
	*lat, *lng = r.Lat, r.Lng
	switch {
	case r.AtHome:
		// The address of a home names its door: show the building only.
		out.Address = NullString(joinPlace(r.Place.Name, r.Place.Address, agency))
	case r.Address != "":
		out.Address = NullString(joinPlace(r.Address, agency))
	}
	if *lat == 0 && *lng == 0 {
		*lat, *lng = r.Place.Lat, r.Place.Lng
	}
	if r.Place.BuildingID != 0 {
		out.AddressID = NullString(strconv.FormatInt(r.Place.BuildingID, 10))
	}
	if *lat != 0 || *lng != 0 {
		out.Lat, out.Long = lat, lng
	}
}

// RequestStream writes a JSON listing of requests while its rows are
// read, a piece at a time, byte for byte what Encode writes for the same
// requests. Nothing reaches the writer until the first piece is full, so
// a failure while reading the first rows can still be answered properly.
type RequestStream struct {
	w      io.Writer
	buf    []byte
	n      int
	sent   bool
	agency string
	zone   *time.Location
	cats   map[string]streamService
	req    Request
	lat    float64
	lng    float64
}

// streamService is what a category gives every request of it.
type streamService struct{ name, notice string }

// streamPiece is how much is buffered before it is written.
const streamPiece = 64 << 10

// NewRequestStream starts a listing to w: the requests of a community
// (agency) whose categories are cats, times shown in zone.
func NewRequestStream(w io.Writer, agency string, zone *time.Location, cats []matter.Category) *RequestStream {
	s := &RequestStream{w: w, agency: agency, zone: zone, cats: make(map[string]streamService, len(cats)), buf: make([]byte, 0, streamPiece+4096)}
	for _, c := range cats {
		s.cats[c.Code] = streamService{c.Name, ServiceNotice(c)}
	}
	return s
}

// Add writes one request.
func (s *RequestStream) Add(r *FeedRow) error {
	svc := s.cats[r.Category]
	r.fill(&s.req, &s.lat, &s.lng, svc.name, svc.notice, s.agency, s.zone)
	if s.n == 0 {
		s.buf = append(s.buf, '[')
	} else {
		s.buf = append(s.buf, ',')
	}
	s.n++
	s.buf = appendRequestJSON(s.buf, &s.req)
	if len(s.buf) >= streamPiece {
		return s.flush()
	}
	return nil
}

// Started reports whether part of the listing has gone to the writer.
func (s *RequestStream) Started() bool { return s.sent }

// Close ends the listing and writes what is left.
func (s *RequestStream) Close() error {
	if s.n == 0 {
		s.buf = append(s.buf, '[')
	}
	s.buf = append(s.buf, "]\n"...)
	return s.flush()
}

func (s *RequestStream) flush() error {
	s.sent = true
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}
