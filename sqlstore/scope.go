package sqlstore

import (
	"fmt"
	"strings"

	"github.com/shequ/shequ/auth"
)

// scopeCols tells scopeWhere how a table's rows sit in the community tree.
type scopeCols struct {
	community string // column with the row's community
	grid      string // expression with the row's grid; "" when a grid does not narrow this table
	household string // condition, with %s for the household id; "" when a household does not narrow it
}

// Where each table's rows sit; the aliases are those of the list queries.
var (
	communityCols = scopeCols{community: "c.id"}
	gridCols      = scopeCols{community: "g.community_id", grid: "g.id",
		household: "g.id = (SELECT b2.grid_id FROM households hh2 JOIN homes h2 ON h2.id = hh2.home_id JOIN buildings b2 ON b2.id = h2.building_id WHERE hh2.id = %s)"}
	buildingCols = scopeCols{community: "b.community_id", grid: "b.grid_id",
		household: "b.id = (SELECT h2.building_id FROM households hh2 JOIN homes h2 ON h2.id = hh2.home_id WHERE hh2.id = %s)"}
	homeCols = scopeCols{community: "h.community_id", grid: "b.grid_id",
		household: "h.id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"}
	householdCols = scopeCols{community: "hh.community_id", grid: "b.grid_id", household: "hh.id = %s"}
	personCols    = scopeCols{community: "p.community_id", grid: "b.grid_id", household: "p.household_id = %s"}
	deviceCols    = scopeCols{community: "d.community_id", grid: "d.grid_id",
		household: "d.home_id = (SELECT hh2.home_id FROM households hh2 WHERE hh2.id = %s)"}
	associationCols = scopeCols{community: "a.community_id"}
	auditCols       = scopeCols{community: "l.community_id"}
)

// scopeWhere returns a condition that keeps only the rows scope reaches.
// An empty scope keeps nothing.
func scopeWhere(scope auth.Scope, cols scopeCols, a *args) string {
	if len(scope) == 0 {
		return "FALSE"
	}
	var ors []string
	for _, r := range scope {
		if r.CommunityID == 0 {
			return "TRUE"
		}
		parts := []string{cols.community + " = " + a.add(r.CommunityID)}
		switch {
		case r.HouseholdID != 0 && cols.household != "":
			parts = append(parts, fmt.Sprintf(cols.household, a.add(r.HouseholdID)))
		case r.GridID != 0 && cols.grid != "":
			parts = append(parts, cols.grid+" = "+a.add(r.GridID))
		}
		ors = append(ors, "("+strings.Join(parts, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}
