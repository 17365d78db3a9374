package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/shequ/shequ"
	"github.com/shequ/shequ/assoc"
	"github.com/shequ/shequ/auth"
	"github.com/shequ/shequ/sqlstore"
)

// The statistics dashboard: the few figures an association reports, each
// with a bar chart drawn on the server (an SVG rectangle per bar, sized by
// its attributes: the page's policy allows no inline style) and the same
// numbers as a table, which is what a screen reader reads.

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

type statsBody struct {
	Cards []card
	Year  int
	// YearText is the year as written, without a thousands separator.
	YearText   string
	Years      []option
	Placed     int
	Placements int
	Charts     []chart
}

// statsYears is how many years back the period filter offers.
const statsYears = 5

func (s *Server) statsPage(r *http.Request, p *pageData) (string, error) {
	ctx := r.Context()
	read := access(ctx, auth.PermLedgerRead)
	this := s.clock.Now().In(p.zone).Year()
	b := statsBody{Year: this}
	if y, err := strconv.Atoi(r.URL.Query().Get("year")); err == nil && y > this-statsYears && y <= this {
		b.Year = y
	}
	for y := this; y > this-statsYears; y-- {
		b.Years = append(b.Years, option{Value: strconv.Itoa(y), Label: strconv.Itoa(y), Checked: y == b.Year})
	}
	b.YearText = strconv.Itoa(b.Year)
	ps, err := s.store.PlacementStats(ctx, read, p.communityID, b.Year)
	if err != nil {
		return "", err
	}
	b.Placed, b.Placements = ps.ResidentsPlaced, ps.Placements
	b.Cards = append(b.Cards, card{ID: "placed-count", Label: p.L.T("stats.placed", b.YearText), Value: p.L.Num(ps.ResidentsPlaced)},
		card{ID: "placements-count", Label: p.L.T("stats.placements"), Value: p.L.Num(ps.Placements)})
	months := make([]string, 12)
	for i := range months {
		months[i] = p.L.T("month." + strconv.Itoa(i+1))
	}
	month := p.L.T("stats.col.month")
	b.Charts = append(b.Charts, chart{ID: "months", Title: p.L.T("stats.months", b.YearText), LabelHead: month, NHead: p.L.T("stats.col.placed"), Rows: bars(months, ps.ByMonth[:])})
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
		b.Charts = append(b.Charts, chart{ID: "partners", Title: p.L.T("stats.partners", b.YearText), LabelHead: p.L.T("stats.col.partner"), NHead: p.L.T("stats.col.placed"), Rows: bars(names, counts)})
	}

	if err := s.mediationFigures(r, p, &b); err != nil {
		return "", err
	}

	ts, err := s.store.ListLedgerTypes(ctx, read, p.communityID)
	if err != nil {
		return "", err
	}
	names, counts = nil, nil
	for _, t := range ts.Items {
		l, err := s.store.ListEntries(ctx, read, sqlstore.EntryFilter{CommunityID: t.CommunityID, Ledger: t.Key, Status: assoc.EntryActive, Page: shequ.Page{Limit: 1}})
		if err != nil {
			return "", err
		}
		names, counts = append(names, ledgerName(p.L, t)), append(counts, l.Total)
	}
	b.Charts = append(b.Charts, chart{ID: "ledgers", Title: p.L.T("stats.ledgers"), LabelHead: p.L.T("stats.col.ledger"), NHead: p.L.T("stats.col.entries"), Rows: bars(names, counts)})
	p.Title = p.L.T("stats.title")
	p.Body = b
	return "a_stats", nil
}

// mediationFigures adds the year's mediations: cases opened and
// concluded, the share that ended in agreement, and each association's.
func (s *Server) mediationFigures(r *http.Request, p *pageData, b *statsBody) error {
	from := time.Date(b.Year, 1, 1, 0, 0, 0, 0, p.zone)
	ms, err := s.store.MediationStats(r.Context(), access(r.Context(), auth.PermStatsRead), p.communityID, from, from.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	rate := "–"
	if ms.Total.Concluded > 0 {
		rate = p.L.T("stats.percent", strconv.Itoa(int(ms.Total.SuccessRate*100+0.5)))
	}
	b.Cards = append(b.Cards, card{ID: "mediations-opened", Label: p.L.T("stats.mediations.opened"), Value: p.L.Num(ms.Total.Opened)},
		card{ID: "mediations-concluded", Label: p.L.T("stats.mediations.concluded"), Value: p.L.Num(ms.Total.Concluded)},
		card{ID: "mediations-rate", Label: p.L.T("stats.mediations.rate"), Value: rate})
	var names []string
	var counts []int
	for _, c := range ms.Associations {
		if c.Concluded == 0 && c.Opened == 0 {
			continue
		}
		name := c.Name
		if c.Concluded > 0 {
			name = p.L.T("stats.mediations.row", c.Name, p.L.Num(c.Agreed), p.L.Num(c.Concluded))
		}
		names, counts = append(names, name), append(counts, c.Concluded)
	}
	if len(names) > 0 {
		b.Charts = append(b.Charts, chart{ID: "mediations", Title: p.L.T("stats.mediations", b.YearText), LabelHead: p.L.T("stats.col.association"), NHead: p.L.T("stats.col.concluded"), Rows: bars(names, counts)})
	}
	return nil
}
