package main

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// tcpProxy is the load balancer of the cluster tests: each connection it
// accepts goes to the next backend in turn, or to the one after when that
// one refuses (a dead node). A connection whose backend dies is closed,
// so its client sees the failure and connects again, to a live node.
type tcpProxy struct {
	ln       net.Listener
	backends []string
	next     atomic.Uint32
	wg       sync.WaitGroup
}

// newProxy starts a proxy to backends, stopped when the test ends.
func newProxy(t *testing.T, backends ...string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, backends: backends}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *tcpProxy) addr() string { return p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *tcpProxy) handle(c net.Conn) {
	defer c.Close()
	first := int(p.next.Add(1))
	for i := range p.backends {
		b, err := net.DialTimeout("tcp", p.backends[(first+i)%len(p.backends)], 2*time.Second)
		if err != nil {
			continue
		}
		defer b.Close()
		done := make(chan struct{}, 2)
		go func() { io.Copy(b, c); done <- struct{}{} }()
		go func() { io.Copy(c, b); done <- struct{}{} }()
		// Either side ending ends both: a dead backend closes its client.
		<-done
		return
	}
}
