// Package ibkr is the Interactive Brokers adapter: the Client Portal Web API
// reached through the trader's own Client Portal Gateway (IB Gateway), which
// holds the login (with two-factor authentication). The adapter checks that
// the gateway's brokerage session is authenticated, resolves symbols to
// contract ids, places orders with the workflow's client order id as cOID
// (the gateway refuses a cOID it has seen, which makes submission
// idempotent), confirms the gateway's order warnings and maps every error to
// a broker.Kind.
package ibkr

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/httpx"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/signal"
)

// Name is the broker type.
const Name = "ibkr"

// Credential keys of an IBKR connection.
const (
	// CredBaseURL is the gateway's API root, e.g. https://203.0.113.7:5000/v1/api
	// (DefaultBaseURL when empty; "/v1/api" is appended to a bare host).
	CredBaseURL = "base_url"
	// CredAccountID is the IBKR account to trade (U1234567, DU1234567).
	CredAccountID = "account_id"
	// CredTLSSHA256 optionally pins the gateway's self-signed certificate
	// (hex SHA-256 of its DER encoding) for a gateway on another machine.
	CredTLSSHA256 = "tls_sha256"
)

// SetupInstructions is what the dashboard shows a trader connecting IBKR.
func SetupInstructions(serverIP string) string {
	return "Install IB Gateway, enable API access in TWS, whitelist IP: " + serverIP
}

const (
	maxConfirmations  = 5 // order questions answered for one order
	snapshotAttempts  = 6 // snapshot requests before giving up on a price
	maxPositionsPages = 20
)

// Option configures the factory.
type Option func(*options)

type options struct {
	allowPrivate     bool
	httpClient       *http.Client
	limiter          *ratelimit.Limiter
	rateLimitBackoff time.Duration
	pollInterval     time.Duration
	now              func() time.Time
	pacing           Pacing
	sharedPacing     ratelimit.Store
}

// WithPrivateGateways allows gateways on loopback, private and link-local
// addresses, and plain http on loopback (self-hosted deployments, the dev
// server, tests). Off by default: a trader-supplied gateway address must not
// make the server call its own network.
func WithPrivateGateways(allow bool) Option { return func(o *options) { o.allowPrivate = allow } }

// WithHTTPClient replaces the HTTP client (default: 10 s timeout; TLS
// verification skipped only for a gateway on the loopback interface or
// replaced by the pinned certificate).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithLimiter replaces the shared limiter (default:
// ratelimit.New(PublishedLimitPerMinute), 25 requests a minute per gateway).
func WithLimiter(l *ratelimit.Limiter) Option { return func(o *options) { o.limiter = l } }

// WithRateLimitBackoff sets the wait after a 429, which the gateway sends
// without Retry-After (default: the pacing's penalty box, 10 minutes as
// documented; requests whose deadline comes first fail at once with
// RATE_LIMIT_EXCEEDED).
func WithRateLimitBackoff(d time.Duration) Option {
	return func(o *options) { o.rateLimitBackoff = d }
}

// WithPacing replaces IBKR's documented pacing (DocumentedPacing) the adapter
// keeps per gateway. Tests pair a Scaled pacing here with a faster one in the
// fake (Fake.SetPacing).
func WithPacing(p Pacing) Option { return func(o *options) { o.pacing = p } }

// WithSharedPacing makes every process using store (the database: package
// dblimit) keep one gateway's pacing together: IBKR paces per gateway
// session, not per process, so two workers sending to one gateway must
// space their requests as one (FR-016 across replicas).
func WithSharedPacing(store ratelimit.Store) Option {
	return func(o *options) { o.sharedPacing = store }
}

// WithPollInterval sets the wait between market-data snapshot requests while
// the gateway opens the stream (default 250 ms).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithClock replaces the wall clock (market clock computations).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// shared is what every adapter built by one factory shares: the rate
// limiter and the pacer (both must outlive per-call adapters), contract ids,
// the client order ids of orders seen, per-gateway session state and HTTP
// clients.
type shared struct {
	o       options
	limiter *ratelimit.Limiter
	pacer   *pacer

	mu      sync.Mutex
	conids  map[string]int64  // symbol → conid; contract ids never change
	coids   map[string]string // account/orderID → cOID
	ready   map[string]bool   // gateway → /iserver/accounts queried this session
	primed  map[string]bool   // gateway → /iserver/account/orders subscription started
	reads   map[string]*orderReads
	clients map[string]*http.Client
}

