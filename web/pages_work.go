package web

// registerWorkPages registers the pages that were API only before: the
// assistance policies, the partners' job openings, a home's page, auto-arm,
// the police's closed alarms and the site map.
func (s *Server) registerWorkPages() {
	s.registerAssistancePages()
	s.registerOpeningPages()
	s.registerOpsExports()
	s.registerHomePages()
}
