package signal

import (
	"fmt"
	"strings"
)

// summarize renders a signal on one line for the Temporal memo and logs,
// e.g. "TSLA limit buy 50 @ 250.00 sl 2% tp 260.00". It holds no secret.
func summarize(s Signal) string {
	var b strings.Builder
	b.WriteString(s.Symbol)
	if s.Action == ActionCancel {
		b.WriteString(" cancel orders")
		return b.String()
	}
	b.WriteString(" " + string(s.OrderType) + " " + string(s.Action))
	if q := quantityWords(s); q != "" {
		b.WriteString(" " + q)
	}
	if !s.LimitPrice.IsZero() {
		b.WriteString(" @ " + formatPrice(s.LimitPrice))
	}
	if !s.StopPrice.IsZero() {
		b.WriteString(" stop " + formatPrice(s.StopPrice))
	}
	if !s.TrailPercent.IsZero() {
		b.WriteString(" trail " + s.TrailPercent.String() + "%")
	}
	switch {
	case !s.StopLossPercent.IsZero():
		b.WriteString(" sl " + s.StopLossPercent.String() + "%")
	case !s.StopLossPrice.IsZero():
		b.WriteString(" sl " + formatPrice(s.StopLossPrice))
	}
	switch {
	case !s.TakeProfitPercent.IsZero():
		b.WriteString(" tp " + s.TakeProfitPercent.String() + "%")
	case !s.TakeProfitPrice.IsZero():
		b.WriteString(" tp " + formatPrice(s.TakeProfitPrice))
	}
	for i, t := range s.TakeProfitTargets {
		b.WriteString(fmt.Sprintf(" tp%d ", i+1))
		if t.Percent.IsPositive() {
			b.WriteString(t.Percent.String() + "%")
		} else {
			b.WriteString(formatPrice(t.Price))
		}
		if t.Share.IsPositive() {
			b.WriteString(" (" + t.Share.String() + "%)")
		}
	}
	if !s.SignalPrice.IsZero() {
		b.WriteString(" (signal " + formatPrice(s.SignalPrice) + ")")
	}
	if s.Sentiment != "" {
		b.WriteString(" " + s.Sentiment)
	}
	if s.Broker != "" {
		b.WriteString(" via " + s.Broker)
	}
	return b.String()
}

func quantityWords(s Signal) string {
	q := s.Quantity.String()
	switch s.QuantityType {
	case QtyFixed:
		return q
	case QtyDollarAmount:
		return "$" + formatPrice(s.Quantity)
	case QtyPercentOfEquity:
		return q + "% of equity"
	case QtyPercentOfPosition:
		return q + "% of position"
	default:
		if s.Action == ActionExit {
			return "all"
		}
		return "default size"
	}
}
