package config

import (
	"testing"
	"time"
)

func TestGuardPoll(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		want    time.Duration
		wantErr bool
	}{
		{"default", "", DefaultGuardPoll, false},
		{"set", "5s", 5 * time.Second, false},
		{"too short", "500ms", 0, true},
		{"too long", "1h", 0, true},
		{"not a duration", "often", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := productionEnv()
			if tt.raw != "" {
				env = with(env, "RISK_GUARD_POLL", tt.raw)
			}
			cfg, err := Load(envOf(env), ModeWorker)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("RISK_GUARD_POLL=%q accepted", tt.raw)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GuardPoll != tt.want {
				t.Errorf("GuardPoll = %s, want %s", cfg.GuardPoll, tt.want)
			}
		})
	}
}
