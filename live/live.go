// Package live wakes up the streams of live updates (the console, the
// resident's page) when something they show has been committed.
package live

import "sync"

// Hub tells waiters that something changed. It carries no data: the
// waiters read what changed from the store, so a missed wake-up costs a
// little latency, never an update.
type Hub struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewHub returns a hub.
func NewHub() *Hub { return &Hub{ch: make(chan struct{})} }

// Changed wakes every current waiter.
func (h *Hub) Changed() {
	h.mu.Lock()
	close(h.ch)
	h.ch = make(chan struct{})
	h.mu.Unlock()
}

// Wait returns a channel closed at the next change.
func (h *Hub) Wait() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ch
}
