package web

func (s *Server) registerPages() {}