const maxRemembered = 50000

// Factory returns the broker.Factory for IBKR connections. Credentials:
// account_id (required), base_url, tls_sha256.
func Factory(opts ...Option) broker.Factory {
	o := options{pollInterval: 250 * time.Millisecond, now: time.Now, pacing: DocumentedPacing()}
	for _, fn := range opts {
		fn(&o)
	}
	if o.rateLimitBackoff <= 0 {
		o.rateLimitBackoff = o.pacing.PenaltyBox
	}
	sh := &shared{
		o:       o,
		limiter: o.limiter,
		pacer:   newPacer(o.sharedPacing),
		conids:  map[string]int64{},
		coids:   map[string]string{},
		ready:   map[string]bool{},
		primed:  map[string]bool{},
		reads:   map[string]*orderReads{},
		clients: map[string]*http.Client{},
	}
	if sh.limiter == nil {
		sh.limiter = ratelimit.New(PublishedLimitPerMinute)
	}
	return func(cfg broker.Config) (broker.Broker, error) { return sh.open(cfg) }
}

// Register adds IBKR to a registry.
func Register(r *broker.Registry, opts ...Option) { r.Register(Name, Factory(opts...)) }

// Adapter is one trader's IBKR account behind their gateway. Safe for
// concurrent use.
type Adapter struct {
	sh        *shared
	gateway   string // base URL, key of per-session state
	accountID string
	c         *client
}

var _ broker.Broker = (*Adapter)(nil)

func (sh *shared) open(cfg broker.Config) (*Adapter, error) {
	account := strings.TrimSpace(cfg.Credentials[CredAccountID])
	if account == "" {
		return nil, newErr(broker.KindAuthFailed, "The IBKR connection has no account id. Add the account id in Settings → Brokers.", nil)
	}
	base, err := normaliseBaseURL(cfg.Credentials[CredBaseURL], sh.o.allowPrivate)
	if err != nil {
		return nil, newErr(broker.KindAuthFailed, "The IB Gateway address is not valid: "+err.Error(), nil)
	}
	hc, err := sh.httpClient(base, cfg.Credentials[CredTLSSHA256])
	if err != nil {
		return nil, newErr(broker.KindAuthFailed, err.Error(), nil)
	}
	sum := sha256.Sum256([]byte(base.String()))
	c := &client{
		base: base.String(),
		doer: &httpx.Doer{
			Broker: Name,
			Client: hc,
			// 429s are the client's to handle (penalty box), after pacing.
			RateLimited: func(*httpx.Response, time.Time) (time.Duration, bool) { return 0, false },
		},
		limiter: sh.limiter,
		key:     "ibkr:" + hex.EncodeToString(sum[:12]),
		pacer:   sh.pacer,
		pacing:  sh.o.pacing,
		penalty: sh.o.rateLimitBackoff,
	}
	return &Adapter{sh: sh, gateway: base.String(), accountID: account, c: c}, nil
}

