package paper

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Run matches working orders of every account in the store every match
// interval until ctx ends, then returns nil. Run it in each process that
// serves paper accounts; concurrent passes from several processes are safe
// (each account update is atomic).
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := e.MatchAll(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("paper: matching pass failed", zap.Error(err))
			}
		}
	}
}

// MatchAll runs one matching pass over every account with working orders,
// at one instant and one set of prices.
func (e *Engine) MatchAll(ctx context.Context) error {
	states, err := e.store.ListWorking(ctx)
	if err != nil {
		return err
	}
	now, q := e.now(), newQuotes(e.feed)
	var errs []error
	for _, st := range states {
		if _, err := e.sync(ctx, st, now, q); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refresh loads an account and brings it up to date.
func (e *Engine) refresh(ctx context.Context, accountID string) (AccountState, error) {
	st, err := e.store.Load(ctx, accountID)
	if err != nil {
		return AccountState{}, err
	}
	return e.sync(ctx, st, e.now(), newQuotes(e.feed))
}

// sync brings a loaded account up to date (day roll, matching, pruning). It
// probes on a copy first and writes only when something changes, so reading
// an idle account costs no write.
func (e *Engine) sync(ctx context.Context, st AccountState, now time.Time, q *quotes) (AccountState, error) {
	probe := st.Clone()
	if !e.advance(&probe, now, q) {
		return st, nil
	}
	var out AccountState
	err := e.store.Update(ctx, st.ID, func(s *AccountState) error {
		e.advance(s, now, q)
		out = s.Clone()
		return nil
	})
	if err != nil {
		return AccountState{}, err
	}
	return out, nil
}
