package kraken

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/symbols"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Name is the broker type.
const Name = "kraken"

// cashAsset is Kraken's name for the USD balance.
const cashAsset = "ZUSD"

// Kraken names a few assets differently from everyone else.
var (
	toKrakenAsset   = map[string]string{"BTC": "XBT", "DOGE": "XDG"}
	fromKrakenAsset = map[string]string{"XBT": "BTC", "XDG": "DOGE"}
)

// legacyAssets are Kraken's four-letter X/Z-prefixed asset names (XXBT,
// ZUSD, ...) in balances and pair definitions.
var legacyAssets = map[string]bool{
	"XXBT": true, "XETH": true, "XLTC": true, "XXRP": true, "XXLM": true, "XXMR": true,
	"XZEC": true, "XETC": true, "XREP": true, "XMLN": true, "XXDG": true,
	"ZUSD": true, "ZEUR": true, "ZGBP": true, "ZCAD": true, "ZJPY": true, "ZAUD": true, "ZCHF": true,
}

// pairName is the request name of a canonical pair: BTC-USD → XBTUSD.
func pairName(p symbols.Pair) string {
	return krakenAsset(p.Base) + krakenAsset(p.Quote)
}

func krakenAsset(a string) string {
	if k, ok := toKrakenAsset[a]; ok {
		return k
	}
	return a
}

// canonicalAsset maps a Kraken asset name to the common one: XXBT → BTC,
// ZUSD → USD, SOL → SOL. Earn variants (XBT.F, ETH2.S) are reported as "".
func canonicalAsset(a string) string {
	if strings.Contains(a, ".") {
		return ""
	}
	if legacyAssets[a] {
		a = a[1:]
	}
	if c, ok := fromKrakenAsset[a]; ok {
		return c
	}
	return a
}

// rulesFrom reads lot_decimals, tick_size (or pair_decimals), ordermin and
// costmin of one AssetPairs entry.
func rulesFrom(canonical string, p wireAssetPair) symbols.Rules {
	tick := dec(p.TickSize)
	if tick.Sign() <= 0 {
		tick = symbols.StepFromDecimals(p.PairDecimals)
	}
	return symbols.Rules{
		Symbol:      canonical,
		BaseStep:    symbols.StepFromDecimals(p.LotDecimals),
		TickSize:    tick,
		MinQty:      dec(p.OrderMin),
		MinNotional: dec(p.CostMin),
	}
}

