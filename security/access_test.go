package security

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/compliance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// trade stores a trade of owner directly (no workflow): the access tests
// only need it to exist.
func (s *suite) trade(owner *client, status string) string {
	s.t.Helper()
	now := time.Now().UTC()
	sig := schema.Signal{ID: uuid.NewString(), Source: "dashboard", ExternalID: uuid.NewString(), UserID: owner.userID, Symbol: "AAPL",
		Payload: "{}", Text: "buy AAPL 1", ReceivedAt: now}
	require.NoError(s.t, s.env.DB.Create(&sig).Error)
	tr := schema.Trade{ID: uuid.NewString(), SignalID: sig.ID, UserID: owner.userID, Broker: "paper", Source: "dashboard", Symbol: "AAPL",
		AssetClass: "stock", Side: "buy", OrderType: "market", RequestedQuantity: decimal.NewFromInt(1), Quantity: decimal.NewFromInt(1),
		FilledQuantity: decimal.Zero, ReservedNotional: decimal.Zero, Status: status, WorkflowID: "trade/" + sig.ID + "/" + owner.userID,
		CreatedAt: now, UpdatedAt: now}
	require.NoError(s.t, s.env.DB.Create(&tr).Error)
	return tr.ID
}

// idFixtures make, for every /api/v1 route with a path parameter, a path
// naming a resource of owner. A route without a fixture fails
// TestEveryRouteIsCovered: whoever adds a route adds its IDOR case here.
var idFixtures = map[string]func(s *suite, owner *client) string{
	"/api/v1/trades/:id":         func(s *suite, o *client) string { return "/api/v1/trades/" + s.trade(o, "filled") },
	"/api/v1/trades/:id/cancel":  func(s *suite, o *client) string { return "/api/v1/trades/" + s.trade(o, "filled") + "/cancel" },
	"/api/v1/trades/:id/approve": func(s *suite, o *client) string { return "/api/v1/trades/" + s.trade(o, "filled") + "/approve" },
	"/api/v1/trades/:id/reject":  func(s *suite, o *client) string { return "/api/v1/trades/" + s.trade(o, "filled") + "/reject" },
	"/api/v1/brokers/:id":        func(s *suite, o *client) string { return "/api/v1/brokers/" + s.connection(o) },
	"/api/v1/sources/:id":        func(s *suite, o *client) string { return "/api/v1/sources/" + s.source(o) },
	// The owner's own equity curve (a leader always sees their own; the
	// owner has no copy-trading profile, so to others it is private).
	"/api/v1/leaders/:id/equity": func(s *suite, o *client) string { return "/api/v1/leaders/" + o.userID + "/equity" },
	// An unknown kid (revoking the live key would end every test token)
	// and a throwaway user (not the owner, whose token the matrix uses).
	"/api/v1/admin/keys/signing/:kid/revoke": func(*suite, *client) string {
		return "/api/v1/admin/keys/signing/" + strings.Repeat("0", 32) + "/revoke"
	},
	"/api/v1/admin/users/:id/revoke-sessions": func(s *suite, _ *client) string {
		return "/api/v1/admin/users/" + s.user(auth.RoleTrader).userID + "/revoke-sessions"
	},
	"/api/v1/sources/:id/messages":   func(s *suite, o *client) string { return "/api/v1/sources/" + s.source(o) + "/messages" },
	"/api/v1/subscriptions/:id":      func(s *suite, o *client) string { return "/api/v1/subscriptions/" + s.subscription(o) },
	"/api/v1/admin/users/:id/unlock": func(s *suite, o *client) string { return "/api/v1/admin/users/" + o.userID + "/unlock" },
	"/api/v1/admin/compliance-reports/:id": func(s *suite, o *client) string {
		return "/api/v1/admin/compliance-reports/" + s.complianceReport()
	},
	// A trader without copy settings is a private profile: only they see it.
	"/api/v1/copy/leaders/:id": func(_ *suite, o *client) string { return "/api/v1/copy/leaders/" + o.userID },
	"/api/v1/copy/follows/:id": func(s *suite, o *client) string { return "/api/v1/copy/follows/" + s.copyFollow(o) },
	// A follow request to the owner (a followers-only leader): only the
	// owner decides it.
	"/api/v1/copy/requests/:id/approve": func(s *suite, o *client) string {
		return "/api/v1/copy/requests/" + s.copyRequest(o) + "/approve"
	},
	"/api/v1/copy/requests/:id/deny": func(s *suite, o *client) string { return "/api/v1/copy/requests/" + s.copyRequest(o) + "/deny" },
	// Experiments belong to no trader: a fresh draft each, only the role matters.
	"/api/v1/admin/experiments/:id/start": func(s *suite, _ *client) string {
		return "/api/v1/admin/experiments/" + s.experiment() + "/start"
	},
	"/api/v1/admin/experiments/:id/stop": func(s *suite, _ *client) string {
		return "/api/v1/admin/experiments/" + s.experiment() + "/stop"
	},
}

