package churn

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

// EvaluateUsage is the help of `tradeexec analytics evaluate`.
const EvaluateUsage = `usage: tradeexec analytics evaluate [--seed N] [--traders N] [--json]

Generates synthetic trader histories (deterministic for a seed), trains the
churn model on 70% of them and prints precision, recall and F1 on the
held-out 30% (SPEC SC-011: F1 > 0.70). Needs no database.
`

// RunEvaluate runs `tradeexec analytics evaluate <args>` and returns the
// exit status: 0, 1 when held-out F1 is not above 0.70, 2 on bad usage.
func RunEvaluate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, EvaluateUsage) }
	seed := fs.Uint64("seed", DefaultSeed, "generator seed")
	traders := fs.Int("traders", DefaultTraders, "synthetic traders (100-200000)")
	asJSON := fs.Bool("json", false, "print the evaluation as JSON")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *traders < 100 || *traders > 200000 {
		fmt.Fprintln(stderr, "tradeexec analytics evaluate: --traders must be from 100 to 200000 and no other arguments are taken")
		return 2
	}
	m, ev, err := Evaluate(*seed, *traders, false)
	if err != nil {
		fmt.Fprintln(stderr, "tradeexec analytics evaluate:", err)
		return 1
	}
	if *asJSON {
		b, _ := json.MarshalIndent(struct {
			Evaluation
			Params Params `json:"model"`
		}{ev, m.P}, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		fmt.Fprintf(stdout, "churn model %s, synthetic seed %d, %d traders (churn rate %.1f%%), threshold %.2f\n\n",
			Algorithm, ev.Seed, ev.Traders, 100*ev.ChurnRate, m.P.Threshold)
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "split\ttraders\tchurned\tprecision\trecall\tF1\taccuracy\tAUC\t")
		for _, r := range []struct {
			name string
			m    Metrics
		}{{"train", ev.Train}, {"held-out", ev.Test}} {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", r.name, r.m.N, r.m.Positives, r.m.Precision, r.m.Recall,
				r.m.F1, r.m.Accuracy, r.m.AUC)
		}
		_ = tw.Flush()
		verdict := "PASS"
		if ev.Test.F1 <= 0.70 {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "\nSC-011 (held-out F1 > 0.70): %s\n", verdict)
	}
	if ev.Test.F1 <= 0.70 {
		return 1
	}
	return 0
}

// AnalyticsUsage is the help of `tradeexec analytics`.
const AnalyticsUsage = `usage: tradeexec analytics <command>

commands:
  evaluate   train the churn model on synthetic histories and print held-out precision/recall/F1
`

// RunCLI runs `tradeexec analytics <args>`.
func RunCLI(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stderr, AnalyticsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "evaluate":
		return RunEvaluate(args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "tradeexec analytics: unknown command %q\n\n%s", args[0], AnalyticsUsage)
		return 2
	}
}
