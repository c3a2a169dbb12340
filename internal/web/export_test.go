package web

// Idle is closed when the server stopped because no page was open.
func (s *Server) Idle() <-chan struct{} { return s.idle }
