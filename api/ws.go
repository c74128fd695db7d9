package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/olahol/melody"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/metrics"
	"github.com/tradeexec/tradeexec/internal/realtime"
)

// Realtime serves the live dashboard: the WebSocket /ws (melody), its
// tickets, the portfolio reads, manual orders and the dashboard's assets.
type Realtime struct {
	// Hub delivers each user's outbox events to their sockets (required).
	Hub *realtime.Hub
	// Assets is the built dashboard (web.Dist); nil or without index.html
	// the dashboard answers that it has not been built.
	Assets fs.FS
	// AllowedOrigins are browser origins (scheme://host[:port]) allowed to
	// open /ws besides the API's own (PUBLIC_URL and the request's host).
	AllowedOrigins []string
	// TemporalUI is the Temporal UI's workflow URL prefix shown to support
	// staff (e.g. http://127.0.0.1:8233/namespaces/default/workflows/).
	TemporalUI string
	// MaxSocketsPerUser bounds one trader's open sockets on this api
	// process (DefaultMaxSocketsPerUser when 0): a runaway script or a
	// leaked token cannot exhaust the process's connections.
	MaxSocketsPerUser int

	sockets map[string]int // open (or opening) sockets per user

	melody  *melody.Melody
	guard   *wsGuard
	started bool
	mu      sync.Mutex
}

// Keys of a melody session.
const (
	wsKeyInfo   = "info"
	wsKeyClient = "client"
	wsKeyConn   = "conn"
	wsKeySender = "sender"
)

// Melody settings: a socket's queue holds wsBuffer frames; the hub keeps
// wsBacklog of them at most in flight and closes a socket that falls
// further behind (the client resumes from its last seq).
const (
	wsBuffer  = 256
	wsBacklog = wsBuffer - 16
)

// realtimeRoutes registers /ws, the ticket, portfolio and order endpoints
// and the dashboard. Without a hub only the dashboard is served.
func (s *Server) realtimeRoutes(r *gin.Engine, v1 apiRoutes, limits RateLimits) {
	s.dashboardRoutes(r)
	rt := s.Realtime
	if rt == nil || rt.Hub == nil {
		return
	}
	rt.setup(s)
	r.GET("/ws", s.rateLimit("ws", limits.WebSocket), s.serveWS)
	v1.POST("/ws-ticket", allow(trader, support, admin), s.wsTicket)
	v1.GET("/portfolio", allow(trader, support), s.getPortfolio)
	v1.GET("/positions", allow(trader, support), s.getPositions)
	v1.GET("/portfolio/equity", allow(trader, support), s.getEquityCurve)
	v1.GET("/orders", allow(trader, support), s.listPendingOrders)
	v1.POST("/orders", allow(trader), s.placeOrder)
	v1.GET("/dashboard/config", allow(trader, support, admin), s.dashboardConfig)
	s.webhookRoutes(v1)
}

// setup builds the melody instance once.
func (rt *Realtime) setup(s *Server) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.started {
		return
	}
	rt.started = true
	rt.guard = newWSGuard(s.clock)
	m := melody.New()
	m.Config.MaxMessageSize = 8192
	m.Config.MessageBufferSize = wsBuffer
	m.Config.PingPeriod = 30 * time.Second
	m.Config.PongWait = 60 * time.Second
	m.Config.WriteWait = 10 * time.Second
	m.Upgrader.ReadBufferSize = 1024
	m.Upgrader.WriteBufferSize = 1024
	// Idle sockets hold no write buffer (most of 10,000 sockets are idle).
	m.Upgrader.WriteBufferPool = &sync.Pool{}
	// The origin is checked before the upgrade (serveWS), with the reason
	// logged; the upgrader itself accepts what reaches it.
	m.Upgrader.CheckOrigin = func(*http.Request) bool { return true }
	m.HandleConnect(func(ms *melody.Session) { s.wsConnect(ms) })
	m.HandleDisconnect(func(ms *melody.Session) {
		if v, ok := ms.Get(wsKeySender); ok {
			v.(*melodySender).dropped()
		}
		if c, ok := ms.Get(wsKeyConn); ok {
			rt.Hub.Disconnect(c.(*realtime.Conn))
		}
		if v, ok := ms.Get(wsKeyInfo); ok {
			rt.release(v.(realtime.ConnInfo).UserID)
		}
	})
	m.HandleSentMessage(func(ms *melody.Session, _ []byte) {
		if v, ok := ms.Get(wsKeySender); ok {
			v.(*melodySender).written()
		}
	})
	m.HandleMessage(func(ms *melody.Session, msg []byte) { s.wsMessage(ms, msg) })
	rt.melody = m
}

