package main

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// wsFloor is the WebSocket figure's floor, measured in the same run: the
// same number of loopback sockets, and the same events at the same pace,
// delivered by a bare gorilla/websocket writer (one goroutine and queue per
// socket, as melody has) with no database, outbox, hub or authentication.
// The product's "committed → received" divided by it is what tradeexec
// adds on this machine.
func wsFloor(conns, events int, gap time.Duration) []time.Duration {
	var mu sync.Mutex
	var queues []chan []byte
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		q := make(chan []byte, 256)
		mu.Lock()
		queues = append(queues, q)
		mu.Unlock()
		for m := range q {
			if c.WriteMessage(websocket.TextMessage, m) != nil {
				break
			}
		}
		_ = c.Close()
	}))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	var lat []time.Duration
	var lmu sync.Mutex
	var readers sync.WaitGroup
	var clients []*websocket.Conn
	for i := 0; i < conns; i++ {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		must(err)
		clients = append(clients, c)
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, m, err := c.ReadMessage()
				if err != nil {
					return
				}
				at, _ := strconv.ParseInt(string(m), 10, 64)
				d := time.Since(time.Unix(0, at))
				lmu.Lock()
				lat = append(lat, d)
				lmu.Unlock()
			}
		}()
	}
	for {
		mu.Lock()
		n := len(queues)
		mu.Unlock()
		if n == conns {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	next := time.Now()
	for i := 0; i < events; i++ {
		queues[i%conns] <- []byte(strconv.FormatInt(time.Now().UnixNano(), 10))
		next = next.Add(gap)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
	}
	time.Sleep(300 * time.Millisecond)
	for _, q := range queues {
		close(q)
	}
	for _, c := range clients {
		_ = c.Close()
	}
	readers.Wait()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat
}
