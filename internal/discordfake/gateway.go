package discordfake

import (
	"bytes"
	"compress/zlib"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Gateway opcodes and intents (Discord's values).
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresence       = 3
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11

	IntentGuilds         int64 = 1 << 0
	IntentGuildMessages  int64 = 1 << 9
	IntentDirectMessages int64 = 1 << 12
	IntentMessageContent int64 = 1 << 15
)

// Gateway close codes.
const (
	closeUnknownError       = 4000
	closeUnknownOpcode      = 4001
	closeDecodeError        = 4002
	closeNotAuthenticated   = 4003
	closeAuthFailed         = 4004
	closeAlreadyAuth        = 4005
	closeInvalidShard       = 4010
	closeInvalidAPIVersion  = 4012
	closeInvalidIntents     = 4013
	closeDisallowedIntents  = 4014
	maxBufferedDispatches   = 5000
	gatewayReadLimit        = 1 << 20
	gatewayWriteTimeout     = 5 * time.Second
	gatewayHandshakeTimeout = 10 * time.Second
)

var upgrader = websocket.Upgrader{
	HandshakeTimeout: gatewayHandshakeTimeout,
	CheckOrigin:      func(*http.Request) bool { return true },
}

// conn is one WebSocket connection; writes are serialised.
type conn struct {
	ws         *websocket.Conn
	mu         sync.Mutex
	heartbeats atomic.Int64 // heartbeats received on this connection
}

func (c *conn) write(mt int, data []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(gatewayWriteTimeout))
	return c.ws.WriteMessage(mt, data)
}

func (c *conn) writeJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.write(websocket.TextMessage, b)
}

func (c *conn) closeWith(code int, reason string) {
	c.mu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	c.mu.Unlock()
	_ = c.ws.Close()
}

// session is a gateway session; it survives its connection until invalid,
// buffering dispatches for a resume.
type session struct {
	srv      *Server
	id       string
	shard    [2]int
	intents  int64
	compress bool

	mu      sync.Mutex // orders dispatches; guards the fields below
	conn    *conn
	seq     int64
	buffer  []frame
	invalid bool
}

type frame struct {
	seq  int64
	data []byte
}

// SessionInfo describes a gateway session.
type SessionInfo struct {
	ID        string
	Shard     [2]int
	Intents   int64
	Connected bool
	Invalid   bool
	// Heartbeats received on the session's current connection: a client
	// sends its first one right after READY/RESUMED.
	Heartbeats int64
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(gatewayReadLimit)
	c := &conn{ws: ws}
	q := r.URL.Query()
	if v := q.Get("v"); v != "9" && v != "10" {
		c.closeWith(closeInvalidAPIVersion, "Invalid API version.")
		return
	}
	if enc := q.Get("encoding"); enc != "" && enc != "json" {
		c.closeWith(closeDecodeError, "Decode error.")
		return
	}
	if err := c.writeJSON(map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()}}); err != nil {
		_ = ws.Close()
		return
	}
	var sess *session
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			if sess != nil {
				var ce *websocket.CloseError
				// Closing with 1000/1001 ends the session (Discord: it can no
				// longer be resumed); any other end leaves it resumable.
				if errors.As(err, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) {
					sess.invalidate()
				}
				sess.detach(c)
			}
			_ = ws.Close()
			return
		}
		var p struct {
			Op int             `json:"op"`
			D  json.RawMessage `json:"d"`
		}
		if err := json.Unmarshal(data, &p); err != nil {
			c.closeWith(closeDecodeError, "Decode error.")
			return
		}
		switch p.Op {
		case opHeartbeat:
			c.heartbeats.Add(1)
			if err := c.writeJSON(map[string]any{"op": opHeartbeatACK}); err != nil {
				return
			}
		case opIdentify:
			if sess != nil {
				if !sess.isInvalid() {
					c.closeWith(closeAlreadyAuth, "Already authenticated.")
					return
				}
				// After Invalid Session the client identifies again on the
				// same connection.
				sess.detach(c)
			}
			sess = s.identify(c, p.D)
			if sess == nil {
				return
			}
		case opResume:
			if sess != nil {
				c.closeWith(closeAlreadyAuth, "Already authenticated.")
				return
			}
			sess = s.resume(c, p.D)
		case opPresence, opRequestMembers:
			if sess == nil {
				c.closeWith(closeNotAuthenticated, "Not authenticated.")
				return
			}
		default:
			c.closeWith(closeUnknownOpcode, "Unknown opcode.")
			return
		}
	}
}

func (s *Server) tokenOK(tok string) bool {
	return tok == s.opts.Token || tok == "Bot "+s.opts.Token
}