// CloseAll closes every socket (graceful shutdown, FR-085).
func (rt *Realtime) CloseAll() {
	rt.mu.Lock()
	m := rt.melody
	rt.mu.Unlock()
	if m != nil {
		_ = m.CloseWithMsg(melody.FormatCloseMessage(realtime.CloseGoingAway, realtime.ReasonShutdown))
	}
}

// melodySender is the hub's realtime.Sender on a melody session.
type melodySender struct {
	s       *melody.Session
	pending atomic.Int32
}

var errBacklog = errors.New("api: socket backlog full")

func (m *melodySender) Send(frame []byte) error {
	if m.pending.Add(1) > wsBacklog {
		m.pending.Add(-1)
		return errBacklog
	}
	if err := m.s.Write(frame); err != nil {
		m.pending.Add(-1)
		return err
	}
	metrics.WSQueued(1)
	return nil
}

// written: melody wrote one queued frame to the socket.
func (m *melodySender) written() {
	if m.pending.Add(-1) >= 0 {
		metrics.WSQueued(-1)
	} else {
		m.pending.Add(1) // counted as dropped already
	}
}

// dropped: the socket closed; its unwritten frames leave the queue gauge.
func (m *melodySender) dropped() {
	metrics.WSQueued(-int(m.pending.Swap(0)))
}

func (m *melodySender) Close(code int, reason string) {
	_ = m.s.CloseWithMsg(melody.FormatCloseMessage(code, reason))
}

// serveWS: GET /ws — authenticates before the upgrade with an access
// token (?token=, or "Authorization: Bearer") or a ticket (?ticket=, from
// POST /api/v1/ws-ticket), checks the Origin, and then hands the socket to
// the hub. ?lastSeq=N resumes after event N.
func (s *Server) serveWS(c *gin.Context) {
	rt := s.Realtime
	ip := c.ClientIP()
	if wait, throttled := rt.guard.throttled(clientKey(ip)); throttled {
		secs := max(1, int(wait.Seconds()+0.5))
		c.Header("Retry-After", strconv.Itoa(secs))
		s.log(c).Warn("websocket attempt throttled", zap.String("ip", ip), zap.Int("retry_after", secs))
		s.fail(c, &Error{Status: http.StatusTooManyRequests, Code: "rate_limited",
			Message: "Too many failed connection attempts. Try again in " + humanSeconds(secs) + "."})
		return
	}
	if !s.originAllowed(c.Request) {
		s.wsRefuse(c, http.StatusForbidden, "origin_not_allowed", "This origin may not open the real-time connection.", "Origin not allowed")
		return
	}
	info, cl, ok := s.wsAuthenticate(c)
	if !ok {
		return
	}
	if v := c.Query("lastSeq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.fail(c, badRequest("lastSeq", "lastSeq must be a whole number of 0 or more."))
			return
		}
		info.LastSeq, info.Resume = n, true
	}
	c.Set(ctxUserID, info.UserID)
	if !rt.reserve(info.UserID) {
		s.log(c).Warn("websocket refused: too many sockets for the user", zap.String("user_id", info.UserID))
		s.fail(c, &Error{Status: http.StatusTooManyRequests, Code: "too_many_connections",
			Message: fmt.Sprintf("This account already has %d live dashboard connections. Close a tab or window and try again.", rt.maxSockets())})
		return
	}
	keys := map[string]any{wsKeyInfo: info, wsKeyClient: cl}
	if err := rt.melody.HandleRequestWithKeys(c.Writer, c.Request, keys); err != nil {
		rt.release(info.UserID)
		s.log(c).Info("websocket upgrade failed", zap.Error(err))
	}
}

