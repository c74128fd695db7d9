package api

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/billing"
	"github.com/tradeexec/tradeexec/internal/broker/ibkr"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/workflows"
)

// Broker connections (Settings → Brokers). Handlers validate and store the
// request, then start ConnectBrokerWorkflow and wait for its answer: the
// broker is only ever called from the workflow's activity. No response,
// log line or error carries a credential (invariant 4): requests are read
// into the vault and answers are built from connection views and the
// outcome's trader-facing sentences.

// DefaultConnectWait is how long a connect request waits for the broker.
const DefaultConnectWait = 10 * time.Second

// BrokerSettingsPath is where the Schwab callback sends the browser back.
const BrokerSettingsPath = "/settings/brokers"

// Connections are the dependencies of the broker connection endpoints.
type Connections struct {
	Service *brokerconn.Service
	// ServerIP is what IBKR traders whitelist on their gateway.
	ServerIP string
	// DashboardURL is the dashboard's base URL (the Schwab callback
	// redirects to DashboardURL + BrokerSettingsPath).
	DashboardURL string
	// Wait bounds how long a request waits for the broker's answer
	// (DefaultConnectWait when zero); after it the request answers 202 and
	// the outcome arrives as an event.
	Wait time.Duration
}

// brokerRoutes registers the connection endpoints; callbackLimit is the
// per-IP limit of the unauthenticated Schwab callback.
func (s *Server) brokerRoutes(r *gin.Engine, v1 apiRoutes, callbackLimit gin.HandlerFunc) {
	if s.Connections == nil || s.Connections.Service == nil {
		return
	}
	v1.GET("/brokers", allow(trader, support), s.listBrokers)
	v1.POST("/brokers", allow(trader), s.connectBroker)
	v1.GET("/brokers/catalog", allow(trader, support, admin), s.brokerCatalog)
	v1.PUT("/brokers/defaults", allow(trader), s.setBrokerDefaults)
	v1.GET("/brokers/ibkr/setup", allow(trader, support), s.ibkrSetup)
	v1.GET("/brokers/schwab/authorize", allow(trader), s.schwabAuthorize)
	v1.GET("/brokers/:id", allow(trader, support), s.getBroker)
	v1.PUT("/brokers/:id", allow(trader), s.reconnectBroker)
	v1.DELETE("/brokers/:id", allow(trader), s.disconnectBroker)
	r.GET("/brokers/schwab/callback", callbackLimit, s.schwabCallback)
}

func (s *Server) connections() *brokerconn.Service { return s.Connections.Service }

// connectBody is POST /api/v1/brokers (and PUT /api/v1/brokers/{id}).
type connectBody struct {
	Broker      string            `json:"broker"`
	Label       string            `json:"label"`
	Paper       bool              `json:"paper"`
	Credentials map[string]string `json:"credentials"`
}

// connectBroker: POST /api/v1/brokers — connect a broker account. The
// credentials are sealed into a new, inactive connection, checked with the
// broker's account endpoint by ConnectBrokerWorkflow, and the answer is
// "Alpaca connected successfully" with the account value (201), or why not.
func (s *Server) connectBroker(c *gin.Context) {
	var body connectBody
	if !s.bindJSON(c, &body) {
		return
	}
	a, err := s.connections().CreatePending(c.Request.Context(), c.GetString(ctxUserID),
		brokerconn.Request{Broker: body.Broker, Label: body.Label, Paper: body.Paper, Credentials: body.Credentials}, "")
	clear(body.Credentials)
	if err != nil {
		s.failConnection(c, err)
		return
	}
	s.runConnect(c, a, http.StatusCreated)
}

