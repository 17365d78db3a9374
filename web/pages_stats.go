package web

import (
	"net/http"
	"strconv"

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

type statsBody struct {
	Year int
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