// DefaultMaxSocketsPerUser is the per-process cap of one trader's sockets.
const DefaultMaxSocketsPerUser = 10

func (rt *Realtime) maxSockets() int {
	if rt.MaxSocketsPerUser > 0 {
		return rt.MaxSocketsPerUser
	}
	return DefaultMaxSocketsPerUser
}

// reserve counts a socket of userID about to open; false when the user is
// at the cap.
func (rt *Realtime) reserve(userID string) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.sockets == nil {
		rt.sockets = map[string]int{}
	}
	if rt.sockets[userID] >= rt.maxSockets() {
		return false
	}
	rt.sockets[userID]++
	return true
}

func (rt *Realtime) release(userID string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.sockets[userID] <= 1 {
		delete(rt.sockets, userID)
		return
	}
	rt.sockets[userID]--
}

// wsAuthenticate finds and checks the credentials of an upgrade request.
// On failure it answers 401, logs the attempt and counts it against the IP.
func (s *Server) wsAuthenticate(c *gin.Context) (realtime.ConnInfo, auth.Client, bool) {
	cl := s.client(c)
	ctx := auth.WithClient(c.Request.Context(), cl)
	token := c.Query("token")
	if h := c.GetHeader("Authorization"); token == "" && h != "" {
		if t, ok := cutBearer(h); ok {
			token = t
		}
	}
	if ticket := c.Query("ticket"); ticket != "" && token == "" {
		g, err := realtime.RedeemTicket(ctx, s.DB, ticket, s.clock())
		if err != nil {
			if !errors.Is(err, realtime.ErrTicketInvalid) {
				s.fail(c, err)
				return realtime.ConnInfo{}, cl, false
			}
			s.wsRefuse(c, http.StatusUnauthorized, "unauthorized", "The connection ticket is invalid or has expired. Sign in again.", "Invalid or expired ticket")
			return realtime.ConnInfo{}, cl, false
		}
		return realtime.ConnInfo{UserID: g.UserID, SessionID: g.SessionID, ExpiresAt: g.ExpiresAt}, cl, true
	}
	if token == "" {
		s.wsRefuse(c, http.StatusUnauthorized, "unauthorized", "Authentication required.", "Missing JWT token")
		return realtime.ConnInfo{}, cl, false
	}
	claims, err := s.Auth.Verify(ctx, token)
	if err != nil {
		if authError(err) == nil {
			s.fail(c, err)
			return realtime.ConnInfo{}, cl, false
		}
		reason := "Invalid JWT token"
		msg := "Authentication required."
		switch {
		case errors.Is(err, auth.ErrTokenExpired):
			reason, msg = "JWT token expired", "Your session has expired. Sign in again."
		case errors.Is(err, auth.ErrSessionEnded), errors.Is(err, auth.ErrReauthRequired):
			reason, msg = "Session ended", "Your session has ended. Sign in again."
		}
		s.wsRefuse(c, http.StatusUnauthorized, "unauthorized", msg, reason)
		return realtime.ConnInfo{}, cl, false
	}
	return realtime.ConnInfo{UserID: claims.UserID, SessionID: claims.SessionID, ExpiresAt: claims.ExpiresAt}, cl, true
}