// reconnectBroker: PUT /api/v1/brokers/{id} — new credentials for an
// existing connection (Settings → Brokers → Edit). The connection keeps
// working with its old credentials until the new ones are confirmed;
// CREDENTIALS_UPDATED lists the changed field names, never values.
func (s *Server) reconnectBroker(c *gin.Context) {
	id, ok := connectionParam(c)
	if !ok {
		s.fail(c, errNotFound)
		return
	}
	var body connectBody
	if !s.bindJSON(c, &body) {
		return
	}
	uid := c.GetString(ctxUserID)
	existing, err := s.connections().Get(c.Request.Context(), uid, id)
	if err != nil {
		s.failConnection(c, err)
		return
	}
	if existing.Broker == "schwab" {
		s.fail(c, badRequest("credentials", "Schwab is re-authorized through Schwab's sign-in: GET /api/v1/brokers/schwab/authorize?connectionId="+id+"."))
		return
	}
	if body.Paper && !existing.Paper {
		s.fail(c, badRequest("paper", "A connection keeps its paper or live setting; connect the other one as a new connection."))
		return
	}
	a, err := s.connections().CreatePending(c.Request.Context(), uid,
		brokerconn.Request{Broker: body.Broker, Label: body.Label, Credentials: body.Credentials}, id)
	clear(body.Credentials)
	if err != nil {
		s.failConnection(c, err)
		return
	}
	s.runConnect(c, a, http.StatusOK)
}

// connectResponse is the answer to a connection attempt.
type connectResponse struct {
	Status           string           `json:"status"` // connected | validating
	Message          string           `json:"message"`
	Connection       *brokerconn.View `json:"connection,omitempty"`
	AccountValue     string           `json:"accountValue,omitempty"`
	AccountValueText string           `json:"accountValueText,omitempty"`
	Currency         string           `json:"currency,omitempty"`
}

// runConnect starts the attempt's check and waits for it.
func (s *Server) runConnect(c *gin.Context, a brokerconn.Attempt, okStatus int) {
	cl := s.client(c)
	a.IPAddress, a.UserAgent = cl.IP, cl.UserAgent
	res, pending, err := s.startConnect(c, a)
	switch {
	case err != nil:
		s.fail(c, err)
	case pending:
		v, gerr := s.connections().Get(c.Request.Context(), a.UserID, a.ConnectionID)
		body := connectResponse{Status: brokerconn.HealthValidating, Message: trade.ConnectPendingMessage(a.Broker)}
		if gerr == nil {
			body.Connection = &v
		}
		c.JSON(http.StatusAccepted, body)
	case !res.Connected:
		st, code := connectFailureStatus(res.Kind)
		body := gin.H{"error": code, "message": res.Message, "reason": res.Kind}
		if res.Detail != "" && res.Detail != res.Message {
			body["detail"] = res.Detail
		}
		c.AbortWithStatusJSON(st, body)
	default:
		body := connectResponse{Status: "connected", Message: res.Message, AccountValue: res.AccountValue.String(),
			AccountValueText: trade.AccountValueText(res.AccountValue), Currency: res.Currency}
		if v, err := s.connections().Get(c.Request.Context(), a.UserID, res.ConnectionID); err == nil {
			body.Connection = &v
		}
		c.JSON(okStatus, body)
	}
}

// startConnect starts ConnectBrokerWorkflow for an attempt and waits up to
// Connections.Wait for its result; pending is true when it did not finish
// in time.
func (s *Server) startConnect(c *gin.Context, a brokerconn.Attempt) (res workflows.ConnectResult, pending bool, err error) {
	ctx := c.Request.Context()
	in := workflows.ConnectInput{ConnectionID: a.ConnectionID, UserID: a.UserID, Broker: a.Broker, ReplaceID: a.ReplaceID,
		RequestedAt: a.RequestedAt, IPAddress: a.IPAddress, UserAgent: a.UserAgent}
	run, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ConnectWorkflowID(a.ConnectionID),
		TaskQueue:                s.TaskQueue,
		WorkflowExecutionTimeout: 10 * time.Minute,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SAUserID.ValueSet(a.UserID), workflows.SABroker.ValueSet(a.Broker)),
	}, workflows.ConnectBrokerWorkflowName, in)
	if err != nil {
		s.log(c).Error("connect workflow not started", zap.String("connection_id", a.ConnectionID), zap.Error(err))
		if aerr := s.connections().Abandon(context.WithoutCancel(ctx), a); aerr != nil {
			s.log(c).Error("abandon connection attempt", zap.String("connection_id", a.ConnectionID), zap.Error(aerr))
		}
		return res, false, errUnavailable
	}
	wait := s.Connections.Wait
	if wait <= 0 {
		wait = DefaultConnectWait
	}
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := run.Get(wctx, &res); err != nil {
		if wctx.Err() != nil {
			return res, true, nil
		}
		s.log(c).Error("connect workflow failed", zap.String("workflow_id", run.GetID()), zap.Error(err))
		return res, false, errUnavailable
	}
	s.log(c).Info("broker connection checked", zap.String("connection_id", res.ConnectionID), zap.String("broker", res.Broker),
		zap.Bool("connected", res.Connected), zap.String("kind", res.Kind))
	return res, false, nil
}