// normaliseBaseURL checks the gateway address: https, a public address
// unless allowPrivate (then http on loopback too), and "/v1/api" appended to
// a bare host.
func normaliseBaseURL(raw string, allowPrivate bool) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultBaseURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, errors.New("expected https://host:port/v1/api")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowPrivate || !isLoopback(u.Hostname()) {
			return nil, errors.New("the gateway must be reached over https")
		}
	default:
		return nil, errors.New("expected https://host:port/v1/api")
	}
	if !allowPrivate {
		if u.Hostname() == "localhost" {
			return nil, errors.New("the gateway must be reachable at a public address")
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && !publicIP(ip) {
			return nil, errors.New("the gateway must be reachable at a public address")
		}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	if u.Path == "" {
		u.Path = "/v1/api"
	}
	u.RawQuery, u.Fragment, u.User = "", "", nil
	return u, nil
}

// nonPublic are the ranges a gateway may not be in: loopback, private,
// link-local (cloud metadata lives there), shared, benchmarking, reserved,
// multicast, and the IPv6 forms that embed or reach an IPv4 address —
// NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16), Teredo
// (2001::/32) — through which an internal IPv4 address could be reached.
var nonPublic = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range []string{
		"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
		"192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4", "240.0.0.0/4",
		"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8",
		"64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32",
	} {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}()

// publicIP reports whether ip is a routable public address.
func publicIP(ip net.IP) bool {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return false
	}
	a = a.Unmap() // ::ffff:10.0.0.1 is 10.0.0.1
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// dialPublicOnly refuses connections to non-public addresses, after DNS
// resolution (a public name resolving to an internal address is refused too).
func dialPublicOnly(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !publicIP(ip) {
		return fmt.Errorf("ibkr: refusing to connect to non-public address %s", host)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// httpClient returns the client for a gateway: the gateway presents a
// self-signed certificate, which is accepted on the loopback interface or
// when it matches the pinned fingerprint; anything else must verify.
func (sh *shared) httpClient(base *url.URL, pin string) (*http.Client, error) {
	if sh.o.httpClient != nil {
		return sh.o.httpClient, nil
	}
	pin = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(pin), ":", ""))
	if pin != "" {
		if b, err := hex.DecodeString(pin); err != nil || len(b) != sha256.Size {
			return nil, errors.New("the gateway certificate fingerprint must be a SHA-256 in hex")
		}
	}
	key := base.Scheme + "://" + base.Host + "|" + pin
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if c, ok := sh.clients[key]; ok {
		return c, nil
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 8
	tr.ResponseHeaderTimeout = httpx.DefaultTimeout
	if !sh.o.allowPrivate {
		tr.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: dialPublicOnly}).DialContext
	}
	switch {
	case pin != "":
		// Chain verification is replaced by the certificate pin. The pin is
		// checked in VerifyConnection, which (unlike VerifyPeerCertificate)
		// also runs on resumed TLS sessions, and session tickets are off.
		tr.TLSClientConfig = &tls.Config{
			MinVersion:             tls.VersionTLS12,
			InsecureSkipVerify:     true, // #nosec G402 -- replaced by the pin check in VerifyConnection
			SessionTicketsDisabled: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("ibkr: gateway sent no certificate")
				}
				sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
				if hex.EncodeToString(sum[:]) != pin {
					return errors.New("ibkr: gateway certificate does not match the pinned fingerprint")
				}
				return nil
			},
		}
	case sh.o.allowPrivate && isLoopback(base.Hostname()):
		// The gateway on this machine uses its bundled self-signed certificate.
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true} // #nosec G402 -- loopback gateway only (private gateways enabled)
	}
	c := &http.Client{Timeout: httpx.DefaultTimeout, Transport: tr}
	sh.clients[key] = c
	return c, nil
}

// Name implements broker.Broker.
func (a *Adapter) Name() string { return Name }

// Connect checks that the gateway's brokerage session is logged in and can
// trade the account, and returns the account snapshot.
func (a *Adapter) Connect(ctx context.Context) (broker.Balance, error) {
	st, err := a.c.authStatus(ctx)
	if err != nil {
		return broker.Balance{}, mapError(err, "login check")
	}
	if !st.Authenticated {
		return broker.Balance{}, newErr(broker.KindAuthFailed, msgNotLoggedIn, nil)
	}
	if err := a.c.tickle(ctx); err != nil {
		return broker.Balance{}, mapError(err, "session keep-alive")
	}
	a.setReady(false)
	if err := a.ensureSession(ctx); err != nil {
		return broker.Balance{}, err
	}
	accts, err := a.c.portfolioAccounts(ctx)
	if err != nil {
		return broker.Balance{}, mapError(err, "account list")
	}
	currency := ""
	for _, p := range accts {
		if p.ID == a.accountID || p.AccountID == a.accountID {
			currency = p.Currency
		}
	}
	return a.balance(ctx, currency)
}

// ensureSession makes the once-per-brokerage-session /iserver/accounts call
// the order endpoints require, and checks the account is tradable here.
func (a *Adapter) ensureSession(ctx context.Context) error {
	a.sh.mu.Lock()
	ready := a.sh.ready[a.gateway]
	a.sh.mu.Unlock()
	if ready {
		return nil
	}
	accts, err := a.c.iserverAccounts(ctx)
	if err != nil {
		return mapError(err, "account list")
	}
	for _, id := range accts.Accounts {
		if id == a.accountID {
			a.setReady(true)
			return nil
		}
	}
	return newErr(broker.KindAuthFailed,
		"Account "+a.accountID+" is not available in this IB Gateway session. Check the account id in Settings → Brokers.", nil)
}

