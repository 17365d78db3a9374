package web

import (
	"context"
	"strconv"

	"github.com/shequ/shequ/auth"
)

// registerWorkPages registers the pages that were API only before: the
// assistance policies, the partners' job openings, a home's page, auto-arm,
// the police's closed alarms and the site map.
func (s *Server) registerWorkPages() {
	s.registerAssistancePages()
	s.registerOpeningPages()
	s.registerOpsExports()
	s.registerHomePages()
	s.registerPolicePages()
	s.registerAutoArmPages()
	s.registerMapPages()
}

// userNames names the people who did things in a record's history: a
// member by the name they go by, not their login ("assoc-jiuye").
type userNames map[int64]auth.User

// memberNames reads the names of the community's members and staff.
// Their names are not personal data the way residents' numbers are, and a
// history shows them to whoever may read the record.
func (s *Server) memberNames(ctx context.Context, community int64) (userNames, error) {
	m, err := s.staffNames(ctx, auth.Scope{{CommunityID: community}})
	return userNames(m), err
}

// of is the name of user, or the login recorded with the line when the
// user is gone.
func (n userNames) of(user int64, login string) string {
	if u, ok := n[user]; ok && user != 0 {
		return displayName(u)
	}
	return login
}

// photoControl is what the "photo-control" part needs: the page's words
// and an id that tells the controls of one page apart.
type photoControl struct {
	L  *locale
	ID string
}

// PhotoControl gives the "photo-control" part of the form with id.
func (p *pageData) PhotoControl(id int64) photoControl {
	return photoControl{L: p.L, ID: strconv.FormatInt(id, 10)}
}