// identify starts a session and sends READY (seq 1) and the shard's
// GUILD_CREATEs; nil means the connection was closed.
func (s *Server) identify(c *conn, raw json.RawMessage) *session {
	var id struct {
		Token    string  `json:"token"`
		Intents  *int64  `json:"intents"`
		Shard    *[2]int `json:"shard"`
		Compress bool    `json:"compress"`
	}
	if err := json.Unmarshal(raw, &id); err != nil {
		c.closeWith(closeDecodeError, "Decode error.")
		return nil
	}
	if !s.tokenOK(id.Token) {
		c.closeWith(closeAuthFailed, "Authentication failed.")
		return nil
	}
	if id.Intents == nil || *id.Intents < 0 || *id.Intents >= 1<<26 {
		c.closeWith(closeInvalidIntents, "Invalid intent(s).")
		return nil
	}
	if s.opts.DenyMessageContent && *id.Intents&IntentMessageContent != 0 {
		c.closeWith(closeDisallowedIntents, "Disallowed intent(s).")
		return nil
	}
	shard := [2]int{0, 1}
	if id.Shard != nil {
		shard = *id.Shard
		if shard[1] < 1 || shard[0] < 0 || shard[0] >= shard[1] {
			c.closeWith(closeInvalidShard, "Invalid shard.")
			return nil
		}
	}
	sess := &session{srv: s, id: randomID(), shard: shard, intents: *id.Intents, compress: id.Compress, conn: c}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	s.gwMu.Lock()
	s.sessions[sess.id] = sess
	s.gwMu.Unlock()
	s.count(func(st *Stats) { st.Identifies++ })

	s.w.mu.Lock()
	var guilds []map[string]any
	var creates []map[string]any
	for _, g := range s.w.guilds {
		if !onShard(g.ID, shard) {
			continue
		}
		guilds = append(guilds, map[string]any{"id": g.ID, "unavailable": true})
		creates = append(creates, g.object(s.w, true))
	}
	ready := map[string]any{
		"v": 10, "user": s.w.userObject(s.opts.BotUserID), "guilds": guilds, "session_id": sess.id,
		"resume_gateway_url": "ws://" + strings.TrimPrefix(s.url, "http://") + "/gateway",
		"application":        map[string]any{"id": s.opts.AppID, "flags": 0}, "private_channels": []any{},
	}
	if id.Shard != nil {
		ready["shard"] = shard
	}
	s.w.changed()
	s.w.mu.Unlock()
	if guilds == nil {
		ready["guilds"] = []any{}
	}
	sess.sendLocked("READY", ready, sess.compress)
	if sess.intents&IntentGuilds != 0 {
		for _, g := range creates {
			sess.sendLocked("GUILD_CREATE", g, false)
		}
	}
	return sess
}

// resume re-attaches a connection to its session and replays what it
// missed, or answers Invalid Session (the client then identifies anew).
func (s *Server) resume(c *conn, raw json.RawMessage) *session {
	var rs struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(raw, &rs); err != nil {
		c.closeWith(closeDecodeError, "Decode error.")
		return nil
	}
	s.gwMu.Lock()
	sess := s.sessions[rs.SessionID]
	s.gwMu.Unlock()
	if sess == nil || !s.tokenOK(rs.Token) {
		_ = c.writeJSON(map[string]any{"op": opInvalidSession, "d": false})
		return nil
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if sess.invalid {
		_ = c.writeJSON(map[string]any{"op": opInvalidSession, "d": false})
		return nil
	}
	if old := sess.conn; old != nil && old != c {
		_ = old.ws.Close()
	}
	sess.conn = c
	for _, f := range sess.buffer {
		if f.seq > rs.Seq {
			if err := c.write(websocket.TextMessage, f.data); err != nil {
				sess.conn = nil
				return sess
			}
		}
	}
	sess.sendLocked("RESUMED", map[string]any{}, false)
	s.count(func(st *Stats) { st.Resumes++ })
	s.w.mu.Lock()
	s.w.changed()
	s.w.mu.Unlock()
	return sess
}

// sendLocked dispatches one event on the session; sess.mu must be held.
func (ss *session) sendLocked(t string, d any, compress bool) {
	ss.seq++
	data, err := json.Marshal(map[string]any{"op": opDispatch, "s": ss.seq, "t": t, "d": d})
	if err != nil {
		return
	}
	ss.buffer = append(ss.buffer, frame{seq: ss.seq, data: data})
	if len(ss.buffer) > maxBufferedDispatches {
		ss.buffer = ss.buffer[len(ss.buffer)-maxBufferedDispatches:]
	}
	if ss.conn == nil {
		return
	}
	mt := websocket.TextMessage
	if compress {
		var b bytes.Buffer
		zw := zlib.NewWriter(&b)
		_, _ = zw.Write(data)
		_ = zw.Close()
		data, mt = b.Bytes(), websocket.BinaryMessage
	}
	if err := ss.conn.write(mt, data); err != nil {
		ss.conn = nil
	}
}

func (ss *session) detach(c *conn) {
	ss.mu.Lock()
	if ss.conn == c {
		ss.conn = nil
	}
	ss.mu.Unlock()
}

func (ss *session) isInvalid() bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.invalid
}

