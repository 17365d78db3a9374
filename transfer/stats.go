package transfer

import (
	"strconv"

	"github.com/shequ/shequ/assoc"
)

// statsColumns are the columns of the associations' statistics table.
var statsColumns = []Column{
	{Key: "association", Zh: "协会"},
	{Key: "individual", Zh: "个别服务", Numeric: true},
	{Key: "group", Zh: "集中服务", Numeric: true},
	{Key: "people_served", Zh: "服务人数", Numeric: true},
	{Key: "placements", Zh: "就业安置人数", Numeric: true},
	{Key: "mediations", Zh: "调解案件", Numeric: true},
	{Key: "mediations_agreed", Zh: "调解成功", Numeric: true},
	{Key: "mediations_concluded", Zh: "调解结案", Numeric: true},
	{Key: "eligible_uncovered", Zh: "符合条件未覆盖人数", Numeric: true},
}

// StatsTable is the associations' statistics as a sheet: one row per
// association and the community's total last, as the report has them.
func StatsTable(s assoc.ServiceStats, lang Lang) Table {
	t := Table{Sheet: "协会服务统计", Columns: statsColumns, Lang: lang}
	if lang == English {
		t.Sheet = "association statistics"
	}
	row := func(a assoc.AssociationStats) Row {
		name := a.Name
		if lang == English && a.NameEn != "" {
			name = a.NameEn
		}
		return Row{Values: map[string]string{"association": name, "individual": strconv.Itoa(a.Individual), "group": strconv.Itoa(a.Group),
			"people_served": strconv.Itoa(a.PeopleServed), "placements": strconv.Itoa(a.Placements),
			"mediations": strconv.Itoa(a.Mediations.Opened), "mediations_agreed": strconv.Itoa(a.Mediations.Agreed),
			"mediations_concluded": strconv.Itoa(a.Mediations.Concluded), "eligible_uncovered": strconv.Itoa(a.EligibleUncovered)}}
	}
	for _, a := range s.Associations {
		t.Rows = append(t.Rows, row(a))
	}
	t.Rows = append(t.Rows, row(s.Total))
	return t
}
