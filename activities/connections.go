package activities

import (
	"context"

	"go.temporal.io/sdk/activity"

	"github.com/tradeexec/tradeexec/internal/brokerconn"
	"github.com/tradeexec/tradeexec/workflows"
)

// Connections is the activity struct of broker connections: the check of a
// new connection's credentials and the health sweep. The work lives in
// brokerconn.Service; these methods only translate types. Credentials are
// read from the vault inside the service and never cross this boundary
// (invariant 4).
type Connections struct {
	Service *brokerconn.Service
}

// ConnectBroker checks a connection attempt with the broker and records the
// outcome (brokerconn.Service.Connect).
func (a *Connections) ConnectBroker(ctx context.Context, in workflows.ConnectInput) (workflows.ConnectResult, error) {
	out, err := a.Service.Connect(ctx, brokerconn.Attempt{
		ConnectionID: in.ConnectionID, UserID: in.UserID, Broker: in.Broker, ReplaceID: in.ReplaceID,
		RequestedAt: in.RequestedAt, IPAddress: in.IPAddress, UserAgent: in.UserAgent,
	})
	if err != nil {
		return workflows.ConnectResult{}, err
	}
	return workflows.ConnectResult{
		ConnectionID: out.ConnectionID, Broker: out.Broker, Connected: out.Connected, Reconnect: out.Reconnect,
		Kind: string(out.Kind), Message: out.Message, Detail: out.Detail,
		AccountValue: out.AccountValue, Cash: out.Cash, Currency: out.Currency,
	}, nil
}

// ListActiveConnections returns a page of active connection ids.
func (a *Connections) ListActiveConnections(ctx context.Context, in workflows.ListConnectionsInput) (workflows.ConnectionPage, error) {
	ids, err := a.Service.ActivePage(ctx, in.AfterID, in.Limit)
	return workflows.ConnectionPage{IDs: ids}, err
}

// CheckConnection runs one health check (with reconnecting retries) and
// records its result; it heartbeats between tries.
func (a *Connections) CheckConnection(ctx context.Context, in workflows.HealthCheckInput) (workflows.HealthCheckResult, error) {
	r, err := a.Service.Check(ctx, in.ConnectionID, func() { activity.RecordHeartbeat(ctx) })
	if err != nil {
		return workflows.HealthCheckResult{}, err
	}
	return workflows.HealthCheckResult{
		ConnectionID: r.ConnectionID, Broker: r.Broker, Checked: r.Checked, Healthy: r.Healthy, Changed: r.Changed,
		Attempts: r.Attempts, Kind: string(r.Kind), Message: r.Message,
	}, nil
}

// PurgeStaleConnections deletes abandoned connection attempts (with their
// sealed credentials), old OAuth states and old Schwab order claims.
func (a *Connections) PurgeStaleConnections(ctx context.Context) (brokerconn.Purged, error) {
	return a.Service.PurgeStale(ctx)
}
