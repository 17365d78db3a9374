package web

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/alarm"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/matter"
	"github.com/shequ/shequ/transfer"
)

// The dashboard's operations figures, beside the associations': how fast
// the monitoring centre handled alarms over the period (time to
// acknowledge, to dispatch, to arrive, the median and the slowest tenth,
// per operator and per day) and the matters (how many came in, were
// handled and missed their due time, and how residents rated them, per
// category). Each table downloads as CSV or XLSX.

// opsStore is what the operations figures need beyond the alarm and
// matter stores.
type opsStore interface {
	MatterFigures(ctx context.Context, scope auth.Scope, community int64, since, until time.Time) ([]matter.CategoryFigures, error)
}

// handlingLine is one row of the handling-times table.
type handlingLine struct {
	Name, Incidents                string
	Ack, AckSlow, Dispatch, Arrive string
}

// matterLine is one category's row of the matters table.
type matterLine struct {
	Name, Submitted, Resolved, Overdue, Satisfaction string
	OverdueHigh                                      bool
}

// handlingTable is the handling times per operator or per day.
type handlingTable struct {
	ID, Title, Head string
	Rows            []handlingLine
}

type opsFigures struct {
	Handling   []handlingTable
	Matters    []matterLine
	AlarmCSV   string
	AlarmXLSX  string
	MatterCSV  string
	MatterXLSX string
}

// statsPeriod turns the dashboard's YYYY-MM-DD period into times in the
// community's zone: from its first moment to the end of its last day.
func statsPeriod(p *pageData, from, to string) (time.Time, time.Time, error) {
	since, err := time.ParseInLocation(time.DateOnly, from, p.zone)
	if err != nil {
		return since, since, shequ.Invalid(map[string]string{"from": "must be a date like 2026-11-28"})
	}
	last, err := time.ParseInLocation(time.DateOnly, to, p.zone)
	if err != nil || last.Before(since) {
		return since, since, shequ.Invalid(map[string]string{"to": "must be a date on or after from"})
	}
	return since, last.AddDate(0, 0, 1), nil
}

// incidentsOpened returns the incidents scope reaches opened in [since,
// until), page by page.
func (s *Server) incidentsOpened(ctx context.Context, sc auth.Scope, since, until time.Time) ([]alarm.Incident, error) {
	var all []alarm.Incident
	for off := 0; ; off += shequ.MaxLimit {
		l, err := s.store.ListIncidents(ctx, sc, alarm.IncidentFilter{Since: since, Until: until, Page: shequ.Page{Limit: shequ.MaxLimit, Offset: off}})
		if err != nil {
			return nil, err
		}
		all = append(all, l.Items...)
		if off+shequ.MaxLimit >= l.Total || off >= 100_000 {
			return all, nil
		}
	}
}

// seconds writes a duration for the table: "1分05秒"; "–" when the step
// never happened.
func seconds(p *pageData, s float64) string {
	if s <= 0 {
		return "–"
	}
	n := int(s + 0.5)
	if n < 60 {
		return p.L.T("ops.seconds", n)
	}
	if n < 3600 {
		return p.L.T("ops.minutes", n/60, n%60)
	}
	return p.L.T("ops.hours", n/3600, n/60%60)
}

// handlingFigures computes the alarm handling tables over the period.
func (s *Server) handlingFigures(r *http.Request, p *pageData, since, until time.Time) (byOperator, byDay []alarm.HandlingRow, names map[string]string, err error) {
	ctx := r.Context()
	sc := p.Actor.Scope(auth.PermIncidentHandle).Restrict(p.communityID)
	all, err := s.incidentsOpened(ctx, sc, since, until)
	if err != nil {
		return nil, nil, nil, err
	}
	byOperator, byDay = alarm.HandlingStats(all, p.zone)
	names = map[string]string{}
	if p.Actor.Can(auth.PermStaffRead) {
		staff, err := s.store.ListStaff(ctx, p.Actor.Scope(auth.PermStaffRead), shequ.Page{Limit: shequ.MaxLimit})
		if err != nil {
			return nil, nil, nil, err
		}
		for _, u := range staff.Items {
			name := u.DisplayName
			if name == "" {
				name = u.Username
			}
			names[strconv.FormatInt(u.ID, 10)] = name
		}
	}
	return byOperator, byDay, names, nil
}

