package starts_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/starts"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/schema"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// enqueue writes requests as an entry point would, already due for the relay.
func enqueue(t *testing.T, db *gorm.DB, queue string, n int, prefix string, expires time.Time) []string {
	t.Helper()
	ids := make([]string, n)
	past := time.Now().Add(-time.Minute)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%d-%d", prefix, i, time.Now().UnixNano())
		r := starts.Request{WorkflowID: ids[i], WorkflowType: "StartsTestWorkflow", Kind: starts.KindTrade, RefID: "ref-" + ids[i],
			TaskQueue: queue, Input: map[string]any{"n": i}, Memo: map[string]any{"signal": "test"},
			Keywords: map[string]string{"Symbol": "AAPL"}, ExpiresAt: expires}
		require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error { return starts.Enqueue(tx, r, past) }))
		// A second write of the same request (a redelivery) changes nothing.
		require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error { return starts.Enqueue(tx, r, past) }))
	}
	return ids
}

func exists(t *testing.T, tc client.Client, id string) bool {
	t.Helper()
	_, err := tc.DescribeWorkflowExecution(context.Background(), id, "")
	if err == nil {
		return true
	}
	var nf *serviceerror.NotFound
	require.ErrorAs(t, err, &nf)
	return false
}

// Two relays sweep the same requests at once: every workflow is started,
// every request is cleared, and no request is handled twice.
func TestRelaysStartEveryRequestOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		tc, queue := testenv.Client(t), testenv.TaskQueue(t)
		ids := enqueue(t, db, queue, 30, "relay", time.Time{})
		pending, err := starts.Pending(context.Background(), db)
		require.NoError(t, err)
		require.EqualValues(t, 30, pending)

		var total atomic.Int64
		var wg sync.WaitGroup
		for range 2 {
			r := &starts.Relay{DB: db, Temporal: tc, Log: zap.NewNop()}
			wg.Go(func() {
				n, err := r.Sweep(context.Background())
				require.NoError(t, err)
				total.Add(int64(n))
			})
		}
		wg.Wait()
		require.EqualValues(t, 30, total.Load(), "each request started by exactly one relay")
		for _, id := range ids {
			require.True(t, exists(t, tc, id), "workflow %s started", id)
		}
		pending, err = starts.Pending(context.Background(), db)
		require.NoError(t, err)
		require.Zero(t, pending)
	})
}

// A request past its deadline is never started: its expirer tells why.
func TestRelayExpiresLateRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, d store.Dialect) {
		tc, queue := testenv.Client(t), testenv.TaskQueue(t)
		ids := enqueue(t, db, queue, 1, "late", time.Now().Add(-time.Second))
		var got []string
		r := &starts.Relay{DB: db, Temporal: tc, Log: zap.NewNop(), Expire: map[string]starts.Expirer{
			starts.KindTrade: func(_ context.Context, _ *gorm.DB, ref, reason string) error {
				got = append(got, ref+" | "+reason)
				return nil
			}}}
		n, err := r.Sweep(context.Background())
		require.NoError(t, err)
		require.Zero(t, n)
		require.Len(t, got, 1)
		require.Contains(t, got[0], "ref-"+ids[0]+" | Not executed: the trading service was unavailable")
		require.False(t, exists(t, tc, ids[0]), "an expired signal is never started")
		n2, err := r.Sweep(context.Background())
		require.NoError(t, err)
		require.Zero(t, n2)
		require.Len(t, got, 1, "expired once")
	})
}

// While Temporal does not answer, requests stay, with the attempt and the
// error recorded, and are retried within seconds.
func TestRelayKeepsRequestsWhileTemporalIsDown(t *testing.T) {
	db, _ := storetest.Open(t)
	dead, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	require.NoError(t, err)
	defer dead.Close()
	ids := enqueue(t, db, "q", 3, "down", time.Time{})
	r := &starts.Relay{DB: db, Temporal: dead, Log: zap.NewNop(), StartTimeout: 300 * time.Millisecond}
	n, err := r.Sweep(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
	var rows []schema.WorkflowStart
	require.NoError(t, db.Order("attempts desc").Find(&rows).Error)
	require.Len(t, rows, len(ids), "nothing is dropped")
	require.Equal(t, 1, rows[0].Attempts)
	require.NotEmpty(t, rows[0].LastError)
	require.WithinDuration(t, time.Now(), rows[0].NextAt, 6*time.Second, "retried within seconds")
}
