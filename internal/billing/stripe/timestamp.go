package stripe

import (
	"strconv"
	"strings"
	"time"

	"github.com/tradeexec/tradeexec/internal/billing"
)

// checkTimestamp applies Tolerance to the t= element of a Stripe-Signature
// header, against now (in both directions: a timestamp from the future is
// as suspect as an old one).
func checkTimestamp(header string, now time.Time) error {
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || k != "t" {
			continue
		}
		sec, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return billing.ErrBadSignature
		}
		d := now.Sub(time.Unix(sec, 0))
		if d > Tolerance || d < -Tolerance {
			return billing.ErrBadSignature
		}
		return nil
	}
	return billing.ErrBadSignature
}
