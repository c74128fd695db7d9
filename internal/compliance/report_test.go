package compliance_test

import (
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/compliance"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/store/storetest"
	"github.com/tradeexec/tradeexec/schema"
)

func add(t *testing.T, db *gorm.DB, e audit.Entry) {
	t.Helper()
	require.NoError(t, store.InTx(context.Background(), db, func(tx *gorm.DB) error {
		_, err := audit.Append(tx, e)
		return err
	}))
}

// The report counts the month's entries only (UTC bounds), per action and
// status, with the failed logins, security events, alerts and credential
// changes, and reports the chains' verification; HTML and CSV carry it.
func TestReportCountsTheMonth(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		alice, bob := uuid.NewString(), uuid.NewString()
		nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		in := func(d time.Duration) time.Time { return nov.Add(d) }
		add(t, db, audit.Entry{UserID: alice, Action: audit.ActionLoginFailed, Status: audit.StatusFailure, At: nov.Add(-time.Microsecond)}) // October
		add(t, db, audit.Entry{UserID: alice, Action: audit.ActionLoginFailed, Status: audit.StatusFailure, At: in(0)})
		add(t, db, audit.Entry{UserID: alice, Action: audit.ActionLoginFailed, Status: audit.StatusFailure, At: in(time.Hour)})
		add(t, db, audit.Entry{UserID: alice, Action: audit.ActionLoginSuccess, At: in(2 * time.Hour)})
		add(t, db, audit.Entry{UserID: bob, Action: audit.ActionCredentialsUpdated, At: in(24 * time.Hour)})
		add(t, db, audit.Entry{UserID: bob, Action: audit.ActionTradeExecuted, At: in(48 * time.Hour)})
		add(t, db, audit.Entry{UserID: bob, Action: audit.ActionTradeExecuted, Status: audit.StatusFailure, At: in(49 * time.Hour)})
		add(t, db, audit.Entry{UserID: audit.SystemUserID, Action: auth.ActionSecurityAlert, At: in(50 * time.Hour)})
		add(t, db, audit.Entry{UserID: bob, Action: audit.ActionTradeExecuted, At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}) // December

		r, err := compliance.Build(context.Background(), db, "2026-11", nil, time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.EqualValues(t, 7, r.TotalEntries)
		require.EqualValues(t, 2, r.FailedLogins)
		require.EqualValues(t, 1, r.SecurityAlerts)
		require.EqualValues(t, 1, r.CredentialChanges)
		require.EqualValues(t, 5, r.SecurityEvents) // 2 failed + 1 success login, credentials, alert
		require.Equal(t, []compliance.ActionCount{
			{Action: audit.ActionCredentialsUpdated, Success: 1},
			{Action: audit.ActionLoginFailed, Failure: 2},
			{Action: audit.ActionLoginSuccess, Success: 1},
			{Action: auth.ActionSecurityAlert, Success: 1},
			{Action: audit.ActionTradeExecuted, Success: 1, Failure: 1},
		}, r.ByAction)
		require.EqualValues(t, 3, r.Verification.ChainsChecked)
		require.EqualValues(t, 3, r.Verification.ChainsValid)
		require.EqualValues(t, 9, r.Verification.EntriesChecked)

		html, err := r.HTML()
		require.NoError(t, err)
		require.Contains(t, html, "Compliance report — 2026-11")
		require.Contains(t, html, "3 of 3 chains verified")
		csvText, err := r.CSV()
		require.NoError(t, err)
		recs, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
		require.NoError(t, err)
		require.Contains(t, recs, []string{"summary", "failed_logins", "2", ""})
		require.Contains(t, recs, []string{"action", audit.ActionTradeExecuted, "1", "1"})

		_, err = compliance.Build(context.Background(), db, "2026-13", nil, time.Now())
		require.ErrorIs(t, err, compliance.ErrBadPeriod)
	})
}

