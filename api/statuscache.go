package api

import (
	"sync"
	"time"
)

// statusFor is how long an encoded status serves at one revision: the
// answer also says the time, and whether each hold is still active then.
const statusFor = time.Second

// statusCache keeps the encoded status of the revision last served, with
// and without the clusters' reports: after a hold change every open page
// re-reads the status at the same revision, and at a hundred clusters and
// hundreds of pages, building and encoding it for each was most of the
// service's work (the storm in make bench).
type statusCache struct {
	mu   sync.Mutex
	rev  int64
	at   time.Time
	body [2][]byte // without, with the reports
}

func (c *statusCache) get(rev int64, withHealth bool, now time.Time) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.body[index(withHealth)]
	return b, b != nil && c.rev == rev && now.Sub(c.at) < statusFor && !now.Before(c.at)
}

func (c *statusCache) put(rev int64, withHealth bool, now time.Time, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev < c.rev {
		return // a slower request's older status
	}
	if rev != c.rev || now.Sub(c.at) >= statusFor {
		c.rev, c.at, c.body = rev, now, [2][]byte{}
	}
	c.body[index(withHealth)] = body
}

func index(b bool) int {
	if b {
		return 1
	}
	return 0
}
