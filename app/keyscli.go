package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"gorm.io/gorm"

	"github.com/tradeexec/tradeexec/internal/auth"
	"github.com/tradeexec/tradeexec/internal/config"
	"github.com/tradeexec/tradeexec/internal/keys"
	"github.com/tradeexec/tradeexec/internal/store"
	"github.com/tradeexec/tradeexec/internal/vault"
	"github.com/tradeexec/tradeexec/schema"
	"github.com/tradeexec/tradeexec/worker"
	"github.com/tradeexec/tradeexec/workflows"
)

// KeysUsage is `tradeexec keys`'s help.
const KeysUsage = `usage: tradeexec keys <command> [flags]

commands:
  status                     vault key versions (rows under each, current), JWT signing keys,
                             the key-rotation schedule's next run   [--json]
  rotate                     rotate now: new JWT signing key, next vault key version, every
                             stored credential re-encrypted, unreferenced versions retired.
                             With TEMPORAL_ADDRESS: starts KeyRotationWorkflow   [--wait]
                             Without it (or --in-process): runs the same steps in this process
  rotate-signing             a new JWT signing key now; earlier tokens verify until they expire
  revoke-signing --kid KID   a compromised JWT signing key: its tokens are refused from now on
  revoke-sessions --user ID  end every session of a user (id or e-mail)

Configuration is the environment of the api/worker (DATABASE_URL, VAULT_KEYS / VAULT_KEYS_FILE,
JWT_SECRET, TEMPORAL_ADDRESS); without DATABASE_URL it works on the dev data in DATA_DIR.
`

// RunKeys runs `tradeexec keys <args>`.
func RunKeys(ctx context.Context, cfg config.Config, log *zap.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(out, KeysUsage)
		if len(args) == 0 {
			return errors.New("keys: a command is required")
		}
		return nil
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	asJSON := fs.Bool("json", false, "print JSON")
	wait := fs.Bool("wait", false, "wait for the rotation workflow to finish")
	inProcess := fs.Bool("in-process", false, "run the rotation in this process even when Temporal is configured")
	kid := fs.String("kid", "", "signing key id")
	user := fs.String("user", "", "user id or e-mail")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys %s: unexpected argument %q", cmd, fs.Arg(0))
	}
	switch cmd {
	case "status", "rotate", "rotate-signing", "revoke-signing", "revoke-sessions":
	default:
		fmt.Fprint(out, KeysUsage)
		return fmt.Errorf("keys: unknown command %q", cmd)
	}

	db, err := OpenDB(ctx, cfg, log, cfg.DatabaseDriver == "sqlite")
	if err != nil {
		return err
	}
	defer store.Close(db)
	live, err := vault.OpenLive(ctx, cfg.VaultStore())
	if err != nil {
		return err
	}
	rot, err := NewRotator(db, live, []byte(cfg.JWTSecret.Reveal()), log)
	if err != nil {
		return err
	}
	k := keysCLI{cfg: cfg, db: db, rot: rot, log: log, out: out}
	switch cmd {
	case "status":
		return k.status(ctx, *asJSON)
	case "rotate":
		return k.rotate(ctx, *wait, *inProcess)
	case "rotate-signing":
		if rot.Signing == nil {
			return keys.ErrNoSigningKeys
		}
		r, err := rot.Signing.Rotate(ctx, time.Now().UTC(), "cli")
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "new JWT signing key %s; the previous keys verify until %s, then retire\n", r.KID, r.RetireAt.Format(time.RFC3339))
		return nil
	case "revoke-signing":
		if *kid == "" {
			return errors.New("keys revoke-signing: --kid is required (see tradeexec keys status)")
		}
		if rot.Signing == nil {
			return keys.ErrNoSigningKeys
		}
		if err := rot.Signing.Revoke(ctx, *kid, "cli"); err != nil {
			return err
		}
		fmt.Fprintf(out, "signing key %s revoked: its tokens are refused from the next reload of each api replica (at most a minute); if it was the signing key, the api creates a new one\n", *kid)
		return nil
	default: // revoke-sessions
		return k.revokeSessions(ctx, *user)
	}
}

type keysCLI struct {
	cfg config.Config
	db  *gorm.DB
	rot *keys.Rotator
	log *zap.Logger
	out io.Writer
}

