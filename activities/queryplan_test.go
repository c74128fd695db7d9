package activities

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/tradeexec/tradeexec/internal/signal"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/workflows"
)

// Every statement of a paper trade (PrepareAndSubmit: the check, the
// submission, the stop, the look after the fill) and of the guard's poll
// (the look and the stops' upkeep) finds its rows through an index on
// what identifies them — a trader, a connection, a trade — never by
// reading a table or by a status alone. On SQLite, which plans without
// statistics: it read every active connection of every trader to route
// each trade, and every filled trade ever made on each guard poll
// (migration 0040).
func TestTradePathQueriesUseSelectiveIndexes(t *testing.T) {
	db := storetest.OpenSQLite(t)
	f := newHaltFixture(t, db, 100_000)
	g := f.guard(t)
	recorded := storetest.RecordStatements(t, db)

	id := f.trade("AAPL", signal.QtyFixed, 10, time.Now().UTC())
	res := f.prepareSubmit(&InProcessTrade{Trading: f.a, Guard: g}, id)
	require.True(t, res.StopPlaced && res.Guarded, "%+v", res)

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(g.GuardCheck)
	_, err := env.ExecuteActivity(g.GuardCheck, workflows.GuardRef{ConnectionID: f.row(id).BrokerConnectionID, UserID: f.user, Reconcile: true})
	require.NoError(t, err)

	stmts := recorded()
	require.Greater(t, len(stmts), 20, "the trade and the look ran their statements")
	problems := storetest.UnselectivePlans(t, db, stmts, storetest.FewValued...)
	require.Empty(t, problems, "statements that read more than their rows:\n%s", strings.Join(problems, "\n"))
}