func (ss *session) invalidate() {
	ss.mu.Lock()
	ss.invalid = true
	ss.mu.Unlock()
}

// drop cuts the connection without a close frame (a network failure).
func (ss *session) drop() {
	ss.mu.Lock()
	if ss.conn != nil {
		_ = ss.conn.ws.Close()
		ss.conn = nil
	}
	ss.mu.Unlock()
}

// onShard reports whether a guild's events go to a shard:
// (guild_id >> 22) % num_shards == shard_id. DMs ("") go to shard 0.
func onShard(guildID string, shard [2]int) bool {
	if guildID == "" {
		return shard[0] == 0
	}
	id, num := shard[0], shard[1]
	if num < 1 || id < 0 { // identify validated it; guards the conversions
		return false
	}
	n, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil {
		return false
	}
	return (n>>22)%uint64(num) == uint64(id)
}

// dispatch sends an event to every valid session of the guild's shard that
// holds the intent (0: no intent needed). payload builds the event data
// per session (content depends on its intents).
func (s *Server) dispatch(guildID string, intent int64, t string, payload func(ss *session) any) {
	s.gwMu.Lock()
	var targets []*session
	for _, ss := range s.sessions {
		targets = append(targets, ss)
	}
	s.gwMu.Unlock()
	for _, ss := range targets {
		ss.mu.Lock()
		if !ss.invalid && onShard(guildID, ss.shard) && (intent == 0 || ss.intents&intent != 0) {
			ss.sendLocked(t, payload(ss), false)
		}
		ss.mu.Unlock()
	}
}

func (s *Server) dispatchGuildCreate(guildID string) {
	s.w.mu.Lock()
	g, ok := s.w.guilds[guildID]
	if !ok {
		s.w.mu.Unlock()
		return
	}
	obj := g.object(s.w, true)
	s.w.mu.Unlock()
	s.dispatch(guildID, IntentGuilds, "GUILD_CREATE", func(*session) any { return obj })
}

// Sessions describes the gateway sessions.
func (s *Server) Sessions() []SessionInfo {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	var out []SessionInfo
	for _, ss := range s.sessions {
		ss.mu.Lock()
		si := SessionInfo{ID: ss.id, Shard: ss.shard, Intents: ss.intents, Connected: ss.conn != nil, Invalid: ss.invalid}
		if ss.conn != nil {
			si.Heartbeats = ss.conn.heartbeats.Load()
		}
		out = append(out, si)
		ss.mu.Unlock()
	}
	return out
}

// WaitConnected waits until n valid sessions are connected.
func (s *Server) WaitConnected(n int, timeout time.Duration) bool {
	return s.WaitFor(timeout, func() bool {
		k := 0
		for _, si := range s.Sessions() {
			if si.Connected && !si.Invalid {
				k++
			}
		}
		return k >= n
	})
}

// Disconnect cuts every gateway connection as a network failure would; the
// sessions stay resumable and buffer what is dispatched meanwhile.
func (s *Server) Disconnect() {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	for _, ss := range s.sessions {
		ss.drop()
	}
}

// SendReconnect asks every connected client to reconnect and resume (op 7).
func (s *Server) SendReconnect() {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	for _, ss := range s.sessions {
		ss.mu.Lock()
		if ss.conn != nil {
			_ = ss.conn.writeJSON(map[string]any{"op": opReconnect, "d": nil})
		}
		ss.mu.Unlock()
	}
}

// InvalidateSessions ends every session (op 9, not resumable): clients
// identify again.
func (s *Server) InvalidateSessions() {
	s.gwMu.Lock()
	defer s.gwMu.Unlock()
	for _, ss := range s.sessions {
		ss.mu.Lock()
		ss.invalid = true
		if ss.conn != nil {
			_ = ss.conn.writeJSON(map[string]any{"op": opInvalidSession, "d": false})
		}
		ss.mu.Unlock()
	}
}
