package ibkr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// A position's exit pair is one OCA group (IBKR Campus, "How to Code an OCA
// Order in the Web API"): both orders in one POST
// /iserver/account/{accountId}/orders, each with isSingleGroup true, so the
// gateway gives them one oca_group_id and cancels the other when one fills.
// The take-profit is a LMT order, the stop a STP order, both on the exit
// side for the same whole-share quantity, GTC unless day was asked.
//
// Ids: the legs' cOIDs are the pair's client id + "-tp" and + "-sl". The
// gateway refuses a cOID it has seen ("Local order ID … is already
// registered"), so a retried placement is answered by looking both legs up
// in the live orders (GET /iserver/account/orders, order_ref = cOID), with
// the same reads and pacing as PlaceOrder's look-up. The order questions
// of the request are confirmed like a single order's. The pair id is
// "<take-profit order id>:<stop order id>": IBKR reports the OCA group only
// per order (order status oca_group_id), so reading the pair needs the
// order ids anyway. Cancelling cancels each leg (DELETE
// /iserver/account/{accountId}/order/{orderId}); a leg already done is
// left as it is.

var _ broker.ExitPairPlacer = (*Adapter)(nil)

func legCOIDs(clientOrderID string) (tp, sl string) {
	return clientOrderID + "-tp", clientOrderID + "-sl"
}

// PlaceExitPair implements broker.ExitPairPlacer.
func (a *Adapter) PlaceExitPair(ctx context.Context, req broker.ExitPairRequest) (broker.ExitPair, error) {
	if strings.TrimSpace(req.ClientOrderID) == "" {
		return broker.ExitPair{}, invalidOrder("the exit pair has no client order id")
	}
	if req.AssetClass == signal.AssetCrypto {
		return broker.ExitPair{}, invalidOrder("Crypto is not traded through the IBKR connection.")
	}
	if !req.TakeProfitPrice.IsPositive() || !req.StopPrice.IsPositive() {
		return broker.ExitPair{}, invalidOrder("an exit pair needs a take-profit price and a stop price")
	}
	switch {
	case req.Side == signal.SideSell && !req.TakeProfitPrice.GreaterThan(req.StopPrice),
		req.Side == signal.SideBuy && !req.TakeProfitPrice.LessThan(req.StopPrice):
		return broker.ExitPair{}, invalidOrder(fmt.Sprintf("the take-profit %s and the stop %s are on the wrong sides for a %s exit",
			req.TakeProfitPrice, req.StopPrice, req.Side))
	case req.Side != signal.SideSell && req.Side != signal.SideBuy:
		return broker.ExitPair{}, invalidOrder("order side must be buy or sell")
	}
	tif := req.TimeInForce
	switch tif {
	case "":
		tif = broker.TIFGTC
	case broker.TIFGTC, broker.TIFDay:
	default:
		return broker.ExitPair{}, invalidOrder("an IBKR exit pair rests day or gtc; time in force " + string(tif) + " is not taken")
	}
	symbol := canonical(req.Symbol)
	qty := wholeShares(req.Quantity)
	if !qty.IsPositive() {
		return broker.ExitPair{}, invalidOrder("Interactive Brokers orders are in whole shares; the quantity rounds down to zero.")
	}
	tpCOID, slCOID := legCOIDs(req.ClientOrderID)
	tpReq := broker.OrderRequest{ClientOrderID: tpCOID, Symbol: symbol, AssetClass: req.AssetClass, Side: req.Side,
		Type: signal.OrderLimit, Quantity: qty, LimitPrice: req.TakeProfitPrice, TimeInForce: tif}
	slReq := broker.OrderRequest{ClientOrderID: slCOID, Symbol: symbol, AssetClass: req.AssetClass, Side: req.Side,
		Type: signal.OrderStop, Quantity: qty, StopPrice: req.StopPrice, TimeInForce: tif}
	for attempt := 0; ; attempt++ {
		if err := a.ensureSession(ctx); err != nil {
			return broker.ExitPair{}, err
		}
		conid, err := a.resolve(ctx, symbol)
		if err != nil {
			return broker.ExitPair{}, err
		}
		tpTicket, err := toTicket(tpReq, a.accountID, conid, qty)
		if err != nil {
			return broker.ExitPair{}, err
		}
		slTicket, err := toTicket(slReq, a.accountID, conid, qty)
		if err != nil {
			return broker.ExitPair{}, err
		}
		tpTicket.IsSingleGroup, slTicket.IsSingleGroup = true, true
		replies, err := a.c.placeOrders(ctx, a.accountID, placeOrdersRequest{Orders: []wireOrderTicket{tpTicket, slTicket}})
		acks, err := a.confirmAll(ctx, replies, err)
		if err == nil {
			return a.pairAcknowledged(ctx, req.ClientOrderID, tpReq, slReq, qty, acks)
		}
		var ae *apiError
		switch {
		case errors.As(err, &ae) && needsAccountsQuery(ae.Message) && attempt == 0:
			a.setReady(false)
			continue
		case errors.As(err, &ae) && isDuplicateCOID(ae.Message):
			// An earlier attempt got through: the legs exist at IBKR.
			pair, _, ferr := a.findPair(ctx, req.ClientOrderID, true)
			return pair, ferr
		case broker.KindOf(err) == broker.KindUnavailable:
			if pair, found, ferr := a.findPair(ctx, req.ClientOrderID, false); ferr == nil && found {
				return pair, nil
			}
		}
		return broker.ExitPair{}, mapError(err, "order")
	}
}

