package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	tclient "go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/trade"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/workflows"
)

// signalRecorder is the Temporal client of the cancel tests: it records
// SignalWorkflow calls and answers with err (other methods are not used).
type signalRecorder struct {
	tclient.Client
	mu      sync.Mutex
	signals []string // workflow id + " " + signal name
	err     error
	before  func() // run by SignalWorkflow before it answers
}

func (r *signalRecorder) SignalWorkflow(_ context.Context, workflowID, _ string, signalName string, _ any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signals = append(r.signals, workflowID+" "+signalName)
	if r.before != nil {
		r.before()
	}
	return r.err
}

// answer sets what the next signals answer (before runs first).
func (r *signalRecorder) answer(err error, before func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err, r.before = err, before
}

func (r *signalRecorder) sent() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.signals...)
}

type cancelEnv struct {
	t        *testing.T
	db       *gorm.DB
	auth     *auth.Service
	temporal *signalRecorder
	http     *httptest.Server
}

func newCancelEnv(t *testing.T, db *gorm.DB) *cancelEnv {
	t.Helper()
	log := zap.NewNop()
	svc, err := auth.New(context.Background(), auth.Config{DB: db, Secret: []byte("0123456789abcdef0123456789abcdef-cancel"), Password: cheapPasswords, Log: log})
	require.NoError(t, err)
	limits := api.DefaultRateLimits()
	limits.API = api.Unlimited
	rec := &signalRecorder{}
	s := &api.Server{DB: db, Auth: svc, Log: log, Limits: &limits, PublicURL: "http://127.0.0.1", Temporal: rec}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &cancelEnv{t: t, db: db, auth: svc, temporal: rec, http: srv}
}

// trader creates a trader and returns its id and a bearer token.
func (e *cancelEnv) trader() (string, string) {
	e.t.Helper()
	id := uuid.NewString()
	email := id + "@example.test"
	require.NoError(e.t, e.db.Create(&schema.User{ID: id, Email: &email, Role: "trader", CreatedAt: time.Now().UTC()}).Error)
	tok, err := e.auth.IssueScriptToken(context.Background(), id)
	require.NoError(e.t, err)
	return id, tok.AccessToken
}

// trade stores a trade of userID in status (with its signal of action).
func (e *cancelEnv) trade(userID, status, action string) schema.Trade {
	e.t.Helper()
	now := time.Now().UTC()
	sigID := uuid.NewString()
	orderType := "limit"
	if action == "cancel" {
		orderType = ""
	}
	payload, err := json.Marshal(map[string]any{"symbol": "AAPL", "action": action})
	require.NoError(e.t, err)
	require.NoError(e.t, e.db.Create(&schema.Signal{ID: sigID, Source: "tradingview", ExternalID: sigID, UserID: userID, Symbol: "AAPL",
		Payload: string(payload), ReceivedAt: now}).Error)
	tr := schema.Trade{ID: uuid.NewString(), SignalID: sigID, UserID: userID, Broker: "paper", Source: "tradingview", Symbol: "AAPL",
		AssetClass: "stock", Side: "buy", OrderType: orderType, RequestedQuantity: decimal.NewFromInt(10), Quantity: decimal.NewFromInt(10),
		LimitPrice: decimal.NewNullDecimal(decimal.NewFromInt(100)), Status: status, FilledQuantity: decimal.Zero, ReservedNotional: decimal.Zero,
		WorkflowID: "trade/" + sigID + "/" + userID, CreatedAt: now, UpdatedAt: now}
	switch trade.Status(status) {
	case trade.StatusSubmitted, trade.StatusPartialFill, trade.StatusFilled:
		tr.BrokerOrderID = "paper-" + tr.ID
	}
	if status == string(trade.StatusPartialFill) {
		tr.FilledQuantity = decimal.NewFromInt(4)
	}
	if status == string(trade.StatusFilled) {
		// The position's stop-loss: not this endpoint's to cancel.
		tr.FilledQuantity = tr.Quantity
		tr.StopLossOrderID = "paper-stop-" + tr.ID
	}
	require.NoError(e.t, e.db.Create(&tr).Error)
	return tr
}

func (e *cancelEnv) cancel(token, tradeID string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/trades/"+tradeID+"/cancel", nil)
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	var body map[string]any
	require.NoError(e.t, json.NewDecoder(res.Body).Decode(&body))
	return res.StatusCode, body
}