func handlingLines(p *pageData, rows []alarm.HandlingRow, names map[string]string) []handlingLine {
	out := make([]handlingLine, 0, len(rows))
	for _, h := range rows {
		name := h.Key
		if names != nil {
			name = names[h.Key]
			if name == "" {
				name = p.L.T("ops.operator.unknown", h.Key)
			}
		}
		out = append(out, handlingLine{Name: name, Incidents: p.L.Num(h.Incidents), Ack: seconds(p, h.AckP50), AckSlow: seconds(p, h.AckP90),
			Dispatch: seconds(p, h.DispP50), Arrive: seconds(p, h.ArriveP50)})
	}
	return out
}

func figuresName(p *pageData, c matter.CategoryFigures) string {
	if p.L.Tag == langEn && c.NameEn != "" {
		return c.NameEn
	}
	return c.Name
}

func satisfaction(p *pageData, c matter.CategoryFigures) string {
	if c.Rated == 0 {
		return "–"
	}
	return p.L.T("ops.satisfaction.cell", strconv.FormatFloat(c.Satisfaction(), 'f', 1, 64), p.L.Num(c.Rated))
}

// operationsFigures adds the alarm and matter figures of the period to
// the dashboard, each for those who handle them.
func (s *Server) operationsFigures(r *http.Request, p *pageData, b *statsBody) error {
	since, until, err := statsPeriod(p, b.From, b.To)
	if err != nil {
		return err
	}
	period := "?from=" + b.From + "&to=" + b.To + "&lang=" + exportLang(p)
	if p.Actor.Can(auth.PermIncidentHandle) {
		ops, days, names, err := s.handlingFigures(r, p, since, until)
		if err != nil {
			return err
		}
		b.Ops.Handling = []handlingTable{
			{ID: "handling-operators", Title: p.L.T("ops.by.operator"), Head: p.L.T("ops.col.operator"), Rows: handlingLines(p, ops, names)},
			{ID: "handling-days", Title: p.L.T("ops.by.day"), Head: p.L.T("ops.col.day"), Rows: handlingLines(p, days, nil)},
		}
		b.Ops.AlarmCSV, b.Ops.AlarmXLSX = "/stats/alarms/csv"+period, "/stats/alarms/xlsx"+period
	}
	if p.Actor.Can(auth.PermMatterHandle) {
		ms, err := s.store.MatterFigures(r.Context(), p.Actor.Scope(auth.PermMatterRead), p.communityID, since, until)
		if err != nil {
			return err
		}
		for _, c := range ms {
			b.Ops.Matters = append(b.Ops.Matters, matterLine{Name: figuresName(p, c), Submitted: p.L.Num(c.Submitted), Resolved: p.L.Num(c.Resolved),
				Overdue: p.L.Num(c.Overdue), OverdueHigh: c.Overdue > 0, Satisfaction: satisfaction(p, c)})
		}
		b.Ops.MatterCSV, b.Ops.MatterXLSX = "/stats/matters/csv"+period, "/stats/matters/xlsx"+period
	}
	return nil
}

func exportLang(p *pageData) string {
	if p.L.Tag == langEn {
		return "en"
	}
	return "zh"
}

// --- exports ---

var handlingColumns = []transfer.Column{
	{Key: "table", Zh: "分组"},
	{Key: "key", Zh: "值班员或日期"},
	{Key: "incidents", Zh: "报警数", Numeric: true},
	{Key: "ack_p50_seconds", Zh: "确认用时中位数（秒）", Numeric: true},
	{Key: "ack_p90_seconds", Zh: "确认用时90%（秒）", Numeric: true},
	{Key: "dispatch_p50_seconds", Zh: "派员用时中位数（秒）", Numeric: true},
	{Key: "dispatch_p90_seconds", Zh: "派员用时90%（秒）", Numeric: true},
	{Key: "arrive_p50_seconds", Zh: "到场用时中位数（秒）", Numeric: true},
	{Key: "arrive_p90_seconds", Zh: "到场用时90%（秒）", Numeric: true},
}

