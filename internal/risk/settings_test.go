package risk

import (
	"errors"
	"reflect"
	"testing"
)

func TestDefaultSettings(t *testing.T) {
	s := DefaultSettings()
	if !s.MaxPositionPct.Equal(dec("10")) || !s.DailyLossLimitPct.Equal(dec("5")) ||
		!s.DailyLossLimitAmount.IsZero() || !s.CircuitBreakerPct.Equal(dec("8")) ||
		!s.StopLossPct.Equal(dec("2")) || s.ExtendedHours {
		t.Errorf("DefaultSettings() = %+v", s)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Settings)
		fields []string
	}{
		{"max position 100 allowed", func(s *Settings) { s.MaxPositionPct = dec("100") }, nil},
		{"max position 0.0001 allowed", func(s *Settings) { s.MaxPositionPct = dec("0.0001") }, nil},
		{"max position 0", func(s *Settings) { s.MaxPositionPct = dec("0") }, []string{"maxPositionPct"}},
		{"max position above 100", func(s *Settings) { s.MaxPositionPct = dec("100.01") }, []string{"maxPositionPct"}},
		{"max position negative", func(s *Settings) { s.MaxPositionPct = dec("-10") }, []string{"maxPositionPct"}},
		{"daily loss 100 allowed", func(s *Settings) { s.DailyLossLimitPct = dec("100") }, nil},
		{"daily loss 0", func(s *Settings) { s.DailyLossLimitPct = dec("0") }, []string{"dailyLossLimitPct"}},
		{"daily loss amount set", func(s *Settings) { s.DailyLossLimitAmount = dec("500") }, nil},
		{"daily loss amount negative", func(s *Settings) { s.DailyLossLimitAmount = dec("-500") }, []string{"dailyLossLimitAmount"}},
		{"circuit breaker 101", func(s *Settings) { s.CircuitBreakerPct = dec("101") }, []string{"circuitBreakerPct"}},
		{"stop loss 99.99 allowed", func(s *Settings) { s.StopLossPct = dec("99.99") }, nil},
		{"stop loss 100", func(s *Settings) { s.StopLossPct = dec("100") }, []string{"stopLossPct"}},
		{"stop loss 0", func(s *Settings) { s.StopLossPct = dec("0") }, []string{"stopLossPct"}},
		{"all invalid, in field order", func(s *Settings) { *s = Settings{DailyLossLimitAmount: dec("-1")} },
			[]string{"maxPositionPct", "dailyLossLimitPct", "dailyLossLimitAmount", "circuitBreakerPct", "stopLossPct", "maxAlertLagSeconds", "approvalTimeoutSeconds"}},
		{"stale alert limit 5 allowed", func(s *Settings) { s.MaxAlertLagSeconds = 5 }, nil},
		{"stale alert limit 600 allowed", func(s *Settings) { s.MaxAlertLagSeconds = 600 }, nil},
		{"stale alert limit beyond the replay window", func(s *Settings) { s.MaxAlertLagSeconds = 601 }, []string{"maxAlertLagSeconds"}},
		{"stale alert limit 4", func(s *Settings) { s.MaxAlertLagSeconds = 4 }, []string{"maxAlertLagSeconds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSettings()
			tt.modify(&s)
			err := s.Validate()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var se *SettingsError
			if !errors.As(err, &se) {
				t.Fatalf("Validate() = %v, want *SettingsError", err)
			}
			var got []string
			for _, f := range se.Fields {
				got = append(got, f.Field)
				if f.Message == "" {
					t.Errorf("field %s has no message", f.Field)
				}
			}
			if !reflect.DeepEqual(got, tt.fields) {
				t.Errorf("invalid fields = %v, want %v", got, tt.fields)
			}
		})
	}
}

func TestSettingsErrorMessage(t *testing.T) {
	s := DefaultSettings()
	s.MaxPositionPct = dec("0")
	s.StopLossPct = dec("100")
	want := "Max position size must be greater than 0% and at most 100%; Stop loss must be greater than 0% and less than 100%"
	if err := s.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}
