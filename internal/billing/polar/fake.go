package polar

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Fake is a local Polar API for tests, written from Polar's OpenAPI
// (2026-04) with its own wire types: it checks the bearer token, refuses
// unknown or malformed fields with Polar's 422 body, and keeps
// subscriptions and orders so the provider's calls have effects to read.
type Fake struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	subs     map[string]*fakeSub
	orders   []fakeOrder
	refunds  []fakeRefund
	requests []string // "METHOD path" of every authorized call
}

type fakeSub struct {
	ID                 string            `json:"id"`
	Status             string            `json:"status"`
	Amount             int64             `json:"amount"`
	Currency           string            `json:"currency"`
	CurrentPeriodStart string            `json:"current_period_start"`
	CurrentPeriodEnd   string            `json:"current_period_end"`
	CancelAtPeriodEnd  bool              `json:"cancel_at_period_end"`
	CustomerID         string            `json:"customer_id"`
	ProductID          string            `json:"product_id"`
	Metadata           map[string]string `json:"metadata"`
	Customer           fakeCustomer      `json:"customer"`
	// What the last PATCH asked (for tests).
	LastProration string `json:"-"`
}

type fakeCustomer struct {
	ID         string `json:"id"`
	ExternalID string `json:"external_id"`
	Email      string `json:"email"`
}

type fakeOrder struct {
	ID             string       `json:"id"`
	CreatedAt      string       `json:"created_at"`
	Status         string       `json:"status"`
	Paid           bool         `json:"paid"`
	TotalAmount    int64        `json:"total_amount"`
	RefundedAmount int64        `json:"refunded_amount"`
	Currency       string       `json:"currency"`
	BillingReason  string       `json:"billing_reason"`
	InvoiceNumber  string       `json:"invoice_number"`
	CustomerID     string       `json:"customer_id"`
	ProductID      string       `json:"product_id"`
	SubscriptionID string       `json:"subscription_id"`
	Customer       fakeCustomer `json:"customer"`
	Description    string       `json:"description"`
}

type fakeRefund struct {
	OrderID string
	Amount  int64
	Reason  string
}

var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// NewFake starts a fake accepting token.
func NewFake(token string) *Fake {
	f := &Fake{token: token, subs: map[string]*fakeSub{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

// URL is the API base.
func (f *Fake) URL() string { return f.srv.URL }

// Close stops the fake.
func (f *Fake) Close() { f.srv.Close() }

// Requests lists the authorized calls made so far.
func (f *Fake) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

// AddSubscription creates an active subscription of externalID's customer
// to product and returns it (ids are uuid4, as Polar's).
func (f *Fake) AddSubscription(externalID, product string, amount int64, periodEnd time.Time) (subID, customerID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := &fakeSub{ID: uuid.NewString(), Status: "active", Amount: amount, Currency: "usd",
		CurrentPeriodStart: periodEnd.AddDate(0, -1, 0).UTC().Format(time.RFC3339), CurrentPeriodEnd: periodEnd.UTC().Format(time.RFC3339),
		CustomerID: uuid.NewString(), ProductID: product, Metadata: map[string]string{"user_id": externalID}}
	s.Customer = fakeCustomer{ID: s.CustomerID, ExternalID: externalID, Email: externalID + "@example.com"}
	f.subs[s.ID] = s
	return s.ID, s.CustomerID
}

// SetStatus changes a subscription's status (e.g. past_due, active).
func (f *Fake) SetStatus(subID, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[subID].Status = status
}

// Subscription returns a copy of a subscription.
func (f *Fake) Subscription(subID string) fakeSub {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.subs[subID]
}

// AddOrder records a paid order of a subscription.
func (f *Fake) AddOrder(subID string, amount int64, reason string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.subs[subID]
	o := fakeOrder{ID: uuid.NewString(), CreatedAt: time.Now().UTC().Format(time.RFC3339), Status: "paid", Paid: true, TotalAmount: amount,
		Currency: "usd", BillingReason: reason, InvoiceNumber: fmt.Sprintf("INV-%04d", len(f.orders)+1), CustomerID: s.CustomerID,
		ProductID: s.ProductID, SubscriptionID: s.ID, Customer: s.Customer, Description: "Subscription"}
	f.orders = append(f.orders, o)
	return o.ID
}

// Refunds lists the refunds created.
func (f *Fake) Refunds() []fakeRefund {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeRefund(nil), f.refunds...)
}

// Event builds a signed webhook delivery of typ with data (a subscription
// or an order of the fake, or any object), as Polar sends it.
func (f *Fake) Event(secret, msgID, typ string, data any, at time.Time) ([]byte, http.Header) {
	body, _ := json.Marshal(map[string]any{"type": typ, "timestamp": at.UTC().Format(time.RFC3339Nano), "data": data})
	h := http.Header{}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", fmt.Sprint(at.Unix()))
	h.Set("webhook-signature", Sign(secret, msgID, at, body))
	h.Set("Content-Type", "application/json")
	return body, h
}

// OrderObject returns an order as Polar's webhooks carry it.
func (f *Fake) OrderObject(orderID string) fakeOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.orders {
		if o.ID == orderID {
			return o
		}
	}
	return fakeOrder{}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// unprocessable is Polar's validation error body.
func unprocessable(w http.ResponseWriter, loc, msg string) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "RequestValidationError",
		"detail": []map[string]any{{"loc": []string{"body", loc}, "msg": msg, "type": "value_error"}}})
}

func notFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": "ResourceNotFound", "detail": "Not found"})
}

// decodeStrict decodes a JSON object and refuses fields outside allowed.
func decodeStrict(w http.ResponseWriter, r *http.Request, allowed ...string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		unprocessable(w, "", "invalid JSON")
		return nil, false
	}
	for k := range m {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			unprocessable(w, k, "Extra inputs are not permitted")
			return nil, false
		}
	}
	return m, true
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "Unauthorized", "detail": "Unauthorized"})
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/v1/checkouts/":
		m, ok := decodeStrict(w, r, "products", "success_url", "return_url", "customer_email", "customer_id", "external_customer_id", "metadata")
		if !ok {
			return
		}
		var products []string
		if err := json.Unmarshal(m["products"], &products); err != nil || len(products) == 0 {
			unprocessable(w, "products", "Field required: at least one product id")
			return
		}
		for _, p := range products {
			if !uuid4.MatchString(p) {
				unprocessable(w, "products", "Input should be a valid UUID")
				return
			}
		}
		id := uuid.NewString()
		writeJSON(w, http.StatusCreated, map[string]any{"id": id, "url": "https://sandbox.polar.sh/checkout/polar_c_" + id, "status": "open"})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/customer-sessions/":
		m, ok := decodeStrict(w, r, "customer_id", "return_url", "member_id", "external_member_id")
		if !ok {
			return
		}
		var cid string
		if json.Unmarshal(m["customer_id"], &cid) != nil || !uuid4.MatchString(cid) {
			unprocessable(w, "customer_id", "Input should be a valid UUID")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{"id": uuid.NewString(), "token": "polar_cst_x", "customer_id": cid,
			"customer_portal_url": "https://sandbox.polar.sh/portal?customer_session_token=polar_cst_x"})
	case strings.HasPrefix(r.URL.Path, "/v1/subscriptions/"):
		f.serveSubscription(w, r, strings.TrimPrefix(r.URL.Path, "/v1/subscriptions/"))
	case r.Method == http.MethodGet && r.URL.Path == "/v1/orders/":
		cid := r.URL.Query().Get("customer_id")
		f.mu.Lock()
		items := []fakeOrder{}
		for i := len(f.orders) - 1; i >= 0; i-- {
			if f.orders[i].CustomerID == cid {
				items = append(items, f.orders[i])
			}
		}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "pagination": map[string]int{"total_count": len(items), "max_page": 1}})
	case r.Method == http.MethodPost && r.URL.Path == "/v1/refunds/":
		m, ok := decodeStrict(w, r, "order_id", "reason", "amount", "comment", "revoke_benefits", "metadata")
		if !ok {
			return
		}
		var orderID, reason string
		var amount int64
		_ = json.Unmarshal(m["order_id"], &orderID)
		_ = json.Unmarshal(m["reason"], &reason)
		_ = json.Unmarshal(m["amount"], &amount)
		switch reason {
		case "duplicate", "fraudulent", "customer_request", "service_disruption", "satisfaction_guarantee", "dispute_prevention", "other":
		default:
			unprocessable(w, "reason", "Input should be one of the documented reasons")
			return
		}
		if amount <= 0 {
			unprocessable(w, "amount", "Input should be greater than 0")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		for i := range f.orders {
			if f.orders[i].ID == orderID {
				if amount > f.orders[i].TotalAmount-f.orders[i].RefundedAmount {
					writeJSON(w, http.StatusBadRequest, map[string]any{"error": "RefundAmountTooHigh", "detail": "Refund amount exceeds remaining order balance."})
					return
				}
				f.orders[i].RefundedAmount += amount
				f.refunds = append(f.refunds, fakeRefund{OrderID: orderID, Amount: amount, Reason: reason})
				writeJSON(w, http.StatusCreated, map[string]any{"id": uuid.NewString(), "order_id": orderID, "amount": amount, "status": "succeeded"})
				return
			}
		}
		notFound(w)
	default:
		notFound(w)
	}
}

func (f *Fake) serveSubscription(w http.ResponseWriter, r *http.Request, id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.subs[id]
	if !ok {
		notFound(w)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s)
	case http.MethodDelete:
		s.Status = "canceled"
		writeJSON(w, http.StatusOK, s)
	case http.MethodPatch:
		m, ok := decodeStrict(w, r, "product_id", "proration_behavior", "discount_id", "metadata", "cancel_at_period_end",
			"customer_cancellation_reason", "customer_cancellation_comment")
		if !ok {
			return
		}
		if raw, has := m["cancel_at_period_end"]; has {
			var c bool
			if json.Unmarshal(raw, &c) != nil {
				unprocessable(w, "cancel_at_period_end", "Input should be a valid boolean")
				return
			}
			s.CancelAtPeriodEnd = c
		}
		if raw, has := m["product_id"]; has {
			var p, pb string
			if json.Unmarshal(raw, &p) != nil || !uuid4.MatchString(p) {
				unprocessable(w, "product_id", "Input should be a valid UUID")
				return
			}
			_ = json.Unmarshal(m["proration_behavior"], &pb)
			switch pb {
			case "", "invoice", "prorate", "next_period", "reset":
			default:
				unprocessable(w, "proration_behavior", "Input should be 'invoice', 'prorate', 'next_period' or 'reset'")
				return
			}
			s.ProductID, s.LastProration = p, pb
		}
		writeJSON(w, http.StatusOK, s)
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": "MethodNotAllowed"})
	}
}