// shortClOrdID is the free-text form Kraken accepts besides a UUID.
var shortClOrdID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,18}$`)

// clOrdNamespace derives cl_ord_id UUIDs from longer client order ids.
var clOrdNamespace = uuid.MustParse("6f1d3a5e-2c4b-4f0a-9b7e-8a1c2d3e4f50")

// wireClOrdID maps the workflow's client order id to a cl_ord_id Kraken
// accepts: a UUID or free text of up to 18 characters as is, anything else
// as a name-based (SHA-1) UUID — deterministic, so a retry from any worker
// maps to the same id.
func wireClOrdID(id string) string {
	if _, err := uuid.Parse(id); err == nil && len(id) == 36 {
		return strings.ToLower(id)
	}
	if shortClOrdID.MatchString(id) {
		return id
	}
	return uuid.NewSHA1(clOrdNamespace, []byte(id)).String()
}

var orderTypes = map[string]signal.OrderType{
	"market":          signal.OrderMarket,
	"limit":           signal.OrderLimit,
	"stop-loss":       signal.OrderStop,
	"stop-loss-limit": signal.OrderStopLimit,
	"trailing-stop":   signal.OrderTrailingStop,
}

// toOrder converts a Kraken order info entry.
func toOrder(txid string, w wireOrder, canonical string) broker.Order {
	o := broker.Order{
		ID:             txid,
		ClientOrderID:  w.ClOrdID,
		Symbol:         canonical,
		Side:           signal.Side(w.Descr.Type),
		Type:           orderTypes[w.Descr.OrderType],
		Quantity:       dec(w.Vol),
		FilledQuantity: dec(w.VolExec),
		SubmittedAt:    unixFloat(w.OpenTm),
		UpdatedAt:      unixFloat(math.Max(w.OpenTm, w.CloseTm)),
	}
	switch o.Type {
	case signal.OrderLimit:
		o.LimitPrice = dec(w.Descr.Price)
	case signal.OrderStop:
		o.StopPrice = dec(w.Descr.Price)
	case signal.OrderStopLimit:
		o.StopPrice, o.LimitPrice = dec(w.Descr.Price), dec(w.Descr.Price2)
	}
	// price is Kraken's average execution price; cost is rounded to the
	// pair's cost_decimals, so cost / vol_exec is only a fallback.
	if o.FilledQuantity.Sign() > 0 {
		if avg := dec(w.Price); avg.Sign() > 0 {
			o.AvgFillPrice = avg
		} else if cost := dec(w.Cost); cost.Sign() > 0 {
			o.AvgFillPrice = cost.Div(o.FilledQuantity).Round(8)
		}
	}
	switch w.Status {
	case "pending", "open":
		o.Status = broker.StatusNew
		if o.FilledQuantity.Sign() > 0 {
			o.Status = broker.StatusPartiallyFilled
		}
	case "closed":
		o.Status = broker.StatusFilled
	case "canceled":
		o.Status = broker.StatusCancelled
	case "expired":
		o.Status = broker.StatusExpired
	default:
		o.Status = broker.StatusNew
	}
	if w.Reason != nil && o.Status == broker.StatusCancelled && o.FilledQuantity.IsZero() && *w.Reason != "User requested" {
		o.RejectReason = *w.Reason
	}
	return o
}

// wireOrderSpec is Kraken's ordertype and time in force for an order.
func wireOrderSpec(req broker.OrderRequest) (ordertype, tif string, err error) {
	switch req.TimeInForce {
	case "", broker.TIFDay, broker.TIFGTC:
		tif = "GTC"
	case broker.TIFIOC:
		tif = "IOC"
	default:
		return "", "", broker.NewError(Name, broker.KindInvalidOrder,
			fmt.Sprintf("Kraken does not take time in force %q", req.TimeInForce), nil)
	}
	switch req.Type {
	case signal.OrderMarket:
		if tif != "GTC" {
			return "", "", broker.NewError(Name, broker.KindInvalidOrder, "Kraken market orders take no time in force", nil)
		}
		return "market", "", nil
	case signal.OrderLimit:
		return "limit", tif, nil
	case signal.OrderStop:
		return "stop-loss", "", nil
	case signal.OrderStopLimit:
		return "stop-loss-limit", tif, nil
	}
	return "", "", broker.NewError(Name, broker.KindInvalidOrder,
		fmt.Sprintf("%s orders are not supported by this Kraken connection", req.Type), nil)
}

// mapError turns a wire error into the broker error kinds. Messages are safe
// to show to the trader.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	var be *broker.Error
	if errors.As(err, &be) {
		return err
	}
	ae, ok := asAPIError(err)
	if !ok {
		return broker.NewError(Name, broker.KindUnavailable, "Kraken request failed", err)
	}
	kind, msg := classify(ae)
	e := broker.NewError(Name, kind, msg, err)
	e.RetryAfter = ae.RetryAfter
	return e
}

func classify(ae *apiError) (broker.Kind, string) {
	switch {
	case isRateLimited(ae):
		return broker.KindRateLimited, "Kraken rate limit reached; the request will be retried"
	case ae.Status >= 500 || isUnavailable(ae):
		return broker.KindUnavailable, "Kraken is temporarily unavailable"
	case ae.has("EAPI:Invalid key"), ae.has("EAPI:Invalid signature"), ae.has("EGeneral:Permission denied"),
		ae.has("EGeneral:Temporary lockout"), ae.has("EAPI:Bad request"), ae.Status == 401, ae.Status == 403:
		return broker.KindAuthFailed, "Kraken refused the API key or signature; check the key and its permissions (query funds, query and create orders)"
	case ae.has("EAPI:Invalid nonce"):
		return broker.KindAuthFailed, "Kraken refused the request nonce; make sure this API key is not used by another application"
	case ae.has("EQuery:Unknown asset pair"):
		return broker.KindInvalidSymbol, "Kraken does not list this pair"
	case ae.has("EOrder:Insufficient funds"), ae.has("EOrder:Insufficient margin"):
		return broker.KindInsufficientFunds, "not enough balance on Kraken for this order"
	case ae.has("EService:Market in cancel_only mode"), ae.has("EService:Market in post_only mode"),
		ae.has("EService:Market in limit_only mode"), ae.has("EGeneral:Market halted"):
		// "Request can't be made at this time" (Kraken's API error
		// messages, service status errors): the pair is halted or
		// re-opening in stages; the order waits until it trades again.
		return broker.KindHalted, "trading in this pair is halted on Kraken right now; the order waits until trading resumes"
	case ae.has("EOrder:Unknown order"), ae.has("EOrder:Invalid order"):
		return broker.KindNotFound, "Kraken has no open order with this id"
	case ae.has("EGeneral:Invalid arguments"), ae.has("EOrder:Invalid price"), ae.has("EOrder:Order minimum not met"),
		ae.has("EOrder:Cost minimum not met"), ae.has("EOrder:Tick size check failed"), ae.has("EOrder:Orders limit exceeded"),
		ae.has("EOrder:Positions limit exceeded"), ae.has("EOrder:Invalid volume"):
		return broker.KindInvalidOrder, "Kraken rejected the order parameters: " + strings.Join(ae.Errors, "; ")
	}
	return broker.KindRejected, "Kraken rejected the request: " + strings.Join(ae.Errors, "; ")
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}

func unixFloat(f float64) time.Time {
	if f <= 0 {
		return time.Time{}
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}