func (k keysCLI) status(ctx context.Context, asJSON bool) error {
	st, err := k.rot.Status(ctx)
	if err != nil {
		return err
	}
	if k.cfg.TemporalAddress != "" {
		if tc, err := DialTemporal(k.cfg, k.cfg.TemporalAddress, k.log); err == nil {
			if d, err := tc.ScheduleClient().GetHandle(ctx, worker.KeyRotationScheduleID(k.cfg.TaskQueue)).Describe(ctx); err == nil {
				if len(d.Info.NextActionTimes) > 0 {
					st.NextRotation = d.Info.NextActionTimes[0].UTC()
				}
				st.Paused = d.Schedule.State != nil && d.Schedule.State.Paused
			}
			tc.Close()
		}
	}
	if asJSON {
		enc := json.NewEncoder(k.out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	w := tabwriter.NewWriter(k.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "vault key store\t%s\n", st.Store)
	fmt.Fprintf(w, "current version\t%d\n", st.Current)
	for _, v := range st.Versions {
		mark := ""
		if v.Current {
			mark = "  (current)"
		}
		fmt.Fprintf(w, "  version %d\t%d rows%s\n", v.Version, v.Rows, mark)
	}
	for v, n := range st.Orphans {
		fmt.Fprintf(w, "  version %d\t%d rows  NOT IN THE KEYRING: they do not decrypt\n", v, n)
	}
	switch {
	case st.NextRotation.IsZero() && k.cfg.TemporalAddress == "":
		fmt.Fprintf(w, "next rotation\tunknown (no TEMPORAL_ADDRESS; schedule %q, every %s)\n", workflows.KeyRotationScheduleID, k.cfg.Keys.RotationInterval)
	case st.NextRotation.IsZero():
		fmt.Fprintf(w, "next rotation\tno schedule found (a worker creates it at start)\n")
	default:
		p := ""
		if st.Paused {
			p = "  (schedule paused)"
		}
		fmt.Fprintf(w, "next rotation\t%s%s\n", st.NextRotation.Format(time.RFC3339), p)
	}
	if k.rot.Signing == nil {
		fmt.Fprintf(w, "JWT signing keys\tunknown (JWT_SECRET not set)\n")
	}
	for _, s := range st.Signing {
		fmt.Fprintf(w, "  signing key %s\t%s, verifies until %s\n", s.KID, s.State, s.VerifyUntil.Format(time.RFC3339))
	}
	return w.Flush()
}

// rotate starts the workflow when Temporal is configured (the worker does
// the work, visible and pausable in the Temporal UI); otherwise it runs the
// same steps here.
func (k keysCLI) rotate(ctx context.Context, wait, inProcess bool) error {
	if k.cfg.TemporalAddress == "" || inProcess {
		fmt.Fprintf(k.out, "rotating in this process; older vault versions are retired %s after the new one became current (every process reloads its keyring within a minute)\n", keys.SettleTime)
		rep, err := k.rot.RunInProcess(ctx, keys.DefaultPageSize, keys.SettleTime, "cli")
		if err != nil {
			return err
		}
		return k.printReport(rep)
	}
	tc, err := DialTemporal(k.cfg, k.cfg.TemporalAddress, k.log)
	if err != nil {
		return fmt.Errorf("temporal: %w (use --in-process to rotate without Temporal)", err)
	}
	defer tc.Close()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: workflows.KeyRotationManualID, TaskQueue: k.cfg.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE},
		workflows.KeyRotationWorkflowName, workflows.KeyRotationInput{By: "cli"})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return fmt.Errorf("a key rotation is already running (workflow %s)", workflows.KeyRotationManualID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(k.out, "started %s (workflow %s, run %s)\n", workflows.KeyRotationWorkflowName, run.GetID(), run.GetRunID())
	if !wait {
		fmt.Fprintln(k.out, "it finishes after the old JWT signing keys' last tokens expired; follow it in the Temporal UI or with tradeexec keys status")
		return nil
	}
	var rep keys.Report
	if err := run.Get(ctx, &rep); err != nil {
		return err
	}
	return k.printReport(rep)
}

func (k keysCLI) printReport(rep keys.Report) error {
	v := rep.Vault
	switch {
	case v.ReadOnly:
		fmt.Fprintf(k.out, "vault: %s is read-only; re-encrypted under its current version %d (add the next version to VAULT_KEYS by hand, or set VAULT_KEYS_FILE)\n", v.Store, v.Target)
	case v.Created:
		fmt.Fprintf(k.out, "vault: generated version %d in %s\n", v.Target, v.Store)
	default:
		fmt.Fprintf(k.out, "vault: version %d (already generated)\n", v.Target)
	}
	r := rep.Reencrypted
	fmt.Fprintf(k.out, "re-encrypted %d credentials (%d written meanwhile by their owner, %d failed)\n", r.Reencrypted, r.Conflicts, r.Failed)
	if len(r.FailedIDs) > 0 {
		fmt.Fprintf(k.out, "  rows that do not decrypt: %s\n", strings.Join(r.FailedIDs, ", "))
	}
	if len(rep.Retired.Retired) > 0 {
		fmt.Fprintf(k.out, "retired vault versions %v\n", rep.Retired.Retired)
	}
	for ver, n := range rep.Retired.Kept {
		fmt.Fprintf(k.out, "kept vault version %d: %d rows still under it (the next rotation moves them)\n", ver, n)
	}
	if len(rep.Retired.Manual) > 0 {
		fmt.Fprintf(k.out, "vault versions %v are unused: remove them from VAULT_KEYS by hand\n", rep.Retired.Manual)
	}
	if rep.SigningSkipped != "" {
		fmt.Fprintf(k.out, "JWT signing keys not rotated: %s\n", rep.SigningSkipped)
	} else {
		fmt.Fprintf(k.out, "new JWT signing key %s; retired %d expired keys\n", rep.SigningKID, len(rep.SigningRetired))
	}
	return nil
}

func (k keysCLI) revokeSessions(ctx context.Context, user string) error {
	if user == "" {
		return errors.New("keys revoke-sessions: --user is required (a user id or e-mail)")
	}
	if !k.cfg.JWTSecret.IsSet() {
		return keys.ErrNoSigningKeys
	}
	var u schema.User
	q := k.db.WithContext(ctx)
	if _, err := uuid.Parse(user); err == nil {
		q = q.Where("id = ?", user)
	} else {
		q = q.Where("email = ?", strings.ToLower(strings.TrimSpace(user)))
	}
	if err := q.Take(&u).Error; errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("keys revoke-sessions: no user %q", user)
	} else if err != nil {
		return err
	}
	svc, err := auth.New(ctx, auth.Config{DB: k.db, Secret: []byte(k.cfg.JWTSecret.Reveal()), Log: k.log.Named("auth")})
	if err != nil {
		return err
	}
	n, err := svc.RevokeUserSessions(ctx, u.ID, "", auth.ReasonRevoked, auth.Client{UserAgent: "tradeexec keys revoke-sessions"})
	if err != nil {
		return err
	}
	fmt.Fprintf(k.out, "ended %d sessions of user %s: their tokens are refused from the next request\n", n, u.ID)
	return nil
}
