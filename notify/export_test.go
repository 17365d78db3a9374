package notify

// ResponseSettled returns a channel closed once the SMSC's response to the
// submitted, unanswered part of key's message has been read — the signal
// a test waits for instead of sleeping — or nil when no part is waiting.
func (s *SMPP) ResponseSettled(key string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[key]
	if sub == nil {
		return nil
	}
	for _, p := range sub.parts {
		if p.state == partPending {
			return p.done
		}
	}
	return nil
}