// experiment stores a draft A/B test.
func (s *suite) experiment() string {
	s.t.Helper()
	e := schema.Experiment{ID: "sec-" + uuid.NewString()[:8], Name: "Security matrix", Description: "A draft for the role matrix.",
		Variants: `[{"name":"control","weight":50},{"name":"other","weight":50}]`, Status: "draft", CreatedAt: time.Now().UTC()}
	require.NoError(s.t, s.env.DB.Create(&e).Error)
	return e.ID
}

// copyRequest stores a new trader's pending follow request to owner, a
// followers-only leader.
func (s *suite) copyRequest(owner *client) string {
	s.t.Helper()
	now := time.Now().UTC()
	require.NoError(s.t, s.env.DB.Clauses(clause.OnConflict{DoNothing: true}).Create(&schema.CopyLeader{UserID: owner.userID, AllowCopy: true,
		Visibility: "followers", DisplayName: "Owner", CreatedAt: now, UpdatedAt: now}).Error)
	f := schema.CopyFollow{ID: uuid.NewString(), FollowerID: s.user(auth.RoleTrader).userID, LeaderID: owner.userID, SizingMode: "proportional",
		Multiplier: decimal.Zero, FixedAmount: decimal.Zero, MaxPosition: decimal.Zero, LossLimit: decimal.Zero, Status: "pending",
		CreatedAt: now, UpdatedAt: now}
	require.NoError(s.t, s.env.DB.Create(&f).Error)
	return f.ID
}

// copyFollow stores owner's follow of a new public leader.
func (s *suite) copyFollow(owner *client) string {
	s.t.Helper()
	now := time.Now().UTC()
	leader := s.user(auth.RoleTrader)
	require.NoError(s.t, s.env.DB.Create(&schema.CopyLeader{UserID: leader.userID, AllowCopy: true, Visibility: "public",
		DisplayName: "Leader", CreatedAt: now, UpdatedAt: now}).Error)
	f := schema.CopyFollow{ID: uuid.NewString(), FollowerID: owner.userID, LeaderID: leader.userID, SizingMode: "proportional",
		Multiplier: decimal.Zero, FixedAmount: decimal.Zero, MaxPosition: decimal.Zero, LossLimit: decimal.Zero, Status: "active",
		CreatedAt: now, UpdatedAt: now}
	require.NoError(s.t, s.env.DB.Create(&f).Error)
	return f.ID
}

// complianceReport stores (once) a monthly compliance report; reports
// belong to no trader, so only the role matters.
func (s *suite) complianceReport() string {
	s.t.Helper()
	r, _, err := compliance.Generate(context.Background(), s.env.DB, "2025-12", nil, time.Now())
	require.NoError(s.t, err)
	return r.ID
}

// bodies are valid-looking bodies for state-changing routes.
var bodies = map[string]any{
	"PATCH /api/v1/sources/:id":       map[string]any{"name": "Renamed"},
	"PATCH /api/v1/subscriptions/:id": map[string]any{"shadow": true},
	"PATCH /api/v1/copy/follows/:id":  map[string]any{"maxPosition": "1000"},
	"POST /api/v1/me/password":        map[string]string{"currentPassword": "Wrong-Horse-7-Battery", "newPassword": "New-Horse-8-Battery"},
	"PUT /api/v1/brokers/:id": map[string]any{"broker": "alpaca", "label": "Main", "paper": true,
		"credentials": map[string]string{"apiKey": "PKTEST", "apiSecret": "secret"}},
}

// source stores an active Discord signal source of owner directly.
func (s *suite) source(owner *client) string {
	s.t.Helper()
	now := time.Now().UTC()
	id := uuid.NewString()
	snow := fmt.Sprintf("1%017d", time.Now().UnixNano()%1e17)
	require.NoError(s.t, s.env.DB.Create(&schema.DiscordSource{ID: id, GuildID: snow, ChannelID: snow, Name: "#signals",
		OwnerUserID: owner.userID, ParseMode: "strict", SummaryReplies: true, Status: "active", RegisteredByDiscordID: snow,
		CreatedAt: now, UpdatedAt: now}).Error)
	return id
}

