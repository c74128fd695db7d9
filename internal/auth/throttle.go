package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tradeexec/tradeexec/schema"
)

// Per-account sign-in throttle (issue 13 #4): after FreeFailures
// consecutive failures for an address, each further attempt must wait a
// delay that doubles with every failure (1 s, 2 s, 4 s … at most
// MaxThrottleDelay) after the last one. It slows a password guesser who
// spreads over many IPs (the per-IP limit does not see them) without
// locking the owner out: after the delay, the right password works. It is
// keyed by the address's hash, so unknown addresses behave the same (no
// enumeration); a success resets it.
const (
	FreeFailures     = 6
	MaxThrottleDelay = 15 * time.Minute
	throttleMemory   = time.Hour
)

// ThrottledError says how long to wait before the next attempt.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("auth: sign-in throttled for %s", e.RetryAfter)
}

// ErrThrottled matches every *ThrottledError.
var ErrThrottled = errors.New("auth: sign-in throttled")

// Is makes errors.Is(err, ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// throttleDelay is the wait after n consecutive failures.
func throttleDelay(n int) time.Duration {
	if n < FreeFailures {
		return 0
	}
	exp := n - FreeFailures
	if exp > 20 {
		return MaxThrottleDelay
	}
	d := time.Duration(1<<exp) * time.Second
	return min(d, MaxThrottleDelay)
}

// checkThrottle refuses an attempt for emailHash that comes before the
// delay its recent consecutive failures require.
func (s *Service) checkThrottle(ctx context.Context, emailHash string) error {
	now := s.now()
	var recent []schema.LoginAttempt
	if err := s.db.WithContext(ctx).Where("email_hash = ? AND created_at >= ?", emailHash, now.Add(-throttleMemory)).
		Order("created_at DESC").Limit(64).Find(&recent).Error; err != nil {
		return fmt.Errorf("auth: throttle: %w", err)
	}
	n := 0
	for _, a := range recent {
		if a.Succeeded {
			break
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if wait := recent[0].CreatedAt.Add(throttleDelay(n)).Sub(now); wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}