// connectFailureStatus maps a refusal's kind to the HTTP answer.
func connectFailureStatus(kind string) (int, string) {
	switch kind {
	case "AUTH_FAILED":
		return http.StatusUnprocessableEntity, "credentials_rejected"
	case "UNAVAILABLE":
		return http.StatusBadGateway, "broker_unavailable"
	case "RATE_LIMIT_EXCEEDED":
		return http.StatusServiceUnavailable, "broker_rate_limited"
	case string(brokerconn.KindAbandoned):
		return http.StatusConflict, "connection_abandoned"
	}
	return http.StatusUnprocessableEntity, "connection_failed"
}

// failConnection answers a brokerconn error.
func (s *Server) failConnection(c *gin.Context, err error) {
	var fe *brokerconn.FieldError
	var le *billing.LimitError
	switch {
	case errors.As(err, &fe):
		s.fail(c, badRequest(fe.Field, fe.Message))
	case errors.As(err, &le):
		s.fail(c, planLimit(le))
	case errors.Is(err, brokerconn.ErrNotFound):
		s.fail(c, errNotFound)
	case errors.Is(err, brokerconn.ErrSchwabNotConfigured):
		s.fail(c, &Error{Status: http.StatusServiceUnavailable, Code: "schwab_not_configured", Message: "Schwab connections are not available on this server."})
	default:
		s.fail(c, err)
	}
}

func connectionParam(c *gin.Context) (string, bool) {
	id := c.Param("id")
	_, err := uuid.Parse(id)
	return id, err == nil
}

// listBrokers: GET /api/v1/brokers — the trader's connections (no
// credentials) and default brokers per asset class.
func (s *Server) listBrokers(c *gin.Context) {
	uid, ok := s.subjectUserID(c, "BrokerConnection")
	if !ok {
		return
	}
	views, err := s.connections().List(c.Request.Context(), uid)
	if err != nil {
		s.fail(c, err)
		return
	}
	defs, err := s.connections().GetDefaults(c.Request.Context(), uid)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"connections": views, "defaults": defs})
}

// getBroker: GET /api/v1/brokers/{id}.
func (s *Server) getBroker(c *gin.Context) {
	id, ok := connectionParam(c)
	if !ok {
		s.fail(c, errNotFound)
		return
	}
	uid, ok := s.subjectUserID(c, "BrokerConnection")
	if !ok {
		return
	}
	v, err := s.connections().Get(c.Request.Context(), uid, id)
	if err != nil {
		s.failConnection(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"connection": v})
}

