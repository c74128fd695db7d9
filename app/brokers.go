package app

import (
	"net/url"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/api"
	"github.com/tradeexec/tradeexec/internal/broker"
	"github.com/tradeexec/tradeexec/internal/broker/alpaca"
	"github.com/tradeexec/tradeexec/internal/broker/binance"
	"github.com/tradeexec/tradeexec/internal/broker/coinbase"
	"github.com/tradeexec/tradeexec/internal/broker/ibkr"
	"github.com/tradeexec/tradeexec/internal/broker/kraken"
	"github.com/tradeexec/tradeexec/internal/broker/paper"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit"
	"github.com/tradeexec/tradeexec/internal/broker/ratelimit/dblimit"
	"github.com/tradeexec/tradeexec/internal/broker/schwab"
	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/internal/config"
)

// BrokerOptions configure broker adapters and connections.
type BrokerOptions struct {
	// Schwab is the application registered at developer.schwab.com; an
	// empty ClientID means Schwab is not offered.
	Schwab schwab.App
	// SchwabBaseURL replaces Schwab's API host (its fake: tests, dev).
	SchwabBaseURL string
	// AllowCustomURLs accepts trader-supplied broker endpoints (base_url
	// credentials, IB Gateways on private addresses): fakes and dev only —
	// in production they would send a trader's keys anywhere.
	AllowCustomURLs bool
	// Unthrottled gives every adapter a generous rate limiter and fast
	// polling (fakes: tests and benchmarks), never in production.
	Unthrottled bool
	// MarketClock replaces the wall clock of the market hours IBKR and
	// Schwab adapters compute (tests pin a weekday session).
	MarketClock func() time.Time
	// ServerIP is the address IBKR traders whitelist; empty: the public
	// URL's host.
	ServerIP string
	// DashboardURL is where the Schwab callback sends the browser back;
	// empty: the public URL.
	DashboardURL string
	// ConnectWait bounds how long a connect request waits for the broker
	// (api.DefaultConnectWait when zero).
	ConnectWait time.Duration
	// HealthAttempts and HealthBackoff tune the health check's retries
	// (brokerconn.Service; zero: 3 tries, 2 s then 4 s apart).
	HealthAttempts int
	HealthBackoff  time.Duration
	// BinanceEgressID names the address this process's requests to Binance
	// leave from (BINANCE_EGRESS_ID): processes with one id share one
	// request-weight budget; empty, every process on the database is taken
	// to share one address (the safe assumption).
	BinanceEgressID string
}

// BrokerOptionsFrom maps the process configuration onto BrokerOptions.
// Dev mode accepts custom broker URLs (local fakes).
func BrokerOptionsFrom(cfg config.Config) BrokerOptions {
	o := BrokerOptions{AllowCustomURLs: cfg.Mode == config.ModeDev, BinanceEgressID: cfg.BinanceEgressID}
	if cfg.SchwabClientID != "" {
		o.Schwab = schwab.App{ClientID: cfg.SchwabClientID, ClientSecret: cfg.SchwabClientSecret.Reveal(), RedirectURL: cfg.SchwabRedirectURL}
	}
	return o
}

// RegistryOptions build a broker registry.
type RegistryOptions struct {
	BrokerOptions
	// DB and Vault back Schwab's refreshed tokens and order claims; without
	// them Schwab keeps both in process memory. DB also holds the rate
	// budgets every process shares (FR-016: per account, and Binance's per
	// egress IP); without it they hold within this process only.
	DB    *gorm.DB
	Vault brokerconn.Vault
	Log   *zap.Logger
}

