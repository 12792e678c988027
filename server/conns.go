package server

import (
	"net"
	"net/http"
	"sync"
)

// unstarted tracks connections that have not sent a whole request yet.
// http.Server.Shutdown leaves such a connection open for its first five
// seconds; a client that connects and sends nothing would hold a
// shutdown that long, so shutdown closes them at once.
type unstarted struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newUnstarted() *unstarted { return &unstarted{conns: map[net.Conn]struct{}{}} }

// track is the server's ConnState hook.
func (u *unstarted) track(c net.Conn, state http.ConnState) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if state == http.StateNew {
		u.conns[c] = struct{}{}
	} else {
		delete(u.conns, c)
	}
}

// closeAll closes every connection still waiting for its first request.
func (u *unstarted) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for c := range u.conns {
		_ = c.Close()
		delete(u.conns, c)
	}
}