// subscription stores owner's subscription to a source of another trader.
func (s *suite) subscription(owner *client) string {
	s.t.Helper()
	now := time.Now().UTC()
	sub := schema.SourceSubscription{ID: uuid.NewString(), SourceID: s.source(s.user(auth.RoleTrader)), UserID: owner.userID,
		SizingMode: "multiplier", Multiplier: decimal.NewFromInt(1), FixedAmount: decimal.Zero, Active: true, CreatedAt: now, UpdatedAt: now}
	require.NoError(s.t, s.env.DB.Create(&sub).Error)
	return sub.ID
}

// connection stores a broker connection of owner directly.
func (s *suite) connection(owner *client) string {
	s.t.Helper()
	now := time.Now().UTC()
	c := schema.BrokerConnection{ID: uuid.NewString(), UserID: owner.userID, BrokerType: "alpaca", Label: "Main", Paper: true,
		IsActive: true, HealthStatus: "healthy", CreatedAt: now, UpdatedAt: now}
	require.NoError(s.t, s.env.DB.Create(&c).Error)
	return c.ID
}

// path returns a concrete path for a route, with resources of owner.
func (s *suite) path(route string, owner *client) string {
	if fx, ok := idFixtures[route]; ok {
		return fx(s, owner)
	}
	return route
}

func TestEveryRouteIsCovered(t *testing.T) {
	s := sqliteSuite(t)
	routes := s.env.Stack.API.Routes()
	require.NotEmpty(t, routes)
	for _, r := range routes {
		require.NotEmpty(t, r.Roles, "%s %s declares no role", r.Method, r.Path)
		if strings.Contains(r.Path, ":") {
			require.Contains(t, idFixtures, r.Path, "%s %s has no IDOR fixture in security/access_test.go", r.Method, r.Path)
		}
	}
}

// Broken access control (A01): every route, every role, no token.
func TestRoleMatrixOnEveryRoute(t *testing.T) {
	storetestEach(t, func(t *testing.T, s *suite) {
		owner := s.user(auth.RoleTrader)
		users := map[auth.Role]*client{auth.RoleTrader: owner, auth.RoleSupport: s.user(auth.RoleSupport), auth.RoleAdmin: s.user(auth.RoleAdmin)}
		for _, r := range s.env.Stack.API.Routes() {
			path := s.path(r.Path, owner)
			key := r.Method + " " + r.Path
			anon := s.newClient()
			res := anon.do(r.Method, path, bodies[key])
			require.Equal(t, http.StatusUnauthorized, res.Status, "%s without a token: %s", key, res.Raw)
			require.Equal(t, `Bearer realm="tradeexec"`, res.Header.Get("WWW-Authenticate"))
			for role, u := range users {
				q := ""
				if r.Method == http.MethodGet {
					q = supportQuery(role, r.Path, owner)
				}
				res := u.do(r.Method, path+q, bodies[key])
				allowed := false
				for _, a := range r.Roles {
					allowed = allowed || a == role
				}
				if allowed {
					require.NotContains(t, []int{401, 403}, res.Status, "%s as %s must be allowed: %s", key, role, res.Raw)
				} else {
					require.Equal(t, http.StatusForbidden, res.Status, "%s as %s must be forbidden: %s", key, role, res.Raw)
					require.Equal(t, "forbidden", res.Body["error"])
				}
			}
		}
		// Refusals are audited.
		require.Contains(t, s.actions(users[auth.RoleSupport].userID), "UNAUTHORIZED_ACCESS_ATTEMPT")
	})
}

// supportQuery adds the user_id support staff name on reads.
func supportQuery(role auth.Role, route string, owner *client) string {
	if role == auth.RoleSupport {
		return "?user_id=" + owner.userID
	}
	return ""
}

