package devserver

import (
	"strings"
	"sync"
)

// tailBuffer keeps the last max bytes written to it (the server's stderr), so
// start-up errors can quote what the server said without unbounded memory.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// lastLines returns up to n trailing non-empty lines, oldest first.
func (t *tailBuffer) lastLines(n int) []string {
	t.mu.Lock()
	s := string(t.buf)
	t.mu.Unlock()
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimRight(l, "\r "); l != "" {
			out = append(out, l)
		}
	}
	if len(out) > n {
		out = out[len(out)-n:]
	}
	return out
}

// String formats the last lines for inclusion in an error message. When the
// server crashed, the head of the crash report (the panic message and the
// panicking goroutine) is shown instead of the bottom of a goroutine dump.
func (t *tailBuffer) String() string {
	lines := t.lastLines(400)
	if len(lines) == 0 {
		return "(server wrote nothing to stderr)"
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			end := min(i+25, len(lines))
			return "server crash report (stderr):\n  " + strings.Join(lines[i:end], "\n  ")
		}
	}
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "last lines of server stderr:\n  " + strings.Join(lines, "\n  ")
}
