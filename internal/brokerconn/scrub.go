package brokerconn

import (
	"sort"
	"strings"

	"github.com/tradeexec/tradeexec/internal/broker"
)

// Adapters promise that their error messages carry no secret; scrub makes
// sure of it before a text leaves the activity (invariant 4): every
// credential value of the connection, and every line of a multi-line one
// (a PEM key), is cut out of the text.

const redacted = "[redacted]"

// minScrubLen: shorter values (a "1", a currency) would cut harmless words.
const minScrubLen = 6

// credentialValues lists the values worth scrubbing, longest first.
func credentialValues(c broker.Credentials) []string {
	var out []string
	for k, v := range c {
		if k == CredStartingCash || k == "base_url" || k == "data_url" {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= minScrubLen {
			out = append(out, v)
		}
		if strings.Contains(v, "\n") {
			for _, line := range strings.Split(v, "\n") {
				line = strings.TrimSpace(line)
				if len(line) >= minScrubLen*2 && !strings.HasPrefix(line, "-----") {
					out = append(out, line)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// scrub removes every secret from text.
func scrub(text string, secrets []string) string {
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			text = strings.ReplaceAll(text, s, redacted)
		}
	}
	return text
}