// NewRegistry registers every supported broker. The zero options are
// production settings: real broker hosts only, public IBKR gateways only.
func NewRegistry(engine *paper.Engine, o RegistryOptions) *broker.Registry {
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	var lim *ratelimit.Limiter
	if o.Unthrottled {
		lim = ratelimit.New(6_000_000, ratelimit.WithBurst(100_000))
	}
	reg := broker.NewRegistry()
	if engine != nil {
		reg.Register(paper.Name, paper.Factory(engine))
	}
	alp := alpaca.Options{AllowCustomURLs: o.AllowCustomURLs, Limiter: lim}

	ib := []ibkr.Option{ibkr.WithPrivateGateways(o.AllowCustomURLs)}
	sw := []schwab.Option{schwab.WithCustomURLs(o.AllowCustomURLs)}
	if o.Schwab.ClientID != "" {
		sw = append(sw, schwab.WithApp(o.Schwab))
	}
	if o.SchwabBaseURL != "" {
		sw = append(sw, schwab.WithBaseURL(o.SchwabBaseURL))
	}
	if o.DB != nil {
		sw = append(sw, schwab.WithClaimStore(&brokerconn.SchwabClaims{DB: o.DB}))
		if o.Vault != nil {
			sw = append(sw, schwab.WithTokenStore(&brokerconn.SchwabTokens{DB: o.DB, Vault: o.Vault, Log: log.Named("schwab")}))
		}
	}
	if o.MarketClock != nil {
		ib = append(ib, ibkr.WithClock(o.MarketClock))
		sw = append(sw, schwab.WithClock(o.MarketClock))
	}
	cb, kr, bn := coinbase.Options{AllowCustomURLs: o.AllowCustomURLs}, kraken.Options{AllowCustomURLs: o.AllowCustomURLs}, binance.Options{AllowCustomURLs: o.AllowCustomURLs}
	if lim != nil {
		ib = append(ib, ibkr.WithLimiter(lim), ibkr.WithPollInterval(5*time.Millisecond), ibkr.WithRateLimitBackoff(100*time.Millisecond),
			ibkr.WithPacing(ibkr.DocumentedPacing().Scaled(0.01)))
		sw = append(sw, schwab.WithLimiter(lim))
		cb.Limiter, cb.PublicLimiter = lim, lim
		kr.Limiter, kr.PublicLimiter, kr.RateLimitBackoff = lim, lim, 100*time.Millisecond
		bn.Limiter = lim
		bn.WeightRule = ratelimit.Rule{Limit: 6_000_000, Window: time.Minute}
		bn.OrderRule = ratelimit.Rule{Limit: 1_000_000, Window: 10 * time.Second}
	} else if o.DB != nil {
		// FR-016 per account, not per process: every replica draws from the
		// same budgets in the database (broker_rate_limits).
		store := dblimit.New(o.DB)
		bn.Store = store
		bn.EgressID = o.BinanceEgressID
		shared := func(ns string) ratelimit.Option { return ratelimit.WithShared(store, ns) }
		alp.Limiter = ratelimit.New(alpaca.PublishedRequestsPerMinute, shared("alpaca:"))
		ib = append(ib, ibkr.WithLimiter(ratelimit.New(ibkr.PublishedLimitPerMinute, shared("ibkr:"))), ibkr.WithSharedPacing(store))
		sw = append(sw, schwab.WithLimiter(ratelimit.New(schwab.PublishedLimitPerMinute, shared("schwab:"))))
		cb.Limiter, cb.PublicLimiter = coinbase.NewLimiter(shared("coinbase:")), coinbase.NewPublicLimiter(shared("coinbase-public:"))
		kr.Limiter, kr.PublicLimiter = kraken.NewLimiter(shared("kraken:")), kraken.NewPublicLimiter(shared("kraken-public:"))
	}
	reg.Register(alpaca.Name, alpaca.Factory(alp))
	ibkr.Register(reg, ib...)
	schwab.Register(reg, sw...)
	reg.Register(coinbase.Name, coinbase.Factory(cb))
	reg.Register(kraken.Name, kraken.Factory(kr))
	reg.Register(binance.Name, binance.Factory(bn))
	return reg
}

// connectionService builds the connection service of a stack.
func connectionService(o Options, v brokerconn.Vault, resolver *brokerconn.Resolver, log *zap.Logger) *brokerconn.Service {
	svc := &brokerconn.Service{DB: o.DB, Resolver: resolver, AllowCustomURLs: o.Brokers.AllowCustomURLs,
		Log: log.Named("connections"), HealthAttempts: o.Brokers.HealthAttempts, HealthBackoff: o.Brokers.HealthBackoff}
	if v != nil {
		svc.Vault = v
	}
	if o.Paper != nil {
		svc.Paper = o.Paper
	}
	if o.Brokers.Schwab.ClientID != "" {
		svc.Schwab = &schwab.OAuth{App: o.Brokers.Schwab, BaseURL: o.Brokers.SchwabBaseURL}
	}
	return svc
}

// connectionActivities are the worker's connection activities.
func connectionActivities(svc *brokerconn.Service) *activities.Connections {
	return &activities.Connections{Service: svc}
}

// connectionsAPI are the API's connection endpoints' dependencies.
func connectionsAPI(o Options, svc *brokerconn.Service, publicURL string) *api.Connections {
	ip := o.Brokers.ServerIP
	if ip == "" {
		if u, err := url.Parse(publicURL); err == nil {
			ip = u.Hostname()
		}
	}
	dash := o.Brokers.DashboardURL
	if dash == "" {
		dash = publicURL
	}
	return &api.Connections{Service: svc, ServerIP: ip, DashboardURL: dash, Wait: o.Brokers.ConnectWait}
}
