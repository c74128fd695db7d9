package devserver

import (
	"bytes"
	"io"
	"sync"
)

// bannerWatcher passes the server's stdout through and closes seen once the
// CLI prints its "Server:" line. The CLI prints it only after its own
// listeners are bound, so a health check that succeeds after seen is closed
// talks to this child and not to another server already on the port.
type bannerWatcher struct {
	out  io.Writer
	seen chan struct{}

	mu      sync.Mutex
	line    []byte
	matched bool
}

var bannerPrefix = []byte("Server:")

func newBannerWatcher(out io.Writer) *bannerWatcher {
	if out == nil {
		out = io.Discard
	}
	return &bannerWatcher{out: out, seen: make(chan struct{})}
}

func (b *bannerWatcher) Write(p []byte) (int, error) {
	b.mu.Lock()
	if !b.matched {
		for _, c := range p {
			if c == '\n' {
				b.line = b.line[:0]
				continue
			}
			if len(b.line) < len(bannerPrefix) {
				b.line = append(b.line, c)
				if bytes.Equal(b.line, bannerPrefix) {
					b.matched = true
					close(b.seen)
					break
				}
			}
		}
	}
	b.mu.Unlock()
	return b.out.Write(p)
}
