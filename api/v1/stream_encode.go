package apiv1

import (
	"encoding/json"
	"sync"
)

// encoding is one message's JSON, made by the first stream that sends it.
type encoding struct {
	once sync.Once
	data []byte
	err  error
}

// Shared returns c ready to go out on many streams: however many send
// it, JSON encodes it once. A replica fans each change out to every open
// stream, hundreds in an incident, and encoding it once per stream was
// most of the fan-out's CPU.
func (c Change) Shared() Change {
	c.shared = &encoding{}
	return c
}

// JSON is the message's data line.
func (c Change) JSON() ([]byte, error) {
	if c.shared == nil {
		return json.Marshal(c)
	}
	e := c.shared
	e.once.Do(func() { e.data, e.err = json.Marshal(c) })
	return e.data, e.err
}