// disconnectBroker: DELETE /api/v1/brokers/{id} — the connection becomes
// inactive and its credentials are erased (BROKER_DISCONNECTED).
func (s *Server) disconnectBroker(c *gin.Context) {
	id, ok := connectionParam(c)
	if !ok {
		s.fail(c, errNotFound)
		return
	}
	cl := s.client(c)
	msg, _, err := s.connections().Disconnect(c.Request.Context(),
		brokerconn.Actor{UserID: c.GetString(ctxUserID), IPAddress: cl.IP, UserAgent: cl.UserAgent}, id)
	if err != nil {
		s.failConnection(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": brokerconn.HealthDisconnected, "connectionId": id, "message": msg})
}

// setBrokerDefaults: PUT /api/v1/brokers/defaults {"stocks": id|null,
// "crypto": id|null} — the connection each asset class goes to unless a
// signal names its broker (FR-020). An absent class is left unchanged.
func (s *Server) setBrokerDefaults(c *gin.Context) {
	var raw map[string]json.RawMessage
	if !s.bindJSON(c, &raw) {
		return
	}
	var req brokerconn.DefaultsRequest
	for k, v := range raw {
		var dst *brokerconn.DefaultChange
		switch k {
		case "stocks":
			dst = &req.Stocks
		case "crypto":
			dst = &req.Crypto
		default:
			s.fail(c, badRequest(k, "Unknown field; use stocks and crypto."))
			return
		}
		var id *string
		if err := json.Unmarshal(v, &id); err != nil {
			s.fail(c, badRequest(k, k+" must be a connection id or null."))
			return
		}
		dst.Set = true
		if id != nil {
			dst.ConnectionID = strings.TrimSpace(*id)
			if _, err := uuid.Parse(dst.ConnectionID); err != nil {
				s.fail(c, badRequest(k, k+" must be a connection id or null."))
				return
			}
		}
	}
	cl := s.client(c)
	defs, err := s.connections().SetDefaults(c.Request.Context(),
		brokerconn.Actor{UserID: c.GetString(ctxUserID), IPAddress: cl.IP, UserAgent: cl.UserAgent}, req)
	if err != nil {
		s.failConnection(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"defaults": defs})
}

// brokerCatalog: GET /api/v1/brokers/catalog — the brokers a trader can
// connect and the fields each needs (the dashboard builds its forms).
func (s *Server) brokerCatalog(c *gin.Context) {
	type entry struct {
		Broker string             `json:"broker"`
		Name   string             `json:"name"`
		OAuth  bool               `json:"oauth"`
		Fields []brokerconn.Field `json:"fields"`
	}
	svc := s.connections()
	out := []entry{}
	for _, name := range brokerconn.BrokerTypes() {
		e := entry{Broker: name, Name: trade.BrokerDisplayName(name), OAuth: name == "schwab", Fields: brokerconn.Fields(name, svc.AllowCustomURLs)}
		if e.Fields == nil {
			e.Fields = []brokerconn.Field{}
		}
		if (name == "schwab" && svc.Schwab == nil) || (name == "paper" && svc.Paper == nil) {
			continue
		}
		out = append(out, e)
	}
	c.JSON(http.StatusOK, gin.H{"brokers": out})
}

// ibkrSetup: GET /api/v1/brokers/ibkr/setup — what a trader does before
// connecting Interactive Brokers (US-002 #5).
func (s *Server) ibkrSetup(c *gin.Context) {
	ip := s.serverIP()
	c.JSON(http.StatusOK, gin.H{
		"broker": "ibkr", "serverIp": ip, "instructions": ibkr.SetupInstructions(ip),
		"fields": brokerconn.Fields("ibkr", s.connections().AllowCustomURLs),
	})
}

// serverIP is Connections.ServerIP, else the host of the public URL.
func (s *Server) serverIP() string {
	if s.Connections.ServerIP != "" {
		return s.Connections.ServerIP
	}
	if u, err := url.Parse(s.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "this server's public IP address"
}

// schwabAuthorize: GET /api/v1/brokers/schwab/authorize[?connectionId=…]
// [&label=…][&accountNumber=…] — where to send the trader to authorize
// tradeexec at Schwab (a new connection, or re-consent for connectionId).
func (s *Server) schwabAuthorize(c *gin.Context) {
	connID := c.Query("connectionId")
	if connID != "" {
		if _, err := uuid.Parse(connID); err != nil {
			s.fail(c, errNotFound)
			return
		}
	}
	az, err := s.connections().BeginSchwab(c.Request.Context(), c.GetString(ctxUserID), connID, c.Query("label"), c.Query("accountNumber"))
	if err != nil {
		s.failConnection(c, err)
		return
	}
	// The consent is bound to this browser: the callback must come back
	// with this cookie (an attacker's consent link opened in a victim's
	// browser lacks it) and a session of the same trader.
	if u, err := url.Parse(az.URL); err == nil && u.Query().Get("state") != "" {
		s.setCookie(c, schwabCookie, u.Query().Get("state"), time.Now().Add(brokerconn.OAuthStateTTL))
	}
	c.JSON(http.StatusOK, az)
}

// schwabCallback: GET /brokers/schwab/callback?code=…&state=… — Schwab
// sends the browser back here. The state names the trader (single use, ten
// minutes); the code is sealed at once and traded for tokens by the
// workflow's activity. The browser lands on Settings → Brokers with the
// outcome.
func (s *Server) schwabCallback(c *gin.Context) {
	q := c.Request.URL.Query()
	for _, k := range []string{"code", "state", "error"} {
		if len(q[k]) > 1 || len(q.Get(k)) > 2048 {
			s.redirectBrokers(c, "failed", "", "Schwab's answer could not be read. Start again from Settings → Brokers.")
			return
		}
	}
	if q.Get("error") != "" {
		s.redirectBrokers(c, "failed", "", "Schwab sign-in was cancelled. Nothing was connected.")
		return
	}
	// Bound to the browser that started the consent (its cookie holds the
	// state) and to a signed-in session of the same trader. A browser
	// without a session signs in first and comes back here (the state is
	// not used up meanwhile).
	if bound := s.cookie(c, schwabCookie); bound == "" || subtle.ConstantTimeCompare([]byte(bound), []byte(q.Get("state"))) != 1 {
		s.log(c).Warn("schwab callback without the browser binding of its consent")
		s.redirectBrokers(c, "failed", "", "This Schwab sign-in was not started in this browser. Start again from Settings → Brokers.")
		return
	}
	current := ""
	if s.Auth != nil {
		current = s.signedInUser(c)
	}
	if current == "" {
		c.Redirect(http.StatusSeeOther, s.dashboardBase()+"/dashboard#/resume?to="+url.QueryEscape(c.Request.URL.RequestURI()))
		return
	}
	a, err := s.connections().CompleteSchwab(c.Request.Context(), q.Get("state"), q.Get("code"), current)
	s.clearCookie(c, schwabCookie)
	var fe *brokerconn.FieldError
	switch {
	case errors.Is(err, brokerconn.ErrOAuthState):
		s.redirectBrokers(c, "failed", "", "This Schwab sign-in link expired or was already used. Start again from Settings → Brokers.")
		return
	case errors.Is(err, brokerconn.ErrSchwabNotConfigured):
		s.redirectBrokers(c, "failed", "", "Schwab connections are not available on this server.")
		return
	case errors.As(err, &fe):
		s.redirectBrokers(c, "failed", "", fe.Message)
		return
	case errors.Is(err, brokerconn.ErrNotFound):
		s.redirectBrokers(c, "failed", "", "The Schwab connection to re-authorize no longer exists. Connect Schwab again.")
		return
	case err != nil:
		s.log(c).Error("schwab callback", zap.Error(err))
		s.redirectBrokers(c, "failed", "", "Something went wrong on our side. Start again from Settings → Brokers.")
		return
	}
	cl := s.client(c)
	a.IPAddress, a.UserAgent = cl.IP, cl.UserAgent
	res, pending, err := s.startConnect(c, a)
	switch {
	case err != nil:
		s.redirectBrokers(c, "failed", "", "Schwab could not be confirmed right now. Start again from Settings → Brokers.")
	case pending:
		s.redirectBrokers(c, brokerconn.HealthValidating, a.ConnectionID, trade.ConnectPendingMessage("schwab"))
	case !res.Connected:
		s.redirectBrokers(c, "failed", "", res.Message)
	default:
		s.redirectBrokers(c, "connected", res.ConnectionID, res.Message)
	}
}

// redirectBrokers sends the browser to Settings → Brokers with an outcome.
func (s *Server) redirectBrokers(c *gin.Context, status, connectionID, message string) {
	q := url.Values{"broker": {"schwab"}, "status": {status}, "message": {message}}
	if connectionID != "" {
		q.Set("connection", connectionID)
	}
	c.Redirect(http.StatusSeeOther, s.dashboardBase()+BrokerSettingsPath+"?"+q.Encode())
}

// dashboardBase is the dashboard's absolute base URL ("" for a relative
// redirect when none is configured).
func (s *Server) dashboardBase() string {
	base := strings.TrimRight(s.Connections.DashboardURL, "/")
	if base == "" {
		base = strings.TrimRight(s.PublicURL, "/")
	}
	if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return base
}