// A chain that fails verification is named in the report, loudly.
func TestReportNamesBrokenChains(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		alice := uuid.NewString()
		add(t, db, audit.Entry{UserID: alice, Action: audit.ActionLoginSuccess})
		// An entry inserted behind Append's back, with the head moved to it:
		// entry 2 is missing.
		require.NoError(t, db.Create(&schema.AuditLog{ID: uuid.NewString(), Seq: 3, Timestamp: time.Now().UTC(), UserID: alice,
			Action: audit.ActionLoginSuccess, Status: "success", Details: "{}", PreviousHash: "x", CurrentHash: "y"}).Error)
		require.NoError(t, db.Model(&schema.AuditHead{}).Where("user_id = ?", alice).Updates(map[string]any{"last_seq": 3, "last_hash": "y"}).Error)
		r, err := compliance.Build(context.Background(), db, "2026-11", nil, time.Now())
		require.NoError(t, err)
		require.EqualValues(t, 1, r.Verification.ChainsChecked)
		require.EqualValues(t, 0, r.Verification.ChainsValid)
		require.Len(t, r.Verification.Failures, 1)
		require.Equal(t, alice, r.Verification.Failures[0].UserID)
		html, err := r.HTML()
		require.NoError(t, err)
		require.Contains(t, html, "1 chain(s) FAILED verification")
		require.Contains(t, html, alice)

		_, err = compliance.Build(context.Background(), db, "2026-11", func(context.Context, *gorm.DB) (compliance.Verification, error) {
			return compliance.Verification{}, errors.New("checkpoint store unreachable")
		}, time.Now())
		require.ErrorContains(t, err, "checkpoint store unreachable", "a verification that cannot run fails the report; it is never reported as passed")
	})
}

// Generating a month twice, or concurrently, stores one report and one
// COMPLIANCE_REPORT_GENERATED entry; every call returns that report.
func TestGenerateIsIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		ctx := context.Background()
		add(t, db, audit.Entry{UserID: uuid.NewString(), Action: audit.ActionLoginFailed, Status: audit.StatusFailure,
			At: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC)})
		first, created, err := compliance.Generate(ctx, db, "2026-10", nil, time.Now())
		require.NoError(t, err)
		require.True(t, created)
		require.EqualValues(t, 1, first.FailedLogins)
		again, created, err := compliance.Generate(ctx, db, "2026-10", nil, time.Now())
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)

		var wg sync.WaitGroup
		ids := make([]string, 6)
		errs := make([]error, 6)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _, err := compliance.Generate(ctx, db, "2026-09", nil, time.Now())
				ids[i], errs[i] = r.ID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i])
		}
		var reports, entries int64
		require.NoError(t, db.Model(&schema.ComplianceReport{}).Count(&reports).Error)
		require.NoError(t, db.Model(&schema.AuditLog{}).Where("action = ?", compliance.ActionReportGenerated).Count(&entries).Error)
		require.EqualValues(t, 2, reports)
		require.EqualValues(t, 2, entries)
		v, err := audit.Verify(ctx, db, audit.SystemUserID)
		require.NoError(t, err)
		require.True(t, v.Valid)
	})
}

// The report carries the newest checkpoint-based verification (audit-verify,
// which catches a re-chained rewrite the database check cannot) and says so
// loudly when none has run.
func TestReportCarriesTheAnchoredVerification(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *gorm.DB, _ store.Dialect) {
		add(t, db, audit.Entry{UserID: uuid.NewString(), Action: audit.ActionLoginSuccess})
		r, err := compliance.Build(context.Background(), db, "2026-11", nil, time.Now())
		require.NoError(t, err)
		require.Nil(t, r.Verification.Anchored)
		html, err := r.HTML()
		require.NoError(t, err)
		require.Contains(t, html, "No checkpoint-based verification has run yet")

		done := time.Date(2026, 11, 30, 23, 0, 0, 0, time.UTC)
		require.NoError(t, audit.RecordVerification(context.Background(), db, schema.AuditVerification{ID: "run-1",
			StartedAt: done.Add(-time.Minute), FinishedAt: done, NewCheckpoint: "checkpoints/x", Chains: 4, Valid: 3, Failed: 1, AlertID: "audit-1"}))
		r, err = compliance.Build(context.Background(), db, "2026-11", nil, time.Now())
		require.NoError(t, err)
		require.NotNil(t, r.Verification.Anchored)
		require.EqualValues(t, 1, r.Verification.Anchored.Failed)
		html, err = r.HTML()
		require.NoError(t, err)
		require.Contains(t, html, "3 of 4 chains valid, 1 failed")
		require.Contains(t, html, "audit-1")
		csv, err := r.CSV()
		require.NoError(t, err)
		require.Contains(t, csv, "anchored_verification,failed,1,audit-1")
	})
}
