package api

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/intake"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// orderRequest is a manual order from the dashboard. Prices and
// quantities are decimals (JSON strings or numbers); an unset price is 0.
type orderRequest struct {
	Symbol          string          `json:"symbol"`
	Side            string          `json:"side"`
	Quantity        decimal.Decimal `json:"quantity"`
	OrderType       string          `json:"orderType"`
	LimitPrice      decimal.Decimal `json:"limitPrice"`
	StopPrice       decimal.Decimal `json:"stopPrice"`
	TrailPercent    decimal.Decimal `json:"trailPercent"`
	StopLossPercent decimal.Decimal `json:"stopLossPercent"`
	// TakeProfitTargets is a take-profit ladder (two or more targets, each
	// {"price"} or {"percent"}, optional "share"s summing to 100).
	TakeProfitTargets []signal.Target `json:"takeProfitTargets"`
	Broker            string          `json:"broker"`
	// IdempotencyKey makes a resubmitted form (double click, retry after a
	// timeout) the same order: one key, one trade.
	IdempotencyKey string `json:"idempotencyKey"`
}

var idempotencyKeyRe = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// placeOrder: POST /api/v1/orders — a manual order. It becomes a dashboard
// signal and goes through intake like every other entry point, so the
// same risk rules apply (a manual order over the position limit is refused,
// not reduced); 202 once its TradeWorkflow has started.
func (s *Server) placeOrder(c *gin.Context) {
	var req orderRequest
	if !s.bindJSON(c, &req) {
		return
	}
	user := c.GetString(ctxUserID)
	sig, err := req.signal(user)
	if err != nil {
		s.fail(c, err)
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), webhookDeadline)
	defer cancel()
	cl := s.client(c)
	res, err := s.intake().Submit(ctx, intake.Request{UserID: user, Signal: sig, Manual: true, IPAddress: cl.IP, UserAgent: cl.UserAgent})
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusAccepted, acceptedBody(res, sig.Text))
}

// signal turns the form into a validated dashboard signal.
func (r orderRequest) signal(userID string) (signal.Signal, error) {
	if len(r.Symbol) > 32 {
		return signal.Signal{}, badRequest("symbol", "symbol is too long.")
	}
	sym, class, err := signal.NormalizeSymbol(r.Symbol)
	if err != nil {
		return signal.Signal{}, err
	}
	key := r.IdempotencyKey
	switch {
	case key == "":
		key = uuid.NewString()
	case !idempotencyKeyRe.MatchString(key):
		return signal.Signal{}, badRequest("idempotencyKey", "idempotencyKey must be 8 to 64 letters, digits, - or _.")
	}
	side := signal.Side(strings.ToLower(r.Side))
	action := signal.ActionBuy
	switch side {
	case signal.SideBuy:
	case signal.SideSell:
		action = signal.ActionSell
	default:
		return signal.Signal{}, badRequest("side", "side must be buy or sell.")
	}
	orderType := signal.OrderType(strings.ToLower(r.OrderType))
	if orderType == "" {
		orderType = signal.OrderMarket
	}
	if !r.Quantity.IsPositive() {
		return signal.Signal{}, badRequest("quantity", "quantity must be more than 0.")
	}
	sig := signal.Signal{
		Source: signal.SourceDashboard, ExternalID: userID + ":" + key,
		Symbol: sym, AssetClass: class, Action: action, Side: side,
		Quantity: r.Quantity, QuantityType: signal.QtyFixed, OrderType: orderType,
		LimitPrice: r.LimitPrice, StopPrice: r.StopPrice, TrailPercent: r.TrailPercent,
		StopLossPercent: r.StopLossPercent, TakeProfitTargets: r.TakeProfitTargets, Broker: strings.ToLower(r.Broker),
	}
	sig.Text = orderText(sig)
	if err := sig.Validate(); err != nil {
		return signal.Signal{}, err
	}
	return sig, nil
}

// orderText renders the order for the Temporal memo and the timeline,
// e.g. "BUY 5 AAPL LIMIT @ 180.50 (dashboard)".
func orderText(s signal.Signal) string {
	var b strings.Builder
	b.WriteString(strings.ToUpper(string(s.Side)) + " " + s.Quantity.String() + " " + s.Symbol + " " +
		strings.ToUpper(strings.ReplaceAll(string(s.OrderType), "_", " ")))
	if s.LimitPrice.IsPositive() {
		b.WriteString(" @ " + s.LimitPrice.String())
	}
	if s.StopPrice.IsPositive() {
		b.WriteString(" stop " + s.StopPrice.String())
	}
	if s.TrailPercent.IsPositive() {
		b.WriteString(" trail " + s.TrailPercent.String() + "%")
	}
	if s.StopLossPercent.IsPositive() {
		b.WriteString(" SL " + s.StopLossPercent.String() + "%")
	}
	for i, t := range s.TakeProfitTargets {
		b.WriteString(" TP" + strconv.Itoa(i+1) + " ")
		if t.Percent.IsPositive() {
			b.WriteString(t.Percent.String() + "%")
		} else {
			b.WriteString(t.Price.String())
		}
	}
	b.WriteString(" (dashboard)")
	return b.String()
}
