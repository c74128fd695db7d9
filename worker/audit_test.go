package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/activities"
	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/objstore"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/internal/testenv"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Two worker starts create each audit schedule once, with this release's
// spec; the schedules can be paused (they are Temporal Schedules).
func TestAuditSchedulesCreatedOnceAtEveryStart(t *testing.T) {
	c := testenv.Client(t)
	ctx := context.Background()
	queue := testenv.TaskQueue(t)
	require.NoError(t, worker.EnsureAuditSchedules(ctx, c, queue))
	require.NoError(t, worker.EnsureAuditSchedules(ctx, c, queue), "second start")

	scheds := worker.AuditSchedules(queue)
	require.Len(t, scheds, 2)
	for _, s := range scheds {
		t.Cleanup(func() { _ = c.ScheduleClient().GetHandle(context.Background(), s.ID).Delete(context.Background()) })
		d, err := c.ScheduleClient().GetHandle(ctx, s.ID).Describe(ctx)
		require.NoError(t, err, s.ID)
		act, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		require.True(t, ok)
		require.Equal(t, s.Workflow, act.Workflow)
		require.Equal(t, queue, act.TaskQueue)
		require.Equal(t, enums.SCHEDULE_OVERLAP_POLICY_SKIP, d.Schedule.Policy.Overlap)
	}
	require.Equal(t, workflows.AuditVerifyScheduleID+"/"+queue, scheds[0].ID)
	require.Equal(t, time.Hour, scheds[0].Spec.Intervals[0].Every)
	require.Equal(t, workflows.AuditArchiveScheduleID+"/"+queue, scheds[1].ID)

	// Exactly one schedule of each id at the server.
	count := map[string]int{}
	require.Eventually(t, func() bool {
		count = map[string]int{}
		it, err := c.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 1000})
		if err != nil {
			return false
		}
		for it.HasNext() {
			e, err := it.Next()
			if err != nil {
				return false
			}
			count[e.ID]++
		}
		return count[scheds[0].ID] == 1 && count[scheds[1].ID] == 1
	}, 10*time.Second, 200*time.Millisecond, "schedules listed: %v", count)

	h := c.ScheduleClient().GetHandle(ctx, scheds[0].ID)
	require.NoError(t, h.Pause(ctx, client.SchedulePauseOptions{Note: "test"}))
	d, err := h.Describe(ctx)
	require.NoError(t, err)
	require.True(t, d.Schedule.State.Paused)
	// A start after an operator paused it keeps it paused.
	require.NoError(t, worker.EnsureAuditSchedules(ctx, c, queue))
	d, err = h.Describe(ctx)
	require.NoError(t, err)
	require.True(t, d.Schedule.State.Paused, "a worker start un-paused the schedule")
}

type auditEnv struct {
	t       *testing.T
	db      *gorm.DB
	store   objstore.Store
	keys    *audit.SigningKeys
	c       client.Client
	queue   string
	mu      sync.Mutex
	discord []string
}

