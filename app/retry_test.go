package app

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"
)

// retryFor keeps trying for its window, not for a fixed number of tries: a
// Temporal frontend that drops calls for longer than five quick tries (CI
// saw "RST_STREAM … CANCEL" outlast 0.2+0.4+0.8+1.6 s) must not fail a
// worker's start.
func TestRetryForKeepsTryingForItsWindow(t *testing.T) {
	dropped := errors.New("rpc error: code = Canceled desc = stream terminated by RST_STREAM with error code: CANCEL")
	cases := []struct {
		name      string
		failures  int // calls that fail before one succeeds (-1: all)
		window    time.Duration
		wantCalls int
		wantErr   bool
	}{
		{"first try", 0, time.Second, 1, false},
		{"more failures than five quick tries", 9, 2 * time.Second, 10, false},
		{"never answers: fails once the window is over", -1, 100 * time.Millisecond, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			start := time.Now()
			err := retryFor(context.Background(), zap.NewNop(), "ensure schedules", func(context.Context) error {
				calls++
				if tc.failures < 0 || calls <= tc.failures {
					return dropped
				}
				return nil
			}, tc.window, time.Millisecond)
			if tc.wantErr {
				if !errors.Is(err, dropped) {
					t.Fatalf("err = %v, want the last failure wrapped", err)
				}
				if calls < 3 {
					t.Fatalf("gave up after %d calls within a %s window", calls, tc.window)
				}
				if el := time.Since(start); el > tc.window+time.Second {
					t.Fatalf("kept trying for %s, window %s", el, tc.window)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v after %d calls", err, calls)
			}
			if calls != tc.wantCalls {
				t.Fatalf("calls = %d, want %d", calls, tc.wantCalls)
			}
		})
	}
}

func TestRetryForStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := retryFor(ctx, zap.NewNop(), "ensure schedules", func(context.Context) error {
		calls++
		if calls == 2 {
			cancel()
		}
		return errors.New("unavailable")
	}, time.Minute, time.Millisecond)
	// The call that saw the context cancelled is the last; its error is
	// the answer.
	if err == nil || calls != 2 {
		t.Fatalf("err = %v after %d calls, want the second call's error and no third call", err, calls)
	}
}
