package risk

import "github.com/shopspring/decimal"

// CheckBuyingPower rejects an order whose cost exceeds the available buying
// power (SPEC US-001 #2): "Insufficient buying power: $20,000 available,
// $50,000 required". Equal amounts pass.
func CheckBuyingPower(available, required decimal.Decimal) error {
	if required.GreaterThan(available) {
		return reject(CodeInsufficientBuyingPower, msgInsufficientBuyingPower(available, required))
	}
	return nil
}

// Available is the buying power left for a new order once the exposure
// reserved by the trader's other in-flight orders is taken out; never
// negative. The caller computes it and reserves the new order's notional
// under one per-user lock, so concurrent signals cannot together exceed the
// trader's limits (DESIGN invariant 2).
func Available(buyingPower, reservedByOthers decimal.Decimal) decimal.Decimal {
	return nonNegative(buyingPower.Sub(reservedByOthers))
}
