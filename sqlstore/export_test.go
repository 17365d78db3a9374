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

// StatsReads is how many times the store read the statistics afresh.
func StatsReads(s *Store) int64 { return s.stats.computed.Load() }

// SetStatsBeforeRead makes f run as statistics start being read afresh,
// with the version they will be kept under. Set it before reading.
func SetStatsBeforeRead(s *Store, f func(version int64)) { s.stats.beforeRead = f }

// StatsWaiting is how many statistics callers wait for another read: for
// one under way to answer them, or to end before theirs begins.
func StatsWaiting(s *Store) int {
	k := s.stats
	k.mu.Lock()
	defer k.mu.Unlock()
	n := 0
	for _, fl := range k.flights {
		if fl.running != nil {
			n += fl.running.waiting
		}
		if fl.next != nil {
			n += fl.next.waiting + 1 // its reader waits for the running one
		}
	}
	return n
}
