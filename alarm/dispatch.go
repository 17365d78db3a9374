package alarm

import (
	"math"
	"slices"
	"sort"
	"time"
)

// StaffPosition is where a staff member last said they were.
type StaffPosition struct {
	UserID     int64     `json:"user_id"`
	Name       string    `json:"name"`
	Lat        float64   `json:"lat"`
	Lng        float64   `json:"lng"`
	OnDuty     bool      `json:"on_duty"`
	ReportedAt time.Time `json:"reported_at"`
}

// Candidate is someone who could be sent to an incident, best first.
type Candidate struct {
	UserID int64   `json:"user_id"`
	Name   string  `json:"name"`
	Reason string  `json:"reason"` // grid_worker or nearest
	Meters float64 `json:"meters,omitempty"`
}

// DefaultAcceptTimeout is how long a dispatched staff member has to accept
// before the next candidate is offered the incident.
const DefaultAcceptTimeout = 2 * time.Minute

// PositionMaxAge is how old a reported position may be and still count:
// someone who last reported hours ago may be anywhere.
const PositionMaxAge = 2 * time.Hour

// Candidates ranks who to send to a home: the grid worker of its grid
// first (they know the home), then on-duty staff by straight-line distance
// from their latest recent position. People in exclude (already offered)
// are left out.
func Candidates(lat, lng float64, gridWorker int64, gridWorkerName string, staff []StaffPosition, exclude []int64, now time.Time) []Candidate {
	var out []Candidate
	if gridWorker != 0 && !slices.Contains(exclude, gridWorker) {
		out = append(out, Candidate{UserID: gridWorker, Name: gridWorkerName, Reason: "grid_worker"})
	}
	var near []Candidate
	for _, s := range staff {
		if !s.OnDuty || s.UserID == gridWorker || slices.Contains(exclude, s.UserID) || now.Sub(s.ReportedAt) > PositionMaxAge {
			continue
		}
		near = append(near, Candidate{UserID: s.UserID, Name: s.Name, Reason: "nearest", Meters: Distance(lat, lng, s.Lat, s.Lng)})
	}
	sort.SliceStable(near, func(i, j int) bool { return near[i].Meters < near[j].Meters })
	return append(out, near...)
}

// Distance returns the great-circle distance in metres (haversine).
func Distance(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371000
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

// Durations of one incident's handling; nil when the step did not happen.
func handling(i Incident) (ack, dispatch, arrive *time.Duration) {
	d := func(t *time.Time) *time.Duration {
		if t == nil {
			return nil
		}
		v := t.Sub(i.OpenedAt)
		return &v
	}
	return d(i.AckAt), d(i.DispatchedAt), d(i.ArrivedAt)
}

// HandlingRow is one line of the handling-time report: one operator, or
// one day.
type HandlingRow struct {
	Key       string  `json:"key"` // operator user id or day (YYYY-MM-DD)
	Incidents int     `json:"incidents"`
	AckP50    float64 `json:"ack_p50_seconds"`
	AckP90    float64 `json:"ack_p90_seconds"`
	DispP50   float64 `json:"dispatch_p50_seconds"`
	DispP90   float64 `json:"dispatch_p90_seconds"`
	ArriveP50 float64 `json:"arrive_p50_seconds"`
	ArriveP90 float64 `json:"arrive_p90_seconds"`
}

// HandlingStats reports time to acknowledge, to dispatch and to arrive,
// from the incident's opening, per operator (who acknowledged) and per
// day (in loc), as alarm receiving centres report them.
func HandlingStats(incidents []Incident, loc *time.Location) (byOperator, byDay []HandlingRow) {
	type acc struct {
		ack, disp, arrive []float64
		n                 int
	}
	ops, days := map[string]*acc{}, map[string]*acc{}
	add := func(m map[string]*acc, key string, i Incident) {
		a := m[key]
		if a == nil {
			a = &acc{}
			m[key] = a
		}
		a.n++
		ack, disp, arr := handling(i)
		if ack != nil {
			a.ack = append(a.ack, ack.Seconds())
		}
		if disp != nil {
			a.disp = append(a.disp, disp.Seconds())
		}
		if arr != nil {
			a.arrive = append(a.arrive, arr.Seconds())
		}
	}
	for _, i := range incidents {
		if i.AckBy != 0 {
			add(ops, itoa(i.AckBy), i)
		}
		add(days, i.OpenedAt.In(loc).Format(time.DateOnly), i)
	}
	rows := func(m map[string]*acc) []HandlingRow {
		out := []HandlingRow{}
		for k, a := range m {
			out = append(out, HandlingRow{Key: k, Incidents: a.n,
				AckP50: quantile(a.ack, .5), AckP90: quantile(a.ack, .9),
				DispP50: quantile(a.disp, .5), DispP90: quantile(a.disp, .9),
				ArriveP50: quantile(a.arrive, .5), ArriveP90: quantile(a.arrive, .9)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
		return out
	}
	return rows(ops), rows(days)
}

// quantile returns the q-quantile (nearest rank) of xs, 0 when empty.
func quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(i, 0)]
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