func newAuditEnv(t *testing.T) *auditEnv {
	db, _ := storetest.Open(t)
	s, err := objstore.NewDir(t.TempDir())
	require.NoError(t, err)
	k, _ := vault.NewMasterKey()
	keys, err := audit.ParseSigningKeys("1:" + k)
	require.NoError(t, err)
	e := &auditEnv{t: t, db: db, store: s, keys: keys, c: testenv.Client(t), queue: testenv.TaskQueue(t)}
	// Discord's Execute Webhook, from its documentation: POST JSON
	// {"content": …}, answered 204 No Content.
	discord := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Content string `json:"content"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&body) != nil || body.Content == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		e.mu.Lock()
		e.discord = append(e.discord, body.Content)
		e.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(discord.Close)
	w := worker.New(e.c, e.queue, &activities.Trading{DB: db}, worker.Options{Audit: &activities.Audit{DB: db, Store: s, Keys: keys,
		DiscordWebhookURL: discord.URL + "/api/webhooks/1/token", HTTP: discord.Client(), Retention: time.Hour}})
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	return e
}

func (e *auditEnv) appendAt(user string, n int, at time.Time) {
	for i := 0; i < n; i++ {
		require.NoError(e.t, store.InTx(context.Background(), e.db, func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{UserID: user, Action: audit.ActionTradeCreated, ResourceID: fmt.Sprintf("t%d", i),
				At: at.Add(time.Duration(i) * time.Minute)})
			return err
		}))
	}
}

func (e *auditEnv) run(id, wf string, in, out any) string {
	ctx := context.Background()
	run, err := e.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: e.queue}, wf, in)
	require.NoError(e.t, err)
	first := run.GetRunID() // Get follows continue-as-new and moves it
	require.NoError(e.t, run.Get(ctx, out))
	return first
}

// The hourly verification raises the SECURITY_ALERT on a tampered chain —
// audit entry, admin mail, Discord, open alert for the admin view — and
// its new checkpoint does not re-anchor the tampered chain. It pages
// through the chains with continue-as-new.
func TestAuditVerifyWorkflowRaisesAlertOnTamperedChain(t *testing.T) {
	e := newAuditEnv(t)
	ctx := context.Background()
	email := "ops@example.com"
	require.NoError(t, e.db.Create(&schema.User{ID: "admin-1", Email: &email, DisplayName: "Ops", Role: "admin",
		SubscriptionTier: "free", SubscriptionStatus: "active", CreatedAt: time.Now()}).Error)
	now := time.Now().UTC()
	for i := 0; i < 27; i++ {
		e.appendAt(fmt.Sprintf("chain-%02d", i), 2, now.Add(-time.Hour))
	}
	e.appendAt("victim", 10, now.Add(-time.Hour))

	// First run: no checkpoint yet — nothing is valid, nothing alerts, the
	// first checkpoint is written.
	var first workflows.AuditVerifyResult
	e.run("audit-verify-first-"+e.queue, workflows.AuditVerifyWorkflowName, workflows.AuditVerifyInput{}, &first)
	require.Equal(t, 28, first.Chains)
	require.Equal(t, 28, first.NoCheckpoint)
	require.Zero(t, first.Failed)
	require.Empty(t, first.AlertID)
	require.NotEmpty(t, first.NewCheckpoint)

	// Head rollback: audit_heads is not protected by a trigger, and the
	// database alone cannot tell.
	var e8 schema.AuditLog
	require.NoError(t, e.db.Where("user_id = 'victim' AND seq = 8").Take(&e8).Error)
	require.NoError(t, e.db.Exec("UPDATE audit_heads SET last_seq = 8, last_hash = ? WHERE user_id = 'victim'", e8.CurrentHash).Error)
	r, err := audit.Verify(ctx, e.db, "victim")
	require.NoError(t, err)
	require.True(t, r.Valid, "the database alone is fooled")

	var res workflows.AuditVerifyResult
	id := "audit-verify-tampered-" + e.queue
	firstRun := e.run(id, workflows.AuditVerifyWorkflowName, workflows.AuditVerifyInput{PageSize: 1}, &res)
	require.Equal(t, 28, res.Chains)
	require.Equal(t, 27, res.Valid)
	require.Equal(t, 1, res.Failed)
	require.Len(t, res.Problems, 1)
	require.Equal(t, "victim", res.Problems[0].Chain)
	require.Equal(t, string(audit.ReasonTruncated), res.Problems[0].Reason)
	require.Equal(t, activities.AlertID(id), res.AlertID)

	alerts, err := audit.OpenAlerts(ctx, e.db, 10)
	require.NoError(t, err)
	require.Len(t, alerts, 1)
	require.Equal(t, res.AlertID, alerts[0].ID)
	var mails []schema.MailOutbox
	require.NoError(t, e.db.Where("kind = ?", "security_alert").Find(&mails).Error)
	require.Len(t, mails, 1)
	require.Equal(t, "admin-1", mails[0].UserID)
	var entries int64
	require.NoError(t, e.db.Model(&schema.AuditLog{}).Where("user_id = ? AND action = ?", audit.SystemUserID, audit.ActionSecurityAlert).Count(&entries).Error)
	require.EqualValues(t, 1, entries)
	e.mu.Lock()
	require.Len(t, e.discord, 1)
	require.Contains(t, e.discord[0], "SECURITY ALERT")
	e.mu.Unlock()
	v, err := audit.LatestVerification(ctx, e.db)
	require.NoError(t, err)
	require.Equal(t, id, v.ID)
	require.EqualValues(t, 1, v.Failed)
	require.Equal(t, res.AlertID, v.AlertID)

	// The new checkpoint keeps the victim at its old head.
	cp, err := audit.LatestCheckpoint(ctx, e.store, e.keys)
	require.NoError(t, err)
	require.Equal(t, res.NewCheckpoint, cp.Key)
	require.EqualValues(t, 10, cp.Heads["victim"].Seq)
	rep, err := audit.VerifyChain(ctx, e.db, e.store, e.keys, cp, "victim")
	require.NoError(t, err)
	require.Equal(t, audit.ChainTampered, rep.Status)

	// 28 chains a page each: the run continued as new.
	hist := e.history(id, firstRun)
	last := hist.Events[len(hist.Events)-1]
	require.Equal(t, enums.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW, last.GetEventType())
	e.recordChain(id, firstRun, "audit_verify_tampered")
	e.record("audit-verify-first-"+e.queue, "", "audit_verify_first")
}

func TestAuditArchiveWorkflowMovesOldEntries(t *testing.T) {
	e := newAuditEnv(t)
	old := time.Now().UTC().Add(-100 * 24 * time.Hour)
	e.appendAt("u1", 5, old)
	e.appendAt("u2", 3, old)
	e.appendAt("u2", 2, time.Now().UTC())

	// Without a checkpoint nothing is archived.
	var counts workflows.AuditArchiveCounts
	e.run("audit-archive-none-"+e.queue, workflows.AuditArchiveWorkflowName, workflows.AuditArchiveInput{}, &counts)
	require.Zero(t, counts.Entries)

	var v workflows.AuditVerifyResult
	e.run("audit-verify-"+e.queue, workflows.AuditVerifyWorkflowName, workflows.AuditVerifyInput{}, &v)
	id := "audit-archive-" + e.queue
	e.run(id, workflows.AuditArchiveWorkflowName, workflows.AuditArchiveInput{}, &counts)
	require.Equal(t, workflows.AuditArchiveCounts{Chains: 2, Segments: 2, Entries: 4 + 3}, counts)
	var hot int64
	require.NoError(t, e.db.Model(&schema.AuditLog{}).Count(&hot).Error)
	require.EqualValues(t, 1+2, hot)

	// The chains verify across the archive boundary.
	var after workflows.AuditVerifyResult
	e.run("audit-verify-after-"+e.queue, workflows.AuditVerifyWorkflowName, workflows.AuditVerifyInput{}, &after)
	require.Equal(t, 2, after.Valid, "%+v", after)
	require.Zero(t, after.Failed)
	e.record(id, "", "audit_archive_moved")
}

func (e *auditEnv) history(id, runID string) *historypb.History {
	it := e.c.GetWorkflowHistory(context.Background(), id, runID, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var hist historypb.History
	for it.HasNext() {
		ev, err := it.Next()
		require.NoError(e.t, err)
		hist.Events = append(hist.Events, ev)
	}
	return &hist
}

// record writes a history for the replay tests (TRADEEXEC_RECORD_HISTORY=1).
func (e *auditEnv) record(id, runID, name string) {
	if os.Getenv("TRADEEXEC_RECORD_HISTORY") != "1" {
		return
	}
	hist := e.history(id, runID)
	require.NoError(e.t, testenv.Decrypt(hist))
	b, err := protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(hist)
	require.NoError(e.t, err)
	require.NoError(e.t, os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644))
}

func (e *auditEnv) recordChain(id, firstRun, name string) {
	for n, runID := 1, firstRun; runID != ""; n++ {
		e.record(id, runID, fmt.Sprintf("%s_run%d", name, n))
		hist := e.history(id, runID)
		runID = hist.Events[len(hist.Events)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
}
