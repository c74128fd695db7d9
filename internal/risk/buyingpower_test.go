package risk

import "testing"

func TestCheckBuyingPower(t *testing.T) {
	tests := []struct {
		name                string
		available, required string
		message             string // empty: allowed
	}{
		{"SPEC US-001 #2", "20000", "50000", "Insufficient buying power: $20,000 available, $50,000 required"},
		{"cents shown when non-zero", "1234.5", "1234.51", "Insufficient buying power: $1,234.50 available, $1,234.51 required"},
		{"sub-cent shortfall is still refused", "900", "900.0001", "Insufficient buying power: $900 available, $900 required"},
		{"negative available", "-250", "100", "Insufficient buying power: -$250 available, $100 required"},
		{"exactly enough", "900", "900.00", ""},
		{"plenty", "100000", "900", ""},
		{"nothing required", "0", "0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBuyingPower(dec(tt.available), dec(tt.required))
			if tt.message == "" {
				if err != nil {
					t.Fatalf("CheckBuyingPower() = %v, want nil", err)
				}
				return
			}
			assertRejection(t, err, CodeInsufficientBuyingPower, tt.message)
		})
	}
}

func TestAvailable(t *testing.T) {
	tests := []struct{ bp, reserved, want string }{
		{"20000", "0", "20000"},
		{"20000", "12500.25", "7499.75"},
		{"20000", "20000", "0"},
		{"20000", "25000", "0"},
		{"-100", "0", "0"},
		{"0.3", "0.1", "0.2"},
	}
	for _, tt := range tests {
		if got := Available(dec(tt.bp), dec(tt.reserved)); !got.Equal(dec(tt.want)) {
			t.Errorf("Available(%s, %s) = %s, want %s", tt.bp, tt.reserved, got, tt.want)
		}
	}
}

// Two concurrent signals each fit on their own but not together: with the
// first one's reservation counted, the second is refused (invariant 2).
func TestReservationRefusesTheSecondOrder(t *testing.T) {
	bp := dec("10000")
	first, second := dec("6000"), dec("6000")
	if err := CheckBuyingPower(Available(bp, dec("0")), first); err != nil {
		t.Fatalf("first order refused: %v", err)
	}
	err := CheckBuyingPower(Available(bp, first), second)
	assertRejection(t, err, CodeInsufficientBuyingPower, "Insufficient buying power: $4,000 available, $6,000 required")
}
