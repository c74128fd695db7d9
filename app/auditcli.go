package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/audit"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/store"
)

// AuditUsage is the help of `tradeexec audit`.
const AuditUsage = `usage: tradeexec audit <command> [flags]

commands:
  verify    verify every chain (or --user) against the newest checkpoint in the object store
  export    stream entries to stdout: --from --to [--user] [--action] --format csv|json
  archive   move entries older than AUDIT_HOT_WINDOW to the object store now

--dev uses the embedded default (.data) instead of DATABASE_URL/AUDIT_STORE.

exit status of verify: 0 every chain valid; 1 a chain was tampered with (or
the check failed); 3 none tampered but some chain is not anchored by a
checkpoint yet (new chains, or no checkpoint exists at all).
`

// Exit statuses of `tradeexec audit`.
const (
	AuditExitOK         = 0
	AuditExitFailed     = 1
	AuditExitUsage      = 2
	AuditExitUnanchored = 3
)

// RunAuditCLI runs `tradeexec audit <args>` and returns the exit status.
func RunAuditCLI(ctx context.Context, cfg config.Config, log *zap.Logger, args []string, stdout, stderr io.Writer) int {
	args = withoutFlag(args, "--dev")
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, AuditUsage)
		if len(args) == 0 {
			return AuditExitUsage
		}
		return AuditExitOK
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "verify", "export", "archive":
	default:
		fmt.Fprintf(stderr, "tradeexec audit: unknown command %q\n\n%s", cmd, AuditUsage)
		return AuditExitUsage
	}
	ao, err := AuditOptionsFrom(cfg.Audit)
	if err != nil {
		fmt.Fprintln(stderr, "tradeexec audit:", err)
		return AuditExitUsage
	}
	if ao == nil && cmd != "export" {
		fmt.Fprintln(stderr, "tradeexec audit: AUDIT_STORE is off: there is nothing to verify or archive against")
		return AuditExitUsage
	}
	db, err := OpenDB(ctx, cfg, log, cfg.Mode == config.ModeDev)
	if err != nil {
		fmt.Fprintln(stderr, "tradeexec audit:", err)
		return AuditExitFailed
	}
	defer store.Close(db)
	switch cmd {
	case "verify":
		return auditVerify(ctx, db, ao, rest, stdout, stderr)
	case "export":
		return auditExport(ctx, db, rest, stdout, stderr)
	default:
		return auditArchive(ctx, db, ao, rest, stdout, stderr)
	}
}

func withoutFlag(args []string, name string) []string {
	out := args[:0:0]
	for _, a := range args {
		if a != name {
			out = append(out, a)
		}
	}
	return out
}

func auditVerify(ctx context.Context, db *gorm.DB, ao *AuditOptions, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tradeexec audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "verify this chain (user id) only")
	quiet := fs.Bool("quiet", false, "print only the chains that are not valid, and the summary")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return AuditExitUsage
	}
	cp, err := audit.LatestCheckpoint(ctx, ao.Store, ao.Keys)
	if err != nil {
		fmt.Fprintf(stdout, "TAMPERED  newest checkpoint in %s: %v\n", ao.Store.Describe(), err)
		return AuditExitFailed
	}
	if cp == nil {
		fmt.Fprintf(stdout, "NO CHECKPOINT in %s: no chain is anchored; the audit-verify schedule writes one each hour\n", ao.Store.Describe())
	} else {
		fmt.Fprintf(stdout, "checkpoint %s of %s (key v%d, %d chains)\n", cp.Key, cp.CreatedAt.Format(time.RFC3339), cp.KeyID, len(cp.Heads))
	}
	var counts audit.Page
	print := func(r audit.ChainReport) {
		switch r.Status {
		case audit.ChainValid:
			if !*quiet {
				fmt.Fprintf(stdout, "VALID       %s  %d entries checked, archived up to %d, checkpoint at %d\n", r.UserID, r.Entries, r.ArchivedSeq, r.CheckpointSeq)
			}
		case audit.ChainTampered:
			fmt.Fprintf(stdout, "TAMPERED    %s  entry %d: %s — %s\n", r.UserID, r.BrokenSeq, r.Reason, r.Detail)
		case audit.ChainUnanchored:
			fmt.Fprintf(stdout, "UNANCHORED  %s  %s\n", r.UserID, r.Detail)
		default:
			fmt.Fprintf(stdout, "NOT ANCHORED %s  %s\n", r.UserID, r.Detail)
		}
	}
	if *user != "" {
		r, err := audit.VerifyChain(ctx, db, ao.Store, ao.Keys, cp, *user)
		if err != nil {
			fmt.Fprintln(stderr, "tradeexec audit verify:", err)
			return AuditExitFailed
		}
		print(r)
		return verifyExit(r.Status)
	}
	after := ""
	for {
		var reports []audit.ChainReport
		p, err := audit.VerifyPage(ctx, db, ao.Store, ao.Keys, cp, after, 200, nil)
		if err != nil {
			fmt.Fprintln(stderr, "tradeexec audit verify:", err)
			return AuditExitFailed
		}
		reports = append(reports, p.Problems...)
		if !*quiet {
			for _, c := range p.ValidChains {
				fmt.Fprintf(stdout, "VALID       %s\n", c)
			}
		}
		for _, r := range reports {
			print(r)
		}
		counts.Checked += p.Checked
		counts.Valid += p.Valid
		counts.Failed += p.Failed
		counts.Unanchored += p.Unanchored
		counts.NoCheckpoint += p.NoCheckpoint
		if p.Done {
			break
		}
		after = p.Last
	}
	fmt.Fprintf(stdout, "%d chains: %d valid, %d tampered, %d not anchored\n", counts.Checked, counts.Valid, counts.Failed,
		counts.Unanchored+counts.NoCheckpoint)
	switch {
	case counts.Failed > 0:
		return AuditExitFailed
	case counts.Unanchored+counts.NoCheckpoint > 0 || cp == nil:
		return AuditExitUnanchored
	}
	return AuditExitOK
}