func (a *Adapter) setReady(v bool) {
	a.sh.mu.Lock()
	defer a.sh.mu.Unlock()
	if v {
		a.sh.ready[a.gateway] = true
	} else {
		// A new brokerage session: its live-orders subscription starts anew.
		delete(a.sh.ready, a.gateway)
		delete(a.sh.primed, a.gateway)
	}
}

// GetBalance implements broker.Broker.
func (a *Adapter) GetBalance(ctx context.Context) (broker.Balance, error) {
	return a.balance(ctx, "")
}

func (a *Adapter) balance(ctx context.Context, currency string) (broker.Balance, error) {
	s, err := a.c.summary(ctx, a.accountID)
	if err != nil {
		return broker.Balance{}, mapError(err, "account summary")
	}
	b, ok := balanceFromSummary(s, currency)
	if !ok {
		return broker.Balance{}, newErr(broker.KindUnavailable, msgUnavailable, errors.New("ibkr: account summary has no net liquidation value"))
	}
	return b, nil
}

// GetPositions implements broker.Broker.
func (a *Adapter) GetPositions(ctx context.Context) ([]broker.Position, error) {
	var out []broker.Position
	for page := 0; page < maxPositionsPages; page++ {
		ps, err := a.c.positions(ctx, a.accountID, page)
		if err != nil {
			return nil, mapError(err, "positions")
		}
		for _, p := range ps {
			if p.Position.IsZero() {
				continue
			}
			out = append(out, positionFromWire(p))
		}
		if len(ps) < positionsPageSize {
			break
		}
	}
	return out, nil
}

// Clock implements broker.Broker from the trading schedule of US stocks.
func (a *Adapter) Clock(ctx context.Context, asset signal.AssetClass) (broker.Clock, error) {
	if asset == signal.AssetCrypto {
		return broker.Clock{}, invalidOrder("Crypto is not traded through the IBKR connection.")
	}
	sched, err := a.c.schedule(ctx, "STK", scheduleSymbol)
	if err != nil {
		return broker.Clock{}, mapError(err, "trading schedule")
	}
	if len(sched) == 0 {
		return broker.Clock{}, newErr(broker.KindUnavailable, msgUnavailable, errNoSession)
	}
	c, err := clockFromSchedule(sched[0].Schedules, scheduleLocation(sched[0]), a.sh.o.now())
	if err != nil {
		return broker.Clock{}, newErr(broker.KindUnavailable, msgUnavailable, err)
	}
	return c, nil
}

var newYork = mustLoad("America/New_York")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err) // time/tzdata is embedded
	}
	return loc
}

// LastPrice implements broker.Broker from a market-data snapshot (last trade,
// else the bid/ask mid). As documented, /iserver/accounts must be called
// before /iserver/marketdata/snapshot in a brokerage session, and the first
// snapshot of a contract only opens its stream ("pre-flight", no fields), so
// the request is repeated a few times.
func (a *Adapter) LastPrice(ctx context.Context, symbol string) (decimal.Decimal, error) {
	symbol = canonical(symbol)
	if err := a.ensureSession(ctx); err != nil {
		return decimal.Zero, err
	}
	conid, err := a.resolve(ctx, symbol)
	if err != nil {
		return decimal.Zero, err
	}
	id := strconv.FormatInt(conid, 10)
	requeried := false
	for i := 0; i < snapshotAttempts; i++ {
		rows, err := a.c.snapshot(ctx, []string{id}, []string{fieldLast, fieldBid, fieldAsk})
		var ae *apiError
		if err != nil && errors.As(err, &ae) && needsAccountsQuery(ae.Message) && !requeried {
			// The gateway began a new brokerage session.
			requeried = true
			a.setReady(false)
			if err := a.ensureSession(ctx); err != nil {
				return decimal.Zero, err
			}
			i--
			continue
		}
		if err != nil {
			return decimal.Zero, mapError(err, "market data")
		}
		for _, r := range rows {
			if p, ok := priceFromSnapshot(r); ok {
				return p, nil
			}
		}
		if err := sleep(ctx, a.sh.o.pollInterval); err != nil {
			return decimal.Zero, newErr(broker.KindUnavailable, msgUnavailable, err)
		}
	}
	return decimal.Zero, newErr(broker.KindUnavailable, "Interactive Brokers sent no market data for "+symbol+".", nil)
}

