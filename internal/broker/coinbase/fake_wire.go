package coinbase

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
)

// The fake's own wire types, written from the Advanced Trade API reference
// (https://docs.cdp.coinbase.com/api-reference/advanced-trade-api/rest-api:
// orders/create-order, orders/get-order, orders/list-orders,
// orders/cancel-order, accounts/list-accounts, products/get-product,
// public/get-public-product) and the official Go SDK's model.go
// (github.com/coinbase-samples/advanced-trade-sdk-go). They are deliberately
// separate from the adapter's types in client.go: the fake decodes what the
// adapter sends into these and encodes what it answers from these, so a
// field the adapter names wrongly is refused (requests) or missed (answers)
// and a test fails.
//
// Coinbase's REST API is a grpc-gateway: a request body with a field it does
// not know is refused with 400 INVALID_ARGUMENT, so the fake decodes
// requests strictly.

type cbMoney struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

// cbAccount is one entry of GET /accounts.
type cbAccount struct {
	UUID              string     `json:"uuid"`
	Name              string     `json:"name"`
	Currency          string     `json:"currency"`
	AvailableBalance  cbMoney    `json:"available_balance"`
	Default           bool       `json:"default"`
	Active            bool       `json:"active"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	DeletedAt         *time.Time `json:"deleted_at"`
	Type              string     `json:"type"`
	Ready             bool       `json:"ready"`
	Hold              cbMoney    `json:"hold"`
	RetailPortfolioID string     `json:"retail_portfolio_id"`
}

type cbListAccounts struct {
	Accounts []cbAccount `json:"accounts"`
	HasNext  bool        `json:"has_next"`
	Cursor   string      `json:"cursor"`
	Size     int         `json:"size"`
}

// cbProduct is GET /products/{id} and GET /market/products/{id}.
type cbProduct struct {
	ProductID                 string   `json:"product_id"`
	Price                     string   `json:"price"`
	PricePercentageChange24h  string   `json:"price_percentage_change_24h"`
	Volume24h                 string   `json:"volume_24h"`
	VolumePercentageChange24h string   `json:"volume_percentage_change_24h"`
	BaseIncrement             string   `json:"base_increment"`
	QuoteIncrement            string   `json:"quote_increment"`
	QuoteMinSize              string   `json:"quote_min_size"`
	QuoteMaxSize              string   `json:"quote_max_size"`
	BaseMinSize               string   `json:"base_min_size"`
	BaseMaxSize               string   `json:"base_max_size"`
	BaseName                  string   `json:"base_name"`
	QuoteName                 string   `json:"quote_name"`
	Watched                   bool     `json:"watched"`
	IsDisabled                bool     `json:"is_disabled"`
	New                       bool     `json:"new"`
	Status                    string   `json:"status"`
	CancelOnly                bool     `json:"cancel_only"`
	LimitOnly                 bool     `json:"limit_only"`
	PostOnly                  bool     `json:"post_only"`
	TradingDisabled           bool     `json:"trading_disabled"`
	AuctionMode               bool     `json:"auction_mode"`
	ProductType               string   `json:"product_type"`
	QuoteCurrencyID           string   `json:"quote_currency_id"`
	BaseCurrencyID            string   `json:"base_currency_id"`
	MidMarketPrice            string   `json:"mid_market_price"`
	Alias                     string   `json:"alias"`
	AliasTo                   []string `json:"alias_to"`
	BaseDisplaySymbol         string   `json:"base_display_symbol"`
	QuoteDisplaySymbol        string   `json:"quote_display_symbol"`
	ViewOnly                  bool     `json:"view_only"`
	PriceIncrement            string   `json:"price_increment"`
}

// Order configurations (create-order request body, order_configuration).
type cbMarketIOC struct {
	QuoteSize   string `json:"quote_size,omitempty"`
	BaseSize    string `json:"base_size,omitempty"`
	RFQDisabled bool   `json:"rfq_disabled,omitempty"`
}

type cbSorLimitIOC struct {
	QuoteSize   string `json:"quote_size,omitempty"`
	BaseSize    string `json:"base_size,omitempty"`
	LimitPrice  string `json:"limit_price"`
	RFQDisabled bool   `json:"rfq_disabled,omitempty"`
}

type cbLimitGTC struct {
	QuoteSize   string `json:"quote_size,omitempty"`
	BaseSize    string `json:"base_size,omitempty"`
	LimitPrice  string `json:"limit_price"`
	PostOnly    bool   `json:"post_only"`
	RFQDisabled bool   `json:"rfq_disabled,omitempty"`
}

type cbLimitGTD struct {
	QuoteSize  string `json:"quote_size,omitempty"`
	BaseSize   string `json:"base_size,omitempty"`
	LimitPrice string `json:"limit_price"`
	EndTime    string `json:"end_time"`
	PostOnly   bool   `json:"post_only"`
}

type cbLimitFOK struct {
	QuoteSize   string `json:"quote_size,omitempty"`
	BaseSize    string `json:"base_size,omitempty"`
	LimitPrice  string `json:"limit_price"`
	RFQDisabled bool   `json:"rfq_disabled,omitempty"`
}

type cbStopLimitGTC struct {
	BaseSize      string `json:"base_size"`
	LimitPrice    string `json:"limit_price"`
	StopPrice     string `json:"stop_price"`
	StopDirection string `json:"stop_direction"`
}

type cbStopLimitGTD struct {
	BaseSize      string `json:"base_size"`
	LimitPrice    string `json:"limit_price"`
	StopPrice     string `json:"stop_price"`
	EndTime       string `json:"end_time"`
	StopDirection string `json:"stop_direction"`
}

type cbOrderConfiguration struct {
	MarketMarketIOC       *cbMarketIOC    `json:"market_market_ioc,omitempty"`
	SorLimitIOC           *cbSorLimitIOC  `json:"sor_limit_ioc,omitempty"`
	LimitLimitGTC         *cbLimitGTC     `json:"limit_limit_gtc,omitempty"`
	LimitLimitGTD         *cbLimitGTD     `json:"limit_limit_gtd,omitempty"`
	LimitLimitFOK         *cbLimitFOK     `json:"limit_limit_fok,omitempty"`
	StopLimitStopLimitGTC *cbStopLimitGTC `json:"stop_limit_stop_limit_gtc,omitempty"`
	StopLimitStopLimitGTD *cbStopLimitGTD `json:"stop_limit_stop_limit_gtd,omitempty"`
	TriggerBracketGTC     *cbBracketGTC   `json:"trigger_bracket_gtc,omitempty"`
}

// cbBracketGTC is trigger_bracket_gtc: ONE order that exits a held
// position either at limit_price (take-profit) or, once the last trade
// crosses stop_trigger_price, as a stop (order_type BRACKET; fake_bracket.go).
type cbBracketGTC struct {
	BaseSize         string `json:"base_size"`
	LimitPrice       string `json:"limit_price"`
	StopTriggerPrice string `json:"stop_trigger_price"`
}

// cbCreateOrderRequest is the POST /orders body.
type cbCreateOrderRequest struct {
	ClientOrderID         string               `json:"client_order_id"`
	ProductID             string               `json:"product_id"`
	Side                  string               `json:"side"`
	OrderConfiguration    cbOrderConfiguration `json:"order_configuration"`
	SelfTradePreventionID string               `json:"self_trade_prevention_id,omitempty"`
	Leverage              string               `json:"leverage,omitempty"`
	MarginType            string               `json:"margin_type,omitempty"`
	RetailPortfolioID     string               `json:"retail_portfolio_id,omitempty"`
	PreviewID             string               `json:"preview_id,omitempty"`
}

type cbSuccessResponse struct {
	OrderID       string `json:"order_id"`
	ProductID     string `json:"product_id"`
	Side          string `json:"side"`
	ClientOrderID string `json:"client_order_id"`
}

type cbErrorResponse struct {
	Error                 string `json:"error"`
	Message               string `json:"message"`
	ErrorDetails          string `json:"error_details"`
	PreviewFailureReason  string `json:"preview_failure_reason,omitempty"`
	NewOrderFailureReason string `json:"new_order_failure_reason,omitempty"`
}

// cbCreateOrderResponse: HTTP 200 either way; success says which half is set.
type cbCreateOrderResponse struct {
	Success            bool                  `json:"success"`
	SuccessResponse    *cbSuccessResponse    `json:"success_response,omitempty"`
	ErrorResponse      *cbErrorResponse      `json:"error_response,omitempty"`
	OrderConfiguration *cbOrderConfiguration `json:"order_configuration,omitempty"`
}

// cbOrder is an order in GET /orders/historical/{id} ({"order": …}) and
// GET /orders/historical/batch ({"orders": […]}).
type cbOrder struct {
	OrderID               string               `json:"order_id"`
	ProductID             string               `json:"product_id"`
	UserID                string               `json:"user_id"`
	OrderConfiguration    cbOrderConfiguration `json:"order_configuration"`
	Side                  string               `json:"side"`
	ClientOrderID         string               `json:"client_order_id"`
	Status                string               `json:"status"`
	TimeInForce           string               `json:"time_in_force"`
	CreatedTime           time.Time            `json:"created_time"`
	CompletionPercentage  string               `json:"completion_percentage"`
	FilledSize            string               `json:"filled_size"`
	AverageFilledPrice    string               `json:"average_filled_price"`
	NumberOfFills         string               `json:"number_of_fills"`
	FilledValue           string               `json:"filled_value"`
	PendingCancel         bool                 `json:"pending_cancel"`
	SizeInQuote           bool                 `json:"size_in_quote"`
	TotalFees             string               `json:"total_fees"`
	SizeInclusiveOfFees   bool                 `json:"size_inclusive_of_fees"`
	TotalValueAfterFees   string               `json:"total_value_after_fees"`
	TriggerStatus         string               `json:"trigger_status"`
	OrderType             string               `json:"order_type"`
	RejectReason          string               `json:"reject_reason"`
	Settled               bool                 `json:"settled"`
	ProductType           string               `json:"product_type"`
	RejectMessage         string               `json:"reject_message"`
	CancelMessage         string               `json:"cancel_message"`
	OrderPlacementSource  string               `json:"order_placement_source"`
	OutstandingHoldAmount string               `json:"outstanding_hold_amount"`
	IsLiquidation         bool                 `json:"is_liquidation"`
	LastFillTime          *time.Time           `json:"last_fill_time"`
}

type cbListOrders struct {
	Orders   []cbOrder `json:"orders"`
	Sequence string    `json:"sequence"`
	HasNext  bool      `json:"has_next"`
	Cursor   string    `json:"cursor"`
}

// cbCancelRequest is the POST /orders/batch_cancel body.
type cbCancelRequest struct {
	OrderIDs []string `json:"order_ids"`
}

type cbCancelResult struct {
	Success       bool   `json:"success"`
	FailureReason string `json:"failure_reason"`
	OrderID       string `json:"order_id"`
}

type cbCancelResponse struct {
	Results []cbCancelResult `json:"results"`
}

// cbError is a non-200 answer (grpc-gateway error as Coinbase renders it).
type cbError struct {
	Error        string `json:"error"`
	ErrorDetails string `json:"error_details"`
	Message      string `json:"message"`
}

// decodeStrict decodes a request body the way the grpc-gateway does:
// unknown fields and trailing data are errors.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errTrailing
	}
	return nil
}

var errTrailing = errors.New("trailing data after the JSON body")
