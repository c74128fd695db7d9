package activities

import (
	"testing"

	"github.com/tradeexec/tradeexec/internal/performance"
)

// performance.SourceKey finds a Discord follower's trade's channel from its
// signal's external id: the format followerExternalID writes must stay
// readable by performance.DiscordMessageID.
func TestFollowerExternalIDNamesTheMessage(t *testing.T) {
	for _, leg := range []string{"", "tp2", "e1"} {
		ext := followerExternalID("user-1", "123456789012345678", leg)
		if got := performance.DiscordMessageID("user-1", ext); got != "123456789012345678" {
			t.Fatalf("leg %q: external id %q gives message %q", leg, ext, got)
		}
	}
}
