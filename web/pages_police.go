package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
)

// The alarm history: the incidents of the community the reader may see,
// newest first, filtered by state (closed by default) and by the days they
// were opened, with where, what, how it ended and how long each step took.
// The community police officer reads it; so may the centre.

func (s *Server) registerPolicePages() {
	s.pageRoute("GET /alarms", "/alarms", auth.PermAlarmRead, s.alarmHistoryPage)
}

type historyIncident struct {
	ID                              int64
	Opened, Kind, Place, StatusWord string
	Resolution, Ack, Arrive         string
	Open                            bool
}

type alarmHistoryBody struct {
	Status, From, To string
	Statuses         []string
	Error            string
	Rows             []historyIncident
	Pager            pager
	CanConsole       bool
}

// historyStatuses are the choices of the state filter: "resolved" (closed
// alarms) is the default, "open" those still being handled, "all" both.
var historyStatuses = []string{"resolved", "open", "all"}

func (s *Server) alarmHistoryPage(r *http.Request, p *pageData) (string, error) {
	if !canWatch(p.Actor) {
		return "", shequ.Errorf(shequ.EFORBIDDEN, "the alarm history is for those who watch the community")
	}
	ctx, q := r.Context(), r.URL.Query()
	p.Title = p.L.T("alarms.title")
	b := alarmHistoryBody{Status: "resolved", Statuses: historyStatuses, From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to")), CanConsole: true}
	if st := q.Get("status"); st == "open" || st == "all" {
		b.Status = st
	}
	f := alarm.IncidentFilter{Status: b.Status}
	if b.Status == "all" {
		f.Status = ""
	}
	if b.From != "" {
		d, err := time.ParseInLocation(time.DateOnly, b.From, p.zone)
		if err != nil {
			b.Error = p.L.T("alarms.error.date")
		}
		f.Since = d
	}
	if b.To != "" {
		d, err := time.ParseInLocation(time.DateOnly, b.To, p.zone)
		if err != nil {
			b.Error = p.L.T("alarms.error.date")
		}
		f.Until = d.AddDate(0, 0, 1)
	}
	if b.Error != "" {
		p.Body = b
		return "staff/alarms", nil
	}
	sc := p.Actor.Scope(auth.PermAlarmRead).Restrict(p.communityID)
	l, n, err := listPage(q, func(pg shequ.Page) (shequ.List[alarm.Incident], error) {
		f.Page = pg
		return s.store.ListIncidents(ctx, sc, f)
	})
	if err != nil {
		return "", err
	}
	for _, inc := range l.Items {
		row := historyIncident{ID: inc.ID, Opened: p.Date(inc.OpenedAt), Kind: kindWord(p.L, inc.Kind), Place: incidentRow{Incident: inc}.Place(),
			StatusWord: p.L.Or("alarm.status."+inc.Status, inc.Status), Open: inc.Open()}
		if inc.Resolution != "" {
			row.Resolution = p.L.Or("alarm.res."+inc.Resolution, inc.Resolution)
		}
		if inc.AckAt != nil {
			row.Ack = seconds(p, inc.AckAt.Sub(inc.OpenedAt).Seconds())
		}
		if inc.ArrivedAt != nil {
			row.Arrive = seconds(p, inc.ArrivedAt.Sub(inc.OpenedAt).Seconds())
		}
		b.Rows = append(b.Rows, row)
	}
	b.Pager = newPager("/alarms", q, []string{"status", "from", "to"}, n, l.Total)
	p.Body = b
	return "staff/alarms", nil
}
