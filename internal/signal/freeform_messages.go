package signal

import "fmt"

// Wording of the free-form parser's refusals added with the channel
// vocabulary (zones, breakouts, entry lists, derivatives).

func errFreeformDerivative(got string) *ParseError {
	return perr("symbol", "options and futures contracts ("+echo(got)+") are not supported; signals trade stocks and spot crypto")
}

func errFreeformEntryForm() *ParseError {
	return perr("entry", "a zone or an above/below entry needs prices, not market")
}

func errFreeformTooManyEntries(max int) *ParseError {
	return perr("entry", fmt.Sprintf("at most %d entry prices", max))
}

func errFreeformEntryPercent(got string) *ParseError {
	return perr("entry", "must be a price, got "+echo(got))
}

func errFreeformZoneCount() *ParseError {
	return perr("entry", "a zone has two prices, e.g. Entry zone 42000-42500")
}

func errFreeformBreakoutCount() *ParseError {
	return perr("entry", "an above/below entry has one price, e.g. Buy above 41000")
}

func errFreeformSideAmbiguous() *ParseError {
	return perr("side", "is missing and the prices do not tell it; say LONG or SHORT (or BUY or SELL)")
}

func errFreeformBreakoutWord() *ParseError {
	return perr("entry", "a breakout says where it triggers, e.g. Enter above 44000 (long) or Enter below 2200 (short)")
}

func errFreeformBareEntry(got string) *ParseError {
	return perr("entry", "the number "+echo(got)+" has no label; it is read as the entry price only next to a stop-loss or target price. Write Entry 42000, or a quantity as 10 shares")
}