// POST /api/v1/trades/{id}/cancel by status: every open order (waiting in
// its workflow or working at the broker) is sent its workflow's `cancel`
// signal and answered 202; an ended one is refused with 409; the row is
// never changed by the API (the workflow records the outcome).
func TestCancelTradeByStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newCancelEnv(t, db)
		user, token := e.trader()
		cases := []struct {
			status  trade.Status
			code    int
			message string
		}{
			{trade.StatusPending, http.StatusAccepted, "Cancel requested. The order is being cancelled."},
			{trade.StatusQueued, http.StatusAccepted, "Cancel requested. The order will not be sent to the broker."},
			{trade.StatusHalted, http.StatusAccepted, "Cancel requested. The order will not be sent to the broker."},
			{trade.StatusSubmitted, http.StatusAccepted, "Cancel requested. The order is being cancelled at the broker."},
			{trade.StatusPartialFill, http.StatusAccepted,
				"Cancel requested. The rest of the order is being cancelled at the broker; the quantity already filled stays in your position."},
			{trade.StatusFilled, http.StatusConflict, "Only open orders can be cancelled; this order is filled."},
			{trade.StatusRejected, http.StatusConflict, "Only open orders can be cancelled; this order is rejected."},
			{trade.StatusCancelled, http.StatusConflict, "Only open orders can be cancelled; this order is cancelled."},
		}
		for _, c := range cases {
			t.Run(string(c.status), func(t *testing.T) {
				tr := e.trade(user, string(c.status), "buy")
				before := len(e.temporal.sent())
				code, body := e.cancel(token, tr.ID)
				require.Equal(t, c.code, code, body)
				require.Equal(t, c.message, body["message"], body)
				sent := e.temporal.sent()[before:]
				if c.code == http.StatusAccepted {
					require.Equal(t, "cancelling", body["status"])
					require.Equal(t, tr.ID, body["tradeId"])
					require.Equal(t, []string{tr.WorkflowID + " " + workflows.SignalCancel}, sent)
				} else {
					require.Equal(t, "not_cancellable", body["error"])
					require.Empty(t, sent)
				}
				var after schema.Trade
				require.NoError(t, db.Take(&after, "id = ?", tr.ID).Error)
				require.Equal(t, string(c.status), after.Status)
				require.Equal(t, tr.StopLossOrderID, after.StopLossOrderID)
			})
		}
	})
}

// Strict isolation, cancel signals, and a workflow that ended between the
// read and the signal.
func TestCancelTradeRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		e := newCancelEnv(t, db)
		alice, aliceToken := e.trader()
		_, bobToken := e.trader()

		// Another trader's working order is not found, and not signalled.
		working := e.trade(alice, string(trade.StatusSubmitted), "buy")
		code, body := e.cancel(bobToken, working.ID)
		require.Equal(t, http.StatusNotFound, code, body)
		require.Equal(t, "not_found", body["error"])
		code, body = e.cancel(bobToken, "not-a-uuid")
		require.Equal(t, http.StatusNotFound, code, body)
		code, body = e.cancel(aliceToken, uuid.NewString())
		require.Equal(t, http.StatusNotFound, code, body)
		require.Empty(t, e.temporal.sent())

		// A cancel signal's own trade places no order: nothing to cancel.
		cx := e.trade(alice, string(trade.StatusPending), "cancel")
		code, body = e.cancel(aliceToken, cx.ID)
		require.Equal(t, http.StatusConflict, code, body)
		require.Equal(t, "not_cancellable", body["error"])
		require.Equal(t, trade.CancelSignalNotCancellableMessage, body["message"])
		require.Empty(t, e.temporal.sent())

		// The order filled and its workflow ended between the read and the
		// signal: the answer is the trade as it is now.
		late := e.trade(alice, string(trade.StatusSubmitted), "buy")
		e.temporal.answer(serviceerror.NewNotFound("workflow execution already completed"), func() {
			if err := db.Model(&schema.Trade{}).Where("id = ?", late.ID).Update("status", "filled").Error; err != nil {
				t.Errorf("fill the trade: %v", err)
			}
		})
		code, body = e.cancel(aliceToken, late.ID)
		require.Equal(t, http.StatusConflict, code, body)
		require.Equal(t, "not_cancellable", body["error"])
		require.Equal(t, "Only open orders can be cancelled; this order is filled.", body["message"])

		// Temporal failing: an error, never a false 202.
		e.temporal.answer(serviceerror.NewUnavailable("down"), nil)
		other := e.trade(alice, string(trade.StatusSubmitted), "buy")
		code, body = e.cancel(aliceToken, other.ID)
		require.Equal(t, http.StatusInternalServerError, code, body)
		require.Equal(t, "internal", body["error"])
	})
}
