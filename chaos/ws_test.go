package chaos

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tradeexec/tradeexec/internal/realtime"
)

// wsClient is a trader's dashboard: connected to /ws for the whole run,
// reconnecting with ?lastSeq= whenever the connection drops, recording
// every outbox sequence number it receives.
type wsClient struct {
	url, token string

	mu         sync.Mutex
	seen       map[int64]bool
	synced     int64 // events up to here are covered by a state.sync snapshot
	reconnects int
	conn       *websocket.Conn
	stop       chan struct{}
	done       chan struct{}
}

func newWSClient(baseURL, token string) *wsClient {
	w := &wsClient{url: "ws" + strings.TrimPrefix(baseURL, "http") + "/ws", token: token, seen: map[int64]bool{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *wsClient) run() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		default:
		}
		h := http.Header{}
		h.Set("Authorization", "Bearer "+w.token)
		conn, _, err := websocket.DefaultDialer.Dial(w.url+"?lastSeq="+strconv.FormatInt(w.contiguous(), 10), h)
		if err != nil {
			select {
			case <-w.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		w.mu.Lock()
		w.conn = conn
		w.mu.Unlock()
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				break
			}
			var f realtime.Frame
			if json.Unmarshal(msg, &f) == nil {
				w.record(f)
			}
		}
		_ = conn.Close()
		w.mu.Lock()
		w.conn = nil
		w.reconnects++
		w.mu.Unlock()
	}
}

func (w *wsClient) record(f realtime.Frame) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch f.Type {
	case realtime.FrameBatch:
		for _, e := range f.Events {
			if e.Seq > 0 {
				w.seen[e.Seq] = true
			}
		}
	case realtime.EventStateSync:
		w.synced = max(w.synced, f.Seq)
	default:
		if f.Seq > 0 {
			w.seen[f.Seq] = true
		}
	}
}

// contiguous is the last seq up to which nothing is missing.
func (w *wsClient) contiguous() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.synced
	for w.seen[n+1] {
		n++
	}
	return n
}

// missing lists the seqs up to upTo the client never received (and no
// snapshot covered).
func (w *wsClient) missing(upTo int64) []int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []int64
	for s := w.synced + 1; s <= upTo; s++ {
		if !w.seen[s] {
			out = append(out, s)
		}
	}
	return out
}

func (w *wsClient) reconnected() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reconnects
}

func (w *wsClient) close() {
	close(w.stop)
	w.mu.Lock()
	if w.conn != nil {
		_ = w.conn.Close()
	}
	w.mu.Unlock()
	<-w.done
}