// IDOR: user B names user A's resources on every route with an id.
func TestUsersCannotReachOtherUsersResources(t *testing.T) {
	storetestEach(t, func(t *testing.T, s *suite) {
		alice, bob := s.user(auth.RoleTrader), s.user(auth.RoleTrader)
		for _, r := range s.env.Stack.API.Routes() {
			if !strings.Contains(r.Path, ":") || !allows(r.Roles, auth.RoleTrader) {
				continue
			}
			path := s.path(r.Path, alice)
			res := bob.do(r.Method, path, bodies[r.Method+" "+r.Path])
			require.Equal(t, http.StatusNotFound, res.Status, "bob %s %s: %s", r.Method, path, res.Raw)
			require.Equal(t, "not_found", res.Body["error"], "indistinguishable from a missing id")
			// The owner gets past the check (positive control).
			mine := alice.do(r.Method, path, bodies[r.Method+" "+r.Path])
			require.NotEqual(t, http.StatusNotFound, mine.Status, "alice %s %s: %s", r.Method, path, mine.Raw)
			require.Less(t, mine.Status, 500, "alice %s %s: %s", r.Method, path, mine.Raw)
		}
		// Lists show only the caller's own rows; naming another user is refused.
		a := s.trade(alice, "filled")
		list := bob.do(http.MethodGet, "/api/v1/trades", nil)
		require.Equal(t, http.StatusOK, list.Status)
		require.NotContains(t, list.Raw, a)
		require.Equal(t, http.StatusForbidden, bob.do(http.MethodGet, "/api/v1/trades?user_id="+alice.userID, nil).Status)
		require.Contains(t, alice.do(http.MethodGet, "/api/v1/trades", nil).Raw, a)

		// Ids inside bodies: Bob cannot make Alice's connection his default.
		res := bob.do(http.MethodPut, "/api/v1/brokers/defaults", map[string]any{"stocks": s.connection(alice)})
		require.Contains(t, []int{http.StatusNotFound, http.StatusBadRequest}, res.Status, res.Raw)
		var rs schema.RiskSettings
		if err := s.env.DB.Take(&rs, "user_id = ?", bob.userID).Error; err == nil {
			require.Nil(t, rs.DefaultStockConnection)
		}

		// Ids that are not ids, or that do not exist, look the same.
		for _, id := range []string{uuid.NewString(), "1", "../" + a, a + "'--", strings.ToUpper(a) + "x"} {
			res := bob.do(http.MethodGet, "/api/v1/trades/"+id, nil)
			require.Contains(t, []int{http.StatusNotFound, http.StatusMovedPermanently}, res.Status, id)
		}
	})
}

// Support staff read any trader's trades (the audited exception) and
// change nothing.
func TestSupportForensicsIsReadOnlyAndAudited(t *testing.T) {
	s := sqliteSuite(t)
	alice, sam := s.user(auth.RoleTrader), s.user(auth.RoleSupport)
	id := s.trade(alice, "queued")
	res := sam.do(http.MethodGet, "/api/v1/trades/"+id, nil)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	res = sam.do(http.MethodGet, "/api/v1/trades?user_id="+alice.userID, nil)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	require.Contains(t, res.Raw, id)
	res = sam.do(http.MethodGet, "/api/v1/trades", nil)
	require.Equal(t, http.StatusBadRequest, res.Status, "support must name the trader")
	require.Equal(t, http.StatusForbidden, sam.do(http.MethodPost, "/api/v1/trades/"+id+"/cancel", nil).Status)

	seen := s.entries(alice.userID, auth.ActionSupportAccess)
	require.Len(t, seen, 2, "each forensic read is on the trader's audit chain")
	require.Contains(t, seen[0].Details, sam.userID)
	var tr schema.Trade
	require.NoError(t, s.env.DB.Take(&tr, "id = ?", id).Error)
	require.Equal(t, "queued", tr.Status)
}

func TestAdminReadsTheAuditLog(t *testing.T) {
	s := sqliteSuite(t)
	ada, alice := s.user(auth.RoleAdmin), s.user(auth.RoleTrader)
	res := ada.do(http.MethodGet, "/api/v1/audit?action=LOGIN_SUCCESS&user_id="+alice.userID, nil)
	require.Equal(t, http.StatusOK, res.Status, res.Raw)
	entries := res.Body["entries"].([]any)
	require.Len(t, entries, 1)
	require.Equal(t, alice.ip, entries[0].(map[string]any)["ipAddress"])
	require.Equal(t, http.StatusForbidden, alice.do(http.MethodGet, "/api/v1/audit", nil).Status)
}

func allows(roles []auth.Role, r auth.Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

func storetestEach(t *testing.T, fn func(t *testing.T, s *suite)) {
	eachDB(t, func(t *testing.T, db *gorm.DB, d store.Dialect) { fn(t, newSuite(t, db, d)) })
}
