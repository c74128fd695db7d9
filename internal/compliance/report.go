// Package compliance builds the monthly compliance report (FR-060): every
// audit entry of a calendar month (UTC) counted per action and status, the
// failed logins, security events and alerts, credential changes, and the
// audit chains' verification, as HTML and CSV. A month's report is written
// once (compliance_reports is unique on the period); generating it again
// returns the stored one.
package compliance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"strconv"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/schema"
)

// ActionReportGenerated is written on the system chain with the report.
const ActionReportGenerated = "COMPLIANCE_REPORT_GENERATED"

// securityEvents are FR-053's security events plus the other
// security-relevant actions the code records.
var securityEvents = map[string]bool{
	audit.ActionLoginSuccess: true, audit.ActionLoginFailed: true, audit.ActionPasswordChanged: true,
	audit.ActionCredentialsUpdated: true, audit.ActionSessionHijackDetected: true,
	audit.ActionUnauthorizedAccessAttempt: true, auth.ActionSecurityAlert: true, auth.ActionSessionRevoked: true,
	auth.ActionPasswordReset: true, auth.ActionPasswordResetRequested: true,
}

// alerts are the actions that raise an alert to the security team.
var alerts = map[string]bool{
	auth.ActionSecurityAlert: true, audit.ActionSessionHijackDetected: true,
}

// ErrBadPeriod: a period is not a month such as 2026-11.
var ErrBadPeriod = errors.New("compliance: period must be a month such as 2026-11")

// ParsePeriod returns the month's bounds [start, end) in UTC.
func ParsePeriod(period string) (time.Time, time.Time, error) {
	start, err := time.ParseInLocation("2006-01", period, time.UTC)
	if err != nil || start.Format("2006-01") != period {
		return time.Time{}, time.Time{}, fmt.Errorf("%w, got %q", ErrBadPeriod, period)
	}
	return start, start.AddDate(0, 1, 0), nil
}

// ActionCount is how many entries of one action the month has.
type ActionCount struct {
	Action  string `json:"action"`
	Success int64  `json:"success"`
	Failure int64  `json:"failure"`
}

// Report is a month's figures.
type Report struct {
	Period            string        `json:"period"`
	From              time.Time     `json:"from"`
	To                time.Time     `json:"to"`
	GeneratedAt       time.Time     `json:"generatedAt"`
	TotalEntries      int64         `json:"totalEntries"`
	ByAction          []ActionCount `json:"byAction"`
	FailedLogins      int64         `json:"failedLogins"`
	SecurityEvents    int64         `json:"securityEvents"`
	SecurityAlerts    int64         `json:"securityAlerts"`
	CredentialChanges int64         `json:"credentialChanges"`
	Verification      Verification  `json:"verification"`
}

