package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
)

// The statistics dashboard: the figures the associations report over a
// period — individual and group services, people served, residents placed
// in work, mediations — per association and for the community, each set
// with a bar chart drawn on the server (an SVG rectangle per bar, sized by
// its attributes: the page's policy allows no inline style) and the same
// numbers as a table, which is what a screen reader reads. The table
// downloads as CSV or XLSX from the statistics API.

// barRow is one bar of a chart: its label, its number and its length in
// per cent of the longest.
type barRow struct {
	Label string
	N     int
	Pct   int
}

// bars turns numbers into bars scaled to the largest.
func bars(labels []string, ns []int) []barRow {
	top := 0
	for _, n := range ns {
		top = max(top, n)
	}
	out := make([]barRow, len(ns))
	for i, n := range ns {
		out[i] = barRow{Label: labels[i], N: n}
		if top > 0 {
			out[i].Pct = n * 100 / top
		}
	}
	return out
}

// chart is a titled set of bars with its table's column names.
type chart struct {
	ID, Title        string
	LabelHead, NHead string
	Rows             []barRow
}

// card is one figure at the top of the dashboard.
type card struct {
	ID, Label, Value string
}

// statsLine is one association's figures (or the total) in the table.
type statsLine struct {
	Name                                       string
	Individual, Group, PeopleServed, Placement string
	Mediations, Eligible                       string
	Total                                      bool
}

type statsBody struct {
	From, To    string
	Error       string
	Cards       []card
	Lines       []statsLine
	Charts      []chart
	CSV, XLSX   string
	PeriodWords string
	// Ops are the alarm and matter figures, for those who handle them.
	Ops opsFigures
}