// wsRefuse answers a refused upgrade, logs {timestamp, ipAddress, error}
// and counts the failure against the client IP.
func (s *Server) wsRefuse(c *gin.Context, status int, code, message, reason string) {
	ip := c.ClientIP()
	fails := s.Realtime.guard.fail(clientKey(ip))
	s.log(c).Warn("websocket connection refused",
		zap.Time("timestamp", s.clock().UTC()), zap.String("ipAddress", ip), zap.String("error", reason),
		zap.Int("failures", fails), zap.String("user_agent", c.Request.UserAgent()))
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="tradeexec"`)
	}
	s.fail(c, &Error{Status: status, Code: code, Message: message})
}

func cutBearer(h string) (string, bool) {
	const p = "Bearer "
	if len(h) > len(p) && h[:len(p)] == p {
		return h[len(p):], true
	}
	return "", false
}

// wsConnect: the socket is open. connection.authorized goes first, then
// the hub replays or syncs and streams.
func (s *Server) wsConnect(ms *melody.Session) {
	v, _ := ms.Get(wsKeyInfo)
	info, ok := v.(realtime.ConnInfo)
	if !ok {
		_ = ms.CloseWithMsg(melody.FormatCloseMessage(realtime.CloseReauthFailed, realtime.ReasonReauthFailed))
		return
	}
	sender := &melodySender{s: ms}
	ms.Set(wsKeySender, sender)
	_ = sender.Send(realtime.ControlFrame(realtime.EventConnectionAuthorized,
		realtime.AuthorizedData{UserID: info.UserID, ExpiresAt: info.ExpiresAt.UTC()}, s.clock()))
	conn := s.Realtime.Hub.Connect(info, sender)
	ms.Set(wsKeyConn, conn)
}

// wsMessage handles a client message: connection.reauth and ping.
func (s *Server) wsMessage(ms *melody.Session, msg []byte) {
	v, ok := ms.Get(wsKeyConn)
	if !ok {
		return
	}
	conn := v.(*realtime.Conn)
	sv, _ := ms.Get(wsKeySender)
	sender := sv.(*melodySender)
	var m realtime.ClientMessage
	if err := json.Unmarshal(msg, &m); err != nil {
		_ = sender.Send(realtime.ControlFrame(realtime.FrameConnectionError, realtime.ErrorData{Message: "Messages must be JSON objects with a type."}, s.clock()))
		return
	}
	switch m.Type {
	case realtime.ClientPing:
		_ = sender.Send(realtime.ControlFrame(realtime.FramePong, nil, s.clock()))
	case realtime.ClientReauth:
		s.wsReauth(ms, conn, sender, m)
	default:
		_ = sender.Send(realtime.ControlFrame(realtime.FrameConnectionError, realtime.ErrorData{Message: "Unknown message type."}, s.clock()))
	}
}

// wsReauth renews a socket's authorization with a fresh access token or
// ticket of the same user; anything else closes the socket.
func (s *Server) wsReauth(ms *melody.Session, conn *realtime.Conn, sender *melodySender, m realtime.ClientMessage) {
	cv, _ := ms.Get(wsKeyClient)
	cl, _ := cv.(auth.Client)
	ctx := auth.WithClient(ms.Request.Context(), cl)
	var sessionID string
	var userID string
	var expires time.Time
	var err error
	switch {
	case m.Token != "":
		var claims auth.Claims
		claims, err = s.Auth.Verify(ctx, m.Token)
		userID, sessionID, expires = claims.UserID, claims.SessionID, claims.ExpiresAt
	case m.Ticket != "":
		var g realtime.Grant
		g, err = realtime.RedeemTicket(ctx, s.DB, m.Ticket, s.clock())
		userID, sessionID, expires = g.UserID, g.SessionID, g.ExpiresAt
	default:
		err = auth.ErrUnauthenticated
	}
	if err == nil && userID != conn.UserID() {
		err = auth.ErrUnauthenticated
	}
	if err != nil {
		l := s.Log
		if l == nil {
			l = zap.NewNop()
		}
		l.Warn("websocket reauth refused", zap.String("user_id", conn.UserID()), zap.String("ipAddress", cl.IP), zap.Error(err))
		_ = sender.Send(realtime.ControlFrame(realtime.FrameConnectionError, realtime.ErrorData{Message: realtime.ReasonReauthFailed}, s.clock()))
		sender.Close(realtime.CloseReauthFailed, realtime.ReasonReauthFailed)
		return
	}
	s.Realtime.Hub.Reauthorize(conn, sessionID, expires)
	_ = sender.Send(realtime.ControlFrame(realtime.FrameReauthorized,
		realtime.AuthorizedData{UserID: userID, ExpiresAt: expires.UTC()}, s.clock()))
}