func verifyExit(s audit.ChainStatus) int {
	switch s {
	case audit.ChainValid:
		return AuditExitOK
	case audit.ChainTampered:
		return AuditExitFailed
	}
	return AuditExitUnanchored
}

// parseTime reads RFC 3339 or a date (YYYY-MM-DD, midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 (2024-01-31T00:00:00Z) nor a date (2024-01-31)", s)
	}
	return t, nil
}

func auditExport(ctx context.Context, db *gorm.DB, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tradeexec audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "first instant, inclusive (RFC 3339 or YYYY-MM-DD, UTC) — required")
	to := fs.String("to", "", "last instant, exclusive (RFC 3339 or YYYY-MM-DD, UTC) — required")
	user := fs.String("user", "", "only this user's entries")
	action := fs.String("action", "", "only this action (e.g. LOGIN_FAILED)")
	format := fs.String("format", audit.FormatCSV, "csv or json")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return AuditExitUsage
	}
	var errs []string
	f := audit.Filter{UserID: *user, Action: *action}
	var err error
	if *from == "" || *to == "" {
		errs = append(errs, "--from and --to are required")
	} else {
		if f.From, err = parseTime(*from); err != nil {
			errs = append(errs, "--from: "+err.Error())
		}
		if f.To, err = parseTime(*to); err != nil {
			errs = append(errs, "--to: "+err.Error())
		}
		if len(errs) == 0 && !f.From.Before(f.To) {
			errs = append(errs, "--from must be before --to")
		}
	}
	if *format != audit.FormatCSV && *format != audit.FormatJSON {
		errs = append(errs, fmt.Sprintf("--format %q: use csv or json", *format))
	}
	if len(errs) > 0 {
		fmt.Fprintln(stderr, "tradeexec audit export: "+strings.Join(errs, "; "))
		return AuditExitUsage
	}
	n, err := audit.Export(ctx, db, stdout, f, *format)
	if err != nil {
		fmt.Fprintln(stderr, "tradeexec audit export:", err)
		return AuditExitFailed
	}
	fmt.Fprintf(stderr, "%d entries exported\n", n)
	return AuditExitOK
}

func auditArchive(ctx context.Context, db *gorm.DB, ao *AuditOptions, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tradeexec audit archive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return AuditExitUsage
	}
	cp, err := audit.LatestCheckpoint(ctx, ao.Store, ao.Keys)
	if err != nil {
		fmt.Fprintln(stderr, "tradeexec audit archive:", err)
		return AuditExitFailed
	}
	if cp == nil {
		fmt.Fprintln(stderr, "tradeexec audit archive: no checkpoint yet: chains are archived only once they verify against one (the audit-verify schedule writes it)")
		return AuditExitFailed
	}
	hot := ao.HotWindow
	if hot <= 0 {
		hot = config.DefaultAuditHotWindow
	}
	ret := ao.Retention
	if ret <= 0 {
		ret = config.DefaultAuditRetention
	}
	o := audit.ArchiveOptions{Cutoff: time.Now().UTC().Add(-hot), Retention: ret, Checkpoint: cp}
	var total audit.ArchivePageResult
	after := ""
	for {
		p, err := audit.ArchivePage(ctx, db, ao.Store, ao.Keys, o, after, 200, nil)
		if err != nil {
			fmt.Fprintln(stderr, "tradeexec audit archive:", err)
			return AuditExitFailed
		}
		total.Chains += p.Chains
		total.Segments += p.Segments
		total.Entries += p.Entries
		for _, r := range p.Refused {
			fmt.Fprintf(stdout, "NOT ARCHIVED %s: %s (%s)\n", r.UserID, r.Status, r.Detail)
		}
		total.Refused = append(total.Refused, p.Refused...)
		if p.Done {
			break
		}
		after = p.Last
	}
	fmt.Fprintf(stdout, "archived %d entries in %d segments to %s (%d chains, entries before %s); %d chains refused\n",
		total.Entries, total.Segments, ao.Store.Describe(), total.Chains, o.Cutoff.Format(time.RFC3339), len(total.Refused))
	if len(total.Refused) > 0 {
		return AuditExitFailed
	}
	return AuditExitOK
}