// resolve maps a canonical stock symbol to its contract id.
func (a *Adapter) resolve(ctx context.Context, symbol string) (int64, error) {
	a.sh.mu.Lock()
	id, ok := a.sh.conids[symbol]
	a.sh.mu.Unlock()
	if ok {
		return id, nil
	}
	matches, err := a.c.secdefSearch(ctx, secdefSearchRequest{Symbol: symbol, SecType: "STK"})
	if err != nil {
		if broker.KindOf(mapError(err, "symbol search")) == broker.KindInvalidSymbol {
			return 0, invalidSymbol(symbol)
		}
		return 0, mapError(err, "symbol search")
	}
	id, ok = pickConid(matches, symbol)
	if !ok {
		return 0, invalidSymbol(symbol)
	}
	a.sh.mu.Lock()
	if len(a.sh.conids) > maxRemembered {
		a.sh.conids = map[string]int64{}
	}
	a.sh.conids[symbol] = id
	a.sh.mu.Unlock()
	return id, nil
}

// PlaceOrder implements broker.Broker. The client order id travels as cOID:
// if an earlier attempt reached the gateway, the gateway refuses the reused
// cOID and the existing order is returned instead.
func (a *Adapter) PlaceOrder(ctx context.Context, req broker.OrderRequest) (broker.Order, error) {
	if strings.TrimSpace(req.ClientOrderID) == "" {
		return broker.Order{}, invalidOrder("the order has no client order id")
	}
	if req.AssetClass == signal.AssetCrypto {
		return broker.Order{}, invalidOrder("Crypto is not traded through the IBKR connection.")
	}
	req.Symbol = canonical(req.Symbol)
	qty := wholeShares(req.Quantity)
	if !qty.IsPositive() {
		return broker.Order{}, invalidOrder("Interactive Brokers orders are in whole shares; the quantity rounds down to zero.")
	}
	if req.Type == signal.OrderTrailingStop && req.TrailPercent.IsPositive() && !req.StopPrice.IsPositive() {
		// IBKR requires a TRAIL's initial stop price: trail the last price.
		last, err := a.LastPrice(ctx, req.Symbol)
		if err != nil {
			return broker.Order{}, err
		}
		req.StopPrice = trailStop(last, req.TrailPercent, req.Side)
	}
	for attempt := 0; ; attempt++ {
		if err := a.ensureSession(ctx); err != nil {
			return broker.Order{}, err
		}
		conid, err := a.resolve(ctx, req.Symbol)
		if err != nil {
			return broker.Order{}, err
		}
		ticket, err := toTicket(req, a.accountID, conid, qty)
		if err != nil {
			return broker.Order{}, err
		}
		replies, err := a.c.placeOrders(ctx, a.accountID, placeOrdersRequest{Orders: []wireOrderTicket{ticket}})
		order, err := a.confirm(ctx, replies, err)
		if err == nil {
			return a.acknowledged(ctx, req, qty, order)
		}
		var ae *apiError
		switch {
		case errors.As(err, &ae) && needsAccountsQuery(ae.Message) && attempt == 0:
			a.setReady(false) // the gateway started a new brokerage session
			continue
		case errors.As(err, &ae) && isDuplicateCOID(ae.Message):
			// An earlier attempt got through (its answer was lost): the
			// order exists at IBKR. Return it; if it cannot be listed yet
			// the error is retryable, never a rejection.
			o, _, ferr := a.lookup(ctx, req.ClientOrderID, true, time.Now())
			if ferr != nil {
				return broker.Order{}, ferr
			}
			return o, nil
		case broker.KindOf(err) == broker.KindUnavailable:
			// The order may have been accepted before the answer was lost.
			if o, found, ferr := a.lookup(ctx, req.ClientOrderID, false, time.Now()); ferr == nil && found {
				return o, nil
			}
		}
		return broker.Order{}, mapError(err, "order")
	}
}

// confirm answers the gateway's order questions ("Are you sure you want to
// submit this order?") until it acknowledges the order.
func (a *Adapter) confirm(ctx context.Context, replies orderReplies, err error) (wireOrderReply, error) {
	acks, err := a.confirmAll(ctx, replies, err)
	if err != nil {
		return wireOrderReply{}, err
	}
	return acks[0], nil
}