// Build counts the month's entries and verifies the chains.
func Build(ctx context.Context, db *gorm.DB, period string, verify Verifier, now time.Time) (Report, error) {
	from, to, err := ParsePeriod(period)
	if err != nil {
		return Report{}, err
	}
	if verify == nil {
		verify = VerifyChains
	}
	r := Report{Period: period, From: from, To: to, GeneratedAt: now.UTC().Truncate(time.Microsecond), ByAction: []ActionCount{}}
	var rows []struct {
		Action string
		Status string
		N      int64
	}
	err = db.WithContext(ctx).Model(&schema.AuditLog{}).Select("action, status, COUNT(*) AS n").
		Where("timestamp >= ? AND timestamp < ?", from, to).Group("action, status").Order("action, status").Scan(&rows).Error
	if err != nil {
		return r, fmt.Errorf("compliance: count entries: %w", err)
	}
	for _, row := range rows {
		if n := len(r.ByAction); n == 0 || r.ByAction[n-1].Action != row.Action {
			r.ByAction = append(r.ByAction, ActionCount{Action: row.Action})
		}
		c := &r.ByAction[len(r.ByAction)-1]
		if row.Status == audit.StatusFailure {
			c.Failure += row.N
		} else {
			c.Success += row.N
		}
		r.TotalEntries += row.N
		switch {
		case row.Action == audit.ActionLoginFailed:
			r.FailedLogins += row.N
		case row.Action == audit.ActionCredentialsUpdated:
			r.CredentialChanges += row.N
		}
		if securityEvents[row.Action] {
			r.SecurityEvents += row.N
		}
		if alerts[row.Action] {
			r.SecurityAlerts += row.N
		}
	}
	v, err := verify(ctx, db)
	if err != nil {
		return r, fmt.Errorf("compliance: verify chains: %w", err)
	}
	if v.Failures == nil {
		v.Failures = []ChainFailure{}
	}
	r.Verification = v
	return r, nil
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"ts": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Compliance report {{.Period}}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.25em .6em;text-align:left}td.n{text-align:right}.bad{color:#b00}</style>
</head><body>
<h1>Compliance report — {{.Period}}</h1>
<p>Audit entries from {{ts .From}} to {{ts .To}} (UTC). Generated {{ts .GeneratedAt}}.</p>
<h2>Summary</h2>
<table>
<tr><th>Total audit entries</th><td class="n">{{.TotalEntries}}</td></tr>
<tr><th>Security events</th><td class="n">{{.SecurityEvents}}</td></tr>
<tr><th>Failed login attempts</th><td class="n">{{.FailedLogins}}</td></tr>
<tr><th>Security alerts</th><td class="n">{{.SecurityAlerts}}</td></tr>
<tr><th>Credential changes</th><td class="n">{{.CredentialChanges}}</td></tr>
</table>
<h2>Audit chain verification</h2>
{{with .Verification}}<p{{if .Failures}} class="bad"{{end}}>{{.ChainsValid}} of {{.ChainsChecked}} chains verified ({{.EntriesChecked}} entries).{{if .Failures}} {{len .Failures}} chain(s) FAILED verification.{{end}}</p>
{{if .Failures}}<table><tr><th>Chain (user)</th><th>First broken entry</th><th>Reason</th><th>Detail</th></tr>
{{range .Failures}}<tr class="bad"><td>{{.UserID}}</td><td class="n">{{.BrokenSeq}}</td><td>{{.Reason}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>{{end}}
{{with .Anchored}}<p{{if .Failed}} class="bad"{{end}}>Against the signed checkpoint (audit-verify, {{.FinishedAt.Format "2006-01-02 15:04 UTC"}}): {{.Valid}} of {{.Chains}} chains valid, {{.Failed}} failed, {{.Unanchored}} not yet anchored.{{if .AlertID}} Security alert {{.AlertID}}.{{end}}</p>
{{else}}<p class="bad">No checkpoint-based verification has run yet (the audit-verify schedule): the chains were checked against the database only.</p>{{end}}{{end}}
<h2>Entries per action</h2>
<table><tr><th>Action</th><th>Success</th><th>Failure</th></tr>
{{range .ByAction}}<tr><td>{{.Action}}</td><td class="n">{{.Success}}</td><td class="n">{{.Failure}}</td></tr>
{{else}}<tr><td colspan="3">No entries this month.</td></tr>
{{end}}</table>
</body></html>
`))

// HTML renders the report as a standalone page.
func (r Report) HTML() (string, error) {
	var b bytes.Buffer
	if err := page.Execute(&b, r); err != nil {
		return "", err
	}
	return b.String(), nil
}

// CSV renders the report as rows of section, name, value (value2): the
// summary figures, the verification, then one row per action with its
// success and failure counts.
func (r Report) CSV() (string, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	rows := [][]string{
		{"Section", "Name", "Value", "Failure"},
		{"report", "period", r.Period, ""},
		{"report", "from", r.From.Format(time.RFC3339), ""},
		{"report", "to", r.To.Format(time.RFC3339), ""},
		{"report", "generated_at", r.GeneratedAt.Format(time.RFC3339), ""},
		{"summary", "total_entries", n(r.TotalEntries), ""},
		{"summary", "security_events", n(r.SecurityEvents), ""},
		{"summary", "failed_logins", n(r.FailedLogins), ""},
		{"summary", "security_alerts", n(r.SecurityAlerts), ""},
		{"summary", "credential_changes", n(r.CredentialChanges), ""},
		{"verification", "chains_checked", n(r.Verification.ChainsChecked), ""},
		{"verification", "chains_valid", n(r.Verification.ChainsValid), ""},
		{"verification", "entries_checked", n(r.Verification.EntriesChecked), ""},
	}
	if a := r.Verification.Anchored; a != nil {
		rows = append(rows,
			[]string{"anchored_verification", "finished_at", a.FinishedAt.Format(time.RFC3339), ""},
			[]string{"anchored_verification", "checkpoint", a.Checkpoint, ""},
			[]string{"anchored_verification", "chains", n(a.Chains), ""},
			[]string{"anchored_verification", "valid", n(a.Valid), ""},
			[]string{"anchored_verification", "failed", n(a.Failed), a.AlertID},
			[]string{"anchored_verification", "unanchored", n(a.Unanchored), ""})
	} else {
		rows = append(rows, []string{"anchored_verification", "none", "no audit-verify run yet", ""})
	}
	for _, f := range r.Verification.Failures {
		rows = append(rows, []string{"verification_failure", f.UserID, n(f.BrokenSeq), string(f.Reason) + ": " + f.Detail})
	}
	for _, a := range r.ByAction {
		rows = append(rows, []string{"action", a.Action, n(a.Success), n(a.Failure)})
	}
	if err := w.WriteAll(rows); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Generate stores the report of period unless one exists, and returns the
// stored row; created says whether this call wrote it. Concurrent or
// repeated calls for one month leave one row (the unique period decides),
// and the COMPLIANCE_REPORT_GENERATED entry is written with the row only.
func Generate(ctx context.Context, db *gorm.DB, period string, verify Verifier, now time.Time) (schema.ComplianceReport, bool, error) {
	if _, _, err := ParsePeriod(period); err != nil {
		return schema.ComplianceReport{}, false, err
	}
	if row, found, err := Find(ctx, db, period); err != nil || found {
		return row, false, err
	}
	r, err := Build(ctx, db, period, verify, now)
	if err != nil {
		return schema.ComplianceReport{}, false, err
	}
	html, err := r.HTML()
	if err != nil {
		return schema.ComplianceReport{}, false, err
	}
	csvText, err := r.CSV()
	if err != nil {
		return schema.ComplianceReport{}, false, err
	}
	summary, err := json.Marshal(r)
	if err != nil {
		return schema.ComplianceReport{}, false, err
	}
	row := schema.ComplianceReport{ID: uuid.NewString(), Period: period, PeriodStart: r.From, PeriodEnd: r.To, GeneratedAt: r.GeneratedAt,
		TotalEntries: r.TotalEntries, FailedLogins: r.FailedLogins, SecurityAlerts: r.SecurityAlerts,
		ChainsChecked: r.Verification.ChainsChecked, ChainsFailed: int64(len(r.Verification.Failures)),
		Summary: string(summary), HTML: html, CSV: csvText, SHA256HTML: digest(html), SHA256CSV: digest(csvText)}
	created := false
	err = store.InTx(ctx, db, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "period"}}, DoNothing: true}).Create(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		created = true
		_, err := audit.Append(tx, audit.Entry{UserID: audit.SystemUserID, Action: ActionReportGenerated, ResourceType: "ComplianceReport",
			ResourceID: row.ID, Details: map[string]any{"period": period, "totalEntries": r.TotalEntries,
				"chainsChecked": r.Verification.ChainsChecked, "chainsFailed": len(r.Verification.Failures), "sha256Csv": row.SHA256CSV}})
		return err
	})
	if err != nil {
		return schema.ComplianceReport{}, false, fmt.Errorf("compliance: store report: %w", err)
	}
	if created {
		return row, true, nil
	}
	row, _, err = Find(ctx, db, period)
	return row, false, err
}

// Find returns the stored report of period.
func Find(ctx context.Context, db *gorm.DB, period string) (schema.ComplianceReport, bool, error) {
	var row schema.ComplianceReport
	err := db.WithContext(ctx).Where("period = ?", period).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return row, false, nil
	}
	if err != nil {
		return row, false, fmt.Errorf("compliance: read report: %w", err)
	}
	return row, true, nil
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
