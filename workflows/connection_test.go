package workflows

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
)

func newConnectionEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(ConnectBrokerWorkflow, ConnectBrokerWorkflowOptions())
	env.RegisterWorkflowWithOptions(ConnectionHealthWorkflow, ConnectionHealthWorkflowOptions())
	reg := func(name string, fn any) { env.RegisterActivityWithOptions(fn, activity.RegisterOptions{Name: name}) }
	reg(ActConnectBroker, func(context.Context, ConnectInput) (ConnectResult, error) { return ConnectResult{}, nil })
	reg(ActListActiveConnections, func(context.Context, ListConnectionsInput) (ConnectionPage, error) { return ConnectionPage{}, nil })
	reg(ActCheckConnection, func(context.Context, HealthCheckInput) (HealthCheckResult, error) { return HealthCheckResult{}, nil })
	reg(ActPurgeStaleConnections, func(context.Context) error { return nil })
	t.Cleanup(func() { env.AssertExpectations(t) })
	return env
}

func TestConnectBrokerWorkflowRetriesUndecidedChecks(t *testing.T) {
	env := newConnectionEnv(t)
	in := ConnectInput{ConnectionID: "c1", UserID: "u1", Broker: "alpaca"}
	env.OnActivity(ActConnectBroker, mock.Anything, in).Return(ConnectResult{}, errors.New("database is locked")).Once()
	want := ConnectResult{ConnectionID: "c1", Broker: "alpaca", Connected: true, Message: "Alpaca connected successfully", AccountValue: decimal.NewFromInt(50_000)}
	env.OnActivity(ActConnectBroker, mock.Anything, in).Return(want, nil).Once()
	env.ExecuteWorkflow(ConnectBrokerWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var got ConnectResult
	require.NoError(t, env.GetWorkflowResult(&got))
	require.Equal(t, want.Message, got.Message)
	require.True(t, got.AccountValue.Equal(want.AccountValue))
}

func TestConnectBrokerWorkflowReturnsRefusal(t *testing.T) {
	env := newConnectionEnv(t)
	in := ConnectInput{ConnectionID: "c1", UserID: "u1", Broker: "alpaca"}
	refused := ConnectResult{ConnectionID: "c1", Broker: "alpaca", Kind: "AUTH_FAILED", Message: "Alpaca rejected these API keys. Check the key and secret and try again."}
	env.OnActivity(ActConnectBroker, mock.Anything, in).Return(refused, nil).Once()
	env.ExecuteWorkflow(ConnectBrokerWorkflowName, in)
	var got ConnectResult
	require.NoError(t, env.GetWorkflowResult(&got))
	require.Equal(t, refused.Message, got.Message)
	require.Equal(t, refused.Kind, got.Kind)
	require.False(t, got.Connected)
}

// The sweep pages through the active connections, checks each page in
// parallel, counts outcomes and survives a check that cannot be recorded.
func TestConnectionHealthWorkflowSweeps(t *testing.T) {
	env := newConnectionEnv(t)
	env.OnActivity(ActPurgeStaleConnections, mock.Anything).Return(nil).Once()
	env.OnActivity(ActListActiveConnections, mock.Anything, ListConnectionsInput{Limit: 2}).Return(ConnectionPage{IDs: []string{"a", "b"}}, nil).Once()
	env.OnActivity(ActListActiveConnections, mock.Anything, ListConnectionsInput{AfterID: "b", Limit: 2}).Return(ConnectionPage{IDs: []string{"c"}}, nil).Once()
	env.OnActivity(ActCheckConnection, mock.Anything, HealthCheckInput{ConnectionID: "a"}).Return(HealthCheckResult{ConnectionID: "a", Checked: true, Healthy: true}, nil).Once()
	env.OnActivity(ActCheckConnection, mock.Anything, HealthCheckInput{ConnectionID: "b"}).Return(HealthCheckResult{ConnectionID: "b", Checked: true, Changed: true, Kind: "UNAVAILABLE"}, nil).Once()
	env.OnActivity(ActCheckConnection, mock.Anything, HealthCheckInput{ConnectionID: "c"}).Return(HealthCheckResult{}, errors.New("database down")).Times(2)
	env.ExecuteWorkflow(ConnectionHealthWorkflowName, HealthSweepInput{PageSize: 2})
	require.NoError(t, env.GetWorkflowError())
	var res HealthSweepResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.Equal(t, HealthSweepResult{Checked: 2, Healthy: 1, Unhealthy: 1, Changed: 1, Failed: 1}, res)
}

// A long sweep continues as new with its cursor and counts.
func TestConnectionHealthWorkflowContinuesAsNew(t *testing.T) {
	env := newConnectionEnv(t)
	env.OnActivity(ActPurgeStaleConnections, mock.Anything).Return(nil).Once()
	for i := 0; i < healthPagesPerRun; i++ {
		after := ""
		if i > 0 {
			after = fmt.Sprint(i - 1)
		}
		env.OnActivity(ActListActiveConnections, mock.Anything, ListConnectionsInput{AfterID: after, Limit: 1}).Return(ConnectionPage{IDs: []string{fmt.Sprint(i)}}, nil).Once()
	}
	env.OnActivity(ActCheckConnection, mock.Anything, mock.Anything).Return(HealthCheckResult{Checked: true, Healthy: true}, nil).Times(healthPagesPerRun)
	env.ExecuteWorkflow(ConnectionHealthWorkflowName, HealthSweepInput{PageSize: 1})
	err := env.GetWorkflowError()
	require.Error(t, err)
	require.Contains(t, err.Error(), "continue as new")
}