func (s *Server) statsPage(r *http.Request, p *pageData) (string, error) {
	ctx, q := r.Context(), r.URL.Query()
	b := statsBody{From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	f := assoc.StatsFilter{CommunityID: p.communityID, From: b.From, To: b.To}
	acc := access(ctx, auth.PermStatsRead)
	st, err := s.store.AssociationStats(ctx, acc, f)
	if shequ.ErrorCode(err) == shequ.EINVALID {
		// A period typed wrong: say so and show this year's.
		b.Error = p.L.T("stats.error.period")
		f.From, f.To = "", ""
		st, err = s.store.AssociationStats(ctx, acc, f)
	}
	if err != nil {
		return "", err
	}
	b.From, b.To = st.Period.From, st.Period.To
	b.PeriodWords = p.L.T("stats.period", st.Period.From, st.Period.To)
	lang := "zh"
	if p.L.Tag == langEn {
		lang = "en"
	}
	for _, format := range []string{"csv", "xlsx"} {
		link := "/api/v1/stats/associations?" + url.Values{"from": {b.From}, "to": {b.To}, "format": {format}, "lang": {lang}}.Encode()
		if format == "csv" {
			b.CSV = link
		} else {
			b.XLSX = link
		}
	}
	t := st.Total
	b.Cards = append(b.Cards,
		card{ID: "individual-count", Label: p.L.T("stats.individual"), Value: p.L.Num(t.Individual)},
		card{ID: "group-count", Label: p.L.T("stats.group"), Value: p.L.Num(t.Group)},
		card{ID: "people-count", Label: p.L.T("stats.people"), Value: p.L.Num(t.PeopleServed)},
		card{ID: "placed-count", Label: p.L.T("stats.placed"), Value: p.L.Num(t.Placements)})

	var names []string
	var services []int
	line := func(a assoc.AssociationStats, total bool) statsLine {
		name := associationName(p, a)
		if total {
			name = p.L.T("stats.total")
		}
		return statsLine{Name: name, Individual: p.L.Num(a.Individual), Group: p.L.Num(a.Group), PeopleServed: p.L.Num(a.PeopleServed), Placement: p.L.Num(a.Placements),
			Mediations: p.L.T("stats.mediations.cell", p.L.Num(a.Mediations.Agreed), p.L.Num(a.Mediations.Concluded)), Eligible: p.L.Num(a.EligibleUncovered), Total: total}
	}
	for _, a := range st.Associations {
		l := line(a, false)
		b.Lines = append(b.Lines, l)
		names, services = append(names, l.Name), append(services, a.Individual+a.Group)
	}
	b.Lines = append(b.Lines, line(t, true))
	b.Charts = append(b.Charts, chart{ID: "associations", Title: p.L.T("stats.byassociation.title"), LabelHead: p.L.T("stats.col.association"), NHead: p.L.T("stats.col.services"), Rows: bars(names, services)})

	months := make([]string, len(t.Months))
	served, placed := make([]int, len(t.Months)), make([]int, len(t.Months))
	for i, m := range t.Months {
		months[i] = monthWords(p, m.Month)
		served[i], placed[i] = m.Individual+m.Group, m.Placements
	}
	b.Charts = append(b.Charts,
		chart{ID: "months", Title: p.L.T("stats.months.services"), LabelHead: p.L.T("stats.col.month"), NHead: p.L.T("stats.col.services"), Rows: bars(months, served)},
		chart{ID: "placements", Title: p.L.T("stats.months.placed"), LabelHead: p.L.T("stats.col.month"), NHead: p.L.T("stats.col.placed"), Rows: bars(months, placed)})

	to, _ := time.ParseInLocation(time.DateOnly, st.Period.To, p.zone)
	if err := s.partnerFigures(r, p, &b, to.Year()); err != nil {
		return "", err
	}
	mediationFigures(p, &b, st)
	eligibleFigures(p, &b, st)
	if err := s.operationsFigures(r, p, &b); err != nil {
		return "", err
	}
	p.Title = p.L.T("stats.title")
	p.Body = b
	return "assoc/stats", nil
}

// monthWords writes a YYYY-MM month in the page's language.
func monthWords(p *pageData, month string) string {
	y, m, ok := strings.Cut(month, "-")
	n, err := strconv.Atoi(m)
	if !ok || err != nil || n < 1 || n > 12 {
		return month
	}
	return p.L.T("stats.yearmonth", y, p.L.T("month."+strconv.Itoa(n)))
}

// partnerFigures adds who placed the residents placed in year: each
// partner, and the associations themselves.
func (s *Server) partnerFigures(r *http.Request, p *pageData, b *statsBody, year int) error {
	ps, err := s.store.PlacementStats(r.Context(), access(r.Context(), auth.PermLedgerRead), p.communityID, year)
	if err != nil {
		return err
	}
	var names []string
	var counts []int
	for _, pc := range ps.ByPartner {
		name := pc.Name
		if pc.PartnerID == 0 {
			name = p.L.T("stats.byassociation")
		}
		names, counts = append(names, name), append(counts, pc.Residents)
	}
	if len(names) > 0 {
		yt := strconv.Itoa(year)
		b.Charts = append(b.Charts, chart{ID: "partners", Title: p.L.T("stats.partners", yt), LabelHead: p.L.T("stats.col.partner"), NHead: p.L.T("stats.col.placed"), Rows: bars(names, counts)})
	}
	return nil
}

// mediationFigures adds the period's mediations: cases opened and
// concluded, the share that ended in agreement, and each association's.
func mediationFigures(p *pageData, b *statsBody, st assoc.ServiceStats) {
	m := st.Total.Mediations
	rate := "–"
	if m.Concluded > 0 {
		rate = p.L.T("stats.percent", strconv.Itoa(int(m.SuccessRate*100+0.5)))
	}
	b.Cards = append(b.Cards, card{ID: "mediations-opened", Label: p.L.T("stats.mediations.opened"), Value: p.L.Num(m.Opened)},
		card{ID: "mediations-concluded", Label: p.L.T("stats.mediations.concluded"), Value: p.L.Num(m.Concluded)},
		card{ID: "mediations-rate", Label: p.L.T("stats.mediations.rate"), Value: rate})
	var names []string
	var counts []int
	for _, a := range st.Associations {
		c := a.Mediations
		if c.Concluded == 0 && c.Opened == 0 {
			continue
		}
		name := associationName(p, a)
		if c.Concluded > 0 {
			name = p.L.T("stats.mediations.row", name, p.L.Num(c.Agreed), p.L.Num(c.Concluded))
		}
		names, counts = append(names, name), append(counts, c.Concluded)
	}
	if len(names) > 0 {
		b.Charts = append(b.Charts, chart{ID: "mediations", Title: p.L.T("stats.mediations"), LabelHead: p.L.T("stats.col.association"), NHead: p.L.T("stats.col.concluded"), Rows: bars(names, counts)})
	}
}

// eligibleFigures adds, as of today, the residents who appear eligible
// for an assistance policy and are not covered, policy by policy.
func eligibleFigures(p *pageData, b *statsBody, st assoc.ServiceStats) {
	b.Cards = append(b.Cards, card{ID: "eligible-count", Label: p.L.T("stats.eligible"), Value: p.L.Num(st.Total.EligibleUncovered)})
	var names []string
	var counts []int
	for _, pc := range st.Policies {
		names, counts = append(names, pc.Name), append(counts, pc.Uncovered)
	}
	if len(names) > 0 {
		b.Charts = append(b.Charts, chart{ID: "eligible", Title: p.L.T("stats.eligible.title"), LabelHead: p.L.T("stats.col.policy"), NHead: p.L.T("stats.col.uncovered"), Rows: bars(names, counts)})
	}
}

// associationName names an association's line in the page's language.
func associationName(p *pageData, a assoc.AssociationStats) string {
	if p.L.Tag == langEn && a.NameEn != "" {
		return a.NameEn
	}
	return a.Name
}