// pairAcknowledged builds the pair from the acknowledgements (matched to
// the legs by local_order_id, the cOID; in request order when the gateway
// leaves it out) and looks up a leg the answer did not acknowledge.
func (a *Adapter) pairAcknowledged(ctx context.Context, cid string, tpReq, slReq broker.OrderRequest, qty decimal.Decimal, acks []wireOrderReply) (broker.ExitPair, error) {
	byCOID := map[string]wireOrderReply{}
	for i, ack := range acks {
		key := ack.LocalOrderID
		if key == "" && len(acks) == 2 {
			key = []string{tpReq.ClientOrderID, slReq.ClientOrderID}[i]
		}
		byCOID[key] = ack
	}
	tpAck, okTP := byCOID[tpReq.ClientOrderID]
	slAck, okSL := byCOID[slReq.ClientOrderID]
	if !okTP || !okSL {
		pair, _, err := a.findPair(ctx, cid, true)
		return pair, err
	}
	tp, err := a.acknowledged(ctx, tpReq, qty, tpAck)
	if err != nil {
		return broker.ExitPair{}, err
	}
	sl, err := a.acknowledged(ctx, slReq, qty, slAck)
	if err != nil {
		return broker.ExitPair{}, err
	}
	return broker.ExitPair{ID: tp.ID + ":" + sl.ID, ClientOrderID: cid, TakeProfit: tp, StopLoss: sl}, nil
}

// findPair looks both legs up by cOID in the live orders. known says IBKR
// confirmed the legs exist (a lookup that fails then is retryable).
func (a *Adapter) findPair(ctx context.Context, cid string, known bool) (broker.ExitPair, bool, error) {
	tpCOID, slCOID := legCOIDs(cid)
	since := time.Now()
	tp, found, err := a.lookup(ctx, tpCOID, known, since)
	if err != nil || !found {
		return broker.ExitPair{}, false, err
	}
	// Both legs were placed in one request: the stop is known to exist.
	sl, _, err := a.lookup(ctx, slCOID, true, since)
	if err != nil {
		return broker.ExitPair{}, false, err
	}
	return broker.ExitPair{ID: tp.ID + ":" + sl.ID, ClientOrderID: cid, TakeProfit: tp, StopLoss: sl}, true, nil
}

func parsePairID(id string) (tp, sl string, err error) {
	tp, sl, ok := strings.Cut(id, ":")
	if !ok || tp == "" || sl == "" {
		return "", "", newErr(broker.KindNotFound, fmt.Sprintf("%q is not an IBKR exit pair id", id), nil)
	}
	return tp, sl, nil
}

// GetExitPair implements broker.ExitPairPlacer from both legs' order status.
func (a *Adapter) GetExitPair(ctx context.Context, id string) (broker.ExitPair, error) {
	tpID, slID, err := parsePairID(id)
	if err != nil {
		return broker.ExitPair{}, err
	}
	if err := a.ensureSession(ctx); err != nil {
		return broker.ExitPair{}, err
	}
	tp, err := a.GetOrderStatus(ctx, tpID)
	if err != nil {
		return broker.ExitPair{}, err
	}
	sl, err := a.GetOrderStatus(ctx, slID)
	if err != nil {
		return broker.ExitPair{}, err
	}
	cid, _ := strings.CutSuffix(tp.ClientOrderID, "-tp")
	return broker.ExitPair{ID: id, ClientOrderID: cid, TakeProfit: tp, StopLoss: sl}, nil
}

// FindExitPair implements broker.ExitPairPlacer.
func (a *Adapter) FindExitPair(ctx context.Context, clientOrderID string) (broker.ExitPair, bool, error) {
	if err := a.ensureSession(ctx); err != nil {
		return broker.ExitPair{}, false, err
	}
	return a.findPair(ctx, clientOrderID, false)
}

// CancelExitPair implements broker.ExitPairPlacer: each working leg is
// cancelled; a leg already filled or cancelled is left as it is.
func (a *Adapter) CancelExitPair(ctx context.Context, id string) error {
	tpID, slID, err := parsePairID(id)
	if err != nil {
		return err
	}
	for _, leg := range []string{tpID, slID} {
		cerr := a.CancelOrder(ctx, leg)
		if cerr == nil {
			continue
		}
		o, err := a.GetOrderStatus(ctx, leg)
		if err != nil {
			return cerr
		}
		if !o.Status.Terminal() {
			return cerr
		}
	}
	return nil
}
