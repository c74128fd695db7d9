package app

import (
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/tradeexec/tradeexec/internal/config"
)

// Without payload keys there is no Temporal client: no process can write
// a history in clear by forgetting the codec.
func TestDialTemporalRefusesWithoutPayloadKeys(t *testing.T) {
	c, err := DialTemporal(config.Config{Mode: config.ModeWorker, TemporalNamespace: "default"}, "127.0.0.1:1", zap.NewNop())
	if err == nil {
		c.Close()
		t.Fatal("dialled without TEMPORAL_PAYLOAD_KEYS")
	}
	if !strings.Contains(err.Error(), "TEMPORAL_PAYLOAD_KEYS") {
		t.Fatalf("error does not name the variable: %v", err)
	}
}

func TestUIOrigins(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"http://127.0.0.1:8233", []string{"http://127.0.0.1:8233", "http://localhost:8233"}},
		{"http://localhost:8233/", []string{"http://localhost:8233", "http://127.0.0.1:8233"}},
		{"https://temporal.example.com/ui", []string{"https://temporal.example.com"}},
		{"", nil},
		{"not a url", nil},
	}
	for _, tt := range tests {
		if got := UIOrigins(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("UIOrigins(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