var matterColumns = []transfer.Column{
	{Key: "category", Zh: "类别"},
	{Key: "submitted", Zh: "受理数", Numeric: true},
	{Key: "resolved", Zh: "办结数", Numeric: true},
	{Key: "overdue", Zh: "超期数", Numeric: true},
	{Key: "rated", Zh: "评价数", Numeric: true},
	{Key: "satisfaction", Zh: "平均满意度（1–5）", Numeric: true},
}

// opsExport writes one of the operations tables as a file of the format
// the address names.
func (s *Server) opsExport(table string) downloadFunc {
	return func(w http.ResponseWriter, r *http.Request, p *pageData) error {
		ctx, q := r.Context(), r.URL.Query()
		format := transfer.Format(r.PathValue("format"))
		if format != transfer.CSV && format != transfer.XLSX {
			return shequ.Errorf(shequ.ENOTFOUND, "no such file")
		}
		lang := transfer.Lang(q.Get("lang"))
		since, until, err := statsPeriod(p, q.Get("from"), q.Get("to"))
		if err != nil {
			return err
		}
		var t transfer.Table
		switch table {
		case "alarms":
			if !p.Actor.Can(auth.PermIncidentHandle) {
				return shequ.Errorf(shequ.EFORBIDDEN, "handling times are for the monitoring centre")
			}
			ops, days, names, err := s.handlingFigures(r, p, since, until)
			if err != nil {
				return err
			}
			t = transfer.Table{Sheet: "报警处理用时", Columns: handlingColumns, Lang: lang}
			row := func(group, key string, h alarm.HandlingRow) transfer.Row {
				f := func(x float64) string { return strconv.FormatFloat(x, 'f', 0, 64) }
				return transfer.Row{Values: map[string]string{"table": group, "key": key, "incidents": strconv.Itoa(h.Incidents),
					"ack_p50_seconds": f(h.AckP50), "ack_p90_seconds": f(h.AckP90), "dispatch_p50_seconds": f(h.DispP50),
					"dispatch_p90_seconds": f(h.DispP90), "arrive_p50_seconds": f(h.ArriveP50), "arrive_p90_seconds": f(h.ArriveP90)}}
			}
			for _, h := range ops {
				name := names[h.Key]
				if name == "" {
					name = h.Key
				}
				t.Rows = append(t.Rows, row(p.L.T("ops.by.operator"), name, h))
			}
			for _, h := range days {
				t.Rows = append(t.Rows, row(p.L.T("ops.by.day"), h.Key, h))
			}
		case "matters":
			ms, err := s.store.MatterFigures(ctx, p.Actor.Scope(auth.PermMatterRead), p.communityID, since, until)
			if err != nil {
				return err
			}
			t = transfer.Table{Sheet: "事项统计", Columns: matterColumns, Lang: lang}
			for _, c := range ms {
				sat := ""
				if c.Rated > 0 {
					sat = strconv.FormatFloat(c.Satisfaction(), 'f', 2, 64)
				}
				t.Rows = append(t.Rows, transfer.Row{Values: map[string]string{"category": figuresName(p, c), "submitted": strconv.Itoa(c.Submitted),
					"resolved": strconv.Itoa(c.Resolved), "overdue": strconv.Itoa(c.Overdue), "rated": strconv.Itoa(c.Rated), "satisfaction": sat}})
			}
		}
		if lang == transfer.English {
			t.Sheet = table
		}
		var buf bytes.Buffer
		if err := transfer.WriteTable(&buf, format, t); err != nil {
			return fmt.Errorf("export %s: %w", table, err)
		}
		if err := s.store.RecordExport(ctx, p.communityID, table+"_stats", len(t.Rows), false); err != nil {
			return err
		}
		name := fmt.Sprintf("%s-%s-%s.%s", table, q.Get("from"), q.Get("to"), format)
		w.Header().Set("Content-Type", format.ContentType())
		w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
		w.Write(buf.Bytes())
		return nil
	}
}

func (s *Server) registerOpsExports() {
	s.downloadRoute("GET /stats/alarms/{format}", "/stats", auth.PermIncidentHandle, s.opsExport("alarms"))
	s.downloadRoute("GET /stats/matters/{format}", "/stats", auth.PermMatterHandle, s.opsExport("matters"))
}