// confirmAll answers the order questions until the gateway acknowledges,
// and returns every acknowledgement of that answer (one per order of an OCA
// group).
func (a *Adapter) confirmAll(ctx context.Context, replies orderReplies, err error) ([]wireOrderReply, error) {
	for round := 0; ; round++ {
		if err != nil {
			return nil, err
		}
		var question *wireOrderReply
		var acks []wireOrderReply
		for i := range replies {
			r := replies[i]
			switch {
			case r.Error != "":
				return nil, &apiError{Status: http.StatusBadRequest, Message: r.Error}
			case r.OrderID != "":
				acks = append(acks, r)
			case r.ID != "" && question == nil:
				question = &replies[i]
			}
		}
		if len(acks) > 0 {
			return acks, nil
		}
		if question == nil {
			return nil, newErr(broker.KindUnavailable, msgUnavailable, errors.New("ibkr: order answer carried neither an acknowledgement nor a question"))
		}
		if round >= maxConfirmations {
			return nil, newErr(broker.KindRejected,
				"Interactive Brokers kept asking for confirmations: "+clip(strings.Join(question.Message, " ")), nil)
		}
		replies, err = a.c.reply(ctx, question.ID, replyRequest{Confirmed: true})
	}
}

// acknowledged builds the order from the gateway's acknowledgement and
// refreshes it from the order status when the gateway answers.
func (a *Adapter) acknowledged(ctx context.Context, req broker.OrderRequest, qty decimal.Decimal, ack wireOrderReply) (broker.Order, error) {
	id := string(ack.OrderID)
	a.rememberCOID(id, req.ClientOrderID)
	o := broker.Order{
		ID:            id,
		ClientOrderID: req.ClientOrderID,
		Symbol:        req.Symbol,
		Side:          req.Side,
		Type:          req.Type,
		Status:        mapStatus(ack.OrderStatus, decimal.Zero),
		Quantity:      qty,
		SubmittedAt:   a.sh.o.now().UTC(),
	}
	if req.LimitPrice.IsPositive() {
		o.LimitPrice = roundPrice(req.LimitPrice, req.Side)
	}
	if req.StopPrice.IsPositive() {
		o.StopPrice = roundPrice(req.StopPrice, req.Side)
	}
	if st, err := a.c.orderStatus(ctx, id); err == nil && string(st.OrderID) == id {
		full := orderFromStatus(st)
		full.ClientOrderID = req.ClientOrderID
		if full.SubmittedAt.IsZero() {
			full.SubmittedAt = o.SubmittedAt
		}
		if full.Symbol == "" {
			full.Symbol = o.Symbol
		}
		o = full
	}
	o.UpdatedAt = a.sh.o.now().UTC()
	return o, nil
}

func (a *Adapter) rememberCOID(orderID, coid string) {
	if orderID == "" || coid == "" {
		return
	}
	a.sh.mu.Lock()
	defer a.sh.mu.Unlock()
	if len(a.sh.coids) > maxRemembered {
		a.sh.coids = map[string]string{}
	}
	a.sh.coids[a.accountID+"/"+orderID] = coid
}

// GetOrderStatus implements broker.Broker.
func (a *Adapter) GetOrderStatus(ctx context.Context, brokerOrderID string) (broker.Order, error) {
	st, err := a.c.orderStatus(ctx, brokerOrderID)
	if err != nil {
		return broker.Order{}, mapError(err, "order")
	}
	if string(st.OrderID) != brokerOrderID {
		return broker.Order{}, newErr(broker.KindNotFound, msgOrderNotFound, nil)
	}
	o := orderFromStatus(st)
	a.sh.mu.Lock()
	o.ClientOrderID = a.sh.coids[a.accountID+"/"+brokerOrderID]
	a.sh.mu.Unlock()
	o.UpdatedAt = a.sh.o.now().UTC()
	return o, nil
}

// CancelOrder implements broker.Broker. The gateway acknowledges the request;
// the cancellation itself shows in the order status.
func (a *Adapter) CancelOrder(ctx context.Context, brokerOrderID string) error {
	if err := a.ensureSession(ctx); err != nil {
		return err
	}
	if _, err := a.c.cancelOrder(ctx, a.accountID, brokerOrderID); err != nil {
		return mapError(err, "cancel")
	}
	return nil
}

// canonical upper-cases and trims a stock symbol.
func canonical(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("ibkr: %w", ctx.Err())
	}
}
