package sqlstore

// CounterReads is how many counter sums the store read from the database
// instead of its mirror.
func CounterReads(s *Store) int64 { return s.counters.reads.Load() }

// CounterFilePolls is how many times the store asked the SQLite file
// whether anything was committed.
func CounterFilePolls(s *Store) int64 { return s.counters.polls.Load() }

// CounterListenerPID is the server process of the store's counter
// listener (PostgreSQL), 0 before it first listened.
func CounterListenerPID(s *Store) uint32 { return s.counters.pid.Load() }

// ListenerPID is the server process of the store's listening connection
// (PostgreSQL), 0 while it is not listening.
func ListenerPID(s *Store) uint32 {
	if s.listener == nil {
		return 0
	}
	s.listener.mu.Lock()
	defer s.listener.mu.Unlock()
	if !s.listener.listening {
		return 0
	}
	return s.listener.pid
}
